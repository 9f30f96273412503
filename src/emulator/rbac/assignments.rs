//! Role assignment handlers: list, get, create, delete, at scope `/`, `/keys` or
//! `/keys/{name}`. One principal holds one role at one scope once: a second assignment of
//! the same under another name is refused with `RoleAssignmentExists`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{all_definitions, assignment, param, route_scope, Params};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;

type Result<T> = std::result::Result<T, ApiError>;

/// Scopes compare without a trailing slash and without case.
fn same_scope(a: &str, b: &str) -> bool {
    let trim = |s: &str| -> String {
        let t = s.trim_end_matches('/');
        if t.is_empty() { "/" } else { t }.to_ascii_lowercase()
    };
    trim(a) == trim(b)
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`.
pub async fn list(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    _keys: bool,
) -> Result<Json<Value>> {
    let hsm = param(&params, "hsm")?;
    let (_, h) = app.authorize(&headers, hsm, "/", "roleAssignments/read/action")?;
    Ok(Json(json!({"value": h.role_assignments})))
}

/// `GET .../roleAssignments/{id}`.
pub async fn get(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    _keys: bool,
) -> Result<Json<Value>> {
    let (hsm, id) = (param(&params, "hsm")?, param(&params, "id")?);
    let (_, h) = app.authorize(&headers, hsm, "/", "roleAssignments/read/action")?;
    h.role_assignments
        .into_iter()
        .find(|a| a["name"] == id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("role assignment {id} does not exist")))
}

/// `PUT .../roleAssignments/{id}`: creates an assignment at the scope of the URL (a
/// `properties.scope` in the body must agree with it).
pub async fn put(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    Json(body): Json<Value>,
    keys: bool,
) -> Result<Response> {
    let (hsm, id) = (param(&params, "hsm")?, param(&params, "id")?);
    let url_scope = route_scope(&params, keys);
    let (_, h) = app.authorize(&headers, hsm, "/", "roleAssignments/write/action")?;
    let props = &body["properties"];
    let principal = props["principalId"].as_str().ok_or_else(|| {
        ApiError::bad_parameter("role assignment: 'properties.principalId' is required")
    })?;
    let definition = props["roleDefinitionId"].as_str().ok_or_else(|| {
        ApiError::bad_parameter("role assignment: 'properties.roleDefinitionId' is required")
    })?;
    let guid = definition.rsplit('/').next().unwrap_or_default();
    let known = all_definitions(&h).iter().any(|d| {
        d["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(guid))
    });
    if !known {
        return Err(ApiError::bad_parameter(format!(
            "role definition {definition} does not exist"
        )));
    }
    if let Some(given) = props["scope"].as_str() {
        if !same_scope(given, &url_scope) {
            return Err(ApiError::bad_parameter(format!(
                "properties.scope '{given}' does not match the scope of the URL ('{url_scope}')"
            )));
        }
    }
    let assigned = assignment(principal, &guid.to_ascii_lowercase(), &url_scope, id);
    let stored = assigned.clone();
    app.mutate_hsm(hsm, |h| {
        if h.role_assignments.iter().any(|a| a["name"] == id) {
            return Err(ApiError::conflict(format!(
                "role assignment {id} already exists"
            )));
        }
        let duplicate = h.role_assignments.iter().any(|a| {
            let p = &a["properties"];
            p["principalId"] == principal
                && p["roleDefinitionId"] == stored["properties"]["roleDefinitionId"]
                && p["scope"]
                    .as_str()
                    .is_some_and(|s| same_scope(s, &url_scope))
        });
        if duplicate {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "RoleAssignmentExists",
                "The role assignment already exists.",
            ));
        }
        h.role_assignments.push(stored);
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(assigned)).into_response())
}

/// `DELETE .../roleAssignments/{id}`.
pub async fn delete(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    _keys: bool,
) -> Result<Json<Value>> {
    let (hsm, id) = (param(&params, "hsm")?, param(&params, "id")?);
    app.authorize(&headers, hsm, "/", "roleAssignments/delete/action")?;
    app.mutate_hsm(hsm, |h| {
        let at = h
            .role_assignments
            .iter()
            .position(|a| a["name"] == id)
            .ok_or_else(|| ApiError::not_found(format!("role assignment {id} does not exist")))?;
        Ok(Json(h.role_assignments.remove(at)))
    })
}
