//! Security domains: read SD files (v1, v2), open them with custodian keys (the recovery
//! drill), build restore blobs for a new HSM, rotate custodians offline, recover with a
//! distributed quorum (custodians export their own share to a ceremony session), and the
//! HSM's own side of each (make an SD, open a restore blob) for the emulator and for tests.

pub mod activation;
pub mod data;
pub mod exchange;
pub mod hsm;
pub mod inspect;
pub mod model;
pub mod pyjson;
pub mod restore_blob;
pub mod rewrap;
pub mod session;
pub mod unlock;
pub mod verify;

use std::path::PathBuf;

pub use model::{SdFile, SecurityDomain};

use crate::exit_code::ExitCode;
use crate::files::FileError;
use crate::keys::KeyError;

/// A security-domain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key or certificate could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The SD (or restore blob) file is not valid.
    #[error("{}: {detail}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where and what.
        detail: String,
    },
    /// A key given is not one of the security domain's wrapping keys.
    #[error("{}: {detail}", key.display())]
    NotInDomain {
        /// The key file.
        key: PathBuf,
        /// Why it does not belong.
        detail: String,
    },
    /// Two keys given are the same custodian's.
    #[error("{} and {} hold the same wrapping key ({location}); give each custodian's key once", first.display(), second.display())]
    DuplicateKey {
        /// The first key file.
        first: PathBuf,
        /// The second key file.
        second: PathBuf,
        /// The share both open.
        location: String,
    },
    /// Fewer usable keys than the quorum.
    #[error("{}: the keys given open {opened} share(s) but the quorum is {required}; bring {missing} more custodian key(s)", path.display(), missing = required - opened)]
    TooFewKeys {
        /// The SD file.
        path: PathBuf,
        /// Shares the keys open.
        opened: usize,
        /// The quorum.
        required: usize,
    },
    /// Version 1: the keys given do not hold both halves of any one pair.
    #[error("{}: the keys given open {halves} half/halves but not both halves of any one pair; a version 1 security domain needs both custodians of one pair", path.display())]
    NoCompletePair {
        /// The SD file.
        path: PathBuf,
        /// Halves the keys open.
        halves: usize,
    },
    /// A share did not decrypt, or decrypted to something that is not a share.
    #[error("{}: {location}: {detail}", key.display())]
    Share {
        /// The key file used.
        key: PathBuf,
        /// The share's location in the SD file.
        location: String,
        /// What went wrong.
        detail: String,
    },
    /// The shares or data are inconsistent (tampered, or from different domains).
    #[error("{}: {detail}", path.display())]
    Integrity {
        /// The SD or blob file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The exchange key could not be used.
    #[error("{}: {detail}", path.display())]
    Exchange {
        /// The exchange key file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A request out of range (quorum, number of certificates).
    #[error("{0}")]
    Usage(String),
    /// OpenSSL or serialisation failed.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
    /// A distributed quorum needs a version 2 (Shamir) security domain.
    #[error("{}: a version 1 (xor_split) security domain cannot be recovered with share exports; distributed quorum needs version 2; bring the keys together with --sd-wrapping-keys", path.display())]
    NeedsVersion2 {
        /// The SD file.
        path: PathBuf,
    },
    /// A ceremony session's key or certificate cannot be used.
    #[error("{}: {detail}", path.display())]
    Session {
        /// The session key or certificate file.
        path: PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// A file given as a share export is not a usable sdctl share export.
    #[error("{}: {detail}", path.display())]
    ExportInvalid {
        /// The export file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A share export was sealed to another session's certificate.
    #[error("{}: sealed to another session certificate (x5t#S256 {found}), not to this session's {} (x5t#S256 {expected}); the custodian must export again with --to that certificate", path.display(), session.display())]
    ExportWrongSession {
        /// The export file.
        path: PathBuf,
        /// The session certificate beside the session key.
        session: PathBuf,
        /// The thumbprint the export names.
        found: String,
        /// This session's thumbprint.
        expected: String,
    },
    /// A share export does not decrypt with the session key (altered, or a forged header).
    #[error("{}: does not open with the session key {}: the export was altered (ciphertext or header) or not made for this session; ask the custodian to export again", path.display(), session_key.display())]
    ExportUnopened {
        /// The export file.
        path: PathBuf,
        /// The session key used.
        session_key: PathBuf,
    },
    /// A share export belongs to another security domain than the one given.
    #[error("{}: exported from a different security domain than {}: {detail}", path.display(), sd.display())]
    ForeignExport {
        /// The export file.
        path: PathBuf,
        /// The SD file given.
        sd: PathBuf,
        /// What does not match.
        detail: String,
    },
    /// Two exports hold the same share.
    #[error("{} and {} are exports of the same share ({location}); give each custodian's export once", first.display(), second.display())]
    DuplicateExport {
        /// The first export file.
        first: PathBuf,
        /// The second export file.
        second: PathBuf,
        /// The share both hold.
        location: String,
    },
    /// Fewer share exports than the quorum.
    #[error("{}: the exports given hold {given} share(s) but the quorum is {required}; collect {missing} more custodian export(s) with 'sdctl sd share-export'", path.display(), missing = required - given)]
    TooFewExports {
        /// The SD file.
        path: PathBuf,
        /// Distinct shares given.
        given: usize,
        /// The quorum.
        required: usize,
    },
    /// A ceremony with a session failed; the session key was kept.
    #[error("{error}; the session key {} was kept: fix the problem and run again, or destroy it with 'sdctl sd session destroy --session-key {}'", session_key.display(), session_key.display())]
    SessionKeyKept {
        /// The session key file, still in place.
        session_key: PathBuf,
        /// What failed.
        #[source]
        error: Box<crate::Error>,
    },
}

impl DomainError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            DomainError::File(e) => e.exit_code(),
            DomainError::Key(e) => e.exit_code(),
            DomainError::Invalid { .. }
            | DomainError::DuplicateKey { .. }
            | DomainError::TooFewKeys { .. }
            | DomainError::NoCompletePair { .. }
            | DomainError::Exchange { .. }
            | DomainError::Usage(_)
            | DomainError::NeedsVersion2 { .. }
            | DomainError::Session { .. }
            | DomainError::ExportInvalid { .. }
            | DomainError::DuplicateExport { .. }
            | DomainError::TooFewExports { .. } => ExitCode::BadInput,
            DomainError::NotInDomain { .. }
            | DomainError::Share { .. }
            | DomainError::Integrity { .. }
            | DomainError::Crypto(_)
            | DomainError::ExportWrongSession { .. }
            | DomainError::ExportUnopened { .. }
            | DomainError::ForeignExport { .. } => ExitCode::Crypto,
            DomainError::SessionKeyKept { error, .. } => error.exit_code(),
        }
    }
}
