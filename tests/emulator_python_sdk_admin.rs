//! Microsoft's official `KeyVaultBackupClient` and `KeyVaultSettingsClient`
//! (azure-keyvault-administration from PyPI, unpatched) against the emulator: a full
//! backup of an HSM restores, fully and one key at a time (`key_name=`), into HSMs
//! recovered with its security domain (keys made before the loss are found there), and
//! not into an HSM with another security domain; settings are listed, read and updated.

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use common::sdk::{activate, grant, recover, script, CRYPTO_OFFICER, CRYPTO_USER};
use common::Fixture;
use serde_json::json;

/// The status code of GET key `name` in `hsm` as the administrator.
fn key_status(e: &TestEmulator, hsm: &str, name: &str) -> u16 {
    let url = format!("{}/keys/{name}", e.hsm(hsm));
    e.get(&url, &e.admin_token())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn roles(e: &TestEmulator, hsm: &str) {
    grant(e, hsm, CRYPTO_USER);
    grant(e, hsm, CRYPTO_OFFICER);
}

#[test]
fn backup_client_full_backup_restores_fully_and_selectively_into_recovered_hsms() {
    let e = TestEmulator::start(&["alpha", "beta", "gamma", "delta"]);
    let fx = Fixture::new();
    activate(&e, &fx, "alpha", "sd.json");
    roles(&e, "alpha");
    e.create_key("alpha", "before-loss-1");
    e.create_key("alpha", "before-loss-2");
    std::fs::create_dir(fx.path("storage")).unwrap();
    let storage = format!("file://{}", fx.path("storage").display());
    let b = script(
        &e,
        &fx,
        "alpha",
        "backup.py",
        &["backup", "--storage", &storage],
    )
    .ok();
    let folder = b["folder_url"].as_str().unwrap().to_owned();
    assert!(folder.starts_with(&format!("{storage}/mhsm-alpha-")), "{b}");
    assert_eq!(b["status"], "Succeeded", "{b}");

    // Full restore into beta, recovered with alpha's security domain.
    recover(&e, &fx, "beta", "sd.json");
    roles(&e, "beta");
    assert_eq!(key_status(&e, "beta", "before-loss-1"), 404);
    let r = script(
        &e,
        &fx,
        "beta",
        "backup.py",
        &["restore", "--folder-url", &folder],
    )
    .ok();
    assert_eq!(r["status"], "Succeeded", "{r}");
    assert_eq!(key_status(&e, "beta", "before-loss-1"), 200);
    assert_eq!(key_status(&e, "beta", "before-loss-2"), 200);

    // Selective restore of one key into gamma: only that key arrives.
    recover(&e, &fx, "gamma", "sd.json");
    roles(&e, "gamma");
    let args = [
        "restore",
        "--folder-url",
        &folder,
        "--key-name",
        "before-loss-2",
    ];
    let r = script(&e, &fx, "gamma", "backup.py", &args).ok();
    assert_eq!(r["status"], "Succeeded", "{r}");
    assert_eq!(key_status(&e, "gamma", "before-loss-2"), 200);
    assert_eq!(key_status(&e, "gamma", "before-loss-1"), 404);

    // delta holds another security domain: the restore fails there.
    fx.openssl_custodian("d", 2048);
    let args = [
        "download",
        "--cert",
        "a.cer",
        "--cert",
        "b.cer",
        "--cert",
        "d.cer",
        "--out",
        "sd-delta.json",
    ];
    script(&e, &fx, "delta", "sd.py", &args).ok();
    roles(&e, "delta");
    let refused = script(
        &e,
        &fx,
        "delta",
        "backup.py",
        &["restore", "--folder-url", &folder],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(key_status(&e, "delta", "before-loss-1"), 404);
}

#[test]
fn settings_client_lists_gets_and_updates() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    activate(&e, &fx, "alpha", "sd.json");
    let name = "AllowKeyManagementOperationsThroughARM";
    let r = script(
        &e,
        &fx,
        "alpha",
        "settings.py",
        &["--update", &format!("{name}=true")],
    )
    .ok();
    assert_eq!(
        r["listed"][name],
        json!({"value": "false", "type": "boolean"}),
        "{r}"
    );
    assert_eq!(r["got"], r["listed"], "{r}");
    assert_eq!(
        r["updated"]["answer"],
        json!({"value": "true", "type": "boolean"}),
        "{r}"
    );
    assert_eq!(
        r["updated"]["read_back"],
        json!({"value": "true", "type": "boolean"}),
        "{r}"
    );
    // The change reached the emulator: a fresh process reads it, and an unknown setting
    // is refused.
    let again = script(&e, &fx, "alpha", "settings.py", &[]).ok();
    assert_eq!(again["listed"][name]["value"], "true", "{again}");
    let unknown = script(
        &e,
        &fx,
        "alpha",
        "settings.py",
        &["--update", "NoSuchSetting=true"],
    );
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
}
