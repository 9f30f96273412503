//! Step 1, on the ceremony machine: the session key pair and its certificate.

use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::domain::DomainError;
use crate::files::{self, WriteBatch, MODE_PUBLIC, MODE_SECRET};
use crate::keys::generate::{now_rfc3339, self_signed_certificate, GenerateOptions};
use crate::keys::Certificate;

/// The session's private key file in its directory.
pub const SESSION_KEY_FILE: &str = "session.key";
/// The session's certificate file in its directory.
pub const SESSION_CERT_FILE: &str = "session.cer";
/// Validity of a session certificate, in days: one ceremony.
pub const SESSION_DAYS: u32 = 2;
/// The `OU` that marks a session certificate (and lets `session destroy` recognise it).
pub const SESSION_OU: &str = "sdctl distributed-quorum session";

/// A new session, as written.
#[derive(Clone, Debug, Serialize)]
pub struct SessionReport {
    /// The session directory.
    pub out_dir: String,
    /// The private key file (unencrypted, 0600).
    pub session_key: String,
    /// The certificate file the custodians export to.
    pub session_certificate: String,
    /// The certificate's subject.
    pub subject: String,
    /// Validity start (RFC 3339).
    pub not_before: String,
    /// Validity end (RFC 3339).
    pub not_after: String,
    /// RSA modulus size.
    pub bits: u32,
    /// Unpadded base64url SHA-256 of the certificate (the exports' `x5t#S256`).
    pub x5t_256: String,
    /// The same thumbprint as `openssl x509 -fingerprint -sha256` prints it: read it out.
    pub sha256_fingerprint: String,
}

/// Where a session directory keeps its key and certificate.
pub fn session_paths(out_dir: &Path) -> (PathBuf, PathBuf) {
    (
        out_dir.join(SESSION_KEY_FILE),
        out_dir.join(SESSION_CERT_FILE),
    )
}

/// Makes a session in `out_dir` (created 0700 when missing): an RSA key pair of `bits`,
/// the key unencrypted in `session.key` (0600) and a self-signed certificate valid
/// [`SESSION_DAYS`] days in `session.cer`, both written together or not at all.
pub fn create_session(
    out_dir: &Path,
    bits: u32,
    force: bool,
) -> Result<SessionReport, DomainError> {
    let options = GenerateOptions {
        bits,
        days: SESSION_DAYS,
        subject: vec![("OU".into(), SESSION_OU.into())],
    };
    options.validate()?;
    let (key_path, cert_path) = session_paths(out_dir);
    files::ensure_free(&key_path, force)?;
    files::ensure_free(&cert_path, force)?;
    let crypto =
        |e: openssl::error::ErrorStack| DomainError::Crypto(format!("session key generation: {e}"));
    let pkey = PKey::from_rsa(Rsa::generate(bits).map_err(crypto)?).map_err(crypto)?;
    let name = format!("sdctl session {}", now_rfc3339());
    let certificate = self_signed_certificate(&name, &pkey, &options)?;
    let pem = Zeroizing::new(pkey.private_key_to_pem_pkcs8().map_err(crypto)?);
    files::create_private_dir(out_dir)?;
    let mut batch = WriteBatch::new(force);
    batch.stage(&key_path, &pem, MODE_SECRET)?;
    batch.stage(&cert_path, certificate.to_pem().as_bytes(), MODE_PUBLIC)?;
    batch.commit()?;
    Ok(SessionReport {
        out_dir: out_dir.display().to_string(),
        session_key: key_path.display().to_string(),
        session_certificate: cert_path.display().to_string(),
        subject: certificate.subject().to_owned(),
        not_before: certificate.not_before().to_string(),
        not_after: certificate.not_after().to_string(),
        bits,
        x5t_256: certificate.x5t_256(),
        sha256_fingerprint: certificate.sha256_fingerprint(),
    })
}

/// Whether `cert` carries the session marker ([`SESSION_OU`]).
pub fn is_session_certificate(cert: &Certificate) -> bool {
    cert.subject().contains(&format!("OU={SESSION_OU}"))
}

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
