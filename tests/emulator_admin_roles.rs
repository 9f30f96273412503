//! The emulator's administration API as Microsoft's SDK clients use it: role definitions
//! (always with four permission lists, at scope `/` only, built-ins fixed), role
//! assignments (no duplicates under another name, per-key scopes covering only their key),
//! and the settings API.

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use serde_json::{json, Value};

const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";
const DEFS: &str = "providers/Microsoft.Authorization/roleDefinitions";
const ASSIGNS: &str = "providers/Microsoft.Authorization/roleAssignments";

fn role_id(guid: &str) -> String {
    format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// Sends `method` to `url` as the administrator (with `body` if given): status and JSON.
fn call(e: &TestEmulator, method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
    let request = match method {
        "GET" => e.client.get(url),
        "PUT" => e.client.put(url),
        "PATCH" => e.client.patch(url),
        "DELETE" => e.client.delete(url),
        _ => e.client.post(url),
    };
    let request = request.bearer_auth(e.admin_token());
    let request = match body {
        Some(b) => request.json(b),
        None => request,
    };
    let r = request.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn assign(e: &TestEmulator, scope: &str, name: &str, principal: &str, guid: &str) -> (u16, Value) {
    let base = e.hsm("alpha");
    let prefix = if scope == "/" {
        String::new()
    } else {
        scope.to_owned()
    };
    let body = json!({"properties": {"scope": scope, "principalId": principal,
        "roleDefinitionId": role_id(guid)}});
    call(
        e,
        "PUT",
        &format!("{base}{prefix}/{ASSIGNS}/{name}"),
        Some(&body),
    )
}

#[test]
fn every_definition_carries_four_permission_lists() {
    let e = TestEmulator::start(&["alpha"]);
    let base = e.hsm("alpha");
    let body = json!({"properties": {"roleName": "signers", "permissions": [
        {"dataActions": ["Microsoft.KeyVault/managedHsm/keys/sign/action"]}]}});
    let (status, created) = call(
        &e,
        "PUT",
        &format!("{base}/{DEFS}/c0ffee00-0000-4000-8000-000000000001"),
        Some(&body),
    );
    assert_eq!(status, 201, "{created}");
    let (status, listed) = call(&e, "GET", &format!("{base}/{DEFS}"), None);
    assert_eq!(status, 200);
    let all = listed["value"].as_array().unwrap();
    assert!(all.len() >= 8, "7 built-ins and the custom one: {listed}");
    for def in all {
        for perm in def["properties"]["permissions"].as_array().unwrap() {
            for key in ["actions", "notActions", "dataActions", "notDataActions"] {
                assert!(perm[key].is_array(), "{key} in {def}");
            }
        }
    }
    let names: Vec<&str> = all
        .iter()
        .filter_map(|d| d["properties"]["roleName"].as_str())
        .collect();
    assert!(
        names.contains(&"Managed HSM Crypto Service Encryption User"),
        "{names:?}"
    );
    // The attempt to get past the shape: a list that is not a list.
    let bad = json!({"properties": {"roleName": "x", "permissions": [{"dataActions": "keys"}]}});
    let (status, answer) = call(
        &e,
        "PUT",
        &format!("{base}/{DEFS}/c0ffee00-0000-4000-8000-000000000002"),
        Some(&bad),
    );
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
}

#[test]
fn definitions_only_at_root_and_built_ins_are_fixed() {
    let e = TestEmulator::start(&["alpha"]);
    let base = e.hsm("alpha");
    let (status, answer) = call(&e, "GET", &format!("{base}/keys/{DEFS}"), None);
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "BadParameter");
    let (status, _) = call(&e, "GET", &format!("{base}/{DEFS}"), None);
    assert_eq!(status, 200, "the root scope still lists");
    let change = json!({"properties": {"roleName": "mine", "permissions": [{}]}});
    let (status, answer) = call(
        &e,
        "PUT",
        &format!("{base}/{DEFS}/{CRYPTO_USER}"),
        Some(&change),
    );
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("Forbidden"))
    );
    let (status, _) = call(
        &e,
        "DELETE",
        &format!("{base}/{DEFS}/{}", CRYPTO_USER.to_uppercase()),
        None,
    );
    assert_eq!(status, 403, "upper case names the same built-in");
    let (status, def) = call(&e, "GET", &format!("{base}/{DEFS}/{CRYPTO_USER}"), None);
    assert_eq!(status, 200);
    assert_eq!(def["properties"]["roleName"], "Managed HSM Crypto User");
}

#[test]
fn a_duplicate_assignment_under_another_name_is_refused() {
    let e = TestEmulator::start(&["alpha"]);
    let oid = "7d6a3c1e-0000-4000-8000-000000000001";
    assert_eq!(assign(&e, "/keys", "first", oid, CRYPTO_USER).0, 201);
    let (status, answer) = assign(&e, "/keys", "second", oid, CRYPTO_USER);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "RoleAssignmentExists");
    // Not duplicates: another scope, another principal.
    assert_eq!(assign(&e, "/keys/k1", "third", oid, CRYPTO_USER).0, 201);
    assert_eq!(
        assign(
            &e,
            "/keys",
            "fourth",
            "7d6a3c1e-0000-4000-8000-000000000002",
            CRYPTO_USER
        )
        .0,
        201
    );
}

#[test]
fn a_per_key_assignment_covers_only_its_key() {
    let e = TestEmulator::start(&["alpha"]);
    let base = e.hsm("alpha");
    let oid = "7d6a3c1e-0000-4000-8000-000000000003";
    let (status, assigned) = assign(&e, "/keys/k1", "k1-user", oid, CRYPTO_USER);
    assert_eq!(status, 201, "{assigned}");
    assert_eq!(assigned["properties"]["scope"], "/keys/k1");
    let (status, got) = call(
        &e,
        "GET",
        &format!("{base}/keys/k1/{ASSIGNS}/k1-user"),
        None,
    );
    assert_eq!((status, &got["name"]), (200, &json!("k1-user")));
    // The scope in the body must agree with the URL's.
    let body = json!({"properties": {"scope": "/keys/k10", "principalId": oid, "roleDefinitionId": role_id(CRYPTO_USER)}});
    let (status, _) = call(
        &e,
        "PUT",
        &format!("{base}/keys/k1/{ASSIGNS}/other"),
        Some(&body),
    );
    assert_eq!(status, 400);
    // What the assignment grants, through the HSM's own check, is covered by the rbac unit
    // tests (`scopes_cover_by_whole_segments`); here the key-scoped token is refused at `/`.
    let token = e.mint(oid, "https://managedhsm.azure.net", 0);
    let r = e.get(&format!("{base}/{ASSIGNS}"), &token).send().unwrap();
    assert_eq!(r.status(), 403);
    let (status, _) = call(
        &e,
        "DELETE",
        &format!("{base}/keys/k1/{ASSIGNS}/k1-user"),
        None,
    );
    assert_eq!(status, 200);
}

#[test]
fn settings_list_get_update_and_validate() {
    let e = TestEmulator::start(&["alpha"]);
    let base = e.hsm("alpha");
    let name = "AllowKeyManagementOperationsThroughARM";
    let (status, all) = call(&e, "GET", &format!("{base}/settings"), None);
    assert_eq!(status, 200);
    assert_eq!(
        all["settings"],
        json!([{"name": name, "value": "false", "type": "boolean"}])
    );
    let (status, one) = call(
        &e,
        "PATCH",
        &format!("{base}/settings/{name}"),
        Some(&json!({"value": "true"})),
    );
    assert_eq!((status, &one["value"]), (200, &json!("true")));
    let (_, one) = call(&e, "GET", &format!("{base}/settings/{name}"), None);
    assert_eq!(one["value"], "true");
    let (status, answer) = call(
        &e,
        "PATCH",
        &format!("{base}/settings/{name}"),
        Some(&json!({"value": "yes"})),
    );
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
    let (status, answer) = call(&e, "GET", &format!("{base}/settings/NoSuchSetting"), None);
    assert_eq!(status, 404, "{answer}");
    let (status, _) = call(
        &e,
        "PATCH",
        &format!("{base}/settings/NoSuchSetting"),
        Some(&json!({"value": "true"})),
    );
    assert_eq!(status, 404);
    // A principal without a role reads nothing.
    let token = e.mint(
        "7d6a3c1e-0000-4000-8000-000000000009",
        "https://managedhsm.azure.net",
        0,
    );
    assert_eq!(
        e.get(&format!("{base}/settings"), &token)
            .send()
            .unwrap()
            .status(),
        403
    );
    // The changed value persisted.
    let state = std::fs::read_to_string(e.dir.join("state.json")).unwrap();
    assert!(state.contains(&format!("\"{name}\":\"true\"")), "persisted");
}
