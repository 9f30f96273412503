//! `keys inspect`: what a key or certificate file holds, without asking for a passphrase.

use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use super::certificate::Certificate;
use super::file::{Encoding, Item, KeyFile, KeySyntax};
use super::private::find_certificate_beside;
use super::public::KeyInfo;
use super::KeyError;

/// What one file holds.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The file.
    pub path: String,
    /// PEM or DER.
    pub encoding: Encoding,
    /// Each thing found, in file order.
    pub items: Vec<ItemReport>,
}

/// One thing found in a file.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemReport {
    /// An X.509 certificate.
    Certificate(CertificateReport),
    /// A private key.
    PrivateKey(PrivateKeyReport),
    /// A bare public key.
    PublicKey {
        /// Algorithm and size.
        key: KeyInfo,
        /// Why it cannot be a wrapping key, if it cannot.
        wrapping_key_problem: Option<String>,
    },
    /// A PKCS#12 container.
    Pkcs12 {
        /// PKCS#12 contents are always password-protected here.
        encrypted: bool,
        /// What can be said without the password.
        note: String,
    },
    /// A PEM block sdctl does not use.
    Other {
        /// Its label.
        label: String,
    },
}

/// A certificate's facts.
#[derive(Debug, Serialize)]
pub struct CertificateReport {
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// Whether subject and issuer are the same.
    pub self_issued: bool,
    /// Serial (hex).
    pub serial: String,
    /// Validity start.
    pub not_before: String,
    /// Validity end.
    pub not_after: String,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// `valid`, `expired` or `not_yet_valid`.
    pub status: &'static str,
    /// Key algorithm and size.
    pub key: KeyInfo,
    /// Why the key cannot be a wrapping key, if it cannot.
    pub wrapping_key_problem: Option<String>,
    /// keyUsage keyEncipherment (`null`: no keyUsage extension).
    pub key_encipherment: Option<bool>,
    /// Unpadded base64url SHA-256 (the SD file's `x5t_256`).
    pub x5t_256: String,
    /// Unpadded base64url SHA-1 (JWK `x5t`).
    pub x5t: String,
    /// SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it.
    pub sha256_fingerprint: String,
}

/// A private key's facts.
#[derive(Debug, Serialize)]
pub struct PrivateKeyReport {
    /// The key syntax.
    pub syntax: KeySyntax,
    /// Whether a passphrase is needed.
    pub encrypted: bool,
    /// The encryption scheme, when encrypted.
    pub encryption: Option<String>,
    /// Algorithm and size (for encrypted keys, from the matching certificate if any).
    pub key: Option<KeyInfo>,
    /// Why the key cannot be a wrapping key, if known.
    pub wrapping_key_problem: Option<String>,
    /// The certificate in the same file or beside the key.
    pub certificate: Option<PairedCertificate>,
}

/// The certificate found for a key.
#[derive(Debug, Serialize)]
pub struct PairedCertificate {
    /// Where it is.
    pub path: String,
    /// Its subject.
    pub subject: String,
    /// Its `x5t_256`.
    pub x5t_256: String,
    /// Whether it carries the key's public half (`null`: the key is encrypted, not checked).
    pub matches: Option<bool>,
}

/// Inspects one file at time `now`.
pub fn inspect_file(path: &Path, now: SystemTime) -> Result<FileReport, KeyError> {
    let file = KeyFile::read(path)?;
    let mut items = Vec::new();
    for item in &file.items {
        items.push(match item {
            Item::Certificate(cert) => ItemReport::Certificate(certificate_report(cert, now)),
            Item::PublicKey(key) => ItemReport::PublicKey {
                wrapping_key_problem: key.encryption_problem(),
                key: key.info(),
            },
            Item::PrivateKey(encoded) => {
                let paired = match file.certificates().next() {
                    Some(cert) => Some((path.to_owned(), cert.clone())),
                    None => find_certificate_beside(path)?,
                };
                let mut key = encoded.public_key.as_ref().map(|k| k.info());
                if key.is_none() {
                    key = match (&encoded.algorithm, &paired) {
                        (Some(alg), _) if alg != "RSA" => Some(KeyInfo {
                            algorithm: alg.clone(),
                            bits: None,
                        }),
                        (_, Some((_, cert))) => Some(cert.public_key().info()),
                        _ => None,
                    };
                }
                let certificate = paired.map(|(cert_path, cert)| PairedCertificate {
                    path: cert_path.display().to_string(),
                    subject: cert.subject().to_owned(),
                    x5t_256: cert.x5t_256(),
                    matches: encoded.public_key.as_ref().map(|k| k == cert.public_key()),
                });
                ItemReport::PrivateKey(PrivateKeyReport {
                    syntax: encoded.syntax,
                    encrypted: encoded.encryption.is_some(),
                    encryption: encoded.encryption.clone(),
                    wrapping_key_problem: key.as_ref().and_then(KeyInfo::unusable_reason),
                    key,
                    certificate,
                })
            }
            Item::Pkcs12(_) => ItemReport::Pkcs12 {
                encrypted: true,
                note: "the key and certificate inside are read with the PKCS#12 password".into(),
            },
            Item::Other(label) => ItemReport::Other {
                label: label.clone(),
            },
        });
    }
    Ok(FileReport {
        path: path.display().to_string(),
        encoding: file.encoding,
        items,
    })
}

/// A certificate's facts at time `now`.
pub fn certificate_report(cert: &Certificate, now: SystemTime) -> CertificateReport {
    let key = cert.public_key().info();
    CertificateReport {
        subject: cert.subject().to_owned(),
        issuer: cert.issuer().to_owned(),
        self_issued: cert.subject() == cert.issuer(),
        serial: cert.serial_hex().to_owned(),
        not_before: cert.not_before().to_string(),
        not_after: cert.not_after().to_string(),
        days_left: cert.days_left(now),
        status: if cert.is_expired(now) {
            "expired"
        } else if cert.is_not_yet_valid(now) {
            "not_yet_valid"
        } else {
            "valid"
        },
        wrapping_key_problem: cert.public_key().encryption_problem(),
        key,
        key_encipherment: cert.key_encipherment(),
        x5t_256: cert.x5t_256(),
        x5t: cert.x5t(),
        sha256_fingerprint: cert.sha256_fingerprint(),
    }
}
