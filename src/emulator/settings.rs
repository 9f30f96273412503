//! Managed HSM account settings: `GET /settings`, `GET /settings/{name}` and
//! `PATCH /settings/{name}` with `{"value": "..."}`. The service documents one setting,
//! `AllowKeyManagementOperationsThroughARM` (a boolean, `"false"` by default); changed values
//! persist in the HSM's state.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::state::Hsm;

/// A setting the emulator knows: its name, type and default value.
struct Known {
    name: &'static str,
    kind: &'static str,
    default: &'static str,
}

const KNOWN: [Known; 1] = [Known {
    name: "AllowKeyManagementOperationsThroughARM",
    kind: "boolean",
    default: "false",
}];

const READ: &str = "settings/read/action";
const WRITE: &str = "settings/write/action";

/// The settings routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/hsm/{hsm}/settings", get(list))
        .route("/hsm/{hsm}/settings/{name}", get(get_one).patch(update))
}

fn find(name: &str) -> Result<&'static Known, ApiError> {
    KNOWN
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "SettingNotFound",
                format!("setting '{name}' does not exist"),
            )
        })
}

fn body(hsm: &Hsm, known: &Known) -> Value {
    let value = hsm
        .settings
        .get(known.name)
        .map(String::as_str)
        .unwrap_or(known.default);
    json!({"name": known.name, "value": value, "type": known.kind})
}

/// A boolean setting's value in its canonical spelling (`true` or `false`).
fn validated(known: &Known, value: &str) -> Result<String, ApiError> {
    match known.kind {
        "boolean" if value.eq_ignore_ascii_case("true") => Ok("true".into()),
        "boolean" if value.eq_ignore_ascii_case("false") => Ok("false".into()),
        "boolean" => Err(ApiError::bad_parameter(format!(
            "setting '{}' takes 'true' or 'false', not '{value}'",
            known.name
        ))),
        _ => Ok(value.to_owned()),
    }
}

async fn list(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", READ)?;
    let all: Vec<Value> = KNOWN.iter().map(|k| body(&h, k)).collect();
    Ok(Json(json!({"settings": all})))
}

async fn get_one(
    State(app): State<Arc<App>>,
    Path((hsm, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", READ)?;
    Ok(Json(body(&h, find(&name)?)))
}

async fn update(
    State(app): State<Arc<App>>,
    Path((hsm, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    app.authorize(&headers, &hsm, "/", WRITE)?;
    let known = find(&name)?;
    let given = request
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_parameter("'value' (a string) is required"))?;
    let value = validated(known, given)?;
    app.mutate_hsm(&hsm, |h| {
        h.settings.insert(known.name.to_owned(), value.clone());
        Ok(Json(body(h, known)))
    })
}
