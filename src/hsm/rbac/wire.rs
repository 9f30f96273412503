//! The service's JSON for role assignments and definitions, read tolerantly (unknown fields
//! ignored, optional ones defaulted), and role-definition files read strictly (a typo must
//! not silently make a role that grants less, or more, than intended).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{last_segment, Permission, RoleAssignment, RoleDefinition, RoleDefinitionBody, Scope};
use super::{HsmError, ACTION_PREFIX};

/// The frame of an assignment or a definition: `{"id", "name", "properties": {...}}`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Wire<P> {
    id: Option<String>,
    name: Option<String>,
    properties: Option<P>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AssignmentProps {
    scope: Option<String>,
    role_definition_id: Option<String>,
    principal_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct DefinitionProps {
    role_name: Option<String>,
    #[serde(rename = "type")]
    role_type: Option<String>,
    description: Option<String>,
    assignable_scopes: Option<Vec<String>>,
    permissions: Option<Vec<PermissionWire>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PermissionWire {
    actions: Option<Vec<String>>,
    not_actions: Option<Vec<String>>,
    data_actions: Option<Vec<String>>,
    not_data_actions: Option<Vec<String>>,
}

impl From<PermissionWire> for Permission {
    fn from(p: PermissionWire) -> Self {
        Permission {
            actions: p.actions.unwrap_or_default(),
            not_actions: p.not_actions.unwrap_or_default(),
            data_actions: p.data_actions.unwrap_or_default(),
            not_data_actions: p.not_data_actions.unwrap_or_default(),
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The scope part of an id (`/keys/providers/Microsoft.Authorization/...` → `/keys`).
fn scope_of_id(id: &str) -> Option<String> {
    let at = id
        .to_ascii_lowercase()
        .find("/providers/microsoft.authorization/")?;
    let scope = &id[..at];
    Some(if scope.is_empty() {
        "/".to_owned()
    } else {
        scope.to_owned()
    })
}

/// A `BadResponse` about the `what` (role assignment, role definition) answered at `url`.
fn bad<'a>(url: &'a str, what: &'a str) -> impl Fn(&str) -> HsmError + 'a {
    move |detail| HsmError::BadResponse {
        url: url.to_owned(),
        detail: format!("{what}: {detail}"),
    }
}

/// What the frame of `v` holds: its id (when given), its name (given, or the id's last
/// segment) and its properties; `bad` words what is wrong.
fn frame<P: DeserializeOwned + Default>(
    v: &Value,
    bad: &dyn Fn(&str) -> HsmError,
) -> Result<(Option<String>, String, P), HsmError> {
    let w: Wire<P> =
        serde_json::from_value(v.clone()).map_err(|e| bad(&format!("unexpected shape ({e})")))?;
    let props = w.properties.ok_or_else(|| bad("no 'properties'"))?;
    let id = non_empty(w.id);
    let name = non_empty(w.name)
        .or_else(|| id.as_deref().map(|i| last_segment(i).to_owned()))
        .ok_or_else(|| bad("no 'name'"))?;
    Ok((id, name, props))
}

/// A role assignment of the service; `listed_at` is the scope it was asked for.
pub(super) fn assignment(
    v: &Value,
    url: &str,
    listed_at: &Scope,
) -> Result<RoleAssignment, HsmError> {
    let bad = bad(url, "role assignment");
    let (id, name, props): (_, _, AssignmentProps) = frame(v, &bad)?;
    let role_definition_id = non_empty(props.role_definition_id)
        .ok_or_else(|| bad("no 'properties.roleDefinitionId'"))?;
    let principal_id =
        non_empty(props.principal_id).ok_or_else(|| bad("no 'properties.principalId'"))?;
    let scope = non_empty(props.scope)
        .or_else(|| id.as_deref().and_then(scope_of_id))
        .unwrap_or_else(|| listed_at.to_string());
    let id = id.unwrap_or_else(|| {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
            scope.trim_end_matches('/')
        )
    });
    Ok(RoleAssignment {
        id,
        name,
        scope,
        role_definition_id,
        principal_id,
    })
}

/// A role definition of the service.
pub(super) fn definition(v: &Value, url: &str) -> Result<RoleDefinition, HsmError> {
    let (id, name, props): (_, _, DefinitionProps) = frame(v, &bad(url, "role definition"))?;
    let id = id.unwrap_or_else(|| {
        format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{name}")
    });
    Ok(RoleDefinition {
        id,
        role_name: non_empty(props.role_name).unwrap_or_else(|| name.clone()),
        name,
        role_type: props.role_type.unwrap_or_default(),
        description: props.description.unwrap_or_default(),
        assignable_scopes: props.assignable_scopes.unwrap_or_default(),
        permissions: props
            .permissions
            .unwrap_or_default()
            .into_iter()
            .map(Permission::from)
            .collect(),
    })
}

const PERMISSION_KEYS: [&str; 4] = ["actions", "notActions", "dataActions", "notDataActions"];

/// Reads a custom role definition from a file (`source` names it in messages). Accepted:
/// the service's body `{"properties": {"roleName", "description", "assignableScopes",
/// "permissions": [{"dataActions", "notDataActions", ...}]}}` (also with the `id`, `name`
/// and `type` of a `definition show --output json`-style answer around it), or the Azure
/// CLI's flat `{"roleName", "description", "dataActions", "notDataActions", ...}`.
/// Unknown keys, non-Managed-HSM data actions, bad scopes and a role granting no data
/// action are usage errors.
pub fn parse_definition_body(source: &str, bytes: &[u8]) -> Result<RoleDefinitionBody, HsmError> {
    let bad = |detail: String| HsmError::Usage(format!("{source}: {detail}"));
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a JSON role definition ({e})")))?;
    let top = v
        .as_object()
        .ok_or_else(|| bad("expected a JSON object".into()))?;
    let (props, flat) = match top.get("properties") {
        Some(Value::Object(p)) => (p, false),
        Some(_) => return Err(bad("'properties' must be an object".into())),
        None => (top, true),
    };
    let mut known = vec!["roleName", "description", "assignableScopes"];
    if flat {
        known.extend(PERMISSION_KEYS);
        known.extend(["id", "name", "type"]);
    } else {
        known.extend(["type", "permissions"]);
    }
    if let Some(k) = props.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown key '{k}' (known: {})",
            known.join(", ")
        )));
    }
    let role_name = match props.get("roleName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => return Err(bad("'roleName' is required (a non-empty string)".into())),
    };
    if !flat {
        if let Some(t) = props.get("type") {
            if !t
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("CustomRole"))
            {
                return Err(bad(format!(
                    "'type' is {t}; only custom roles (\"CustomRole\") can be created"
                )));
            }
        }
    }
    let description = match props.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad("'description' must be a string".into())),
    };
    let assignable_scopes = match props.get("assignableScopes") {
        None | Some(Value::Null) => vec!["/".to_owned()],
        Some(v) => strings(v)
            .ok_or_else(|| bad("'assignableScopes' must be a list of scopes".into()))?
            .iter()
            .map(|s| Scope::parse(s).map(|s| s.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?,
    };
    let permissions = if flat {
        vec![permission(props, false, &bad)?]
    } else {
        match props.get("permissions") {
            Some(Value::Array(blocks)) => blocks
                .iter()
                .map(|b| {
                    b.as_object()
                        .ok_or_else(|| bad("each of 'permissions' must be an object".into()))
                        .and_then(|o| permission(o, true, &bad))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(bad("'permissions' is required (a list)".into())),
        }
    };
    if permissions.iter().all(|p| p.data_actions.is_empty()) {
        return Err(bad(
            "the role grants no data action ('dataActions' is empty)".into(),
        ));
    }
    Ok(RoleDefinitionBody {
        role_name,
        description,
        assignable_scopes,
        permissions,
    })
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(|s| s.trim().to_owned()))
        .collect()
}

/// One permission block; `own_keys`: the block is an object of its own (in the flat form
/// the keys were checked with the role's).
fn permission(
    block: &Map<String, Value>,
    own_keys: bool,
    bad: &dyn Fn(String) -> HsmError,
) -> Result<Permission, HsmError> {
    let list = |key: &str| -> Result<Vec<String>, HsmError> {
        match block.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(v) => strings(v).ok_or_else(|| bad(format!("'{key}' must be a list of strings"))),
        }
    };
    let unknown = block
        .keys()
        .find(|k| !PERMISSION_KEYS.contains(&k.as_str()));
    if let (true, Some(k)) = (own_keys, unknown) {
        return Err(bad(format!(
            "unknown permission key '{k}' (known: {})",
            PERMISSION_KEYS.join(", ")
        )));
    }
    let p = Permission {
        actions: list("actions")?,
        not_actions: list("notActions")?,
        data_actions: list("dataActions")?,
        not_data_actions: list("notDataActions")?,
    };
    for action in p.data_actions.iter().chain(&p.not_data_actions) {
        let prefix = ACTION_PREFIX.to_ascii_lowercase();
        if !action.to_ascii_lowercase().starts_with(&prefix) || action.len() == prefix.len() {
            return Err(bad(format!(
                "data action '{action}' is not a Managed HSM data action ({ACTION_PREFIX}...)"
            )));
        }
    }
    Ok(p)
}
