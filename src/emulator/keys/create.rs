//! `POST /keys/{name}/create`: a new key, or a new version of an existing one, made by
//! OpenSSL: `RSA-HSM` 2048/3072/4096, `EC-HSM` P-256/P-256K/P-384/P-521, `oct-HSM`
//! 128/192/256, with the attributes, tags and `key_ops` asked for.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::Value;

use super::model::{KeyAttributes, KeyEntry, KeyVersion};
use super::{deleted_conflict, request, require_active, KeyPath};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;
use crate::emulator::server::random;

/// Checks a key name as the service does: 1 to 127 letters, digits and hyphens.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 127
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::bad_parameter(format!(
            "'{name}' is not a valid key name: use 1 to 127 letters, digits and hyphens"
        )));
    }
    Ok(())
}

/// A new version id: 32 lowercase hex characters.
pub fn new_version() -> String {
    random(16).iter().map(|b| format!("{b:02x}")).collect()
}

/// The curves EC-HSM keys may use: (JWK name, OpenSSL curve, size in bits).
const CURVES: [(&str, Nid, u32); 4] = [
    ("P-256", Nid::X9_62_PRIME256V1, 256),
    ("P-256K", Nid::SECP256K1, 256),
    ("P-384", Nid::SECP384R1, 384),
    ("P-521", Nid::SECP521R1, 521),
];

/// Fresh key material for a create body.
struct Fresh {
    kty: &'static str,
    size: u32,
    crv: Option<&'static str>,
    material: String,
    default_ops: &'static [&'static str],
}

/// Makes the key material a create body asks for.
fn material(body: &Value) -> Result<Fresh, ApiError> {
    let internal = |e: openssl::error::ErrorStack| ApiError::internal(e.to_string());
    let size = |default: u64| -> Result<u32, ApiError> {
        match body.get("key_size") {
            None | Some(Value::Null) => Ok(default as u32),
            Some(v) => v
                .as_u64()
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| ApiError::bad_parameter("key_size must be a number of bits")),
        }
    };
    let kty = body
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_parameter("'kty' is required: RSA-HSM, EC-HSM or oct-HSM"))?;
    match kty {
        "RSA-HSM" => {
            let bits = size(2048)?;
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(ApiError::bad_parameter(format!(
                    "key_size {bits} is not valid for RSA-HSM: 2048, 3072 or 4096"
                )));
            }
            let e = match body.get("public_exponent") {
                None | Some(Value::Null) => 65537,
                Some(v) => v
                    .as_u64()
                    .filter(|e| *e == 3 || *e == 65537)
                    .ok_or_else(|| ApiError::bad_parameter("public_exponent must be 3 or 65537"))?
                    as u32,
            };
            let e = BigNum::from_u32(e).map_err(internal)?;
            let pem = Rsa::generate_with_e(bits, &e)
                .and_then(PKey::from_rsa)
                .and_then(|k| k.private_key_to_pem_pkcs8())
                .map_err(internal)?;
            Ok(Fresh {
                kty: "RSA-HSM",
                size: bits,
                crv: None,
                material: String::from_utf8_lossy(&pem).into_owned(),
                // Every operation but import and export.
                default_ops: &request::KEY_OPS[..6],
            })
        }
        "EC-HSM" => {
            let crv = body.get("crv").and_then(Value::as_str).unwrap_or("P-256");
            let (crv, nid, bits) = CURVES.iter().find(|c| c.0 == crv).ok_or_else(|| {
                ApiError::bad_parameter(format!(
                    "crv '{crv}' is not valid for EC-HSM: P-256, P-256K, P-384 or P-521"
                ))
            })?;
            let pem = EcGroup::from_curve_name(*nid)
                .and_then(|g| EcKey::generate(&g))
                .and_then(PKey::from_ec_key)
                .and_then(|k| k.private_key_to_pem_pkcs8())
                .map_err(internal)?;
            let pem = String::from_utf8_lossy(&pem).into_owned();
            Ok(Fresh {
                kty: "EC-HSM",
                size: *bits,
                crv: Some(crv),
                material: pem,
                default_ops: &["sign", "verify"],
            })
        }
        "oct-HSM" => {
            let bits = size(256)?;
            if ![128, 192, 256].contains(&bits) {
                return Err(ApiError::bad_parameter(format!(
                    "key_size {bits} is not valid for oct-HSM: 128, 192 or 256"
                )));
            }
            Ok(Fresh {
                kty: "oct-HSM",
                size: bits,
                crv: None,
                material: STANDARD.encode(random(bits as usize / 8)),
                default_ops: &["encrypt", "decrypt", "wrapKey", "unwrapKey"],
            })
        }
        "RSA" | "EC" | "oct" => Err(ApiError::bad_parameter(format!(
            "kty '{kty}' is a software key type: a Managed HSM only makes HSM keys ({kty}-HSM)"
        ))),
        other => Err(ApiError::bad_parameter(format!(
            "kty '{other}' is not supported: RSA-HSM, EC-HSM or oct-HSM"
        ))),
    }
}

/// `POST /keys/{name}/create`.
pub async fn create(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, &format!("/keys/{name}"), "keys/create")?;
    require_active(&h)?;
    check_name(&name)?;
    let attrs = request::attributes(&body)?;
    let tags = request::tags(&body)?.unwrap_or_default();
    let asked_ops = request::key_ops(&body)?;
    let fresh = material(&body)?;
    let now = crate::emulator::identity::now();
    let version = KeyVersion {
        version: new_version(),
        kty: fresh.kty.to_owned(),
        size: fresh.size,
        crv: fresh.crv.map(str::to_owned),
        material: fresh.material,
        attributes: KeyAttributes {
            enabled: attrs.enabled.unwrap_or(true),
            nbf: attrs.nbf.flatten(),
            exp: attrs.exp.flatten(),
            created: now,
            updated: now,
        },
        tags,
        key_ops: asked_ops
            .unwrap_or_else(|| fresh.default_ops.iter().map(|o| o.to_string()).collect()),
    };
    let base = app.hsm_url(&hsm);
    let answer = super::bundle::key_bundle(&base, &name, &version, h.retention)?;
    app.mutate_hsm(&hsm, |h| {
        deleted_conflict(h, &name)?;
        h.keys
            .entry(name.clone())
            .or_insert_with(|| KeyEntry {
                versions: Vec::new(),
            })
            .versions
            .push(version);
        Ok(())
    })?;
    Ok(Json(answer))
}
