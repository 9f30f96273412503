//! Managed HSM local RBAC: built-in role definitions ([`builtin`]), custom ones
//! ([`definitions`], at scope `/` only), role assignments at scope `/`, `/keys` or
//! `/keys/{name}` ([`assignments`]), and the check of a data action (with `*` wildcards and
//! `notDataActions`) at a scope, segment by segment.

mod assignments;
mod builtin;
mod definitions;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::state::Hsm;

pub use builtin::ADMINISTRATOR;

const PREFIX: &str = "Microsoft.KeyVault/managedHsm";

/// A full data-action name: `securitydomain/download/action` → `Microsoft.KeyVault/managedHsm/securitydomain/download/action`.
pub fn action(short: &str) -> String {
    format!("{PREFIX}/{short}")
}

/// Every role definition of `hsm`: built-in ones, then custom ones.
fn all_definitions(hsm: &Hsm) -> Vec<Value> {
    builtin::all()
        .chain(hsm.role_definitions.iter().cloned())
        .collect()
}

/// A role assignment giving `principal` role `guid` at `scope`.
pub fn assignment(principal: &str, guid: &str, scope: &str, name: &str) -> Value {
    let base = if scope == "/" { "" } else { scope };
    json!({
        "id": format!("{base}/providers/Microsoft.Authorization/roleAssignments/{name}"),
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "scope": scope,
            "roleDefinitionId": builtin::role_definition_id(guid),
            "principalId": principal,
        }
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

/// Whether an assignment at `assigned` covers a request at `wanted`: `/` covers every
/// scope; otherwise the scopes must agree segment by segment (`/keys` covers `/keys/k1`,
/// `/keys/k1` covers neither `/keys/k10` nor `/keys`). Key names compare case-insensitively.
fn covers(assigned: &str, wanted: &str) -> bool {
    let segments = |s: &str| -> Vec<String> {
        s.split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    };
    let (a, w) = (segments(assigned), segments(wanted));
    a.len() <= w.len() && a.iter().zip(&w).all(|(x, y)| x == y)
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
/// at `scope` (`/`, `/keys` or `/keys/{name}`) on `hsm`.
pub fn allows(hsm: &Hsm, principal: &str, scope: &str, short: &str) -> bool {
    let wanted = action(short);
    let defs = all_definitions(hsm);
    hsm.role_assignments.iter().any(|a| {
        let props = &a["properties"];
        let in_scope = props["scope"]
            .as_str()
            .is_some_and(|assigned| covers(assigned, scope));
        if props["principalId"].as_str() != Some(principal) || !in_scope {
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

/// The path parameters of an RBAC route: `hsm`, `id`, and `key` for per-key scopes.
type Params = Path<BTreeMap<String, String>>;

/// A named path parameter (the routes guarantee it; a missing one is a bad request).
fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::bad_parameter(format!("missing path parameter '{name}'")))
}

/// The scope a route serves: `/`, `/keys`, or `/keys/{key}`.
fn route_scope(params: &BTreeMap<String, String>, keys: bool) -> String {
    match (params.get("key"), keys) {
        (Some(key), _) => format!("/keys/{key}"),
        (None, true) => "/keys".to_owned(),
        (None, false) => "/".to_owned(),
    }
}

const DEFINITIONS: &str = "providers/Microsoft.Authorization/roleDefinitions";
const ASSIGNMENTS: &str = "providers/Microsoft.Authorization/roleAssignments";

/// The RBAC routes: role definitions at `/` (and `/keys`, refused), role assignments at
/// `/`, `/keys` and `/keys/{key}`.
pub fn routes() -> Router<Arc<App>> {
    let mut router = Router::new();
    for (prefix, keys) in [("", false), ("/keys", true), ("/keys/{key}", true)] {
        let scoped = move |p: &str| format!("/hsm/{{hsm}}{prefix}/{p}");
        if prefix != "/keys/{key}" {
            router = router
                .route(
                    &scoped(DEFINITIONS),
                    get(move |app, params, headers| definitions::list(app, params, headers, keys)),
                )
                .route(
                    &scoped(&format!("{DEFINITIONS}/{{id}}")),
                    get(move |app, params, headers| definitions::get(app, params, headers, keys))
                        .put(move |app, params, headers, body| {
                            definitions::put(app, params, headers, body, keys)
                        })
                        .delete(move |app, params, headers| {
                            definitions::delete(app, params, headers, keys)
                        }),
                );
        }
        router = router
            .route(
                &scoped(ASSIGNMENTS),
                get(move |app, params, headers| assignments::list(app, params, headers, keys)),
            )
            .route(
                &scoped(&format!("{ASSIGNMENTS}/{{id}}")),
                get(move |app, params, headers| assignments::get(app, params, headers, keys))
                    .put(move |app, params, headers, body| {
                        assignments::put(app, params, headers, body, keys)
                    })
                    .delete(move |app, params, headers| {
                        assignments::delete(app, params, headers, keys)
                    }),
            );
    }
    router
}

#[cfg(test)]
mod tests;
