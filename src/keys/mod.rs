//! Custodian wrapping keys: generate them, load them from every format openssl writes,
//! inspect them without a passphrase, and check a set before an activation.

pub mod asn1;
pub mod certificate;
pub mod check;
mod direct;
pub mod file;
pub mod generate;
pub mod inspect;
pub mod pbes2;
pub mod pem;
pub mod private;
pub mod public;
pub mod token;

use std::path::PathBuf;

pub use certificate::Certificate;
pub use file::{Encoding, Item, KeyFile, KeySyntax};
pub use private::{
    find_certificate_beside, load_token_key, load_wrapping_key, load_wrapping_key_with,
    load_wrapping_keys, load_wrapping_keys_with, PrivateKey, WrappingKey,
};
pub use public::{check_rsa_public_key, KeyInfo, PublicKey, WeakRsaKey, MIN_RSA_BITS};

use crate::exit_code::ExitCode;
use crate::files::FileError;
use crate::passphrase::PassphraseError;

/// A key or certificate could not be loaded, generated or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// No passphrase could be had for an encrypted key.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// A key on a PKCS#11 token could not be reached or used.
    #[error(transparent)]
    Token(#[from] token::TokenError),
    /// The file is empty.
    #[error("{}: file is empty; expected a key or certificate", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file is neither PEM nor a DER structure sdctl knows.
    #[error("{}: not a key or certificate sdctl can read (expected PEM or DER: X.509, PKCS#8, PKCS#1, PKCS#12, SubjectPublicKeyInfo)", path.display())]
    Unrecognized {
        /// The file.
        path: PathBuf,
    },
    /// The file is recognisable but damaged.
    #[error("{}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Decryption failed: the passphrase is wrong (or the encrypted key is damaged).
    #[error("{}: wrong passphrase: the private key could not be decrypted (check the passphrase, or its line in the passphrase file)", path.display())]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The file holds no private key.
    #[error("{}: holds no private key (found {found})", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
        /// What it holds instead.
        found: String,
    },
    /// The file holds no certificate.
    #[error("{}: holds no certificate (found {found})", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What it holds instead.
        found: String,
    },
    /// The key cannot be a Managed HSM wrapping key (not RSA, or too small).
    #[error("{}: {reason}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// A private key and the certificate beside it do not belong together.
    #[error("{}: private key does not match certificate {}; each custodian's key and certificate must come from the same key pair", key.display(), cert.display())]
    Mismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// An option value is out of range or malformed.
    #[error("{0}")]
    Usage(String),
    /// OpenSSL failed while generating or encrypting a key.
    #[error("{context}: {detail}")]
    Crypto {
        /// What was being done.
        context: String,
        /// OpenSSL's reason.
        detail: String,
    },
}

impl KeyError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            KeyError::File(e) => e.exit_code(),
            KeyError::Passphrase(e) => e.exit_code(),
            KeyError::Token(e) => e.exit_code(),
            KeyError::WrongPassphrase { .. } | KeyError::Mismatch { .. } => ExitCode::Crypto,
            KeyError::Crypto { .. } => ExitCode::Crypto,
            KeyError::Empty { .. }
            | KeyError::Unrecognized { .. }
            | KeyError::Malformed { .. }
            | KeyError::NoPrivateKey { .. }
            | KeyError::NoCertificate { .. }
            | KeyError::Unusable { .. }
            | KeyError::Usage(_) => ExitCode::BadInput,
        }
    }
}

/// Reads the one certificate in a file (PEM or DER): a certificate sdctl will encrypt to,
/// so an RSA key in it must pass [`check_rsa_public_key`] (refused here, naming the file).
pub fn load_certificate(path: &std::path::Path) -> Result<Certificate, KeyError> {
    let file = KeyFile::read(path)?;
    let mut certs = file.certificates();
    match (certs.next(), certs.next()) {
        (Some(cert), None) => match cert.public_key().check_if_rsa() {
            Ok(()) => Ok(cert.clone()),
            Err(weak) => Err(KeyError::Unusable {
                path: path.to_owned(),
                reason: weak.to_string(),
            }),
        },
        (Some(_), Some(_)) => Err(KeyError::Malformed {
            path: path.to_owned(),
            detail: "holds more than one certificate; give one certificate per custodian".into(),
        }),
        (None, _) => Err(KeyError::NoCertificate {
            path: path.to_owned(),
            found: private::describe_items(&file.items),
        }),
    }
}
