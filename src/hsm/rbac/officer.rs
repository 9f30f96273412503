//! Idempotent role grants: assigning a role (an equal assignment is reported, not
//! duplicated) and creating the security-domain officer role.

use serde::Serialize;

use super::{
    check_principal, create_assignment, list_all_assignments, list_definitions, new_guid,
    put_definition, scope_text_eq, sd_officer_definition, HsmClient, HsmError, RoleAssignment,
    RoleDefinition, Scope,
};

/// What `assign_role` did.
#[derive(Clone, Debug, Serialize)]
pub struct AssignOutcome {
    /// The assignment (new, or the equal one that existed).
    pub assignment: RoleAssignment,
    /// The role's display name.
    pub role_name: String,
    /// False when the principal already held the role at that scope.
    pub created: bool,
}

/// Gives `principal` the role `definition` at `scope`, unless an assignment of that role to
/// that principal at that scope exists already (then it is returned with `created: false`).
/// When the caller cannot read assignments, the assignment is simply created.
pub async fn assign_role(
    client: &HsmClient,
    scope: &Scope,
    definition: &RoleDefinition,
    principal: &str,
) -> Result<AssignOutcome, HsmError> {
    check_principal(principal)?;
    let existing = match list_all_assignments(client).await {
        Ok(all) => all.into_iter().find(|a| {
            a.principal_id.eq_ignore_ascii_case(principal)
                && a.role_guid().eq_ignore_ascii_case(&definition.name)
                && scope_text_eq(&a.scope, scope)
        }),
        Err(HsmError::Forbidden { .. }) => None,
        Err(e) => return Err(e),
    };
    let (assignment, created) = match existing {
        Some(a) => (a, false),
        None => (
            create_assignment(client, scope, &definition.id, principal).await?,
            true,
        ),
    };
    Ok(AssignOutcome {
        assignment,
        role_name: definition.role_name.clone(),
        created,
    })
}

/// What `create_sd_officer` did.
#[derive(Clone, Debug, Serialize)]
pub struct SdOfficerOutcome {
    /// The role (new, or the equal one that existed).
    pub definition: RoleDefinition,
    /// False when a custom role of that name with exactly these actions existed.
    pub created: bool,
    /// The assignment to `--assignee` at `/`, when asked for.
    pub assignment: Option<AssignOutcome>,
}

/// Creates the custom role `role_name` holding exactly the five security-domain data
/// actions ([`sd_officer_definition`]), and, with `assignee`, assigns it at `/`.
///
/// Idempotent: a custom role of that name with exactly those actions is reported
/// (`created: false`), not duplicated; one with other actions, or a built-in role of that
/// name, is a usage error and nothing is changed.
pub async fn create_sd_officer(
    client: &HsmClient,
    role_name: &str,
    description: Option<&str>,
    assignee: Option<&str>,
) -> Result<SdOfficerOutcome, HsmError> {
    if let Some(a) = assignee {
        check_principal(a)?;
    }
    if role_name.trim().is_empty() {
        return Err(HsmError::Usage("the role name is empty".into()));
    }
    let body = sd_officer_definition(role_name, description);
    let definitions = list_definitions(client).await?;
    let same_name: Vec<&RoleDefinition> = definitions
        .iter()
        .filter(|d| d.role_name.eq_ignore_ascii_case(role_name.trim()))
        .collect();
    if let Some(b) = same_name.iter().find(|d| !d.is_custom()) {
        return Err(HsmError::Usage(format!(
            "'{}' is a built-in role ({}); choose another --role-name",
            b.role_name, b.name
        )));
    }
    let (definition, created) = match same_name.iter().find(|d| body.same_permissions(d)) {
        Some(existing) => ((*existing).clone(), false),
        None => {
            if let Some(other) = same_name.first() {
                let actions: Vec<&str> = other.data_actions().collect();
                return Err(HsmError::Usage(format!(
                    "a custom role '{}' ({}) already exists with other permissions (data actions: {}); nothing was changed. Review it with 'sdctl hsm role definition show --name {}', then delete it or choose another --role-name",
                    other.role_name,
                    other.name,
                    if actions.is_empty() { "none".to_owned() } else { actions.join(", ") },
                    other.name
                )));
            }
            (put_definition(client, &new_guid()?, &body).await?, true)
        }
    };
    let assignment = match assignee {
        Some(principal) => Some(assign_role(client, &Scope::Hsm, &definition, principal).await?),
        None => None,
    };
    Ok(SdOfficerOutcome {
        definition,
        created,
        assignment,
    })
}
