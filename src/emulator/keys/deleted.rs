//! Soft delete: `DELETE /keys/{name}` keeps the key (every version) as a deleted key for the
//! HSM's retention period; `GET /deletedkeys[/{name}]` shows them, `POST
//! /deletedkeys/{name}/recover` brings one back, `DELETE /deletedkeys/{name}` purges it
//! (refused while purge protection is on). A deleted key's name cannot be reused until it
//! is recovered or purged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::bundle::{key_bundle, key_item, with_deletion};
use super::model::DeletedKey;
use super::read::page;
use super::{not_found, require_active, KeyPath};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;
use crate::emulator::state::Hsm;

const DAY: u64 = 24 * 60 * 60;

fn deleted_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "KeyNotFound",
        format!("Deleted Key not found: a deleted key named '{name}' does not exist in this HSM"),
    )
}

/// Whether `d` is still kept at `now`: at its scheduled purge date it is purged by itself.
fn kept(d: &DeletedKey, now: u64) -> bool {
    now < d.scheduled_purge_date
}

/// Drops the deleted keys whose scheduled purge date has come.
pub(super) fn sweep(h: &mut Hsm) {
    let now = crate::emulator::identity::now();
    h.deleted_keys.retain(|_, d| kept(d, now));
}

fn deleted<'a>(h: &'a Hsm, name: &str) -> Result<&'a DeletedKey, ApiError> {
    let now = crate::emulator::identity::now();
    h.deleted_keys
        .get(name)
        .filter(|d| kept(d, now))
        .ok_or_else(|| deleted_not_found(name))
}

/// The deleted-key bundle of `d` (its current version).
fn deleted_bundle(base: &str, name: &str, d: &DeletedKey, h: &Hsm) -> Result<Value, ApiError> {
    let v = d
        .entry
        .current()
        .ok_or_else(|| ApiError::internal("a deleted key without versions"))?;
    Ok(with_deletion(
        key_bundle(base, name, v, h.retention)?,
        base,
        name,
        d,
    ))
}

/// `DELETE /keys/{name}`: the deleted-key bundle.
pub async fn delete(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, &format!("/keys/{name}"), "keys/delete")?;
    require_active(&h)?;
    let now = crate::emulator::identity::now();
    let (d, h) = app.mutate_hsm(&hsm, |h| {
        sweep(h);
        let entry = h.keys.remove(&name).ok_or_else(|| not_found(&name))?;
        let d = DeletedKey {
            entry,
            deleted_date: now,
            scheduled_purge_date: now + u64::from(h.retention.days) * DAY,
        };
        h.deleted_keys.insert(name.clone(), d.clone());
        Ok((d, h.clone()))
    })?;
    Ok(Json(deleted_bundle(&app.hsm_url(&hsm), &name, &d, &h)?))
}

/// `GET /deletedkeys/{name}`.
pub async fn get_deleted(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let scope = format!("/keys/{name}");
    let (_, h) = app.authorize(&headers, &hsm, &scope, "keys/deletedKeys/read/action")?;
    require_active(&h)?;
    Ok(Json(deleted_bundle(
        &app.hsm_url(&hsm),
        &name,
        deleted(&h, &name)?,
        &h,
    )?))
}

/// `GET /deletedkeys`.
pub async fn list_deleted(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/deletedKeys/read/action")?;
    require_active(&h)?;
    let base = app.hsm_url(&hsm);
    let now = crate::emulator::identity::now();
    let items = h
        .deleted_keys
        .iter()
        .filter(|(_, d)| kept(d, now))
        .filter_map(|(name, d)| {
            let item = key_item(
                format!("{base}/keys/{name}"),
                d.entry.current()?,
                h.retention,
            );
            Some(with_deletion(item, &base, name, d))
        })
        .collect();
    Ok(Json(page(items, &query, &base, "/deletedkeys")?))
}

/// `POST /deletedkeys/{name}/recover`: the key bundle of the recovered key.
pub async fn recover(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let scope = format!("/keys/{name}");
    let (_, h) = app.authorize(&headers, &hsm, &scope, "keys/deletedKeys/recover/action")?;
    require_active(&h)?;
    let entry = app.mutate_hsm(&hsm, |h| {
        sweep(h);
        let d = h
            .deleted_keys
            .remove(&name)
            .ok_or_else(|| deleted_not_found(&name))?;
        h.keys.insert(name.clone(), d.entry.clone());
        Ok(d.entry)
    })?;
    let v = entry
        .current()
        .ok_or_else(|| ApiError::internal("a recovered key without versions"))?;
    Ok(Json(key_bundle(&app.hsm_url(&hsm), &name, v, h.retention)?))
}

/// `DELETE /deletedkeys/{name}`: 204, or 403 while purge protection is on.
pub async fn purge(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = format!("/keys/{name}");
    let (_, h) = app.authorize(&headers, &hsm, &scope, "keys/deletedKeys/delete")?;
    require_active(&h)?;
    app.mutate_hsm(&hsm, |h| {
        sweep(h);
        deleted(h, &name)?;
        if h.retention.purge_protection {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("Operation 'purge' is not allowed: purge protection is enabled for this HSM; the deleted key '{name}' is purged by itself at its scheduled purge date"),
            ));
        }
        h.deleted_keys.remove(&name);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
