//! X.509 certificates, parsed in memory-safe Rust (`x509-cert`), with the thumbprints the
//! security-domain file and witnesses use.

use std::time::{SystemTime, UNIX_EPOCH};

use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::KeyUsage;

use super::asn1::oid;
use super::public::PublicKey;
use crate::primitives::base64url;

/// A parsed X.509 certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    serial_hex: String,
    not_before: der::DateTime,
    not_after: der::DateTime,
    public_key: PublicKey,
    key_encipherment: Option<bool>,
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        let public_key = PublicKey::from_spki_der(&spki)?;
        let key_encipherment = tbs
            .extensions
            .as_ref()
            .and_then(|exts| exts.iter().find(|e| e.extn_id == oid::KEY_USAGE))
            .map(|ext| {
                KeyUsage::from_der(ext.extn_value.as_bytes())
                    .map(|ku| ku.key_encipherment())
                    .map_err(|e| format!("unreadable keyUsage extension: {e}"))
            })
            .transpose()?;
        Ok(Certificate {
            der: der.to_vec(),
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial_hex: hex_colon(tbs.serial_number.as_bytes()).to_lowercase(),
            not_before: tbs.validity.not_before.to_date_time(),
            not_after: tbs.validity.not_after.to_date_time(),
            public_key,
            key_encipherment,
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject as an RFC 4514 string ("CN=alice,O=Contoso").
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer as an RFC 4514 string.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The serial number, lowercase hex with colons.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// Start of validity.
    pub fn not_before(&self) -> der::DateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> der::DateTime {
        self.not_after
    }

    /// The subject public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Whether the keyUsage extension allows keyEncipherment (`None`: no keyUsage, any use).
    pub fn key_encipherment(&self) -> Option<bool> {
        self.key_encipherment
    }

    /// `x5t#S256` / the SD file's `x5t_256`: unpadded base64url SHA-256 of the DER.
    pub fn x5t_256(&self) -> String {
        base64url::encode(&Sha256::digest(&self.der))
    }

    /// `x5t`: unpadded base64url SHA-1 of the DER (JWK field; not a security check).
    pub fn x5t(&self) -> String {
        base64url::encode(&Sha1::digest(&self.der))
    }

    /// The SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it.
    pub fn sha256_fingerprint(&self) -> String {
        hex_colon(&Sha256::digest(&self.der))
    }

    /// Whole days of validity left at `now` (negative once expired).
    pub fn days_left(&self, now: SystemTime) -> i64 {
        let end = self.not_after.unix_duration().as_secs() as i64;
        let now = unix_seconds(now);
        (end - now).div_euclid(86_400)
    }

    /// Whether the certificate has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        unix_seconds(now) > self.not_after.unix_duration().as_secs() as i64
    }

    /// Whether the certificate is not yet valid at `now`.
    pub fn is_not_yet_valid(&self, now: SystemTime) -> bool {
        unix_seconds(now) < self.not_before.unix_duration().as_secs() as i64
    }

    /// The certificate as PEM.
    pub fn to_pem(&self) -> String {
        super::pem::encode("CERTIFICATE", &self.der).to_string()
    }
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Uppercase hex bytes separated by colons ("AB:CD:01").
pub fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
