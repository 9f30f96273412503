//! The new HSM's exchange (transfer) key, as people hand it to the air-gapped machine: a
//! PEM or DER certificate (what `az keyvault security-domain init-recovery` writes), a PEM
//! public key, a JWK, or the whole `GET /securitydomain/upload` response
//! (`{"key_format": "jwk", "transfer_key": <JWK object or JSON string>}`).
//!
//! The key's `x5t_256` is always computed from its certificate (the PEM certificate, or the
//! JWK's `x5c[0]`), never read from a field: a JWK's own `x5t#S256` is self-asserted and is
//! ignored. A JWK whose `n`/`e` differ from its certificate is refused, and so is every key
//! [`check_rsa_public_key`](crate::keys::check_rsa_public_key) refuses. A key with no
//! certificate (a bare public key, a JWK without `x5c`) is parsed, but
//! [`read_exchange_key`] refuses it: nothing binds it to the new HSM and its `x5t_256`
//! cannot be computed (docs/decisions.md).

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::pkey::{PKey, Public};
use serde_json::Value;

use super::DomainError;
use crate::files;
use crate::keys::{Certificate, Item, KeyFile, PublicKey};
use crate::primitives::base64url;

/// The exchange key: its RSA public key and, when known, its certificate.
pub struct ExchangeKey {
    /// The public key, for OpenSSL.
    pub public: PKey<Public>,
    /// The same key in sdctl's form.
    pub key: PublicKey,
    /// The certificate (`x5c[0]` of the JWK, or the PEM certificate), when given.
    pub certificate: Option<Certificate>,
    /// `x5t_256` for the restore blob: the unpadded base64url SHA-256 of the certificate's
    /// DER, computed here; `None` exactly when there is no certificate (never taken from a
    /// JWK's self-asserted `x5t#S256`).
    pub x5t_256: Option<String>,
    /// What the file held ("PEM certificate", "JWK", "transfer-key response", ...).
    pub form: &'static str,
}

/// Reads an exchange key file of any of the accepted forms, for a restore blob: the key
/// must pass the RSA checks and come with its certificate (refused otherwise, naming the
/// file, before any private key is asked for).
pub fn read_exchange_key(path: &Path) -> Result<ExchangeKey, DomainError> {
    let bytes = files::read_bounded(path, 1024 * 1024, "an exchange key")?;
    parse_exchange_key(path, &bytes)
}

/// Parses an exchange key of any of the accepted forms from `bytes` (read from, or carried
/// in, `path`, which messages name).
pub fn parse_exchange_key(path: &Path, bytes: &[u8]) -> Result<ExchangeKey, DomainError> {
    let err = |detail: String| DomainError::Exchange {
        path: path.to_owned(),
        detail,
    };
    let trimmed = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let exchange = if trimmed.map(|i| bytes[i] == b'{') == Some(true) {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| err(format!("not valid JSON: {e}")))?;
        from_json(&value).map_err(err)?
    } else {
        let file = KeyFile::parse(path, bytes)?;
        let mut found = None;
        for item in file.items {
            match item {
                Item::Certificate(cert) => {
                    found = Some(ExchangeKey::from_certificate(cert, "certificate").map_err(&err)?);
                    break;
                }
                Item::PublicKey(key) if found.is_none() => {
                    found = Some(ExchangeKey::from_public(key, None, "public key").map_err(&err)?);
                }
                _ => {}
            }
        }
        found.ok_or_else(|| {
            err("holds no certificate or public key; expected the exchange key as a PEM certificate, PEM public key, JWK, or transfer-key response".into())
        })?
    };
    if exchange.certificate.is_none() {
        return Err(err(format!(
            "{} without a certificate: nothing binds it to the new HSM and its x5t_256 cannot be computed; give the exchange key's certificate (what 'sdctl hsm init-recovery' or 'az keyvault security-domain init-recovery' writes) or the JWK with x5c",
            exchange.form
        )));
    }
    Ok(exchange)
}

impl ExchangeKey {
    fn from_certificate(cert: Certificate, form: &'static str) -> Result<Self, String> {
        Self::from_public(cert.public_key().clone(), Some(cert), form)
    }

    /// The one constructor: refuses a key sdctl must not encrypt to, and computes
    /// `x5t_256` from the certificate when there is one.
    fn from_public(
        key: PublicKey,
        certificate: Option<Certificate>,
        form: &'static str,
    ) -> Result<Self, String> {
        if let Some(problem) = key.encryption_problem() {
            return Err(format!("exchange key: {problem}"));
        }
        let public = key.to_openssl()?;
        let x5t_256 = certificate.as_ref().map(Certificate::x5t_256);
        Ok(ExchangeKey {
            public,
            key,
            certificate,
            x5t_256,
            form,
        })
    }
}

/// The exchange key in a JSON document: a transfer-key response (`transfer_key` as an
/// object or a JSON string), a key bundle `{"key": JWK}`, or a bare JWK.
pub fn from_json(value: &Value) -> Result<ExchangeKey, String> {
    if let Some(jwk) = transfer_key_jwk(value)? {
        return from_jwk(&jwk, "transfer-key response");
    }
    // `{"value": ...}` bodies and the Key Vault key bundle `{"key": JWK}` both occur.
    if let Some(key) = value.get("key").filter(|k| k.is_object()) {
        return from_jwk(key, "key bundle JWK");
    }
    from_jwk(value, "JWK")
}

/// The JWK of a transfer-key response (`GET /securitydomain/upload`), whose `transfer_key`
/// is an object or, as the real service sends it, a JSON string; `None` when `value` is not
/// a transfer-key response.
pub fn transfer_key_jwk(value: &Value) -> Result<Option<Value>, String> {
    match value.get("transfer_key") {
        None => Ok(None),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .map(Some)
            .ok_or_else(|| "transfer_key is a string that is not a JWK".to_owned()),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(_) => Err("transfer_key is neither a JWK object nor a JSON string".into()),
    }
}

fn from_jwk(jwk: &Value, form: &'static str) -> Result<ExchangeKey, String> {
    // A member of the wrong JSON type is refused by name, never taken for an absent one.
    let field = |name: &str| match jwk.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("JWK '{name}' is not a string")),
    };
    match field("kty")? {
        Some("RSA") | Some("RSA-HSM") => {}
        Some(other) => return Err(format!("JWK kty '{other}'; the exchange key must be RSA")),
        None => return Err("JSON is not a JWK (no 'kty') nor a transfer-key response".into()),
    }
    // `x5t#S256` is read only to refuse a member of the wrong type; its value is never used.
    field("x5t#S256")?;
    let from_numbers = match (field("n")?, field("e")?) {
        (Some(n), Some(e)) => Some(PublicKey::rsa(
            &base64url::decode(n).ok_or("JWK 'n' is not base64url")?,
            &base64url::decode(e).ok_or("JWK 'e' is not base64url")?,
        )),
        (None, None) => None,
        _ => return Err("JWK has only one of 'n' and 'e'".into()),
    };
    let x5c = match jwk.get("x5c") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => a.first(),
        Some(_) => return Err("JWK 'x5c' is not an array".into()),
    };
    let certificate = match x5c {
        Some(Value::String(b64)) => {
            let der = STANDARD
                .decode(b64.trim())
                .map_err(|_| "JWK x5c[0] is not base64".to_owned())?;
            Some(
                Certificate::from_der(&der)
                    .map_err(|e| format!("JWK x5c[0] is not a certificate: {e}"))?,
            )
        }
        Some(_) => return Err("JWK x5c[0] is not a string".into()),
        None => None,
    };
    match (certificate, from_numbers) {
        (Some(cert), numbers) => {
            if let Some(key) = numbers {
                if &key != cert.public_key() {
                    return Err("JWK n/e do not match the certificate in x5c[0]".into());
                }
            }
            ExchangeKey::from_certificate(cert, form)
        }
        (None, Some(key)) => ExchangeKey::from_public(key, None, form),
        (None, None) => Err("JWK has neither x5c nor n and e".into()),
    }
}
