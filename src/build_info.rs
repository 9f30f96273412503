//! What this sdctl binary is: its version, whether it carries network code, and the OpenSSL
//! it runs on. `sdctl --version` prints it, and every ceremony transcript records it, so a
//! record says which build handled the keys.

use serde::Serialize;

/// A description of the running sdctl build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    /// The crate version (`Cargo.toml`).
    pub version: &'static str,
    /// Whether the build has the online commands (HSM client and emulator); the air-gapped
    /// build (`--no-default-features`) has no network code at all.
    pub online: bool,
    /// The OpenSSL library in use, as it names itself (e.g. "OpenSSL 3.0.17 1 Jul 2025").
    pub openssl: &'static str,
    /// Whether OpenSSL is compiled into the binary (feature `vendored`) rather than loaded
    /// from the system's shared libraries.
    pub openssl_static: bool,
}

/// The running build's description.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        online: cfg!(feature = "online"),
        openssl: openssl::version::version(),
        openssl_static: cfg!(feature = "vendored"),
    }
}

impl BuildInfo {
    /// The build in a few words: "online (HSM client and emulator)" or "air-gapped (no
    /// network code)".
    pub fn build_kind(&self) -> &'static str {
        if self.online {
            "online (HSM client and emulator)"
        } else {
            "air-gapped (no network code)"
        }
    }

    /// How OpenSSL is linked: "static, compiled in" or "system shared library".
    pub fn openssl_linkage(&self) -> &'static str {
        if self.openssl_static {
            "static, compiled in"
        } else {
            "system shared library"
        }
    }

    /// The text of `sdctl --version`: the version, then the build and the OpenSSL.
    pub fn long_version(&self) -> String {
        format!(
            "{}\nbuild:   {}\nOpenSSL: {} ({})",
            self.version,
            self.build_kind(),
            self.openssl,
            self.openssl_linkage()
        )
    }
}

#[cfg(test)]
#[path = "build_info_tests.rs"]
mod tests;
