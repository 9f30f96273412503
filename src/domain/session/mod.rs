//! Distributed quorum: rebuilding a security domain's master key without bringing the
//! custodians' private keys onto one machine.
//!
//! 1. The ceremony machine makes a session ([`create_session`]): an ephemeral RSA key pair
//!    for one ceremony, `session.key` (unencrypted PKCS#8 PEM, 0600) and `session.cer`.
//! 2. Each custodian, on their own device, decrypts only their own share and seals it to
//!    the session certificate ([`export_share`]): a compact JWE (RSA-OAEP-256 +
//!    A256CBC-HS512) whose protected header, authenticated as AAD, names the share and
//!    binds it to this security domain ([`ShareClaim`]).
//! 3. The ceremony machine opens the exports with the session key ([`open_exports`]),
//!    checks each against the SD and combines a quorum; the drill and the restore blob then
//!    take the same path as with keys ([`verify_exports`], [`restore_blob_from_exports`]).
//! 4. The session key is overwritten, fsynced and unlinked after use
//!    ([`destroy_session_key`], [`finish_session`]).
//!
//! The pieces: `create` (step 1), `export` (step 2), `open` (step 3), `destroy` (step 4).

mod create;
mod destroy;
mod export;
mod open;
#[cfg(test)]
mod test_support;

pub use create::{
    create_session, is_session_certificate, session_paths, SessionReport, SESSION_CERT_FILE,
    SESSION_DAYS, SESSION_KEY_FILE, SESSION_OU,
};
pub use destroy::{destroy_session_key, finish_session, note_session_kept, SessionKeyState};
pub use export::{
    enc_key_sha256, export_share, preflight_export, ExportReport, ShareClaim, ShareExport,
};
pub use open::{
    open_exports, restore_blob_from_exports, verify_exports, ExportFile, MAX_EXPORT_FILE,
};

/// The `cty` header of a share export.
pub const CONTENT_TYPE: &str = "sdctl-sd-share";
/// The header field holding the [`ShareClaim`].
pub const CLAIM_HEADER: &str = "sdctl_sd_share";
