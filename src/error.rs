//! The crate's top-level error; the exit codes are in [`crate::exit_code`].
//!
//! Every module has its own error enum whose messages name the file and the problem and,
//! where there is one, what to do. [`Error`] gathers them so a caller can ask for the
//! documented [`ExitCode`] of any failure.

use crate::domain::DomainError;
use crate::files::FileError;
use crate::keys::KeyError;
use crate::passphrase::PassphraseError;
use crate::shares::ShareError;

pub use crate::exit_code::ExitCode;

/// Any failure of the sdctl library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key or certificate could not be loaded, generated or used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A passphrase could not be obtained or was refused.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// A security-domain operation failed.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Splitting or combining a shared secret failed.
    #[error(transparent)]
    Shares(#[from] ShareError),
    /// A guided ceremony could not go on.
    #[error(transparent)]
    Ceremony(#[from] crate::ceremony::CeremonyError),
    /// The emulator could not start or keep its state.
    #[cfg(feature = "online")]
    #[error(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
    /// An online HSM command failed.
    #[cfg(feature = "online")]
    #[error(transparent)]
    Hsm(#[from] crate::hsm::HsmError),
}

impl Error {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::File(e) => e.exit_code(),
            Error::Key(e) => e.exit_code(),
            Error::Passphrase(e) => e.exit_code(),
            Error::Domain(e) => e.exit_code(),
            Error::Shares(e) => e.exit_code(),
            Error::Ceremony(e) => e.exit_code(),
            #[cfg(feature = "online")]
            Error::Emulator(e) => e.exit_code(),
            #[cfg(feature = "online")]
            Error::Hsm(e) => e.exit_code(),
        }
    }
}

/// Shorthand for results of the sdctl library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::keys::token::TokenError> for Error {
    fn from(e: crate::keys::token::TokenError) -> Self {
        Error::Key(KeyError::Token(e))
    }
}
