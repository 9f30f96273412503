//! Custodian keys that live on a PKCS#11 token (a smartcard, a YubiKey's PIV applet, an
//! on-premises HSM, SoftHSM2): RFC 7512 URIs name them, the token's module is loaded at
//! run time, the PIN comes from a hidden prompt or a PIN file, and every private-key
//! operation happens on the token.

pub mod find;
pub mod generate;
pub mod host_padding;
pub mod inspect;
pub mod key;
pub mod module;
pub mod pin;
mod raw_info;
pub mod session;
pub mod uri;

pub use find::{find_key, public_certificates, FoundTokenKey};
pub use key::{DecryptPath, TokenKey, TokenKeyFacts};
pub use module::{Module, TokenDescription};
pub use pin::PinSource;
pub use session::{TokenAccess, TokenSession};
pub use uri::{is_pkcs11_uri, Pkcs11Uri, UriError};

use std::path::PathBuf;

use crate::exit_code::ExitCode;

/// A PKCS#11 token, module or key could not be found or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The key reference is not a valid PKCS#11 URI.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// No module was named (`--pkcs11-module`, the plan, or `module-path` in the URI).
    #[error("{uri}: no PKCS#11 module given; name the token's library with --pkcs11-module PATH (e.g. /usr/lib/softhsm/libsofthsm2.so) or module-path in the URI")]
    NoModule {
        /// The key reference.
        uri: String,
    },
    /// The module could not be loaded or initialised.
    #[error("{}: cannot load PKCS#11 module: {detail}", module.display())]
    Module {
        /// The module's path.
        module: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// No present token matches the URI's token attributes.
    #[error("{uri}: no token matching it is present (tokens seen: {seen}); insert the custodian's token, or check token= / serial= in the URI")]
    TokenMissing {
        /// The key reference.
        uri: String,
        /// The tokens that are present, described.
        seen: String,
    },
    /// More than one present token matches.
    #[error("{uri}: {count} tokens match it; add serial= to the URI to name one")]
    TokenAmbiguous {
        /// The key reference.
        uri: String,
        /// How many matched.
        count: usize,
    },
    /// No object on the token matches.
    #[error("{uri}: {detail}")]
    ObjectMissing {
        /// The key reference.
        uri: String,
        /// What was looked for and what was found.
        detail: String,
    },
    /// The PIN was refused; the token's own warning flags are reported.
    #[error("{token}: wrong PIN{state}; sdctl does not retry: check the PIN before trying again")]
    WrongPin {
        /// The token, described.
        token: String,
        /// The token's PIN state after the failure (", the token says the next wrong PIN locks it", ...).
        state: String,
    },
    /// Logging in to the token failed earlier in this run; it is not tried again.
    #[error("{token}: not logged in to again in this run (each token gets one PIN attempt per run); earlier: {earlier}")]
    LoginFailedEarlier {
        /// The token, described.
        token: String,
        /// The earlier failure.
        earlier: String,
    },
    /// The user PIN is locked on the token.
    #[error("{token}: the user PIN is locked; the token's security officer must unblock it (e.g. with the SO PIN or PUK)")]
    PinLocked {
        /// The token, described.
        token: String,
    },
    /// No PIN could be had.
    #[error("{token}: {detail}")]
    Pin {
        /// The token, described.
        token: String,
        /// What went wrong.
        detail: String,
    },
    /// A key that must stay on the token could leave it.
    #[error("{uri}: the private key is extractable (CKA_EXTRACTABLE true or CKA_SENSITIVE false); a custodian key must never leave its token")]
    Extractable {
        /// The key reference.
        uri: String,
    },
    /// The key cannot be a wrapping key (not RSA, too small, mismatched certificate).
    #[error("{uri}: {detail}")]
    Unusable {
        /// The key reference.
        uri: String,
        /// Why not.
        detail: String,
    },
    /// The token refused an operation.
    #[error("{context}: the token refused: {detail}")]
    Device {
        /// What was being done.
        context: String,
        /// The PKCS#11 return value or other reason.
        detail: String,
    },
}

impl TokenError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TokenError::WrongPin { .. }
            | TokenError::LoginFailedEarlier { .. }
            | TokenError::PinLocked { .. }
            | TokenError::Device { .. } => ExitCode::Crypto,
            _ => ExitCode::BadInput,
        }
    }
}
