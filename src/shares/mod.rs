//! General k-of-n secret sharing for custodians: split any secret (a passphrase, a
//! break-glass credential, a PKCS#12) into `N` shares of which any `K` rebuild it.
//!
//! - [`format`](mod@format): the share itself, a self-describing binary record (set id, index, `K`,
//!   `N`, a commitment to the secret, a checksum);
//! - [`scheme`]: [`split`] and [`combine`] over GF(256) with `blahaj`; a wrong
//!   reconstruction is caught by the commitment;
//! - [`text`]: the transcribable paper form (checked lines) and the compact QR payload;
//! - [`qr`]: QR codes of a share as SVG and PNG;
//! - [`sealed`]: shares sealed to a custodian's certificate (compact JWE);
//! - [`input`]: reads a share file in any of these forms;
//! - [`output`]: writes a split's shares to a directory, atomically, with a manifest.
//!
//! The formats are documented in docs/shares.md.

pub mod format;
pub mod input;
pub mod output;
pub mod qr;
pub mod scheme;
pub mod sealed;
pub mod text;

use std::path::PathBuf;

pub use format::{SetId, Share};
pub use scheme::{combine, split, work_estimate, Combined, Work};

use crate::exit_code::ExitCode;
use crate::files::FileError;
use crate::keys::KeyError;

/// A share could not be made, read or combined.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// A share file could not be read or an output written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A custodian key or certificate could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The threshold, the number of shares or the secret is outside what is supported.
    #[error("{0}")]
    Usage(String),
    /// A share file is not a share, or is damaged (its checksum does not match).
    #[error("{}: {detail}", path.display())]
    Malformed {
        /// The share file.
        path: PathBuf,
        /// What is wrong, and where.
        detail: String,
    },
    /// A share typed back from paper has a typo.
    #[error("{}: {detail}", path.display())]
    Typo {
        /// The share file.
        path: PathBuf,
        /// The line and character, and what it probably should be.
        detail: String,
    },
    /// A sealed share could not be opened with the keys given.
    #[error("{}: {detail}", path.display())]
    Sealed {
        /// The sealed share file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Shares of two different splits were given together.
    #[error("{} and {} belong to different share sets ({first_set} and {second_set}); combine the shares of one split only", first.display(), second.display())]
    MixedSets {
        /// A share of the first set.
        first: PathBuf,
        /// Its set id.
        first_set: String,
        /// A share of another set.
        second: PathBuf,
        /// That set id.
        second_set: String,
    },
    /// Two shares of one set disagree on what every share of the set carries.
    #[error("{} and {} are both of set {set} but disagree on {field}; one of them was altered", first.display(), second.display())]
    Inconsistent {
        /// The first share.
        first: PathBuf,
        /// The share that disagrees with it.
        second: PathBuf,
        /// The set id.
        set: String,
        /// The field ("the threshold", "the commitment", ...).
        field: &'static str,
    },
    /// The same share was given twice.
    #[error("{} and {} are both share {index} of set {set}; give each share once", first.display(), second.display())]
    Duplicate {
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
        /// The share's index.
        index: u8,
        /// The set id.
        set: String,
    },
    /// Fewer shares than the threshold.
    #[error("{have} share(s) of set {set} given but {need} are needed; bring {missing} more", missing = need - have)]
    TooFew {
        /// Distinct shares given.
        have: usize,
        /// The threshold.
        need: usize,
        /// The set id.
        set: String,
    },
    /// More shares than the threshold, so many that searching them for a corrupted one
    /// could cost more than [`scheme::WORK_BUDGET`]: refused before any reconstruction.
    #[error("{have} shares of set {set} given for a threshold of {need}: searching them for a corrupted or forged share could take too long; give exactly {need} shares, leaving out any you suspect")]
    TooMuchWork {
        /// Shares given.
        have: usize,
        /// The threshold.
        need: usize,
        /// The set id.
        set: String,
    },
    /// The shares combine to something that does not match the set's commitment.
    #[error("the {count} shares of set {set} combine to a secret that does not match the set's commitment: at least one share is corrupted or forged{hint}")]
    Mismatch {
        /// The set id.
        set: String,
        /// How many shares were combined.
        count: usize,
        /// What to do next.
        hint: String,
    },
    /// A random number or a hash could not be produced (OpenSSL failure).
    #[error("cryptographic failure: {0}")]
    Crypto(String),
}

impl ShareError {
    /// The documented exit code: a commitment mismatch or a sealed share that does not open
    /// is a cryptographic failure (3); everything else is bad input (2).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ShareError::File(e) => e.exit_code(),
            ShareError::Key(e) => e.exit_code(),
            ShareError::Mismatch { .. } | ShareError::Sealed { .. } | ShareError::Crypto(_) => {
                ExitCode::Crypto
            }
            _ => ExitCode::BadInput,
        }
    }
}
