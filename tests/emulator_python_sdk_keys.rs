//! Keys through Microsoft's official `KeyClient` (azure-keyvault-keys from PyPI,
//! unpatched), signed in with `ClientSecretCredential` through the emulator's authority:
//! RSA, EC and oct keys created, read (latest and by version), listed, updated, deleted,
//! recovered, purged, backed up and restored into an HSM recovered with the same security
//! domain (by the SDK's security-domain client); random bytes.

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use common::sdk::{activate, grant, recover, script, CRYPTO_OFFICER, CRYPTO_USER};
use common::Fixture;
use serde_json::json;

#[test]
fn key_client_manages_keys_and_restores_a_backup_into_a_recovered_hsm() {
    let e = TestEmulator::start(&["alpha", "beta", "gamma"]);
    let fx = Fixture::new();
    activate(&e, &fx, "alpha", "sd.json");
    grant(&e, "alpha", CRYPTO_USER);
    grant(&e, "alpha", CRYPTO_OFFICER);
    let r = script(
        &e,
        &fx,
        "alpha",
        "keys.py",
        &["lifecycle", "--backup-out", "rsa.backup"],
    )
    .ok();

    assert_eq!(r["created"]["rsa"]["kty"], "RSA-HSM", "{r}");
    assert_eq!(r["created"]["ec"]["kty"], "EC-HSM", "{r}");
    assert_eq!(r["created"]["ec"]["crv"], "P-256", "{r}");
    assert_eq!(r["created"]["oct"]["kty"], "oct-HSM", "{r}");
    // Managed HSM holds HSM keys only: a software-protected RSA key is refused.
    assert_eq!(r["software_protected"]["status"], 400, "{r}");

    let v = &r["versions"];
    assert_eq!(v["latest_is_second"], true, "{r}");
    assert_eq!(v["by_version_n_is_first"], true, "{r}");
    let mut both = vec![v["first"].as_str().unwrap(), v["second"].as_str().unwrap()];
    both.sort();
    assert_eq!(v["listed"], json!(both), "{r}");
    assert_eq!(
        r["listed_names"],
        json!(["sdk-ec", "sdk-oct", "sdk-rsa"]),
        "{r}"
    );

    let u = &r["updated"];
    assert_eq!(u["enabled"], false, "{r}");
    assert_eq!(u["answer_enabled"], false, "{r}");
    assert_eq!(u["expires_on"], "2031-01-02T03:04:05+00:00", "{r}");
    assert_eq!(u["tags"], json!({"team": "sdk"}), "{r}");
    assert_eq!(u["key_ops"], json!(["sign", "verify"]), "{r}");

    let d = &r["deleted"];
    assert_eq!(d["recovery_id_set"], true, "{r}");
    assert_eq!(d["got_name"], "sdk-oct", "{r}");
    assert_eq!(d["listed"], json!(["sdk-oct"]), "{r}");
    assert_eq!(d["live_names"], json!(["sdk-ec", "sdk-rsa"]), "{r}");
    assert_eq!(
        r["recovered"],
        json!({"name": "sdk-oct", "get_ok": true}),
        "{r}"
    );
    assert_eq!(r["purged"], true, "{r}");
    assert!(r["backup_len"].as_u64().unwrap() > 100, "{r}");
    assert_eq!(r["random_len"], 32, "{r}");

    // The backup restores into beta, recovered with alpha's security domain: same key
    // material, both versions.
    recover(&e, &fx, "beta", "sd.json");
    grant(&e, "beta", CRYPTO_USER);
    grant(&e, "beta", CRYPTO_OFFICER);
    let restored = script(
        &e,
        &fx,
        "beta",
        "keys.py",
        &["restore", "--backup", "rsa.backup"],
    )
    .ok();
    assert_eq!(restored["name"], "sdk-rsa", "{restored}");
    assert_eq!(restored["versions"], v["listed"], "{restored}");
    assert_ne!(
        restored["jwk"]["n"], r["created"]["rsa"]["n"],
        "latest is the 3072-bit version"
    );

    // gamma holds another security domain: the same backup is refused there.
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
        "sd-gamma.json",
    ];
    script(&e, &fx, "gamma", "sd.py", &args).ok();
    grant(&e, "gamma", CRYPTO_USER);
    grant(&e, "gamma", CRYPTO_OFFICER);
    let refused = script(
        &e,
        &fx,
        "gamma",
        "keys.py",
        &["restore", "--backup", "rsa.backup"],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
}

#[test]
fn key_client_without_a_crypto_role_is_forbidden() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    activate(&e, &fx, "alpha", "sd.json");
    let run = script(
        &e,
        &fx,
        "alpha",
        "keys.py",
        &["lifecycle", "--backup-out", "x"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Forbidden") || run.stderr.contains("403"),
        "{}",
        run.stderr
    );
}
