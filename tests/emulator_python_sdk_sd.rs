//! Microsoft's official security-domain client (azure-keyvault-securitydomain from PyPI,
//! pinned in tests/interop/sdk-requirements.txt, unpatched) against the emulator, signed in
//! with `ClientSecretCredential` through the emulator's authority: `begin_download` as the
//! first call of a fresh process (sync and async) activates an HSM and returns a security
//! domain that `sdctl sd verify` opens; `get_transfer_key` of a new HSM, then `begin_upload`
//! of a restore blob made by sdctl and one made by the Azure CLI both end in `Success`, and
//! the recovered HSMs restore a key backup of the source HSM (same security domain).

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use common::interop::az_restore_blob;
use common::sdk::script;
use common::Fixture;

fn custodians(fx: &Fixture) {
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
}

/// `sd.py download` (sync or async) into `out` with custodians a, b, c and quorum 2.
fn download(e: &TestEmulator, fx: &Fixture, hsm: &str, out: &str, aio: bool) {
    let mut args = vec!["download", "--cert", "a.cer", "--cert", "b.cer"];
    args.extend(["--cert", "c.cer", "--required", "2", "--out", out]);
    if aio {
        args.push("--aio");
    }
    let result = script(e, fx, hsm, "sd.py", &args).ok();
    assert_eq!(result["download_status"], "Success", "{result}");
}

/// `sdctl sd verify` opens `sd` with custodians `keys`.
fn verify(fx: &Fixture, sd: &str, keys: [&str; 2]) {
    let run = fx.sdctl(&[
        "sd",
        "verify",
        "--sd-file",
        sd,
        "--sd-wrapping-keys",
        keys[0],
        keys[1],
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// The activation status of `hsm` on the management plane.
fn activation(e: &TestEmulator, hsm: &str) -> String {
    let url = format!(
        "{}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sdctl-emulator/providers/Microsoft.KeyVault/managedHSMs/{hsm}?api-version=2023-07-01",
        e.url
    );
    let v = e.get_json(&url, &e.admin_token());
    v["properties"]["securityDomainProperties"]["activationStatus"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Key `name` made in `source` restores into `target` from its backup (status code).
fn key_backup_restores(e: &TestEmulator, source: &str, target: &str, name: &str) -> u16 {
    e.create_key(source, name);
    let backup = e.backup_key(source, name);
    e.restore_key(target, &backup).status().as_u16()
}

#[test]
fn sync_client_downloads_first_then_uploads_sdctl_and_az_restore_blobs() {
    let e = TestEmulator::start(&["alpha", "beta", "gamma", "delta"]);
    let fx = Fixture::new();
    custodians(&fx);
    fx.openssl_custodian("other", 2048);
    assert_eq!(activation(&e, "alpha"), "NotActivated");

    download(&e, &fx, "alpha", "sd.json", false);
    assert_eq!(activation(&e, "alpha"), "Active");
    verify(&fx, "sd.json", ["c.key", "a.key"]);
    // Try to get past the check: a key that holds no share does not open it.
    let run = fx.sdctl(&[
        "sd",
        "verify",
        "--sd-file",
        "sd.json",
        "--sd-wrapping-keys",
        "a.key",
        "other.key",
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);

    // A blob made by sdctl for beta's transfer key.
    let tk = script(
        &e,
        &fx,
        "beta",
        "sd.py",
        &[
            "transfer-key",
            "--out-jwk",
            "beta.jwk",
            "--out-cert",
            "beta.cer",
        ],
    )
    .ok();
    assert_eq!(tk["kty"], "RSA", "{tk}");
    let run = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key beta.cer --sd-wrapping-keys a.key b.key --sd-file-restore-blob sdctl-blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let up = script(
        &e,
        &fx,
        "beta",
        "sd.py",
        &["upload", "--blob", "sdctl-blob.json"],
    )
    .ok();
    assert_eq!(up["upload_status"], "Success", "{up}");
    assert_eq!(activation(&e, "beta"), "Active");

    // A blob made by az for gamma's transfer key.
    script(
        &e,
        &fx,
        "gamma",
        "sd.py",
        &[
            "transfer-key",
            "--out-jwk",
            "gamma.jwk",
            "--out-cert",
            "gamma.cer",
        ],
    )
    .ok();
    az_restore_blob(
        &fx,
        "sd.json",
        "gamma.cer",
        &["b.key", "c.key"],
        "az-blob.json",
    );
    let up = script(
        &e,
        &fx,
        "gamma",
        "sd.py",
        &["upload", "--blob", "az-blob.json"],
    )
    .ok();
    assert_eq!(up["upload_status"], "Success", "{up}");

    // Each exchange key works once: delta's blob, sent to delta with gamma's blob, fails.
    script(
        &e,
        &fx,
        "delta",
        "sd.py",
        &[
            "transfer-key",
            "--out-jwk",
            "delta.jwk",
            "--out-cert",
            "delta.cer",
        ],
    )
    .ok();
    let wrong = script(
        &e,
        &fx,
        "delta",
        "sd.py",
        &["upload", "--blob", "az-blob.json"],
    );
    assert_eq!(
        wrong.code, 1,
        "a blob for another exchange key was accepted: {}",
        wrong.stderr
    );
    assert_ne!(activation(&e, "delta"), "Active");

    // beta and gamma hold alpha's security domain: alpha's key backups restore there,
    // and not into delta.
    e.grant_crypto_user("alpha");
    e.grant_crypto_user("beta");
    e.grant_crypto_user("gamma");
    assert_eq!(key_backup_restores(&e, "alpha", "beta", "k1"), 200);
    assert_eq!(key_backup_restores(&e, "alpha", "gamma", "k2"), 200);
    assert_ne!(key_backup_restores(&e, "alpha", "delta", "k3"), 200);
}

#[test]
fn async_client_downloads_first_and_uploads() {
    let e = TestEmulator::start(&["alpha", "beta"]);
    let fx = Fixture::new();
    custodians(&fx);
    download(&e, &fx, "alpha", "sd.json", true);
    verify(&fx, "sd.json", ["b.key", "c.key"]);
    script(
        &e,
        &fx,
        "beta",
        "sd.py",
        &[
            "transfer-key",
            "--out-jwk",
            "beta.jwk",
            "--out-cert",
            "beta.cer",
            "--aio",
        ],
    )
    .ok();
    let run = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key beta.cer --sd-wrapping-keys a.key c.key --sd-file-restore-blob blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let up = script(
        &e,
        &fx,
        "beta",
        "sd.py",
        &["upload", "--blob", "blob.json", "--aio"],
    )
    .ok();
    assert_eq!(up["upload_status"], "Success", "{up}");
    assert_eq!(activation(&e, "beta"), "Active");
}

#[test]
fn download_with_too_few_certificates_fails_with_the_services_error() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    custodians(&fx);
    let run = script(
        &e,
        &fx,
        "alpha",
        "sd.py",
        &[
            "download",
            "--cert",
            "a.cer",
            "--cert",
            "b.cer",
            "--required",
            "2",
            "--out",
            "sd.json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("HttpResponseError"), "{}", run.stderr);
    assert!(!fx.path("sd.json").exists());
    assert_eq!(activation(&e, "alpha"), "NotActivated");
}
