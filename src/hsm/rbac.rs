//! Managed HSM local RBAC: role assignments and role definitions at scope `/`, `/keys` or
//! `/keys/NAME`, read tolerantly from the service's JSON; the resolution of a role given by
//! name, GUID or id; and the least-privilege "security-domain officer" custom role.
//!
//! Paths are relative to the HSM's base URL:
//! `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}` and
//! `.../roleDefinitions/{guid}` (PUT, GET, DELETE; GET of the collection lists). Whether a
//! principal holds a data action is computed in [`check`].

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

use super::client::HsmClient;
use super::retry::Idempotency;
use super::HsmError;
use crate::keys::KeyError;

/// The prefix of every Managed HSM data action.
pub const ACTION_PREFIX: &str = "Microsoft.KeyVault/managedHsm/";

/// The five security-domain data actions, in ceremony order.
pub const SECURITY_DOMAIN_ACTIONS: [&str; 5] = [
    "Microsoft.KeyVault/managedHsm/securitydomain/download/action",
    "Microsoft.KeyVault/managedHsm/securitydomain/download/read",
    "Microsoft.KeyVault/managedHsm/securitydomain/transferkey/read",
    "Microsoft.KeyVault/managedHsm/securitydomain/upload/action",
    "Microsoft.KeyVault/managedHsm/securitydomain/upload/read",
];

/// The default name of the least-privilege security-domain role.
pub const SD_OFFICER_ROLE_NAME: &str = "Managed HSM Security Domain Officer";

/// Where a role applies: the whole HSM, all keys, or one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `/`: the whole HSM (covers every other scope).
    Hsm,
    /// `/keys`: every key.
    Keys,
    /// `/keys/NAME`: one key.
    Key(String),
}

impl Scope {
    /// Parses `/`, `/keys` or `/keys/NAME` (a trailing `/` is ignored; `keys` is matched
    /// case-insensitively). Anything else is a usage error.
    pub fn parse(text: &str) -> Result<Scope, HsmError> {
        let bad = || {
            HsmError::Usage(format!(
                "scope '{text}' is not valid: use / (the whole HSM), /keys (every key) or /keys/KEYNAME (one key)"
            ))
        };
        let trimmed = text.trim();
        if trimmed == "/" {
            return Ok(Scope::Hsm);
        }
        let rest = trimmed.strip_prefix('/').ok_or_else(bad)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut parts = rest.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(k), None, None) if k.eq_ignore_ascii_case("keys") => Ok(Scope::Keys),
            (Some(k), Some(name), None) if k.eq_ignore_ascii_case("keys") && key_name(name) => {
                Ok(Scope::Key(name.to_owned()))
            }
            _ => Err(bad()),
        }
    }

    /// The path segment before `/providers/...`: empty for `/`.
    fn path_prefix(&self) -> String {
        match self {
            Scope::Hsm => String::new(),
            Scope::Keys => "keys/".to_owned(),
            Scope::Key(name) => format!("keys/{name}/"),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Hsm => f.write_str("/"),
            Scope::Keys => f.write_str("/keys"),
            Scope::Key(name) => write!(f, "/keys/{name}"),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Whether the scope `text` (as the service reports it) is `scope`.
pub fn scope_text_eq(text: &str, scope: &Scope) -> bool {
    Scope::parse(text).is_ok_and(|s| s.to_string().eq_ignore_ascii_case(&scope.to_string()))
}

/// A Key Vault key name: 1 to 127 letters, digits and hyphens.
fn key_name(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Whether `text` is a GUID (`8-4-4-4-12` hexadecimal digits).
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A fresh random (version 4) GUID, from OpenSSL's generator.
pub fn new_guid() -> Result<String, HsmError> {
    crate::primitives::uuid::random_v4().map_err(|e| {
        HsmError::Key(KeyError::Crypto {
            context: "making a random role name".into(),
            detail: e.to_string(),
        })
    })
}

/// Checks a principal's object id (`--assignee`): a GUID.
pub fn check_principal(text: &str) -> Result<(), HsmError> {
    if is_guid(text) {
        Ok(())
    } else {
        Err(HsmError::Usage(format!(
            "assignee '{text}' is not an object id (a GUID); find it with 'az ad user show --id UPN --query id', 'az ad sp show --id APP_ID --query id' or 'az ad group show --group NAME --query id'"
        )))
    }
}

/// Checks the name of an existing assignment or definition before it goes into a URL.
pub fn check_name(text: &str) -> Result<(), HsmError> {
    let ok = (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(HsmError::Usage(format!(
            "name '{text}' is not valid: role assignments and definitions are named by a GUID"
        )))
    }
}

/// The last path segment of an id (`.../roleDefinitions/GUID` → `GUID`).
pub fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

/// One role assignment: `principal_id` holds the role `role_definition_id` at `scope`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleAssignment {
    /// The full id (`/providers/Microsoft.Authorization/roleAssignments/NAME`).
    pub id: String,
    /// The assignment's name (a GUID).
    pub name: String,
    /// `/`, `/keys` or `/keys/NAME`, as the service reports it.
    pub scope: String,
    /// The role's id (`Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/GUID`).
    pub role_definition_id: String,
    /// The object id of the user, group, service principal or managed identity.
    pub principal_id: String,
}

impl RoleAssignment {
    /// The GUID of the assigned role definition.
    pub fn role_guid(&self) -> &str {
        last_segment(&self.role_definition_id)
    }
}

/// One permission block of a role definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Permission {
    /// Control-plane actions (empty for Managed HSM local roles).
    pub actions: Vec<String>,
    /// Control-plane actions taken out.
    pub not_actions: Vec<String>,
    /// Data actions granted (`*` wildcards allowed).
    pub data_actions: Vec<String>,
    /// Data actions taken out of `data_actions`.
    pub not_data_actions: Vec<String>,
}

/// A role definition: a built-in role (`AKVBuiltInRole`) or a custom one (`CustomRole`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleDefinition {
    /// The full id (`Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/GUID`).
    pub id: String,
    /// The GUID.
    pub name: String,
    /// The role's display name ("Managed HSM Crypto User").
    pub role_name: String,
    /// `AKVBuiltInRole` or `CustomRole`.
    pub role_type: String,
    /// Free text.
    pub description: String,
    /// Where it may be assigned.
    pub assignable_scopes: Vec<String>,
    /// What it grants.
    pub permissions: Vec<Permission>,
}

impl RoleDefinition {
    /// Whether this is a custom role (one that may be changed or deleted).
    pub fn is_custom(&self) -> bool {
        self.role_type.eq_ignore_ascii_case("CustomRole")
    }

    /// Every data action pattern the role grants, across its permission blocks.
    pub fn data_actions(&self) -> impl Iterator<Item = &str> {
        self.permissions
            .iter()
            .flat_map(|p| p.data_actions.iter().map(String::as_str))
    }
}

/// The body of a custom role definition, as sent in a PUT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleDefinitionBody {
    /// The display name (unique on the HSM).
    pub role_name: String,
    /// Free text.
    pub description: String,
    /// Where it may be assigned (default `["/"]`).
    pub assignable_scopes: Vec<String>,
    /// What it grants.
    pub permissions: Vec<Permission>,
}

impl RoleDefinitionBody {
    /// The service's JSON: `{"properties": {"roleName", "type": "CustomRole", ...}}`.
    pub fn to_json(&self) -> Value {
        let permissions: Vec<Value> = self
            .permissions
            .iter()
            .map(|p| {
                json!({"actions": p.actions, "notActions": p.not_actions,
                       "dataActions": p.data_actions, "notDataActions": p.not_data_actions})
            })
            .collect();
        json!({"properties": {
            "roleName": self.role_name,
            "type": "CustomRole",
            "description": self.description,
            "assignableScopes": self.assignable_scopes,
            "permissions": permissions,
        }})
    }

    /// Whether `definition` grants exactly what this body grants (same action sets,
    /// compared case-insensitively, in any order).
    pub fn same_permissions(&self, definition: &RoleDefinition) -> bool {
        fn set<'a>(
            blocks: &'a [Permission],
            pick: fn(&'a Permission) -> &'a Vec<String>,
        ) -> Vec<String> {
            let mut all: Vec<String> = blocks
                .iter()
                .flat_map(|p| pick(p).iter().map(|a| a.to_ascii_lowercase()))
                .collect();
            all.sort();
            all.dedup();
            all
        }
        let picks: [fn(&Permission) -> &Vec<String>; 4] = [
            |p| &p.actions,
            |p| &p.not_actions,
            |p| &p.data_actions,
            |p| &p.not_data_actions,
        ];
        picks
            .iter()
            .all(|pick| set(&self.permissions, *pick) == set(&definition.permissions, *pick))
    }
}

/// The least-privilege role for security-domain ceremonies: exactly the five
/// security-domain data actions, assignable at `/`.
pub fn sd_officer_definition(role_name: &str, description: Option<&str>) -> RoleDefinitionBody {
    RoleDefinitionBody {
        role_name: role_name.to_owned(),
        description: description
            .unwrap_or("Security-domain ceremonies only: download (activation), exchange key, upload (recovery) and their status. No key, role or backup actions.")
            .to_owned(),
        assignable_scopes: vec!["/".into()],
        permissions: vec![Permission {
            data_actions: SECURITY_DOMAIN_ACTIONS.iter().map(|a| a.to_string()).collect(),
            ..Permission::default()
        }],
    }
}

mod wire;
pub use wire::parse_definition_body;

mod rest;
pub use rest::{
    create_assignment, delete_assignment, delete_definition, get_assignment, get_definition,
    list_all_assignments, list_assignments, list_definitions, put_definition,
};

/// The definition `role` names among `definitions`: a role name (case-insensitive), a
/// GUID, or a full id. An unknown or ambiguous name is a usage error listing what exists.
pub fn resolve_role<'a>(
    definitions: &'a [RoleDefinition],
    role: &str,
) -> Result<&'a RoleDefinition, HsmError> {
    let wanted = role.trim();
    let by_id = wanted.contains('/') || is_guid(wanted);
    let found: Vec<&RoleDefinition> = if by_id {
        let guid = last_segment(wanted);
        definitions
            .iter()
            .filter(|d| d.name.eq_ignore_ascii_case(guid))
            .collect()
    } else {
        definitions
            .iter()
            .filter(|d| d.role_name.eq_ignore_ascii_case(wanted))
            .collect()
    };
    match found.as_slice() {
        [one] => Ok(one),
        [] => {
            let mut names: Vec<&str> = definitions.iter().map(|d| d.role_name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            Err(HsmError::Usage(format!(
                "role '{wanted}' does not exist on this HSM; roles: {}",
                names
                    .iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        many => Err(HsmError::Usage(format!(
            "role name '{wanted}' is ambiguous: {}; give the GUID instead",
            many.iter()
                .map(|d| format!("{} ({})", d.name, d.role_type))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The role name of each definition GUID, for showing assignments.
pub fn role_names(definitions: &[RoleDefinition]) -> Vec<(String, String)> {
    definitions
        .iter()
        .map(|d| (d.name.to_ascii_lowercase(), d.role_name.clone()))
        .collect()
}

/// The role name of `assignment` among `names` (from [`role_names`]).
pub fn role_name_of(names: &[(String, String)], assignment: &RoleAssignment) -> Option<String> {
    let guid = assignment.role_guid().to_ascii_lowercase();
    names
        .iter()
        .find(|(g, _)| *g == guid)
        .map(|(_, n)| n.clone())
}

pub mod check;
mod officer;
mod step;
pub use officer::{assign_role, create_sd_officer, AssignOutcome, SdOfficerOutcome};

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
