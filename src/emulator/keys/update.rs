//! `PATCH /keys/{name}[/{version}]`: the attributes, tags and `key_ops` of one version.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use super::bundle::key_bundle;
use super::model::KeyVersion;
use super::{find_version, request, require_active};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;

/// Applies an update body to version `v`.
fn apply(v: &mut KeyVersion, body: &Value, now: u64) -> Result<(), ApiError> {
    let attrs = request::attributes(body)?;
    let tags = request::tags(body)?;
    let ops = request::key_ops(body)?;
    if let Some(enabled) = attrs.enabled {
        v.attributes.enabled = enabled;
    }
    if let Some(nbf) = attrs.nbf {
        v.attributes.nbf = nbf;
    }
    if let Some(exp) = attrs.exp {
        v.attributes.exp = exp;
    }
    if let (Some(nbf), Some(exp)) = (v.attributes.nbf, v.attributes.exp) {
        if exp <= nbf {
            return Err(ApiError::bad_parameter(
                "attributes.exp must be later than attributes.nbf",
            ));
        }
    }
    if let Some(tags) = tags {
        v.tags = tags;
    }
    if let Some(ops) = ops {
        v.key_ops = ops;
    }
    v.attributes.updated = now;
    Ok(())
}

/// `PATCH /keys/{name}/{version}` and `PATCH /keys/{name}` (the current version).
pub async fn update(
    app: Arc<App>,
    hsm: String,
    name: String,
    version: Option<String>,
    headers: HeaderMap,
    body: Value,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(
        &headers,
        &hsm,
        &format!("/keys/{name}"),
        "keys/write/action",
    )?;
    require_active(&h)?;
    let now = crate::emulator::identity::now();
    let updated = app.mutate_hsm(&hsm, |h| {
        let wanted = find_version(h, &name, version.as_deref())?.version.clone();
        let entry = h
            .keys
            .get_mut(&name)
            .ok_or_else(|| super::not_found(&name))?;
        let v = entry
            .versions
            .iter_mut()
            .find(|v| v.version == wanted)
            .ok_or_else(|| super::not_found(&name))?;
        apply(v, &body, now)?;
        Ok(v.clone())
    })?;
    Ok(Json(key_bundle(
        &app.hsm_url(&hsm),
        &name,
        &updated,
        h.retention,
    )?))
}
