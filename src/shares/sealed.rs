//! Shares sealed to a custodian's certificate: a compact JWE (`RSA-OAEP-256`,
//! `A256CBC-HS512`) whose plaintext is the binary share. The protected header names the
//! certificate (`x5t#S256`) and the content (`cty`), so the right key is found without
//! trying every one; without a certificate beside a key, the keys are tried in turn and the
//! JWE's MAC decides.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::format::Share;
use super::ShareError;
use crate::keys::{Certificate, WrappingKey};
use crate::primitives::jwe::{self, CompactJwe};

/// The `cty` header of a sealed share.
pub const CONTENT_TYPE: &str = "sdctl-share";

/// Seals `share` to `cert`'s RSA public key.
pub fn seal(share: &Share, cert: &Certificate) -> Result<String, ShareError> {
    let public = cert
        .public_key()
        .to_openssl()
        .map_err(|e| ShareError::Usage(format!("certificate {}: {e}", cert.subject())))?;
    let mut header = Map::new();
    header.insert("cty".into(), Value::from(CONTENT_TYPE));
    header.insert("x5t#S256".into(), Value::from(cert.x5t_256()));
    jwe::encrypt_rsa_oaep256(&share.encode(), &public, &header)
        .map_err(|e| ShareError::Crypto(e.to_string()))
}

/// Whether `text` looks like a compact JWE (five base64url parts).
pub fn looks_sealed(text: &str) -> bool {
    let text = text.trim();
    text.starts_with("eyJ") && text.split('.').count() == 5
}

/// Opens the sealed share in `text` (read from `path`) with one of `keys`; returns the
/// share, the key file that opened it, and whether that key came with another certificate
/// than the one the share was sealed to (opened by trial decryption: worth a warning).
pub fn open(
    path: &Path,
    text: &str,
    keys: &[WrappingKey],
) -> Result<(Share, PathBuf, bool), ShareError> {
    let sealed = |detail: String| ShareError::Sealed {
        path: path.to_owned(),
        detail,
    };
    let jwe = CompactJwe::parse(text.trim()).map_err(|e| ShareError::Malformed {
        path: path.to_owned(),
        detail: format!("is not a valid sealed share: {e}"),
    })?;
    if jwe.header().get("cty").and_then(Value::as_str) != Some(CONTENT_TYPE) {
        return Err(ShareError::Malformed {
            path: path.to_owned(),
            detail: format!(
                "is a JWE but not a sealed sdctl share (no \"cty\": \"{CONTENT_TYPE}\")"
            ),
        });
    }
    if keys.is_empty() {
        return Err(ShareError::Usage(format!(
            "{}: is sealed to a custodian's certificate; give that custodian's key with --keys",
            path.display()
        )));
    }
    let thumbprint = jwe.header().get("x5t#S256").and_then(Value::as_str);
    let named = keys.iter().find(|k| {
        k.certificate.as_ref().map(Certificate::x5t_256).as_deref() == thumbprint
            && thumbprint.is_some()
    });
    let plaintext = match named {
        Some(key) => jwe.decrypt_rsa(&key.key).map(|p| (p, key)).map_err(|e| {
            sealed(format!(
                "{e} with {} (its certificate matches, so the sealed share was altered)",
                key.key_path.display()
            ))
        })?,
        // Keys without a certificate first, then keys whose certificate is another one (a
        // renewed certificate over the same key pair): the JWE's MAC decides.
        None => keys
            .iter()
            .filter(|k| k.certificate.is_none())
            .chain(keys.iter().filter(|k| k.certificate.is_some()))
            .find_map(|k| jwe.decrypt_rsa(&k.key).ok().map(|p| (p, k)))
            .ok_or_else(|| {
                sealed(format!(
                    "none of the keys given opens it (sealed to the certificate with x5t#S256 {}); give its custodian's key",
                    thumbprint.unwrap_or("unknown")
                ))
            })?,
    };
    let (bytes, key) = plaintext;
    let share = Share::decode(&bytes).map_err(|detail| ShareError::Malformed {
        path: path.to_owned(),
        detail: format!("opens, but holds no valid share: it {detail}"),
    })?;
    let despite_certificate = named.is_none() && key.certificate.is_some();
    Ok((share, key.key_path.clone(), despite_certificate))
}
