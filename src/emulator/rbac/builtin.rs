//! The built-in roles of Managed HSM local RBAC, with the data actions Microsoft documents
//! for them ("Local RBAC built-in roles for Managed HSM"). They cannot be changed or deleted.

use serde_json::{json, Value};

/// One built-in role: its name, guid, data actions and not-data actions (short forms,
/// without the `Microsoft.KeyVault/managedHsm/` prefix).
struct BuiltInRole {
    name: &'static str,
    guid: &'static str,
    data_actions: &'static [&'static str],
    not_data_actions: &'static [&'static str],
}

/// The guid of Managed HSM Administrator.
pub const ADMINISTRATOR: &str = "a290e904-7015-4bba-90c8-60543313cdb4";

const ROLES: [BuiltInRole; 7] = [
    BuiltInRole {
        name: "Managed HSM Administrator",
        guid: ADMINISTRATOR,
        data_actions: &[
            "securitydomain/*",
            "roleAssignments/*",
            "roleDefinitions/*",
            "backup/*",
            "restore/*",
            "settings/*",
        ],
        not_data_actions: &[],
    },
    BuiltInRole {
        name: "Managed HSM Crypto Officer",
        guid: "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        data_actions: &[
            "roleAssignments/*",
            "roleDefinitions/*",
            "keys/read/action",
            "keys/deletedKeys/read/action",
            "keys/deletedKeys/recover/action",
            "keys/deletedKeys/delete",
            "keys/export/action",
            "rng/action",
            "settings/read/action",
        ],
        not_data_actions: &[],
    },
    BuiltInRole {
        name: "Managed HSM Crypto User",
        guid: "21dbd100-6940-42c2-9190-5d6cb909625b",
        data_actions: &["keys/*", "rng/action"],
        not_data_actions: &[
            "keys/deletedKeys/recover/action",
            "keys/deletedKeys/delete",
            "keys/export/action",
            "keys/release/action",
        ],
    },
    BuiltInRole {
        name: "Managed HSM Policy Administrator",
        guid: "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
        data_actions: &["roleAssignments/*", "roleDefinitions/read/action"],
        not_data_actions: &[],
    },
    BuiltInRole {
        name: "Managed HSM Crypto Auditor",
        guid: "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        data_actions: &[
            "keys/read/action",
            "keys/deletedKeys/read/action",
            "roleAssignments/read/action",
            "roleDefinitions/read/action",
            "securitydomain/download/read",
            "securitydomain/upload/read",
            "securitydomain/transferkey/read",
            "settings/read/action",
        ],
        not_data_actions: &[],
    },
    BuiltInRole {
        name: "Managed HSM Crypto Service Encryption User",
        guid: "33413926-3206-4cdd-b39a-83574fe37a17",
        data_actions: &["keys/read/action", "keys/wrap/action", "keys/unwrap/action"],
        not_data_actions: &[],
    },
    BuiltInRole {
        name: "Managed HSM Backup",
        guid: "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
        data_actions: &[
            "backup/start/action",
            "backup/status/action",
            "keys/backup/action",
        ],
        not_data_actions: &[],
    },
];

/// The id of role definition `guid`, as the service writes it.
pub fn role_definition_id(guid: &str) -> String {
    format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

fn full(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| super::action(s)).collect()
}

fn definition(role: &BuiltInRole) -> Value {
    json!({
        "id": role_definition_id(role.guid),
        "name": role.guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.name,
            "type": "AKVBuiltInRole",
            "description": "",
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": [],
                "notActions": [],
                "dataActions": full(role.data_actions),
                "notDataActions": full(role.not_data_actions),
            }],
        }
    })
}

/// The built-in role definition named `guid` (case-insensitive), if there is one.
pub fn find(guid: &str) -> Option<Value> {
    ROLES
        .iter()
        .find(|r| r.guid.eq_ignore_ascii_case(guid))
        .map(definition)
}

/// Every built-in role definition.
pub fn all() -> impl Iterator<Item = Value> {
    ROLES.iter().map(definition)
}
