//! Managed HSM local RBAC: built-in role definitions, custom ones, role assignments at
//! scope `/` or `/keys`, and the check of a data action (with `*` wildcards and
//! `notDataActions`). Routes: `{scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`
//! and `.../roleAssignments/{id}` (PUT, GET, DELETE; GET of the collection lists).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::state::Hsm;

const PREFIX: &str = "Microsoft.KeyVault/managedHsm";

/// Built-in roles: (name, guid, data actions, not-data actions).
const BUILT_IN: [(&str, &str, &[&str], &[&str]); 4] = [
    (
        "Managed HSM Administrator",
        "a290e904-7015-4bba-90c8-60543313cdb4",
        &[
            "Microsoft.KeyVault/managedHsm/securitydomain/*",
            "Microsoft.KeyVault/managedHsm/roleAssignments/*",
            "Microsoft.KeyVault/managedHsm/roleDefinitions/*",
            "Microsoft.KeyVault/managedHsm/backup/*",
            "Microsoft.KeyVault/managedHsm/restore/*",
        ],
        &[],
    ),
    (
        "Managed HSM Crypto Officer",
        "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        &[
            "Microsoft.KeyVault/managedHsm/keys/*",
            "Microsoft.KeyVault/managedHsm/roleAssignments/*",
            "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action",
        ],
        // Key management without cryptographic use.
        &[
            "Microsoft.KeyVault/managedHsm/keys/encrypt/action",
            "Microsoft.KeyVault/managedHsm/keys/decrypt/action",
            "Microsoft.KeyVault/managedHsm/keys/sign/action",
            "Microsoft.KeyVault/managedHsm/keys/verify/action",
            "Microsoft.KeyVault/managedHsm/keys/wrap/action",
            "Microsoft.KeyVault/managedHsm/keys/unwrap/action",
        ],
    ),
    (
        // All key operations except purging or recovering deleted keys and exporting.
        "Managed HSM Crypto User",
        "21dbd100-6940-42c2-9190-5d6cb909625b",
        &[
            "Microsoft.KeyVault/managedHsm/keys/*",
            "Microsoft.KeyVault/managedHsm/rng/action",
        ],
        &[
            "Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete",
            "Microsoft.KeyVault/managedHsm/keys/deletedKeys/recover/action",
            "Microsoft.KeyVault/managedHsm/keys/export/action",
            "Microsoft.KeyVault/managedHsm/keys/release/action",
        ],
    ),
    (
        "Managed HSM Crypto Auditor",
        "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        &[
            "Microsoft.KeyVault/managedHsm/keys/read/action",
            "Microsoft.KeyVault/managedHsm/roleAssignments/read/action",
            "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action",
            "Microsoft.KeyVault/managedHsm/securitydomain/download/read",
            "Microsoft.KeyVault/managedHsm/securitydomain/upload/read",
        ],
        &[],
    ),
];

/// The guid of Managed HSM Administrator.
pub const ADMINISTRATOR: &str = "a290e904-7015-4bba-90c8-60543313cdb4";

/// A full data-action name: `securitydomain/download/action` → `Microsoft.KeyVault/managedHsm/securitydomain/download/action`.
pub fn action(short: &str) -> String {
    format!("{PREFIX}/{short}")
}

fn role_definition_id(guid: &str) -> String {
    format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

fn built_in(guid: &str) -> Option<Value> {
    BUILT_IN.iter().find(|r| r.1 == guid).map(|(name, guid, data, not_data)| {
        json!({
            "id": role_definition_id(guid),
            "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": name,
                "type": "AKVBuiltInRole",
                "description": "",
                "assignableScopes": ["/"],
                "permissions": [{"actions": [], "notActions": [], "dataActions": data, "notDataActions": not_data}],
            }
        })
    })
}

/// A permission with all four arrays (`actions`, `notActions`, `dataActions`,
/// `notDataActions`), as the service returns it: absent ones become empty.
fn with_all_arrays(permission: &Value) -> Value {
    let mut out = json!({});
    for key in ["actions", "notActions", "dataActions", "notDataActions"] {
        out[key] = permission
            .get(key)
            .filter(|v| v.is_array())
            .cloned()
            .unwrap_or(json!([]));
    }
    out
}

/// Every role definition of `hsm`: built-in ones, then custom ones.
fn definitions(hsm: &Hsm) -> Vec<Value> {
    BUILT_IN
        .iter()
        .filter_map(|r| built_in(r.1))
        .chain(hsm.role_definitions.iter().cloned())
        .collect()
}

/// A role assignment giving `principal` role `guid` at `scope`.
pub fn assignment(principal: &str, guid: &str, scope: &str, name: &str) -> Value {
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", scope.trim_end_matches('/')),
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {"scope": scope, "roleDefinitionId": role_definition_id(guid), "principalId": principal}
    })
}

/// Whether `pattern` (with `*` wildcards) matches `action`, case-insensitively.
fn matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    let mut rest = a.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `principal` may perform data action `short` (e.g. `securitydomain/upload/action`)
/// at `scope` (`/` or `/keys`) on `hsm`.
pub fn allows(hsm: &Hsm, principal: &str, scope: &str, short: &str) -> bool {
    let wanted = action(short);
    let defs = definitions(hsm);
    hsm.role_assignments.iter().any(|a| {
        let props = &a["properties"];
        let covers = match props["scope"].as_str() {
            Some("/") => true,
            // Per path segment: `/keys` covers `/keys/k1`; `/keys/k1` does not cover `/keys/k10`.
            Some(s) => {
                let s = s.trim_end_matches('/');
                scope == s || scope.starts_with(&format!("{s}/"))
            }
            None => false,
        };
        if props["principalId"].as_str() != Some(principal) || !covers {
            return false;
        }
        let Some(def) = defs.iter().find(|d| d["id"] == props["roleDefinitionId"]) else {
            return false;
        };
        def["properties"]["permissions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|perm| {
                strings(perm, "dataActions")
                    .iter()
                    .any(|p| matches(p, &wanted))
                    && !strings(perm, "notDataActions")
                        .iter()
                        .any(|p| matches(p, &wanted))
            })
    })
}

/// The RBAC routes, for scope `/` and `/keys`.
pub fn routes() -> Router<Arc<App>> {
    let mut router = Router::new();
    for (scope, scope_name) in [("", "/"), ("/keys", "/keys")] {
        router = router
            .route(
                &format!("/hsm/{{hsm}}{scope}/providers/Microsoft.Authorization/roleDefinitions"),
                get(list_definitions),
            )
            .route(
                &format!(
                    "/hsm/{{hsm}}{scope}/providers/Microsoft.Authorization/roleDefinitions/{{id}}"
                ),
                get(get_definition)
                    .put(move |app, path, headers, body| {
                        put_definition(app, path, headers, body, scope_name)
                    })
                    .delete(delete_definition),
            )
            .route(
                &format!("/hsm/{{hsm}}{scope}/providers/Microsoft.Authorization/roleAssignments"),
                get(list_assignments),
            )
            .route(
                &format!(
                    "/hsm/{{hsm}}{scope}/providers/Microsoft.Authorization/roleAssignments/{{id}}"
                ),
                get(get_assignment)
                    .put(move |app, path, headers, body| {
                        put_assignment(app, path, headers, body, scope_name)
                    })
                    .delete(delete_assignment),
            );
    }
    router
}

type Result<T> = std::result::Result<T, ApiError>;

async fn list_definitions(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "roleDefinitions/read/action")?;
    Ok(Json(json!({"value": definitions(&h)})))
}

async fn get_definition(
    State(app): State<Arc<App>>,
    Path((hsm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "roleDefinitions/read/action")?;
    definitions(&h)
        .into_iter()
        .find(|d| d["name"] == id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("role definition {id} does not exist")))
}

async fn put_definition(
    State(app): State<Arc<App>>,
    Path((hsm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
    scope: &'static str,
) -> Result<Response> {
    app.authorize(&headers, &hsm, "/", "roleDefinitions/write/action")?;
    if scope != "/" {
        return Err(ApiError::bad_parameter(format!(
            "role definitions are made at scope '/' only, not at '{scope}'"
        )));
    }
    if built_in(&id).is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "built-in role definitions cannot be changed",
        ));
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
        })?;
    for perm in permissions {
        for key in ["dataActions", "notDataActions"] {
            if let Some(list) = perm.get(key) {
                let ok = list.as_array().is_some_and(|a| {
                    a.iter().all(|s| {
                        s.as_str().is_some_and(|s| {
                            s.to_ascii_lowercase()
                                .starts_with(&PREFIX.to_ascii_lowercase())
                        })
                    })
                });
                if !ok {
                    return Err(ApiError::bad_parameter(format!(
                        "role definition: '{key}' must be a list of {PREFIX}/... data actions"
                    )));
                }
            }
        }
    }
    let definition = json!({
        "id": role_definition_id(&id),
        "name": id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": name,
            "type": "CustomRole",
            "description": props.get("description").cloned().unwrap_or(json!("")),
            "assignableScopes": props.get("assignableScopes").cloned().unwrap_or(json!(["/"])),
            "permissions": permissions.iter().map(with_all_arrays).collect::<Vec<_>>(),
        }
    });
    let stored = definition.clone();
    app.mutate_hsm(&hsm, |h| {
        h.role_definitions.retain(|d| d["name"] != id.as_str());
        h.role_definitions.push(stored);
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(definition)).into_response())
}

async fn delete_definition(
    State(app): State<Arc<App>>,
    Path((hsm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    app.authorize(&headers, &hsm, "/", "roleDefinitions/delete/action")?;
    app.mutate_hsm(&hsm, |h| {
        let at = h
            .role_definitions
            .iter()
            .position(|d| d["name"] == id.as_str())
            .ok_or_else(|| ApiError::not_found(format!("role definition {id} does not exist")))?;
        if h.role_assignments
            .iter()
            .any(|a| a["properties"]["roleDefinitionId"] == role_definition_id(&id).as_str())
        {
            return Err(ApiError::conflict(
                "the role definition is assigned; delete its assignments first",
            ));
        }
        Ok(Json(h.role_definitions.remove(at)))
    })
}

async fn list_assignments(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "roleAssignments/read/action")?;
    Ok(Json(json!({"value": h.role_assignments})))
}

async fn get_assignment(
    State(app): State<Arc<App>>,
    Path((hsm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "roleAssignments/read/action")?;
    h.role_assignments
        .into_iter()
        .find(|a| a["name"] == id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("role assignment {id} does not exist")))
}

/// Creates an assignment at `route_scope`, the scope of the URL it was PUT to (a
/// `properties.scope` in the body must agree with it).
async fn put_assignment(
    State(app): State<Arc<App>>,
    Path((hsm, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
    route_scope: &'static str,
) -> Result<Response> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "roleAssignments/write/action")?;
    let props = &body["properties"];
    let principal = props["principalId"].as_str().ok_or_else(|| {
        ApiError::bad_parameter("role assignment: 'properties.principalId' is required")
    })?;
    let definition = props["roleDefinitionId"].as_str().ok_or_else(|| {
        ApiError::bad_parameter("role assignment: 'properties.roleDefinitionId' is required")
    })?;
    let guid = definition.rsplit('/').next().unwrap_or_default();
    if !definitions(&h).iter().any(|d| d["name"] == guid) {
        return Err(ApiError::bad_parameter(format!(
            "role definition {definition} does not exist"
        )));
    }
    let scope = match props["scope"].as_str() {
        None => route_scope,
        Some(s) if s == route_scope => route_scope,
        Some(other) => {
            return Err(ApiError::bad_parameter(format!(
                "properties.scope '{other}' does not match the scope of the URL ('{route_scope}')"
            )))
        }
    };
    let assigned = assignment(principal, guid, scope, &id);
    let stored = assigned.clone();
    app.mutate_hsm(&hsm, |h| {
        if h.role_assignments.iter().any(|a| a["name"] == id.as_str()) {
            return Err(ApiError::conflict(format!(
                "role assignment {id} already exists"
            )));
        }
        let same = |a: &Value| {
            let p = &a["properties"];
            p["principalId"] == stored["properties"]["principalId"]
                && p["roleDefinitionId"] == stored["properties"]["roleDefinitionId"]
                && p["scope"] == stored["properties"]["scope"]
        };
        if h.role_assignments.iter().any(same) {
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

async fn delete_assignment(
    State(app): State<Arc<App>>,
    Path((hsm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    app.authorize(&headers, &hsm, "/", "roleAssignments/delete/action")?;
    app.mutate_hsm(&hsm, |h| {
        let at = h
            .role_assignments
            .iter()
            .position(|a| a["name"] == id.as_str())
            .ok_or_else(|| ApiError::not_found(format!("role assignment {id} does not exist")))?;
        Ok(Json(h.role_assignments.remove(at)))
    })
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
