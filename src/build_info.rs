//! What this sdctl binary is: its version, whether it carries network code, and the OpenSSL
//! it runs on. `sdctl --version` prints it, and every ceremony transcript records it, so a
//! record says which build handled the keys.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Largest executable whose digest [`executable_sha256`] computes (a debug build with
/// every test helper stays well below it).
const EXECUTABLE_LIMIT: u64 = 1 << 30;

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
    /// The commit the sources came from (40 hex digits), followed by "+ uncommitted changes"
    /// when they differed from it, or "unknown (...)" for a build outside a git checkout.
    pub commit: &'static str,
    /// The compiler, as `rustc -V` names it.
    pub rustc: &'static str,
    /// The target triple the binary was compiled for.
    pub target: &'static str,
}

/// The running build's description.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        online: cfg!(feature = "online"),
        openssl: openssl::version::version(),
        openssl_static: cfg!(feature = "vendored"),
        commit: env!("SDCTL_BUILD_COMMIT"),
        rustc: env!("SDCTL_BUILD_RUSTC"),
        target: env!("SDCTL_BUILD_TARGET"),
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

    /// The text of `sdctl --version`: the version, then the build, the OpenSSL, the commit
    /// and the compiler (what an auditor compares with a release's BUILD-FACTS).
    pub fn long_version(&self) -> String {
        format!(
            "{}\nbuild:   {}\nOpenSSL: {} ({})\ncommit:  {}\nrustc:   {} ({})",
            self.version,
            self.build_kind(),
            self.openssl,
            self.openssl_linkage(),
            self.commit,
            self.rustc,
            self.target
        )
    }
}

/// SHA-256 (lowercase hex) of the running executable, for the ceremony record: the
/// witnesses can compare it with the digest of the binary they checked before the
/// ceremony. `Err` says why it could not be read.
pub fn executable_sha256() -> Result<String, String> {
    let path =
        std::env::current_exe().map_err(|e| format!("the executable cannot be found: {e}"))?;
    file_sha256(&path, EXECUTABLE_LIMIT)
}

/// SHA-256 of the file at `path`, read in pieces, refused when larger than `limit` bytes.
fn file_sha256(path: &Path, limit: u64) -> Result<String, String> {
    let failed = |e: std::io::Error| format!("{}: cannot be read: {e}", path.display());
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut reader = file.take(limit + 1);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total: u64 = 0;
    loop {
        let n = reader.read(&mut buffer).map_err(failed)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limit {
            return Err(format!(
                "{}: larger than {limit} bytes, not hashed",
                path.display()
            ));
        }
        hasher.update(&buffer[..n]);
    }
    Ok(crate::domain::model::hex(&hasher.finalize()))
}

#[cfg(test)]
#[path = "build_info_tests.rs"]
mod tests;
