//! Unit tests of `rbac`: scopes, names, the service's JSON, role-definition files,
//! role resolution and the security-domain officer role.

use serde_json::json;

use super::*;

const URL: &str =
    "https://x.managedhsm.azure.net/providers/Microsoft.Authorization/roleAssignments";

fn usage(e: HsmError) -> String {
    match e {
        HsmError::Usage(m) => m,
        other => panic!("want a usage error, got {other:?}"),
    }
}

#[test]
fn scopes_parse_and_print() {
    assert_eq!(Scope::parse("/").unwrap(), Scope::Hsm);
    assert_eq!(Scope::parse("/keys").unwrap(), Scope::Keys);
    assert_eq!(Scope::parse("/Keys/").unwrap(), Scope::Keys);
    assert_eq!(
        Scope::parse("/keys/my-key-1").unwrap(),
        Scope::Key("my-key-1".into())
    );
    assert_eq!(Scope::Keys.to_string(), "/keys");
    assert_eq!(Scope::Key("k".into()).to_string(), "/keys/k");
    assert_eq!(Scope::Hsm.path_prefix(), "");
    assert_eq!(Scope::Key("k".into()).path_prefix(), "keys/k/");
    for bad in [
        "",
        "keys",
        "/secrets",
        "/keys/a/b",
        "/keys/a b",
        "/keys/../x",
        "//",
    ] {
        let m = usage(Scope::parse(bad).unwrap_err());
        assert!(m.contains("use / (the whole HSM)"), "{m}");
    }
    assert_eq!(serde_json::to_value(Scope::Keys).unwrap(), json!("/keys"));
    assert!(scope_text_eq("/keys/", &Scope::Keys));
    assert!(scope_text_eq("/KEYS/K", &Scope::Key("k".into())));
    assert!(!scope_text_eq("/", &Scope::Keys));
}

#[test]
fn guids_names_and_principals() {
    let g = new_guid().unwrap();
    assert!(is_guid(&g), "{g}");
    assert_eq!(&g[14..15], "4");
    assert_ne!(g, new_guid().unwrap());
    assert!(is_guid("21DBD100-6940-42c2-9190-5d6cb909625b"));
    assert!(!is_guid("21dbd100-6940-42c2-9190-5d6cb909625"));
    assert!(!is_guid("21dbd100694042c291905d6cb909625b"));
    assert!(!is_guid("zzdbd100-6940-42c2-9190-5d6cb909625b"));
    assert!(check_principal(&g).is_ok());
    assert!(usage(check_principal("alice@contoso.com").unwrap_err()).contains("az ad user show"));
    assert!(check_name("crypto-user").is_ok());
    assert!(check_name("../x").is_err());
    assert!(check_name("").is_err());
    assert_eq!(last_segment("a/b/roleDefinitions/G/"), "G");
    assert_eq!(last_segment("G"), "G");
}

#[test]
fn assignments_are_read_tolerantly() {
    let v = json!({"id": "/keys/providers/Microsoft.Authorization/roleAssignments/n1", "name": "n1",
        "type": "Microsoft.Authorization/roleAssignments", "extra": 1,
        "properties": {"scope": "/keys", "principalId": "p", "roleDefinitionId": "x/roleDefinitions/G", "more": true}});
    let a = wire::assignment(&v, URL, &Scope::Hsm).unwrap();
    assert_eq!(a.name, "n1");
    assert_eq!(a.scope, "/keys");
    assert_eq!(a.principal_id, "p");
    assert_eq!(a.role_guid(), "G");
    // No scope: from the id; no id or scope: the scope it was listed at; no name: from the id.
    let v = json!({"id": "/keys/providers/Microsoft.Authorization/roleAssignments/n2",
        "properties": {"principalId": "p", "roleDefinitionId": "G"}});
    let a = wire::assignment(&v, URL, &Scope::Hsm).unwrap();
    assert_eq!((a.name.as_str(), a.scope.as_str()), ("n2", "/keys"));
    let v = json!({"name": "n3", "properties": {"principalId": "p", "roleDefinitionId": "G", "scope": null}});
    let a = wire::assignment(&v, URL, &Scope::Hsm).unwrap();
    assert_eq!(a.scope, "/");
    assert_eq!(
        a.id,
        "/providers/Microsoft.Authorization/roleAssignments/n3"
    );
    // Malformed answers.
    for bad in [
        json!({"name": "n"}),
        json!({"name": "n", "properties": {"roleDefinitionId": "G"}}),
        json!({"name": "n", "properties": {"principalId": "p"}}),
        json!({"properties": {"principalId": "p", "roleDefinitionId": "G"}}),
        json!({"name": 5, "properties": {"principalId": "p", "roleDefinitionId": "G"}}),
        json!([1, 2]),
    ] {
        match wire::assignment(&bad, URL, &Scope::Hsm) {
            Err(HsmError::BadResponse { url, detail }) => {
                assert_eq!(url, URL);
                assert!(detail.starts_with("role assignment:"), "{detail}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

fn definition_json(
    guid: &str,
    name: &str,
    kind: &str,
    data: &[&str],
    not: &[&str],
) -> serde_json::Value {
    json!({"id": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "name": guid, "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {"roleName": name, "type": kind, "description": "", "assignableScopes": ["/"],
            "permissions": [{"actions": [], "notActions": [], "dataActions": data, "notDataActions": not}]}})
}

#[test]
fn definitions_are_read_tolerantly() {
    let v = definition_json(
        "g1",
        "Managed HSM Crypto User",
        "AKVBuiltInRole",
        &["Microsoft.KeyVault/managedHsm/keys/*"],
        &[],
    );
    let d = wire::definition(&v, URL).unwrap();
    assert_eq!(d.name, "g1");
    assert_eq!(d.role_name, "Managed HSM Crypto User");
    assert!(!d.is_custom());
    assert_eq!(
        d.data_actions().collect::<Vec<_>>(),
        ["Microsoft.KeyVault/managedHsm/keys/*"]
    );
    // Minimal: name and properties; nulls in the lists' places.
    let v = json!({"name": "g2", "properties": {"type": "CustomRole", "permissions": [{"dataActions": null}]}});
    let d = wire::definition(&v, URL).unwrap();
    assert!(d.is_custom());
    assert_eq!(d.role_name, "g2");
    assert_eq!(d.permissions, vec![Permission::default()]);
    assert!(d.id.ends_with("/roleDefinitions/g2"));
    for bad in [
        json!({"name": "g"}),
        json!({"properties": {}}),
        json!({"name": "g", "properties": {"permissions": [{"dataActions": [1]}]}}),
        json!({"name": "g", "properties": {"permissions": {}}}),
    ] {
        assert!(
            matches!(
                wire::definition(&bad, URL),
                Err(HsmError::BadResponse { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn definition_files_service_shape_and_flat_shape() {
    let body = parse_definition_body(
        "r.json",
        br#"{"properties": {"roleName": " Key Backup ", "description": "d", "assignableScopes": ["/keys"],
            "permissions": [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/backup/action"], "notDataActions": []}]}}"#,
    )
    .unwrap();
    assert_eq!(body.role_name, "Key Backup");
    assert_eq!(body.assignable_scopes, ["/keys"]);
    assert_eq!(
        body.permissions[0].data_actions,
        ["Microsoft.KeyVault/managedHsm/keys/backup/action"]
    );
    // A show answer around it (id, name, type) is accepted.
    let shown = definition_json(
        "g",
        "R",
        "CustomRole",
        &["Microsoft.KeyVault/managedHsm/keys/read/action"],
        &[],
    );
    let body = parse_definition_body("r.json", shown.to_string().as_bytes()).unwrap();
    assert_eq!(body.role_name, "R");
    // The Azure CLI's flat shape; default scope "/".
    let body = parse_definition_body(
        "r.json",
        br#"{"roleName": "R", "dataActions": ["Microsoft.KeyVault/managedHsm/securitydomain/*"],
            "notDataActions": ["Microsoft.KeyVault/managedHsm/securitydomain/upload/action"]}"#,
    )
    .unwrap();
    assert_eq!(body.assignable_scopes, ["/"]);
    assert_eq!(body.permissions.len(), 1);
    assert_eq!(body.permissions[0].not_data_actions.len(), 1);
}

#[test]
fn definition_files_refused() {
    let cases: [(&str, &str); 12] = [
        ("{", "not a JSON role definition"),
        ("[]", "expected a JSON object"),
        (r#"{"properties": 1}"#, "'properties' must be an object"),
        (
            r#"{"properties": {"permissions": []}}"#,
            "'roleName' is required",
        ),
        (
            r#"{"properties": {"roleName": "R"}}"#,
            "'permissions' is required",
        ),
        (
            r#"{"properties": {"roleName": "R", "permissions": []}}"#,
            "grants no data action",
        ),
        (
            r#"{"properties": {"roleName": "R", "type": "AKVBuiltInRole", "permissions": []}}"#,
            "only custom roles",
        ),
        (
            r#"{"properties": {"roleName": "R", "permisions": []}}"#,
            "unknown key 'permisions'",
        ),
        (
            r#"{"roleName": "R", "dataAction": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}"#,
            "unknown key 'dataAction'",
        ),
        (
            r#"{"properties": {"roleName": "R", "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/keys/read"]}]}}"#,
            "not a Managed HSM data action",
        ),
        (
            r#"{"properties": {"roleName": "R", "permissions": [{"data": []}]}}"#,
            "unknown permission key 'data'",
        ),
        (
            r#"{"roleName": "R", "assignableScopes": ["/secrets"], "dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]}"#,
            "scope '/secrets' is not valid",
        ),
    ];
    for (text, needle) in cases {
        let m = usage(parse_definition_body("role.json", text.as_bytes()).unwrap_err());
        assert!(m.starts_with("role.json: "), "{m}");
        assert!(m.contains(needle), "{text}: {m}");
    }
}

fn defs() -> Vec<RoleDefinition> {
    [
        definition_json(
            "a290e904-7015-4bba-90c8-60543313cdb4",
            "Managed HSM Administrator",
            "AKVBuiltInRole",
            &["Microsoft.KeyVault/managedHsm/securitydomain/*"],
            &[],
        ),
        definition_json(
            "21dbd100-6940-42c2-9190-5d6cb909625b",
            "Managed HSM Crypto User",
            "AKVBuiltInRole",
            &["Microsoft.KeyVault/managedHsm/keys/*"],
            &[],
        ),
        definition_json(
            "11111111-1111-4111-8111-111111111111",
            "Twin",
            "CustomRole",
            &[],
            &[],
        ),
        definition_json(
            "22222222-2222-4222-8222-222222222222",
            "twin",
            "CustomRole",
            &[],
            &[],
        ),
    ]
    .iter()
    .map(|v| wire::definition(v, URL).unwrap())
    .collect()
}

#[test]
fn roles_resolve_by_name_guid_or_id() {
    let d = defs();
    assert_eq!(
        resolve_role(&d, "managed hsm crypto user").unwrap().name,
        "21dbd100-6940-42c2-9190-5d6cb909625b"
    );
    assert_eq!(
        resolve_role(&d, "21DBD100-6940-42C2-9190-5D6CB909625B")
            .unwrap()
            .role_name,
        "Managed HSM Crypto User"
    );
    assert_eq!(
        resolve_role(&d, "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/a290e904-7015-4bba-90c8-60543313cdb4")
            .unwrap()
            .role_name,
        "Managed HSM Administrator"
    );
    let m = usage(resolve_role(&d, "Crypto User").unwrap_err());
    assert!(m.contains("role 'Crypto User' does not exist"), "{m}");
    assert!(m.contains("\"Managed HSM Crypto User\""), "{m}");
    let m = usage(resolve_role(&d, "TWIN").unwrap_err());
    assert!(
        m.contains("ambiguous") && m.contains("11111111-1111-4111-8111-111111111111"),
        "{m}"
    );
    assert!(resolve_role(&d, "99999999-9999-4999-8999-999999999999").is_err());
    let names = role_names(&d);
    let a = RoleAssignment {
        id: String::new(),
        name: "n".into(),
        scope: "/".into(),
        role_definition_id: "x/roleDefinitions/21DBD100-6940-42c2-9190-5d6cb909625b".into(),
        principal_id: "p".into(),
    };
    assert_eq!(
        role_name_of(&names, &a).as_deref(),
        Some("Managed HSM Crypto User")
    );
}

#[test]
fn sd_officer_role_holds_exactly_the_security_domain_actions() {
    let body = sd_officer_definition(SD_OFFICER_ROLE_NAME, None);
    let v = body.to_json();
    let p = &v["properties"];
    assert_eq!(p["roleName"], "Managed HSM Security Domain Officer");
    assert_eq!(p["type"], "CustomRole");
    assert_eq!(p["assignableScopes"], json!(["/"]));
    let mut data: Vec<&str> = p["permissions"][0]["dataActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    data.sort_unstable();
    assert_eq!(
        data,
        [
            "Microsoft.KeyVault/managedHsm/securitydomain/download/action",
            "Microsoft.KeyVault/managedHsm/securitydomain/download/read",
            "Microsoft.KeyVault/managedHsm/securitydomain/transferkey/read",
            "Microsoft.KeyVault/managedHsm/securitydomain/upload/action",
            "Microsoft.KeyVault/managedHsm/securitydomain/upload/read",
        ]
    );
    assert_eq!(p["permissions"][0]["notDataActions"], json!([]));
    // The service's copy of it (any order, any case) has the same permissions; another does not.
    let mut reversed: Vec<String> = SECURITY_DOMAIN_ACTIONS
        .iter()
        .rev()
        .map(|a| a.to_uppercase())
        .collect();
    let same = definition_json(
        "g",
        "x",
        "CustomRole",
        &reversed.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    assert!(body.same_permissions(&wire::definition(&same, URL).unwrap()));
    reversed.pop();
    let fewer = definition_json(
        "g",
        "x",
        "CustomRole",
        &reversed.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
    );
    assert!(!body.same_permissions(&wire::definition(&fewer, URL).unwrap()));
    let broader = definition_json(
        "g",
        "x",
        "CustomRole",
        &["Microsoft.KeyVault/managedHsm/securitydomain/*"],
        &[],
    );
    assert!(!body.same_permissions(&wire::definition(&broader, URL).unwrap()));
    // Its body reads back as a definition file.
    let again = parse_definition_body("x", v.to_string().as_bytes()).unwrap();
    assert_eq!(again, body);
}

#[test]
fn paths_per_scope() {
    assert_eq!(
        rest::path(&Scope::Hsm, "roleAssignments", Some("n")),
        "providers/Microsoft.Authorization/roleAssignments/n"
    );
    assert_eq!(
        rest::path(&Scope::Keys, "roleDefinitions", None),
        "keys/providers/Microsoft.Authorization/roleDefinitions"
    );
    assert_eq!(
        rest::path(&Scope::Key("k1".into()), "roleAssignments", None),
        "keys/k1/providers/Microsoft.Authorization/roleAssignments"
    );
}
