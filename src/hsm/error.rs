//! Errors of the online client. Every message names the HSM URL (or the file) and says what
//! to do next; [`HsmError::exit_code`] maps them to the documented exit codes.

use std::path::PathBuf;

use crate::domain::DomainError;
use crate::exit_code::ExitCode;
use crate::files::FileError;
use crate::keys::KeyError;

/// A failure of an online command.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// A flag value is not usable (an HSM name, a URL, a cloud).
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A certificate or key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A security-domain file, restore blob or exchange key is not usable.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A failure after the security domain was saved: the file is there, the rest failed.
    #[error("{source}; the security domain the HSM sent is saved in {}", file.display())]
    AfterDownload {
        /// Where the security domain was saved.
        file: PathBuf,
        /// What failed afterwards.
        source: Box<HsmError>,
    },
    /// A token would go to a host outside its scope ([`super::host_scope`]); refused before
    /// any credential is consulted.
    #[error("{url}: {detail}")]
    HostNotInScope {
        /// The URL refused (without query).
        url: String,
        /// Which host, why, and how to allow it.
        detail: String,
    },
    /// The access-token file is not usable.
    #[error("{}: {detail}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// No credential could produce an access token.
    #[error("cannot get an access token for {resource}: {detail}")]
    Credential {
        /// The token audience asked for.
        resource: String,
        /// What failed, per credential tried.
        detail: String,
    },
    /// The HSM could not be reached (DNS, connection, TLS, timeout).
    #[error("{url}: {detail}")]
    Network {
        /// The URL called.
        url: String,
        /// What went wrong, and for TLS what to do.
        detail: String,
    },
    /// 401: the access token was missing, expired, or for another audience.
    #[error("{url}: the HSM refused the access token (401): {message}; {hint}")]
    Unauthorized {
        /// The URL called.
        url: String,
        /// The service's message.
        message: String,
        /// What to do.
        hint: String,
    },
    /// 403: the signed-in principal lacks a data action.
    #[error("{url}: permission denied (403): {message}; {hint}")]
    Forbidden {
        /// The URL called.
        url: String,
        /// The service's message.
        message: String,
        /// The missing data action, when the service named it.
        action: Option<String>,
        /// What to do.
        hint: String,
    },
    /// Any other error answer.
    #[error("{url}: HTTP {status} {code}: {message}")]
    Service {
        /// The URL called.
        url: String,
        /// HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// An answer that does not have the documented shape.
    #[error("{url}: unexpected answer from the service: {detail}")]
    BadResponse {
        /// The URL called.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A long-running operation ended in Failed.
    #[error("the {operation} failed: {details}")]
    OperationFailed {
        /// `security-domain download`, `full backup`, ...
        operation: &'static str,
        /// The service's `status_details`, verbatim.
        details: String,
    },
    /// A long-running operation did not finish in time.
    #[error("the {operation} did not finish within {seconds} s (last status: {last}); it goes on in the HSM: run '{resume}' to keep waiting")]
    Timeout {
        /// `security-domain download`, `full backup`, ...
        operation: &'static str,
        /// The time limit.
        seconds: u64,
        /// The last status seen.
        last: String,
        /// The command that follows it further.
        resume: String,
    },
    /// A POST whose answer was lost; the service's own account of what happened.
    #[error("{url}: {detail}")]
    Interrupted {
        /// The URL called.
        url: String,
        /// What is known and what to do.
        detail: String,
    },
}

impl HsmError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            HsmError::Usage(_) | HsmError::TokenFile { .. } | HsmError::HostNotInScope { .. } => {
                ExitCode::BadInput
            }
            HsmError::File(e) => e.exit_code(),
            HsmError::Key(e) => e.exit_code(),
            HsmError::Domain(e) => e.exit_code(),
            HsmError::AfterDownload { source, .. } => source.exit_code(),
            _ => ExitCode::Service,
        }
    }
}
