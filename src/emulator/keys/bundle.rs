//! The JSON a Managed HSM answers for keys: the key bundle (public JWK, attributes, tags),
//! list items and deleted-key bundles. Never a private part (`d`, `k`, ...).

use openssl::bn::{BigNum, BigNumContext};
use openssl::pkey::{Id, PKey, Private};
use serde_json::{json, Value};

use super::model::{DeletedKey, KeyVersion, Retention};
use crate::emulator::http::ApiError;
use crate::primitives::base64url;

/// The private key of an RSA or EC version.
pub fn private_key(v: &KeyVersion) -> Result<PKey<Private>, ApiError> {
    PKey::private_key_from_pem(v.material.as_bytes())
        .map_err(|e| ApiError::internal(format!("stored key unreadable: {e}")))
}

fn internal(e: openssl::error::ErrorStack) -> ApiError {
    ApiError::internal(e.to_string())
}

/// `n` padded to `len` bytes (JWK coordinates have the curve's full size).
fn padded(n: &BigNum, len: usize) -> Result<Vec<u8>, ApiError> {
    let len = i32::try_from(len).map_err(|_| ApiError::internal("coordinate too long"))?;
    n.to_vec_padded(len).map_err(internal)
}

/// The public JWK of version `v` with id `kid`.
pub fn jwk(kid: &str, v: &KeyVersion) -> Result<Value, ApiError> {
    let mut jwk = json!({"kid": kid, "kty": v.kty, "key_ops": v.key_ops});
    if v.kty == "oct-HSM" {
        return Ok(jwk);
    }
    let key = private_key(v)?;
    match key.id() {
        Id::RSA => {
            let rsa = key.rsa().map_err(internal)?;
            jwk["n"] = json!(base64url::encode(&rsa.n().to_vec()));
            jwk["e"] = json!(base64url::encode(&rsa.e().to_vec()));
        }
        Id::EC => {
            let ec = key.ec_key().map_err(internal)?;
            let (mut x, mut y) = (
                BigNum::new().map_err(internal)?,
                BigNum::new().map_err(internal)?,
            );
            let mut ctx = BigNumContext::new().map_err(internal)?;
            ec.public_key()
                .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                .map_err(internal)?;
            let size = (ec.group().degree() as usize).div_ceil(8);
            jwk["crv"] = json!(v.crv);
            jwk["x"] = json!(base64url::encode(&padded(&x, size)?));
            jwk["y"] = json!(base64url::encode(&padded(&y, size)?));
        }
        _ => return Err(ApiError::internal("stored key is neither RSA nor EC")),
    }
    Ok(jwk)
}

/// The `attributes` object of version `v`.
pub fn attributes(v: &KeyVersion, retention: Retention) -> Value {
    let a = &v.attributes;
    let mut out = json!({
        "enabled": a.enabled,
        "created": a.created,
        "updated": a.updated,
        "recoveryLevel": retention.recovery_level(),
        "recoverableDays": retention.days,
        "exportable": false,
    });
    if let Some(nbf) = a.nbf {
        out["nbf"] = json!(nbf);
    }
    if let Some(exp) = a.exp {
        out["exp"] = json!(exp);
    }
    out
}

/// The key bundle of version `v` of key `name` on the HSM at `base`.
pub fn key_bundle(base: &str, name: &str, v: &KeyVersion, r: Retention) -> Result<Value, ApiError> {
    let kid = format!("{base}/keys/{name}/{}", v.version);
    Ok(json!({
        "key": jwk(&kid, v)?,
        "attributes": attributes(v, r),
        "tags": v.tags,
    }))
}

/// A list item: `kid` without a version for the key list, with it for the version list.
pub fn key_item(kid: String, v: &KeyVersion, r: Retention) -> Value {
    json!({"kid": kid, "attributes": attributes(v, r), "tags": v.tags})
}

/// The deleted-key fields added to a bundle or an item.
pub fn with_deletion(mut value: Value, base: &str, name: &str, d: &DeletedKey) -> Value {
    value["recoveryId"] = json!(format!("{base}/deletedkeys/{name}"));
    value["deletedDate"] = json!(d.deleted_date);
    value["scheduledPurgeDate"] = json!(d.scheduled_purge_date);
    value
}
