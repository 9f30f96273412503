//! Reading key and certificate files of every format openssl writes, and telling what
//! they hold without asking for a passphrase.

use std::path::{Path, PathBuf};

use der::Decode;
use zeroize::Zeroizing;

use super::asn1::{oid, EncryptedPrivateKeyInfo, Pfx};
use super::certificate::Certificate;
use super::pem::{self, PemBlock};
use super::public::{algorithm_name, PublicKey};
use super::{pbes2, KeyError};
use crate::files;

/// Largest key or certificate file accepted.
pub const MAX_KEY_FILE: u64 = 1024 * 1024;

/// How a file is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// PEM text.
    Pem,
    /// Binary DER.
    Der,
}

/// The syntax of a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KeySyntax {
    /// PKCS#8 `PrivateKeyInfo` (`PRIVATE KEY`).
    #[serde(rename = "PKCS#8")]
    Pkcs8,
    /// PKCS#8 `EncryptedPrivateKeyInfo` (`ENCRYPTED PRIVATE KEY`).
    #[serde(rename = "PKCS#8 encrypted")]
    EncryptedPkcs8,
    /// PKCS#1 `RSAPrivateKey` (`RSA PRIVATE KEY`), possibly with legacy PEM encryption.
    #[serde(rename = "PKCS#1")]
    Pkcs1,
    /// SEC1 `ECPrivateKey` (`EC PRIVATE KEY`).
    #[serde(rename = "SEC1")]
    Sec1,
}

impl std::fmt::Display for KeySyntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeySyntax::Pkcs8 => "PKCS#8",
            KeySyntax::EncryptedPkcs8 => "PKCS#8 (encrypted)",
            KeySyntax::Pkcs1 => "PKCS#1",
            KeySyntax::Sec1 => "SEC1",
        })
    }
}

/// A private key as stored: its syntax, whether and how it is encrypted, what is known of
/// it before decryption, and the bytes OpenSSL needs to open it.
pub struct EncodedKey {
    /// The syntax.
    pub syntax: KeySyntax,
    /// The encryption scheme, when encrypted ("PBES2 (PBKDF2-HMAC-SHA256 ...)").
    pub encryption: Option<String>,
    /// The public key, when readable without a passphrase.
    pub public_key: Option<PublicKey>,
    /// Algorithm name, when readable without a passphrase.
    pub algorithm: Option<String>,
    /// Whether its key derivation is costly (read from its PBES2 parameters before any
    /// passphrase): only such keys are worth opening on several threads.
    pub costly_kdf: bool,
    pub(crate) source: KeySource,
}

/// The bytes of a private key: its DER, and for a PEM file the canonical PEM block that
/// OpenSSL's generic reader is given (it needs the RFC 1421 headers of legacy encryption).
pub(crate) struct KeySource {
    der: Zeroizing<Vec<u8>>,
    pem: Option<Zeroizing<String>>,
}

impl KeySource {
    /// The DER of the key block (the PEM body, or the whole DER file).
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    /// The canonical PEM block, when the key came from a PEM file.
    pub(crate) fn pem(&self) -> Option<&str> {
        self.pem.as_deref().map(String::as_str)
    }
}

/// One thing found in a file.
pub enum Item {
    /// An X.509 certificate.
    Certificate(Certificate),
    /// A bare public key.
    PublicKey(PublicKey),
    /// A private key.
    PrivateKey(EncodedKey),
    /// A PKCS#12 (`.pfx`, `.p12`) container; its contents need the password.
    Pkcs12(Zeroizing<Vec<u8>>),
    /// A PEM block of a kind sdctl does not use (e.g. `CERTIFICATE REQUEST`).
    Other(String),
}

/// A key or certificate file and what it holds.
pub struct KeyFile {
    /// The path it was read from.
    pub path: PathBuf,
    /// PEM or DER.
    pub encoding: Encoding,
    /// What it holds, in file order.
    pub items: Vec<Item>,
}

impl KeyFile {
    /// Reads and classifies a key or certificate file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let data = Zeroizing::new(files::read_bounded(
            path,
            MAX_KEY_FILE,
            "a key or certificate",
        )?);
        Self::parse(path, &data)
    }

    /// Classifies the bytes of a key or certificate file; `path` names it in errors.
    pub fn parse(path: &Path, data: &[u8]) -> Result<Self, KeyError> {
        let malformed = |detail: String| KeyError::Malformed {
            path: path.to_owned(),
            detail,
        };
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(KeyError::Empty {
                path: path.to_owned(),
            });
        }
        if pem::looks_like_pem(data) {
            let blocks = pem::parse_all(data).map_err(|e| malformed(e.to_string()))?;
            let items = blocks
                .iter()
                .map(|b| classify_pem(b).map_err(&malformed))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(KeyFile {
                path: path.to_owned(),
                encoding: Encoding::Pem,
                items,
            });
        }
        match classify_der(data) {
            Some(item) => Ok(KeyFile {
                path: path.to_owned(),
                encoding: Encoding::Der,
                items: vec![item.map_err(malformed)?],
            }),
            None => Err(KeyError::Unrecognized {
                path: path.to_owned(),
            }),
        }
    }

    /// The certificates in the file.
    pub fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.items.iter().filter_map(|i| match i {
            Item::Certificate(c) => Some(c),
            _ => None,
        })
    }
}

fn private_key(
    syntax: KeySyntax,
    encryption: Option<String>,
    public_key: Option<PublicKey>,
    algorithm: Option<String>,
    source: impl FnOnce() -> KeySource,
) -> Item {
    Item::PrivateKey(EncodedKey {
        syntax,
        encryption,
        public_key,
        algorithm,
        costly_kdf: false,
        source: source(),
    })
}

/// An encrypted PKCS#8 key item, its key derivation's cost read from `info`.
fn encrypted_pkcs8(item: Item, info: &EncryptedPrivateKeyInfo) -> Item {
    match item {
        Item::PrivateKey(mut key) => {
            key.costly_kdf = pbes2::costly_kdf(info);
            Item::PrivateKey(key)
        }
        other => other,
    }
}

fn classify_pem(block: &PemBlock) -> Result<Item, String> {
    let der = &block.der[..];
    let key = |syntax, encryption, public_key, algorithm| {
        private_key(syntax, encryption, public_key, algorithm, || KeySource {
            der: block.der.clone(),
            pem: Some(block.to_pem()),
        })
    };
    let legacy_encryption = || {
        let encrypted = block
            .header("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"));
        encrypted.then(|| {
            let cipher = block
                .header("DEK-Info")
                .and_then(|v| v.split(',').next())
                .unwrap_or("unknown cipher");
            format!("legacy PEM encryption ({cipher}, MD5-based key derivation)")
        })
    };
    Ok(match block.label.as_str() {
        "CERTIFICATE" | "X509 CERTIFICATE" => Item::Certificate(
            Certificate::from_der(der).map_err(|e| format!("invalid certificate: {e}"))?,
        ),
        "PUBLIC KEY" => Item::PublicKey(
            PublicKey::from_spki_der(der).map_err(|e| format!("invalid public key: {e}"))?,
        ),
        "RSA PUBLIC KEY" => Item::PublicKey(
            PublicKey::from_pkcs1_der(der).map_err(|e| format!("invalid RSA public key: {e}"))?,
        ),
        "PRIVATE KEY" => {
            let (public_key, algorithm) =
                pkcs8_public(der).map_err(|e| format!("invalid PKCS#8 private key: {e}"))?;
            key(KeySyntax::Pkcs8, None, public_key, Some(algorithm))
        }
        "ENCRYPTED PRIVATE KEY" => {
            let info = EncryptedPrivateKeyInfo::from_der(der)
                .map_err(|e| format!("invalid encrypted PKCS#8 private key: {e}"))?;
            let item = key(
                KeySyntax::EncryptedPkcs8,
                Some(pbes2::describe(&info)),
                None,
                None,
            );
            encrypted_pkcs8(item, &info)
        }
        "RSA PRIVATE KEY" => match legacy_encryption() {
            Some(enc) => key(KeySyntax::Pkcs1, Some(enc), None, Some("RSA".into())),
            None => {
                let public = pkcs1_public(der)
                    .map_err(|e| format!("invalid PKCS#1 RSA private key: {e}"))?;
                key(KeySyntax::Pkcs1, None, Some(public), Some("RSA".into()))
            }
        },
        "EC PRIVATE KEY" => key(
            KeySyntax::Sec1,
            legacy_encryption(),
            None,
            Some("EC".into()),
        ),
        other => Item::Other(other.to_owned()),
    })
}

/// Classifies DER bytes; `None` when they are none of the known structures.
fn classify_der(der: &[u8]) -> Option<Result<Item, String>> {
    let key = |syntax, encryption, public_key, algorithm| {
        private_key(syntax, encryption, public_key, algorithm, || KeySource {
            der: Zeroizing::new(der.to_vec()),
            pem: None,
        })
    };
    if x509_cert::Certificate::from_der(der).is_ok() {
        return Some(Certificate::from_der(der).map(Item::Certificate));
    }
    if let Ok(info) = EncryptedPrivateKeyInfo::from_der(der) {
        let item = key(
            KeySyntax::EncryptedPkcs8,
            Some(pbes2::describe(&info)),
            None,
            None,
        );
        return Some(Ok(encrypted_pkcs8(item, &info)));
    }
    if let Ok((public, algorithm)) = pkcs8_public(der) {
        return Some(Ok(key(KeySyntax::Pkcs8, None, public, Some(algorithm))));
    }
    if let Ok(public) = pkcs1_public(der) {
        return Some(Ok(key(
            KeySyntax::Pkcs1,
            None,
            Some(public),
            Some("RSA".into()),
        )));
    }
    if let Ok(public) = PublicKey::from_spki_der(der) {
        return Some(Ok(Item::PublicKey(public)));
    }
    if let Ok(public) = PublicKey::from_pkcs1_der(der) {
        return Some(Ok(Item::PublicKey(public)));
    }
    if let Ok(pfx) = Pfx::from_der(der) {
        let ct = pfx.auth_safe.content_type;
        if pfx.version == 3 && (ct == oid::PKCS7_DATA || ct == oid::PKCS7_SIGNED_DATA) {
            return Some(Ok(Item::Pkcs12(Zeroizing::new(der.to_vec()))));
        }
    }
    None
}

/// The public key (RSA) and algorithm name of an unencrypted PKCS#8 key.
fn pkcs8_public(der: &[u8]) -> Result<(Option<PublicKey>, String), String> {
    let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(|e| e.to_string())?;
    let alg = info.algorithm.oid;
    if alg == oid::RSA || alg == oid::RSA_PSS {
        let public = pkcs1_public(info.private_key)?;
        return Ok((Some(public), "RSA".into()));
    }
    let curve = info
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
    Ok((None, algorithm_name(alg, curve)))
}

/// The public half of a PKCS#1 `RSAPrivateKey`.
fn pkcs1_public(der: &[u8]) -> Result<PublicKey, String> {
    let key = pkcs1::RsaPrivateKey::from_der(der).map_err(|e| e.to_string())?;
    Ok(PublicKey::rsa(
        key.modulus.as_bytes(),
        key.public_exponent.as_bytes(),
    ))
}
