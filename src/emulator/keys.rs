//! Keys, enough to prove a recovery: create (RSA, AES), get, list, backup and restore.
//! A backup is sealed (A256CBC-HS512) under a key derived from the HSM's security-domain
//! state, so only an HSM holding the same security domain can restore it. Every key
//! operation is refused until the HSM is activated.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::server::random;
use super::state::{Hsm, StoredKey};
use crate::primitives::jwe::{self, CompactJwe};
use crate::primitives::{base64url, sp800_108};

/// The key routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/hsm/{hsm}/keys", get(list))
        .route("/hsm/{hsm}/keys/restore", post(restore))
        .route("/hsm/{hsm}/keys/{name}", get(get_key))
        .route("/hsm/{hsm}/keys/{name}/{version}", get(get_key_version))
        .route("/hsm/{hsm}/keys/{name}/create", post(create))
        .route("/hsm/{hsm}/keys/{name}/backup", post(backup))
}

/// Refuses key operations on an HSM that is not activated.
pub fn require_active(h: &Hsm) -> Result<(), ApiError> {
    if h.activation != "Active" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "HsmNotActivated",
            "the Managed HSM is not activated: download its security domain (new HSM) or upload one (recovery) first",
        ));
    }
    Ok(())
}

/// The 64-byte key that seals backups: SP 800-108 of the security-domain state.
pub(super) fn backup_key(h: &Hsm, label: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
    let root = h
        .blobs
        .iter()
        .find(|b| b.tag == "mhsm-backup-root")
        .and_then(|b| STANDARD.decode(&b.data).ok())
        .ok_or_else(|| ApiError::internal("the security-domain state has no backup root"))?;
    sp800_108::derive(&root, label.as_bytes(), b"", 512)
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn bundle(app: &App, hsm: &str, name: &str, key: &StoredKey) -> Result<Value, ApiError> {
    let kid = format!("{}/keys/{name}/{}", app.hsm_url(hsm), key.created);
    let mut jwk = json!({"kid": kid, "kty": key.kty, "key_ops": key.key_ops});
    if key.kty == "RSA-HSM" {
        let pkey = PKey::private_key_from_pem(key.material.as_bytes())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let rsa = pkey.rsa().map_err(|e| ApiError::internal(e.to_string()))?;
        jwk["n"] = json!(base64url::encode(&rsa.n().to_vec()));
        jwk["e"] = json!(base64url::encode(&rsa.e().to_vec()));
    }
    Ok(json!({
        "key": jwk,
        "attributes": {"enabled": true, "created": key.created, "updated": key.created, "recoveryLevel": "Recoverable+Purgeable", "exportable": false},
    }))
}

fn stored<'a>(h: &'a Hsm, name: &str) -> Result<&'a StoredKey, ApiError> {
    h.keys.get(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "KeyNotFound",
            format!("a key with name '{name}' was not found in this HSM"),
        )
    })
}

async fn create(
    State(app): State<Arc<App>>,
    Path((hsm, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/create")?;
    require_active(&h)?;
    if name.is_empty()
        || name.len() > 127
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::bad_parameter(format!(
            "'{name}' is not a valid key name"
        )));
    }
    let kty = body["kty"].as_str().unwrap_or_default();
    let (kty, size, material, ops) = match kty {
        "RSA" | "RSA-HSM" => {
            let bits = body["key_size"].as_u64().unwrap_or(2048) as u32;
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(ApiError::bad_parameter(format!(
                    "key_size {bits} is not valid for RSA (2048, 3072, 4096)"
                )));
            }
            let key = Rsa::generate(bits)
                .and_then(PKey::from_rsa)
                .and_then(|k| k.private_key_to_pem_pkcs8())
                .map_err(|e| ApiError::internal(e.to_string()))?;
            (
                "RSA-HSM",
                bits,
                String::from_utf8_lossy(&key).into_owned(),
                vec![
                    "encrypt",
                    "decrypt",
                    "wrapKey",
                    "unwrapKey",
                    "sign",
                    "verify",
                ],
            )
        }
        "oct" | "oct-HSM" => {
            let bits = body["key_size"].as_u64().unwrap_or(256) as u32;
            if ![128, 192, 256].contains(&bits) {
                return Err(ApiError::bad_parameter(format!(
                    "key_size {bits} is not valid for AES (128, 192, 256)"
                )));
            }
            (
                "oct-HSM",
                bits,
                STANDARD.encode(random(bits as usize / 8)),
                vec!["encrypt", "decrypt", "wrapKey", "unwrapKey"],
            )
        }
        other => {
            return Err(ApiError::bad_parameter(format!(
                "kty '{other}' is not supported (RSA-HSM, oct-HSM)"
            )))
        }
    };
    let key = StoredKey {
        kty: kty.into(),
        size,
        material,
        created: super::identity::now(),
        key_ops: ops.into_iter().map(str::to_owned).collect(),
    };
    let answer = bundle(&app, &hsm, &name, &key)?;
    app.mutate_hsm(&hsm, |h| {
        h.keys.insert(name.clone(), key);
        Ok(())
    })?;
    Ok(Json(answer))
}

async fn get_key(
    State(app): State<Arc<App>>,
    Path((hsm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/read/action")?;
    require_active(&h)?;
    Ok(Json(bundle(&app, &hsm, &name, stored(&h, &name)?)?))
}

/// `GET /keys/{name}/{version}`: the key when `version` is its version (its one version).
async fn get_key_version(
    State(app): State<Arc<App>>,
    Path((hsm, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/read/action")?;
    require_active(&h)?;
    let key = stored(&h, &name)?;
    if key.created.to_string() != version {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "KeyNotFound",
            format!("a key with name '{name}' and version '{version}' was not found in this HSM"),
        ));
    }
    Ok(Json(bundle(&app, &hsm, &name, key)?))
}

async fn list(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/read/action")?;
    require_active(&h)?;
    let items: Vec<Value> = h
        .keys
        .iter()
        .map(|(name, k)| json!({"kid": format!("{}/keys/{name}", app.hsm_url(&hsm)), "attributes": {"enabled": true, "created": k.created}}))
        .collect();
    Ok(Json(json!({"value": items, "nextLink": null})))
}

async fn backup(
    State(app): State<Arc<App>>,
    Path((hsm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/backup/action")?;
    require_active(&h)?;
    let key = stored(&h, &name)?;
    let plain = serde_json::to_vec(&json!({"name": name, "key": key}))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let sealed = jwe::encrypt_dir(
        &plain,
        &backup_key(&h, "mhsm-key-backup")?,
        Some("mhsm-key-backup"),
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!({"value": base64url::encode(sealed.as_bytes())})))
}

async fn restore(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/restore/action")?;
    require_active(&h)?;
    let sealed = body["value"]
        .as_str()
        .and_then(base64url::decode)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_parameter("'value' must be a key backup blob"))?;
    let jwe = CompactJwe::parse(&sealed)
        .map_err(|e| ApiError::bad_parameter(format!("the key backup is malformed: {e}")))?;
    let plain = jwe.decrypt_dir(&backup_key(&h, "mhsm-key-backup")?).map_err(|_| {
        ApiError::bad_parameter("the key backup was made by an HSM with a different security domain; it can only be restored into an HSM that holds the same security domain")
    })?;
    let restored: Value =
        serde_json::from_slice(&plain).map_err(|e| ApiError::internal(e.to_string()))?;
    let name = restored["name"].as_str().unwrap_or_default().to_owned();
    let key: StoredKey = serde_json::from_value(restored["key"].clone())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let answer = bundle(&app, &hsm, &name, &key)?;
    app.mutate_hsm(&hsm, |h| {
        if h.keys.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "a key named '{name}' already exists in this HSM"
            )));
        }
        h.keys.insert(name.clone(), key);
        Ok(())
    })?;
    Ok(Json(answer))
}
