//! `POST /keys/{name}/backup` and `POST /keys/restore`: a key with all its versions, sealed
//! (A256CBC-HS512) under a key derived from the HSM's security-domain state, so only an HSM
//! holding the same security domain restores it. Restoring over an existing or deleted
//! name is refused (409).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::bundle::key_bundle;
use super::model::KeyEntry;
use super::{backup_key, check_name, deleted_conflict, find, require_active, KeyPath};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;
use crate::primitives::base64url;
use crate::primitives::jwe::{self, CompactJwe};

const LABEL: &str = "mhsm-key-backup";

/// `POST /keys/{name}/backup`: `{"value": blob}`.
pub async fn backup(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(
        &headers,
        &hsm,
        &format!("/keys/{name}"),
        "keys/backup/action",
    )?;
    require_active(&h)?;
    let entry = find(&h, &name)?.0;
    let plain = serde_json::to_vec(&json!({"name": name, "entry": entry}))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let sealed = jwe::encrypt_dir(&plain, &backup_key(&h, LABEL)?, Some(LABEL))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!({"value": base64url::encode(sealed.as_bytes())})))
}

/// `POST /keys/restore` `{"value": blob}`: the restored key's bundle (current version).
pub async fn restore(
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
    let plain = jwe.decrypt_dir(&backup_key(&h, LABEL)?).map_err(|_| {
        ApiError::bad_parameter("the key backup was made by an HSM with a different security domain; it can only be restored into an HSM that holds the same security domain")
    })?;
    // Authenticated by the seal: only this emulator made it. `key` is the form before versions.
    let restored: Value =
        serde_json::from_slice(&plain).map_err(|e| ApiError::internal(e.to_string()))?;
    let name = restored["name"].as_str().unwrap_or_default().to_owned();
    check_name(&name)?;
    let stored = restored
        .get("entry")
        .or_else(|| restored.get("key"))
        .cloned();
    let entry: KeyEntry = serde_json::from_value(stored.unwrap_or(Value::Null))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let current = entry
        .current()
        .ok_or_else(|| ApiError::internal("the key backup holds no version"))?;
    let answer = key_bundle(&app.hsm_url(&hsm), &name, current, h.retention)?;
    app.mutate_hsm(&hsm, |h| {
        deleted_conflict(h, &name)?;
        if h.keys.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "a key named '{name}' already exists in this HSM; a backup is restored only under a free name"
            )));
        }
        h.keys.insert(name.clone(), entry);
        Ok(())
    })?;
    Ok(Json(answer))
}
