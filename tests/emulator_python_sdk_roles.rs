//! Role definitions and assignments through Microsoft's official
//! `KeyVaultAccessControlClient` (azure-keyvault-administration from PyPI, unpatched),
//! signed in with `ClientSecretCredential` through the emulator's authority: built-ins
//! listed, a custom definition and an assignment created, read, listed and deleted; the
//! assignment really grants (and after deletion no longer grants) what the role says.

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use common::sdk::{activate, script};
use common::Fixture;

#[test]
fn access_control_client_creates_reads_lists_and_deletes_definitions_and_assignments() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    activate(&e, &fx, "alpha", "sd.json");
    let principal = "6f1d8cc5-0e63-4a2a-9d0e-2b4a3f3c1d11";
    let r = script(&e, &fx, "alpha", "roles.py", &["--principal", principal]).ok();

    let builtins: Vec<&str> = r["builtin_role_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for role in [
        "Managed HSM Administrator",
        "Managed HSM Crypto User",
        "Managed HSM Crypto Officer",
    ] {
        assert!(builtins.contains(&role), "{role} missing from {builtins:?}");
    }
    assert_eq!(r["created"]["role_name"], "sdk signer", "{r}");
    assert_eq!(r["created"]["role_type"], "CustomRole", "{r}");
    assert_eq!(
        r["builtin_role_types"],
        serde_json::json!(["AKVBuiltInRole"]),
        "{r}"
    );
    let actions = serde_json::json!([
        "Microsoft.KeyVault/managedHsm/keys/read/action",
        "Microsoft.KeyVault/managedHsm/keys/sign/action"
    ]);
    assert_eq!(r["created"]["data_actions"], actions, "{r}");
    assert_eq!(r["got_description"], "made by roles.py");
    assert_eq!(r["listed_has_custom"], true);
    assert_eq!(r["assignment"]["principal_id"], principal);
    assert_eq!(r["assignment"]["role_definition_id"], r["created"]["id"]);
    assert_eq!(r["assignment"]["scope"], "/keys");
    assert_eq!(r["got_assignment_principal"], principal);
    assert_eq!(r["listed_has_assignment"], true);
    assert_eq!(r["assignment_listed_after_delete"], false);
    assert_eq!(r["definition_listed_after_delete"], false);

    // The deletions reached the emulator: neither is there when asked over plain HTTPS.
    let url = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions",
        e.hsm("alpha")
    );
    let defs = e.get_json(&url, &e.admin_token());
    let id = r["created"]["name"].as_str().unwrap();
    assert!(!defs.to_string().contains(id), "{defs}");
}
