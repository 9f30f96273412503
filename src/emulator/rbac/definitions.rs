//! Role definition handlers: list, get, create or replace a custom role, delete it. Role
//! definitions live at scope `/` only; built-in ones cannot be changed or deleted. A stored
//! definition always carries all four permission arrays.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{all_definitions, builtin, param, Params, PREFIX};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;

type Result<T> = std::result::Result<T, ApiError>;

const PERMISSION_LISTS: [&str; 4] = ["actions", "notActions", "dataActions", "notDataActions"];

/// Refuses role-definition requests at any scope but `/`.
fn require_root(keys: bool) -> Result<()> {
    if keys {
        return Err(ApiError::bad_parameter(
            "role definitions exist at scope '/' only; use /providers/Microsoft.Authorization/roleDefinitions",
        ));
    }
    Ok(())
}

fn built_in_refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "built-in role definitions cannot be changed or deleted",
    )
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`.
pub async fn list(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    keys: bool,
) -> Result<Json<Value>> {
    require_root(keys)?;
    let hsm = param(&params, "hsm")?;
    let (_, h) = app.authorize(&headers, hsm, "/", "roleDefinitions/read/action")?;
    Ok(Json(json!({"value": all_definitions(&h)})))
}

/// `GET .../roleDefinitions/{id}`.
pub async fn get(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    keys: bool,
) -> Result<Json<Value>> {
    require_root(keys)?;
    let (hsm, id) = (param(&params, "hsm")?, param(&params, "id")?);
    let (_, h) = app.authorize(&headers, hsm, "/", "roleDefinitions/read/action")?;
    all_definitions(&h)
        .into_iter()
        .find(|d| {
            d["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(id))
        })
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("role definition {id} does not exist")))
}

/// One permission entry with all four lists (missing ones empty); data-action lists must
/// hold `Microsoft.KeyVault/managedHsm/...` strings.
fn permission(entry: &Value) -> Result<Value> {
    let given = entry.as_object().ok_or_else(|| {
        ApiError::bad_parameter("role definition: each permission must be an object")
    })?;
    let mut out = Map::new();
    for key in PERMISSION_LISTS {
        let list = match given.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => {
                return Err(ApiError::bad_parameter(format!(
                    "role definition: '{key}' must be a list"
                )))
            }
        };
        let data = key.ends_with("ataActions");
        let valid = list.iter().all(|s| {
            s.as_str().is_some_and(|s| {
                !data
                    || s.to_ascii_lowercase()
                        .starts_with(&PREFIX.to_ascii_lowercase())
            })
        });
        if !valid {
            return Err(ApiError::bad_parameter(format!(
                "role definition: '{key}' must be a list of {PREFIX}/... data actions"
            )));
        }
        out.insert(key.to_owned(), Value::Array(list));
    }
    Ok(Value::Object(out))
}

/// `PUT .../roleDefinitions/{id}`: creates or replaces a custom role.
pub async fn put(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    Json(body): Json<Value>,
    keys: bool,
) -> Result<Response> {
    require_root(keys)?;
    let (hsm, id) = (param(&params, "hsm")?, param(&params, "id")?);
    app.authorize(&headers, hsm, "/", "roleDefinitions/write/action")?;
    if builtin::find(id).is_some() {
        return Err(built_in_refused());
    }
    let props = body
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or_else(|| ApiError::bad_parameter("role definition: 'properties' is required"))?;
    let name = props
        .get("roleName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_parameter("role definition: 'properties.roleName' is required")
        })?;
    let permissions = props
        .get("permissions")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_parameter("role definition: 'properties.permissions' must be an array")
        })?
        .iter()
        .map(permission)
        .collect::<Result<Vec<Value>>>()?;
    let definition = json!({
        "id": builtin::role_definition_id(id),
        "name": id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": name,
            "type": "CustomRole",
            "description": props.get("description").cloned().unwrap_or(json!("")),
            "assignableScopes": props.get("assignableScopes").cloned().unwrap_or(json!(["/"])),
            "permissions": permissions,
        }
    });
    let stored = definition.clone();
    app.mutate_hsm(hsm, |h| {
        h.role_definitions.retain(|d| d["name"] != id);
        h.role_definitions.push(stored);
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(definition)).into_response())
}

/// `DELETE .../roleDefinitions/{id}`: deletes a custom role that nothing is assigned.
pub async fn delete(
    State(app): State<Arc<App>>,
    params: Params,
    headers: HeaderMap,
    keys: bool,
) -> Result<Json<Value>> {
    require_root(keys)?;
    let (hsm, id) = (param(&params, "hsm")?, param(&params, "id")?);
    app.authorize(&headers, hsm, "/", "roleDefinitions/delete/action")?;
    if builtin::find(id).is_some() {
        return Err(built_in_refused());
    }
    let full_id = builtin::role_definition_id(id);
    app.mutate_hsm(hsm, |h| {
        let at = h
            .role_definitions
            .iter()
            .position(|d| d["name"] == id)
            .ok_or_else(|| ApiError::not_found(format!("role definition {id} does not exist")))?;
        if h.role_assignments
            .iter()
            .any(|a| a["properties"]["roleDefinitionId"] == full_id.as_str())
        {
            return Err(ApiError::conflict(
                "the role definition is assigned; delete its assignments first",
            ));
        }
        Ok(Json(h.role_definitions.remove(at)))
    })
}
