//! The Azure CLI's online security-domain commands (`az keyvault security-domain download`,
//! `wait`, `init-recovery`, `upload`; azure-cli 2.91.0 of tests/interop/requirements.txt)
//! against the emulator, registered as a custom cloud. az and the emulator run together in
//! a fresh network namespace with only `lo` up (tests/interop/az_online.sh), so nothing can
//! leave loopback and a call to Microsoft fails at once. The results are then checked
//! without az: sdctl opens the security domain az downloaded with the custodians' keys, and
//! the emulator, restarted on the same state, reports the HSM az recovered as activated.

#![cfg(feature = "online")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::emulator::{with_api_version, TestEmulator};
use common::interop::{repo_file, venv};
use common::Fixture;

/// Whether this process may make a network namespace (root, as in CI).
fn can_unshare_network() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn custodian(dir: &Path, name: &str) {
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.cer")))
        .args(["-subj", &format!("/CN={name}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "openssl made {name}");
}

fn sd_verify(fx: &Fixture, keys: &[&str]) -> bool {
    Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args(["sd", "verify", "--sd-file", "sd.json", "--sd-wrapping-keys"])
        .args(keys)
        .current_dir(fx.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn az_activates_and_recovers_an_emulated_hsm_offline() {
    if !can_unshare_network() {
        eprintln!("skipped: this process cannot make a network namespace (unshare -n needs root)");
        return;
    }
    let venv = venv();
    let fx = Fixture::new();
    for name in ["k1", "k2", "k3"] {
        custodian(fx.dir.path(), name);
    }
    let out = Command::new("timeout")
        .args(["600", "unshare", "-n", "bash"])
        .arg(repo_file("tests/interop/az_online.sh"))
        .arg(env!("CARGO_BIN_EXE_sdctl"))
        .arg(&venv)
        .arg(fx.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "az against the emulator failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("microsoftonline") && !stderr.contains("management.azure.com:443"),
        "az tried to reach Microsoft: {stderr}"
    );

    // The security domain az downloaded opens with a quorum of the custodians' keys...
    assert!(
        sd_verify(&fx, &["k1.key", "k2.key"]),
        "sd verify with k1, k2"
    );
    assert!(
        sd_verify(&fx, &["k2.key", "k3.key"]),
        "sd verify with k2, k3"
    );
    // ...and not below it.
    assert!(
        !sd_verify(&fx, &["k2.key"]),
        "sd verify with one key of a quorum of 2"
    );

    // az logged in to the emulator's subscription as its service principal.
    let login: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.path("login.json")).unwrap()).unwrap();
    assert_eq!(login[0]["cloudName"], "SdctlEmulator");
    assert_eq!(login[0]["user"]["type"], "servicePrincipal");

    // The emulator's own view, restarted on the same state outside the namespace.
    let e = TestEmulator::start_in(&fx.path("emu"), &[]);
    let token = e.admin_token();
    for (hsm, operation) in [("hsm-a", "download"), ("hsm-b", "upload")] {
        let status = e.get_json(
            &with_api_version(&format!(
                "{}/securitydomain/{operation}/pending",
                e.hsm(hsm)
            )),
            &token,
        );
        assert_eq!(status["status"], "Success", "{hsm} {operation}: {status}");
    }
    // hsm-b serves the key data plane after the recovery.
    e.grant_crypto_user("hsm-b");
    let key = e.create_key("hsm-b", "after-az-upload");
    assert!(key["key"]["kid"].is_string(), "{key}");
}
