//! Process exit codes (DESIGN.md, "Command line"): a leaf module every other module may
//! import without depending on the crate's top-level error.

/// Process exit codes, stable for scripts (DESIGN.md, "Command line").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCode {
    /// Everything worked and every check passed.
    Ok = 0,
    /// The command ran, but a check it performs failed.
    CheckFailed = 1,
    /// Bad usage or bad input: a missing, unreadable or malformed file, a bad flag value.
    BadInput = 2,
    /// A cryptographic failure: a wrong passphrase or key, a MAC that does not verify.
    Crypto = 3,
    /// A service or network error (online commands).
    Service = 4,
}

impl ExitCode {
    /// The numeric process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }
}
