//! Unit tests of `rbac`.

#[test]
fn wildcards() {
    use super::matches;
    assert!(matches(
        "Microsoft.KeyVault/managedHsm/keys/*",
        "microsoft.keyvault/managedhsm/keys/create"
    ));
    assert!(matches("a/*/c", "a/b/c"));
    assert!(!matches("a/*/c", "a/b/d"));
    assert!(matches("exact", "EXACT"));
    assert!(!matches("exact", "exactly"));
}

#[test]
fn scopes_cover_by_whole_segments() {
    use super::covers;
    assert!(covers("/", "/keys/k1"));
    assert!(covers("/", "/"));
    assert!(covers("/keys", "/keys/k1"));
    assert!(covers("/keys", "/keys"));
    assert!(covers("/keys/k1", "/keys/k1"));
    // The attempts to get past the check: a prefix that is not a whole segment, a narrower
    // assignment asked about a wider scope.
    assert!(!covers("/keys/k1", "/keys/k10"));
    assert!(!covers("/keys/k1", "/keys"));
    assert!(!covers("/keys/k1", "/"));
    assert!(!covers("/keys", "/"));
}

#[test]
fn built_ins_grant_what_microsoft_documents() {
    let hsm = |role: &str, scope: &str| {
        let mut h: crate::emulator::state::Hsm = serde_json::from_value(serde_json::json!({
            "name": "h", "subscription": "s", "resource_group": "r", "tenant_id": "t",
            "initial_admin_object_ids": [], "sku": null, "activation": "Active", "blobs": [],
            "transfer_key": null, "download": null, "upload": null, "keys": {},
            "role_definitions": [], "role_assignments": []
        }))
        .expect("a literal HSM");
        h.role_assignments
            .push(super::assignment("p", role, scope, "a1"));
        h
    };
    let user = hsm("21dbd100-6940-42c2-9190-5d6cb909625b", "/keys");
    for short in [
        "keys/create",
        "keys/sign/action",
        "keys/deletedKeys/read/action",
        "rng/action",
    ] {
        assert!(super::allows(&user, "p", "/keys/k1", short), "{short}");
    }
    assert!(!super::allows(
        &user,
        "p",
        "/keys/k1",
        "keys/deletedKeys/delete"
    ));
    assert!(!super::allows(
        &user,
        "p",
        "/keys/k1",
        "keys/deletedKeys/recover/action"
    ));
    assert!(!super::allows(&user, "q", "/keys/k1", "keys/create"));
    let officer = hsm("515eb02d-2335-4d2d-92f2-b1cbdf9c3778", "/");
    assert!(super::allows(
        &officer,
        "p",
        "/keys/k1",
        "keys/deletedKeys/delete"
    ));
    assert!(!super::allows(
        &officer,
        "p",
        "/keys/k1",
        "keys/sign/action"
    ));
    let admin = hsm(super::ADMINISTRATOR, "/");
    assert!(super::allows(&admin, "p", "/", "settings/write/action"));
    assert!(!super::allows(&admin, "p", "/keys/k1", "keys/create"));
    let per_key = hsm("21dbd100-6940-42c2-9190-5d6cb909625b", "/keys/k1");
    assert!(super::allows(&per_key, "p", "/keys/k1", "keys/sign/action"));
    assert!(!super::allows(
        &per_key,
        "p",
        "/keys/k10",
        "keys/sign/action"
    ));
    assert!(!super::allows(&per_key, "p", "/keys", "keys/create"));
}
