//! Keys as a Managed HSM serves them: RSA, EC and AES keys with versions, attributes, tags
//! and `key_ops`; reading, listing in pages, updating; soft delete, recovery and purge;
//! key operations through OpenSSL; backup and restore of a key with all its versions.
//! Every route needs its data action at scope `/keys/{name}` (lists at `/keys`), and every
//! key route is refused until the HSM is activated.

mod backup;
mod bundle;
mod create;
mod deleted;
pub mod model;
mod ops;
mod read;
mod request;
mod update;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use self::model::{KeyEntry, KeyVersion};
use super::app::App;
use super::http::ApiError;
use super::state::Hsm;
use crate::primitives::sp800_108;
pub use create::check_name;

/// The key routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/hsm/{hsm}/keys", get(read::list))
        .route("/hsm/{hsm}/keys/restore", post(backup::restore))
        .route(
            "/hsm/{hsm}/keys/{name}",
            get(read::get_key)
                .patch(update_current)
                .delete(deleted::delete),
        )
        .route("/hsm/{hsm}/keys/{name}/create", post(create::create))
        .route("/hsm/{hsm}/keys/{name}/backup", post(backup::backup))
        .route("/hsm/{hsm}/keys/{name}/versions", get(read::list_versions))
        .route(
            "/hsm/{hsm}/keys/{name}/{version}",
            get(read::get_version)
                .patch(update_version)
                .post(operate_current),
        )
        .route(
            "/hsm/{hsm}/keys/{name}/{version}/{op}",
            post(operate_version),
        )
        .route("/hsm/{hsm}/deletedkeys", get(deleted::list_deleted))
        .route(
            "/hsm/{hsm}/deletedkeys/{name}",
            get(deleted::get_deleted).delete(deleted::purge),
        )
        .route(
            "/hsm/{hsm}/deletedkeys/{name}/recover",
            post(deleted::recover),
        )
}

/// The path of a route naming one key.
#[derive(Deserialize)]
pub struct KeyPath {
    hsm: String,
    name: String,
}

/// The path of a route naming one key version.
#[derive(Deserialize)]
pub struct VersionPath {
    hsm: String,
    name: String,
    version: String,
}

/// The path of an operation on one key version.
#[derive(Deserialize)]
pub struct OperationPath {
    hsm: String,
    name: String,
    version: String,
    op: String,
}

async fn update_current(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    update::update(app, hsm, name, None, headers, body).await
}

async fn update_version(
    State(app): State<Arc<App>>,
    Path(VersionPath { hsm, name, version }): Path<VersionPath>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    update::update(app, hsm, name, Some(version), headers, body).await
}

/// `POST /keys/{name}/{op}`: an operation with the current version.
async fn operate_current(
    State(app): State<Arc<App>>,
    Path(VersionPath { hsm, name, version }): Path<VersionPath>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    ops::run(app, hsm, name, None, version, headers, body).await
}

async fn operate_version(
    State(app): State<Arc<App>>,
    Path(OperationPath {
        hsm,
        name,
        version,
        op,
    }): Path<OperationPath>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    ops::run(app, hsm, name, Some(version), op, headers, body).await
}

/// 404 `KeyNotFound` for key `name`.
pub(super) fn not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "KeyNotFound",
        format!("A key with (name/id) '{name}' was not found in this HSM"),
    )
}

/// Key `name` and its current version.
fn find<'a>(h: &'a Hsm, name: &str) -> Result<(&'a KeyEntry, &'a KeyVersion), ApiError> {
    let entry = h.keys.get(name).ok_or_else(|| not_found(name))?;
    let current = entry.current().ok_or_else(|| not_found(name))?;
    Ok((entry, current))
}

/// Version `version` of key `name` (the current one when `None` or empty).
fn find_version<'a>(
    h: &'a Hsm,
    name: &str,
    version: Option<&str>,
) -> Result<&'a KeyVersion, ApiError> {
    let (entry, current) = find(h, name)?;
    match version.filter(|v| !v.is_empty()) {
        None => Ok(current),
        Some(v) => entry.version(v).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "KeyNotFound",
                format!("A key with (name/id) '{name}/{v}' was not found in this HSM"),
            )
        }),
    }
}

/// 409 when `name` is a deleted key: its name cannot be reused until recovered or purged
/// (by a caller, or by itself at its scheduled purge date: those are dropped first).
fn deleted_conflict(h: &mut Hsm, name: &str) -> Result<(), ApiError> {
    deleted::sweep(h);
    if h.deleted_keys.contains_key(name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Key '{name}' is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged."),
        ));
    }
    Ok(())
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
