//! Reading keys: `GET /keys/{name}` (current version), `GET /keys/{name}/{version}`,
//! `GET /keys` and `GET /keys/{name}/versions` in pages (`maxresults` 1 to 25, `nextLink`
//! with a `$skiptoken`, an absolute URL on the HSM's own origin).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::bundle::{key_bundle, key_item};
use super::{find, find_version, require_active, KeyPath, VersionPath};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;
use crate::primitives::base64url;

/// The most items a page holds, and the default.
pub const MAX_PAGE: usize = 25;

/// One page of `items` (already in order) after the `$skiptoken` of `query`, with the
/// `nextLink` to `path` on `base` when more follow.
pub fn page(
    items: Vec<Value>,
    query: &HashMap<String, String>,
    base: &str,
    path: &str,
) -> Result<Value, ApiError> {
    let size = match query.get("maxresults") {
        None => MAX_PAGE,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_parameter(format!("maxresults must be 1 to {MAX_PAGE}, not '{n}'"))
            })?,
    };
    let start = match query.get("$skiptoken") {
        None => 0,
        Some(t) => base64url::decode(t)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| ApiError::bad_parameter("$skiptoken is not one this HSM handed out"))?,
    };
    let end = start.saturating_add(size).min(items.len());
    let value: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let next = if end < items.len() {
        let version = query
            .get("api-version")
            .map(String::as_str)
            .unwrap_or("7.5");
        let token = base64url::encode(end.to_string().as_bytes());
        json!(format!(
            "{base}{path}?api-version={version}&$skiptoken={token}&maxresults={size}"
        ))
    } else {
        Value::Null
    };
    Ok(json!({"value": value, "nextLink": next}))
}

/// `GET /keys/{name}`.
pub async fn get_key(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, &format!("/keys/{name}"), "keys/read/action")?;
    require_active(&h)?;
    let v = find(&h, &name)?.1;
    Ok(Json(key_bundle(&app.hsm_url(&hsm), &name, v, h.retention)?))
}

/// `GET /keys/{name}/{version}`.
pub async fn get_version(
    State(app): State<Arc<App>>,
    Path(VersionPath { hsm, name, version }): Path<VersionPath>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, &format!("/keys/{name}"), "keys/read/action")?;
    require_active(&h)?;
    let v = find_version(&h, &name, Some(&version))?;
    Ok(Json(key_bundle(&app.hsm_url(&hsm), &name, v, h.retention)?))
}

/// `GET /keys`: each key's current version, by name.
pub async fn list(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/keys", "keys/read/action")?;
    require_active(&h)?;
    let base = app.hsm_url(&hsm);
    let items = h
        .keys
        .iter()
        .filter_map(|(name, e)| {
            Some(key_item(
                format!("{base}/keys/{name}"),
                e.current()?,
                h.retention,
            ))
        })
        .collect();
    Ok(Json(page(items, &query, &base, "/keys")?))
}

/// `GET /keys/{name}/versions`: every version, oldest first.
pub async fn list_versions(
    State(app): State<Arc<App>>,
    Path(KeyPath { hsm, name }): Path<KeyPath>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, &format!("/keys/{name}"), "keys/read/action")?;
    require_active(&h)?;
    let base = app.hsm_url(&hsm);
    let entry = find(&h, &name)?.0;
    let items = entry
        .versions
        .iter()
        .map(|v| key_item(format!("{base}/keys/{name}/{}", v.version), v, h.retention))
        .collect();
    Ok(Json(page(
        items,
        &query,
        &base,
        &format!("/keys/{name}/versions"),
    )?))
}
