//! Security domains: read SD files (v1, v2), open them with custodian keys (the recovery
//! drill), build restore blobs for a new HSM, rotate custodians offline, and the HSM's own
//! side of each (make an SD, open a restore blob) for the emulator and for tests.

pub mod activation;
pub mod data;
pub mod exchange;
pub mod hsm;
pub mod inspect;
pub mod model;
pub mod pyjson;
pub mod restore_blob;
pub mod rewrap;
pub mod unlock;
pub mod verify;

use std::path::PathBuf;

pub use model::{SdFile, SecurityDomain};

use crate::error::ExitCode;
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
            | DomainError::Usage(_) => ExitCode::BadInput,
            DomainError::NotInDomain { .. }
            | DomainError::Share { .. }
            | DomainError::Integrity { .. }
            | DomainError::Crypto(_) => ExitCode::Crypto,
        }
    }
}
