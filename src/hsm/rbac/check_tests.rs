//! Unit tests of `rbac::check`: wildcard matching, notDataActions, scope coverage,
//! principals, and the report with its advice line.

use super::*;
use crate::hsm::rbac::Permission;

const ME: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const OTHER: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const DL: &str = "Microsoft.KeyVault/managedHsm/securitydomain/download/action";

fn role(guid: &str, name: &str, kind: &str, blocks: &[(&[&str], &[&str])]) -> RoleDefinition {
    RoleDefinition {
        id: format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        name: guid.into(),
        role_name: name.into(),
        role_type: kind.into(),
        description: String::new(),
        assignable_scopes: vec!["/".into()],
        permissions: blocks
            .iter()
            .map(|(d, n)| Permission {
                data_actions: d.iter().map(|s| s.to_string()).collect(),
                not_data_actions: n.iter().map(|s| s.to_string()).collect(),
                ..Permission::default()
            })
            .collect(),
    }
}

fn assign(name: &str, principal: &str, guid: &str, scope: &str) -> RoleAssignment {
    RoleAssignment {
        id: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
        name: name.into(),
        scope: scope.into(),
        role_definition_id: format!(
            "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        ),
        principal_id: principal.into(),
    }
}

fn admin() -> RoleDefinition {
    role(
        "a290e904-7015-4bba-90c8-60543313cdb4",
        "Managed HSM Administrator",
        "AKVBuiltInRole",
        &[(
            &[
                "Microsoft.KeyVault/managedHsm/securitydomain/*",
                "Microsoft.KeyVault/managedHsm/roleAssignments/*",
                "Microsoft.KeyVault/managedHsm/roleDefinitions/*",
            ],
            &[],
        )],
    )
}

fn auditor() -> RoleDefinition {
    role(
        "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        "Managed HSM Crypto Auditor",
        "AKVBuiltInRole",
        &[(
            &[
                "Microsoft.KeyVault/managedHsm/roleAssignments/read/action",
                "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action",
                "Microsoft.KeyVault/managedHsm/securitydomain/download/read",
                "Microsoft.KeyVault/managedHsm/securitydomain/upload/read",
                "Microsoft.KeyVault/managedHsm/keys/read/action",
            ],
            &[],
        )],
    )
}

fn crypto_user() -> RoleDefinition {
    role(
        "21dbd100-6940-42c2-9190-5d6cb909625b",
        "Managed HSM Crypto User",
        "AKVBuiltInRole",
        &[(
            &["Microsoft.KeyVault/managedHsm/keys/*"],
            &["Microsoft.KeyVault/managedHsm/keys/delete"],
        )],
    )
}

fn officer() -> RoleDefinition {
    let actions: Vec<&str> = crate::hsm::rbac::SECURITY_DOMAIN_ACTIONS.to_vec();
    role(
        "5d0f0e1a-0000-4000-8000-00000000000f",
        "Managed HSM Security Domain Officer",
        "CustomRole",
        &[(&actions, &[])],
    )
}

#[test]
fn wildcards_anywhere_and_case_insensitive() {
    assert!(action_matches(
        "Microsoft.KeyVault/managedHsm/securitydomain/*",
        DL
    ));
    assert!(action_matches(
        "microsoft.keyvault/MANAGEDHSM/securitydomain/download/action",
        DL
    ));
    assert!(action_matches("*", DL));
    assert!(action_matches(
        "Microsoft.KeyVault/managedHsm/*/download/action",
        DL
    ));
    assert!(action_matches(
        "Microsoft.KeyVault/managedHsm/securitydomain/*/action",
        DL
    ));
    assert!(action_matches(
        "Microsoft.KeyVault/*/securitydomain/*/act*",
        DL
    ));
    assert!(action_matches("*download*", DL));
    assert!(action_matches(
        "Microsoft.KeyVault/managedHsm/securitydomain/download/action*",
        DL
    ));
    assert!(!action_matches(
        "Microsoft.KeyVault/managedHsm/securitydomain/*/read",
        DL
    ));
    assert!(!action_matches(
        "Microsoft.KeyVault/managedHsm/securitydomain/download",
        DL
    ));
    assert!(!action_matches(
        "Microsoft.KeyVault/managedHsm/securitydomain/download/action/x",
        DL
    ));
    assert!(!action_matches("Microsoft.KeyVault/managedHsm/keys/*", DL));
    assert!(!action_matches("", DL));
    // Backtracking: the star must not stop at the first match of what follows it.
    assert!(action_matches("a*b", "abab"));
    assert!(action_matches("a*ab", "aab"));
    assert!(!action_matches("a*ba", "ab"));
    assert!(action_matches("a**c", "abbc"));
}

#[test]
fn not_data_actions_subtract_within_their_block() {
    let user = crypto_user();
    assert!(definition_grants(
        &user,
        "Microsoft.KeyVault/managedHsm/keys/backup/action"
    ));
    assert!(!definition_grants(
        &user,
        "Microsoft.KeyVault/managedHsm/keys/delete"
    ));
    assert!(!definition_grants(
        &user,
        "Microsoft.KeyVault/managedHsm/KEYS/Delete"
    ));
    // Wildcard exclusion.
    let sd_read_only = role(
        "g",
        "r",
        "CustomRole",
        &[(
            &["Microsoft.KeyVault/managedHsm/securitydomain/*"],
            &["*/action"],
        )],
    );
    assert!(!definition_grants(&sd_read_only, DL));
    assert!(definition_grants(
        &sd_read_only,
        "Microsoft.KeyVault/managedHsm/securitydomain/download/read"
    ));
    // Another block of the same role may grant what one block excludes.
    let two = role(
        "g",
        "r",
        "CustomRole",
        &[
            (&["Microsoft.KeyVault/managedHsm/securitydomain/*"], &[DL]),
            (&[DL], &[]),
        ],
    );
    assert!(definition_grants(&two, DL));
    assert!(!definition_grants(&role("g", "r", "CustomRole", &[]), DL));
}

#[test]
fn scope_coverage() {
    assert!(scope_covers("/", &Scope::Hsm));
    assert!(scope_covers("/", &Scope::Keys));
    assert!(scope_covers("/", &Scope::Key("k".into())));
    assert!(scope_covers("/keys", &Scope::Keys));
    assert!(scope_covers("/keys/", &Scope::Key("k".into())));
    assert!(scope_covers("/KEYS/K", &Scope::Key("k".into())));
    assert!(!scope_covers("/keys", &Scope::Hsm));
    assert!(!scope_covers("/keys/k", &Scope::Keys));
    assert!(!scope_covers("/keys/k", &Scope::Key("k2".into())));
    assert!(!scope_covers("/keys/k2", &Scope::Key("k".into())));
    assert!(!scope_covers("/key", &Scope::Keys));
}

#[test]
fn grants_consider_principal_scope_and_known_roles() {
    let defs = vec![admin(), crypto_user()];
    let backup = "Microsoft.KeyVault/managedHsm/keys/backup/action";
    let assignments = vec![
        assign("x1", OTHER, &admin().name, "/"),
        assign("x2", ME, &crypto_user().name, "/keys"),
        assign("x3", ME, "99999999-9999-4999-8999-999999999999", "/"),
    ];
    assert!(grants(ME, &assignments, &defs, DL, &Scope::Hsm).is_empty());
    assert_eq!(grants(OTHER, &assignments, &defs, DL, &Scope::Hsm).len(), 1);
    let g = grants(
        &ME.to_uppercase(),
        &assignments,
        &defs,
        backup,
        &Scope::Keys,
    );
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].role_name, "Managed HSM Crypto User");
    assert_eq!(g[0].assignment, "x2");
    // The /keys assignment does not grant at /.
    assert!(grants(ME, &assignments, &defs, backup, &Scope::Hsm).is_empty());
    // An assignment at / does.
    let at_root = vec![assign("x4", ME, &crypto_user().name, "/")];
    assert_eq!(
        grants(ME, &at_root, &defs, backup, &Scope::Key("k".into())).len(),
        1
    );
}

#[test]
fn steps_parse_and_need_the_right_actions() {
    assert_eq!(Step::parse("Init-Recovery").unwrap(), Step::InitRecovery);
    assert!(
        matches!(Step::parse("activate"), Err(HsmError::Usage(m)) if m.contains("wait-download"))
    );
    let names: Vec<String> = Step::Download.needs().into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        names,
        [
            DL,
            "Microsoft.KeyVault/managedHsm/securitydomain/download/read"
        ]
    );
    assert_eq!(
        Step::KeyBackup.needs(),
        vec![(
            "Microsoft.KeyVault/managedHsm/keys/backup/action".to_owned(),
            Scope::Keys
        )]
    );
    assert_eq!(Step::ManageRoles.needs().len(), 6);
    assert!(Step::ManageRoles
        .needs()
        .iter()
        .all(|(a, s)| definition_grants(&admin(), a) && *s == Scope::Hsm));
    for s in Step::ALL {
        assert_eq!(Step::parse(s.name()).unwrap(), s);
        assert_eq!(serde_json::to_value(s).unwrap(), s.name());
    }
}

#[test]
fn administrator_passes_every_security_domain_step() {
    let defs = vec![admin(), auditor(), officer()];
    let assignments = vec![assign("a", ME, &admin().name, "/")];
    let r = evaluate(ME, "token", &[], &assignments, &defs);
    assert!(r.passed);
    assert_eq!(r.steps, Step::SECURITY_DOMAIN.to_vec());
    // Each of the five actions once, with the steps that need it.
    assert_eq!(r.rows.len(), 5);
    let read = r
        .rows
        .iter()
        .find(|row| row.action.ends_with("download/read"))
        .unwrap();
    assert_eq!(
        read.needed_for,
        [Step::Download, Step::WaitDownload, Step::Status]
    );
    assert_eq!(read.granted_by[0].role_name, "Managed HSM Administrator");
    assert!(r.missing.is_empty() && r.advice.is_none());
}

#[test]
fn missing_actions_are_named_with_the_least_privileged_role() {
    let defs = vec![admin(), auditor(), officer(), crypto_user()];
    // Nothing assigned: the officer role is suggested (it grants all, without wildcards).
    let r = evaluate(ME, "assignee", &[Step::Download], &[], &defs);
    assert!(!r.passed);
    assert_eq!(r.missing[0], DL);
    assert_eq!(
        r.advice.as_deref().unwrap(),
        format!("MISSING {DL} (and 1 more) for principal {ME}: ask an HSM administrator to run 'sdctl hsm role assign --role \"Managed HSM Security Domain Officer\" --assignee {ME} --scope /'")
    );
    // Only a wait: the read-only auditor is enough.
    let r = evaluate(ME, "assignee", &[Step::WaitUpload], &[], &defs);
    assert!(r
        .advice
        .unwrap()
        .contains("--role \"Managed HSM Crypto Auditor\""));
    // No officer role yet: create one rather than hand out the administrator role.
    let r = evaluate(
        ME,
        "assignee",
        &[Step::Upload],
        &[],
        &[admin(), crypto_user()],
    );
    assert!(
        r.advice
            .unwrap()
            .ends_with(&format!("run 'sdctl hsm role create-sd-officer --assignee {ME}' (a role holding only the security-domain actions)")),
    );
    // Keys: at /keys.
    let r = evaluate(ME, "assignee", &[Step::KeyRestore], &[], &defs);
    assert!(r
        .advice
        .unwrap()
        .contains("--role \"Managed HSM Crypto User\" --assignee aaaaaaaa-0000-4000-8000-000000000001 --scope /keys"));
    // No role grants it at all.
    let r = evaluate(ME, "assignee", &[Step::KeyRestore], &[], &[admin()]);
    assert!(r
        .advice
        .unwrap()
        .ends_with("ask an HSM administrator for a role holding it"));
}

#[test]
fn partial_holdings_and_unknown_roles() {
    let defs = vec![admin(), auditor(), officer()];
    let assignments = vec![
        assign("a", ME, &auditor().name, "/"),
        assign("b", ME, "99999999-9999-4999-8999-999999999999", "/"),
        assign("c", OTHER, &admin().name, "/"),
    ];
    let r = evaluate(
        ME,
        "token",
        &[Step::Status, Step::Download, Step::Status],
        &assignments,
        &defs,
    );
    assert_eq!(r.steps, [Step::Status, Step::Download]);
    let held: Vec<(bool, &str)> = r
        .rows
        .iter()
        .map(|row| {
            (
                row.held,
                row.action.rsplit("securitydomain/").next().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            (true, "download/read"),
            (true, "upload/read"),
            (false, "download/action")
        ]
    );
    assert_eq!(r.missing, [DL]);
    assert!(r
        .advice
        .unwrap()
        .starts_with(&format!("MISSING {DL} for principal {ME}: ")));
    assert_eq!(
        r.unresolved_roles,
        ["Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/99999999-9999-4999-8999-999999999999"]
    );
}
