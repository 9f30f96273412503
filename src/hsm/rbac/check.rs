//! Effective permissions: whether a principal holds the data actions a ceremony step needs,
//! computed from its role assignments and the role definitions as Managed HSM does:
//! a role grants an action when one of its permission blocks lists a matching
//! `dataActions` pattern and no matching `notDataActions` pattern (`*` matches any text,
//! case-insensitively); an assignment at `/` covers `/keys` and `/keys/NAME`, one at
//! `/keys` covers `/keys/NAME`; the grants of all the principal's assignments add up.
//!
//! What this cannot see: assignments to groups the principal belongs to (the token's `oid`
//! is the principal's own id), so a "missing" action may still be held through a group.

use serde::Serialize;

pub use super::step::Step;
use super::{
    check_principal, get_definition, list_all_assignments, list_definitions, RoleAssignment,
    RoleDefinition, Scope, ACTION_PREFIX, SECURITY_DOMAIN_ACTIONS,
};
use crate::hsm::{jwt, HsmClient, HsmError};

/// Whether data-action `pattern` (`*` matches any text, `/` included) matches `action`,
/// ignoring case.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<u8> = pattern.trim().to_ascii_lowercase().into_bytes();
    let a: Vec<u8> = action.trim().to_ascii_lowercase().into_bytes();
    let (mut pi, mut ai) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ai < a.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ai));
            pi += 1;
        } else if pi < p.len() && p[pi] == a[ai] {
            pi += 1;
            ai += 1;
        } else if let Some((sp, sa)) = star {
            pi = sp + 1;
            ai = sa + 1;
            star = Some((sp, sa + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `definition` grants data action `action`: some permission block lists a
/// matching `dataActions` pattern and no matching `notDataActions` pattern.
pub fn definition_grants(definition: &RoleDefinition, action: &str) -> bool {
    definition.permissions.iter().any(|p| {
        p.data_actions.iter().any(|d| action_matches(d, action))
            && !p.not_data_actions.iter().any(|n| action_matches(n, action))
    })
}

/// Whether an assignment at `assigned` (as the service reports it) covers `wanted`.
pub fn scope_covers(assigned: &str, wanted: &Scope) -> bool {
    let a = assigned.trim().trim_end_matches('/').to_ascii_lowercase();
    if a.is_empty() {
        return true;
    }
    let w = wanted.to_string().to_ascii_lowercase();
    w == a || w.starts_with(&format!("{a}/"))
}

/// One assignment through which a principal holds an action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The role's display name.
    pub role_name: String,
    /// The role's GUID.
    pub role: String,
    /// The assignment's name.
    pub assignment: String,
    /// The assignment's scope.
    pub scope: String,
}

/// The assignments of `principal` among `assignments` that grant `action` at `scope`.
/// Assignments of other principals, at scopes that do not cover `scope`, or of roles not
/// in `definitions`, grant nothing.
pub fn grants(
    principal: &str,
    assignments: &[RoleAssignment],
    definitions: &[RoleDefinition],
    action: &str,
    scope: &Scope,
) -> Vec<Grant> {
    assignments
        .iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal) && scope_covers(&a.scope, scope))
        .filter_map(|a| {
            let d = definitions
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(a.role_guid()))?;
            definition_grants(d, action).then(|| Grant {
                role_name: d.role_name.clone(),
                role: d.name.clone(),
                assignment: a.name.clone(),
                scope: a.scope.clone(),
            })
        })
        .collect()
}

/// One required action and whether it is held.
#[derive(Clone, Debug, Serialize)]
pub struct CheckRow {
    /// The full data action.
    pub action: String,
    /// Where it is needed.
    pub scope: Scope,
    /// The steps that need it.
    pub needed_for: Vec<Step>,
    /// Whether the principal holds it.
    pub held: bool,
    /// Through which assignments.
    pub granted_by: Vec<Grant>,
}

/// The outcome of `role check`.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The principal checked (object id).
    pub principal: String,
    /// `token` (the signed-in principal) or `assignee` (`--assignee`).
    pub principal_from: &'static str,
    /// The steps checked.
    pub steps: Vec<Step>,
    /// One row per required action.
    pub rows: Vec<CheckRow>,
    /// Whether every action is held.
    pub passed: bool,
    /// The missing actions, in the order of the steps.
    pub missing: Vec<String>,
    /// Roles assigned to the principal whose definitions could not be read.
    pub unresolved_roles: Vec<String>,
    /// When something is missing: one line saying what and what to do.
    pub advice: Option<String>,
}

/// Computes the report for `principal` and `steps` (empty: the security-domain steps)
/// from the HSM's assignments and definitions. Pure; see the module's documentation.
pub fn evaluate(
    principal: &str,
    principal_from: &'static str,
    steps: &[Step],
    assignments: &[RoleAssignment],
    definitions: &[RoleDefinition],
) -> CheckReport {
    let steps = effective_steps(steps);
    let mut rows: Vec<CheckRow> = Vec::new();
    for step in &steps {
        for (action, scope) in step.needs() {
            if let Some(row) = rows
                .iter_mut()
                .find(|r| r.action == action && r.scope == scope)
            {
                row.needed_for.push(*step);
                continue;
            }
            let granted_by = grants(principal, assignments, definitions, &action, &scope);
            rows.push(CheckRow {
                held: !granted_by.is_empty(),
                action,
                scope,
                needed_for: vec![*step],
                granted_by,
            });
        }
    }
    let unresolved_roles = assignments
        .iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(principal))
        .filter(|a| {
            !definitions
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(a.role_guid()))
        })
        .map(|a| a.role_definition_id.clone())
        .collect();
    let missing: Vec<String> = rows
        .iter()
        .filter(|r| !r.held)
        .map(|r| r.action.clone())
        .collect();
    let advice = advice(principal, &rows, definitions);
    CheckReport {
        principal: principal.to_owned(),
        principal_from,
        steps,
        passed: missing.is_empty(),
        rows,
        missing,
        unresolved_roles,
        advice,
    }
}

fn effective_steps(steps: &[Step]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for s in if steps.is_empty() {
        Step::SECURITY_DOMAIN
    } else {
        steps
    } {
        if !out.contains(s) {
            out.push(*s);
        }
    }
    out
}

/// How broad a role is: (wildcard patterns, patterns); smaller is less privilege.
fn breadth(d: &RoleDefinition) -> (usize, usize) {
    let all: Vec<&str> = d.data_actions().collect();
    (all.iter().filter(|a| a.contains('*')).count(), all.len())
}

/// The line that ends a failed check: the first missing action and the least-privileged
/// existing role that grants every missing one.
fn advice(principal: &str, rows: &[CheckRow], definitions: &[RoleDefinition]) -> Option<String> {
    let missing: Vec<&CheckRow> = rows.iter().filter(|r| !r.held).collect();
    let first = missing.first()?;
    let more = match missing.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let scope = if missing.iter().any(|r| r.scope == Scope::Hsm) {
        Scope::Hsm
    } else {
        first.scope.clone()
    };
    let mut candidates: Vec<&RoleDefinition> = definitions
        .iter()
        .filter(|d| missing.iter().all(|r| definition_grants(d, &r.action)))
        .collect();
    candidates.sort_by(|a, b| {
        breadth(a)
            .cmp(&breadth(b))
            .then(a.role_name.cmp(&b.role_name))
    });
    let only_sd = missing.iter().all(|r| {
        SECURITY_DOMAIN_ACTIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&r.action))
    });
    let todo = match candidates.first() {
        Some(best) if !(only_sd && breadth(best).0 > 0) => format!(
            "ask an HSM administrator to run 'sdctl hsm role assign --role \"{}\" --assignee {principal} --scope {scope}'",
            best.role_name
        ),
        _ if only_sd => format!(
            "ask an HSM administrator to run 'sdctl hsm role create-sd-officer --assignee {principal}' (a role holding only the security-domain actions)"
        ),
        _ => "ask an HSM administrator for a role holding it".to_owned(),
    };
    Some(format!(
        "MISSING {}{more} for principal {principal}: {todo}",
        first.action
    ))
}

/// Checks whether `assignee` (default: the signed-in principal, the token's `oid`) holds
/// what `steps` need (empty: every security-domain step). Needs
/// `roleAssignments/read/action` and `roleDefinitions/read/action`: without them the error
/// says so and names the command an administrator can run instead.
pub async fn check(
    client: &HsmClient,
    steps: &[Step],
    assignee: Option<&str>,
) -> Result<CheckReport, HsmError> {
    let (principal, from) = match assignee {
        Some(a) => {
            check_principal(a)?;
            (a.to_owned(), "assignee")
        }
        None => {
            let token = client.credentials.token(&client.endpoint.resource).await?;
            let oid = jwt::object_id(&token).ok_or_else(|| {
                HsmError::Usage(
                    "the access token names no principal (no 'oid' claim); pass --assignee OBJECT_ID".into(),
                )
            })?;
            (oid, "token")
        }
    };
    let unreadable = |e: HsmError, what: &str| match e {
        HsmError::Forbidden { url, .. } => {
            let action = format!("{ACTION_PREFIX}{what}/read/action");
            let fors: String = steps
                .iter()
                .map(|s| format!(" --for {}", s.name()))
                .collect();
            let (who, hint) = if from == "token" {
                (
                    format!("principal {principal}"),
                    format!("an HSM administrator can run 'sdctl hsm role check --assignee {principal}{fors}' for it"),
                )
            } else {
                (
                    "the signed-in principal".to_owned(),
                    "run the check signed in as an HSM administrator (or a Crypto Auditor)"
                        .to_owned(),
                )
            };
            HsmError::Forbidden {
                url,
                message: format!("{who} cannot read the HSM's {what}: it lacks {action}"),
                action: Some(action),
                hint,
            }
        }
        other => other,
    };
    let assignments = list_all_assignments(client)
        .await
        .map_err(|e| unreadable(e, "roleAssignments"))?;
    let mut definitions = list_definitions(client)
        .await
        .map_err(|e| unreadable(e, "roleDefinitions"))?;
    for a in assignments
        .iter()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(&principal))
    {
        if definitions
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(a.role_guid()))
        {
            continue;
        }
        match get_definition(client, a.role_guid()).await {
            Ok(d) => definitions.push(d),
            Err(HsmError::Service { status: 404, .. }) | Err(HsmError::Usage(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(evaluate(
        &principal,
        from,
        steps,
        &assignments,
        &definitions,
    ))
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
