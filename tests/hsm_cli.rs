//! The online commands through the CLI against the emulator: the whole disaster-recovery
//! rehearsal (activate A, drill, init-recovery on B, offline restore blob, upload, wait,
//! status, A's key backup restored on B), credentials of the official SDK, and the checks
//! that come before anything is sent.

#![cfg(feature = "online")]

mod common;

use std::time::Instant;

use common::emulator::TestEmulator;
use common::online::{download_args, Online, CERTS};
use serde_json::Value;

#[test]
fn disaster_recovery_rehearsal_through_the_cli() {
    let online = Online::start(&["hsm-a", "hsm-b"]);
    let pass = online.custodians();
    let (emu, fx) = (&online.emu, &online.fx);
    for h in ["hsm-a", "hsm-b"] {
        emu.grant_crypto_user(h);
    }
    let started = Instant::now();

    // Activation of A: keys check, download, the file checked, the operation followed.
    let run = online.download("hsm-a", "sd-a.json", &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("It matches the request"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Download: Success"), "{}", run.stdout);
    let activated = Instant::now();

    // The recovery drill on the air-gapped side.
    let run = fx.sdctl(&[
        "sd",
        "verify",
        "--sd-file",
        "sd-a.json",
        "--sd-wrapping-keys",
        "keys/custodian1.key",
        "keys/custodian3.key",
        "--passphrase-file",
        pass,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A key in A, and its backup.
    let created = emu.create_key("hsm-a", "app-key");
    let backup = emu.backup_key("hsm-a", "app-key");

    // Disaster: recover into B.
    let dr = Instant::now();
    let run = online.hsm(
        "hsm-b",
        &["init-recovery", "--sd-exchange-key", "exchange.pem"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fx.path("exchange.pem").exists());
    online.restore_blob(
        "sd-a.json",
        "exchange.pem",
        ["keys/custodian1.key", "keys/custodian2.key"],
    );
    let run = online.hsm(
        "hsm-b",
        &[
            "upload",
            "--sd-file",
            "blob.json",
            "--restore-blob",
            "--no-wait",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = online.hsm("hsm-b", &["wait", "--target", "upload", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["result"]["state"], "Succeeded");
    let run = online.hsm("hsm-b", &["status", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["result"]["activation"], "Active");
    let recovered = dr.elapsed();

    // B holds A's security domain: A's key backup restores there.
    let restored = emu.restore_key("hsm-b", &backup);
    assert_eq!(restored.status(), 200);
    let restored: Value = restored.json().unwrap();
    assert_eq!(restored["key"]["n"], created["key"]["n"]);
    eprintln!(
        "activation {:.2} s, recovery (init-recovery, restore-blob, upload, wait, status) {:.2} s, whole rehearsal {:.2} s",
        (activated - started).as_secs_f64(),
        recovered.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn download_reports_json_and_the_file_matches_the_request() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    let run = online.download("alpha", "sd.json", &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["command"], "hsm download");
    assert_eq!(v["status"], "ok");
    let result = &v["result"];
    assert_eq!(result["preflight"]["passed"], true);
    assert_eq!(result["check"]["passed"], true);
    assert_eq!(result["check"]["shares"], 3);
    assert_eq!(result["check"]["required"], 2);
    assert_eq!(result["operation"]["status"], "Success");
    let inspect = online
        .fx
        .sdctl(&["sd", "inspect", "--sd-file", "sd.json", "--output", "json"]);
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    // The file is saved as the HSM sent it: same SHA-256 as reported.
    let bytes = std::fs::read(online.fx.path("sd.json")).unwrap();
    let sha = openssl::sha::sha256(&bytes);
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(result["sha256"], hex);
}

#[test]
fn nothing_is_sent_when_the_certificates_or_the_output_are_wrong() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    let fx = &online.fx;
    fx.openssl_custodian("weak", 1024);

    // A 1024-bit certificate is refused as it is loaded: exit 2, nothing sent.
    let run = online.hsm(
        "alpha",
        &[
            "download",
            "--sd-wrapping-keys",
            CERTS[0],
            CERTS[1],
            "weak.cer",
            "--sd-quorum",
            "2",
            "--security-domain-file",
            "sd.json",
        ],
    );
    run.assert_error(2, "weak.cer: RSA key of 1024 bits is too small");
    assert!(!fx.path("sd.json").exists());

    // A certificate given twice fails the pre-flight keys check: exit 1, nothing sent.
    let run = online.hsm(
        "alpha",
        &[
            "download",
            "--sd-wrapping-keys",
            CERTS[0],
            CERTS[1],
            CERTS[0],
            "--sd-quorum",
            "2",
            "--security-domain-file",
            "sd.json",
        ],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Nothing was sent to the HSM"),
        "{}",
        run.stdout
    );
    assert!(!fx.path("sd.json").exists());

    // An existing output without --force: exit 2 before anything is sent.
    std::fs::write(fx.path("taken.json"), "keep me").unwrap();
    let run = online.download("alpha", "taken.json", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("taken.json: already exists"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(fx.path("taken.json")).unwrap(),
        "keep me"
    );

    // A bad quorum: exit 2.
    let mut args = download_args("sd.json", &[]);
    args[6] = "4";
    let run = online.hsm("alpha", &args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--sd-quorum 4"), "{}", run.stderr);

    // The HSM was never activated by any of this.
    let run = online.hsm("alpha", &["status", "--output", "json"]);
    assert_eq!(run.json()["result"]["activation"], "NotActivated");
    assert!(!fx.path("sd.json").exists());
}

#[test]
fn the_official_sdk_credential_signs_in_at_the_emulator() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    let url = online.emu.url.clone();
    let env = online.service_principal_env(None);
    let run = online.hsm_signed_in("alpha", &download_args("sd.json", &[]), &env);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Data plane and Resource Manager, with tokens for each audience.
    let run = online.hsm_signed_in(
        "alpha",
        &[
            "status",
            "--subscription",
            "00000000-0000-0000-0000-000000000000",
            "--resource-group",
            "sdctl-emulator",
            "--resource-name",
            "alpha",
            "--arm-url",
            &url,
            "--output",
            "json",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["result"]["activation"], "Active");
    assert_eq!(v["result"]["arm"]["activation_status"], "Active");
    assert!(v["result"]["credential"]
        .as_str()
        .unwrap()
        .starts_with("environment: client secret"));
}

#[test]
fn init_recovery_writes_pem_or_jwk_whatever_form_the_service_sends() {
    for as_object in [false, true] {
        let fx = common::Fixture::new();
        let emu = TestEmulator::start_configured(&fx.path("state"), &["beta"], |c| {
            c.transfer_key_as_object = as_object
        });
        let online = Online { fx, emu };
        online.token_file("admin.token", &online.emu.admin_token());
        let run = online.hsm("beta", &["init-recovery", "--sd-exchange-key", "x.pem"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let pem = std::fs::read_to_string(online.fx.path("x.pem")).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        let run = online.hsm(
            "beta",
            &[
                "init-recovery",
                "--sd-exchange-key",
                "x.jwk",
                "--format",
                "jwk",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let jwk = online.fx.read_json("x.jwk");
        assert_eq!(jwk["kty"], "RSA");
        assert!(jwk["x5c"][0].is_string());
        // Both forms are accepted by the offline side.
        let run = online.fx.sdctl(&["keys", "inspect", "x.pem"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        // Never overwritten without --force.
        let run = online.hsm("beta", &["init-recovery", "--sd-exchange-key", "x.pem"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
    }
}

#[test]
fn upload_refuses_a_security_domain_given_as_a_blob_and_builds_one_with_a_warning() {
    let online = Online::start(&["alpha", "beta"]);
    let pass = online.custodians();
    assert_eq!(online.download("alpha", "sd.json", &[]).code, 0);
    assert_eq!(
        online
            .hsm("beta", &["init-recovery", "--sd-exchange-key", "x.pem"])
            .code,
        0
    );

    let run = online.hsm(
        "beta",
        &["upload", "--sd-file", "sd.json", "--restore-blob"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("sd.json: this is a security-domain file, not a restore blob"),
        "{}",
        run.stderr
    );

    let run = online.hsm(
        "beta",
        &[
            "upload",
            "--sd-file",
            "sd.json",
            "--sd-exchange-key",
            "x.pem",
            "--sd-wrapping-keys",
            "keys/custodian2.key",
            "keys/custodian3.key",
            "--passphrase-file",
            pass,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("defeats the air gap"), "{}", run.stderr);
    assert!(run.stdout.contains("Upload: Success"), "{}", run.stdout);
}

#[test]
fn the_azure_cli_login_is_used_through_the_official_sdk() {
    use std::os::unix::fs::PermissionsExt;
    let online = Online::start(&["alpha"]);
    // A stand-in `az` first on PATH prints what `az account get-access-token` prints.
    let bin = online.fx.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> {log}\nprintf '%s' '{{\"accessToken\": \"{token}\", \"expires_on\": {expires}, \"tokenType\": \"Bearer\"}}'\n",
        log = online.fx.path("az.log").display(),
        token = online.emu.admin_token().trim(),
    );
    std::fs::write(bin.join("az"), script).unwrap();
    std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = online.hsm_env(
        "alpha",
        &["status", "--output", "json"],
        &[],
        &[("PATH", &path)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["result"]["credential"], "Azure CLI login");
    let log = std::fs::read_to_string(online.fx.path("az.log")).unwrap();
    assert!(
        log.contains("account get-access-token")
            && log.contains("https://managedhsm.azure.net/.default"),
        "{log}"
    );
    // With no az on PATH and nothing else configured, one line says what failed.
    let run = online.hsm_env("alpha", &["status"], &[], &[("PATH", "/nonexistent")]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Azure CLI login failed"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_connection_flags_are_one_line_usage_errors() {
    let online = Online::start(&["alpha"]);
    let fx = &online.fx;
    std::fs::write(fx.path("not-a-ca.pem"), "hello").unwrap();
    let token = fx.path("admin.token").display().to_string();
    let url = online.emu.hsm("alpha");
    let ca = online.ca();
    for (args, needle) in [
        (
            vec!["--hsm-name", "ab"],
            "--hsm-name 'ab': a Managed HSM name is 3 to 24",
        ),
        (
            vec!["--hsm-name", "contoso", "--cloud", "Mars"],
            "--cloud Mars: unknown cloud",
        ),
        (
            vec!["--hsm-name", "contoso", "--cloud", "AzureGermanCloud"],
            "--cloud AzureGermanCloud: Azure Germany (AzureGermanCloud) was closed in 2021",
        ),
        (
            vec!["--hsm-url", "https://contoso.managedhsm.microsoftazure.de/"],
            "was closed in 2021",
        ),
        (
            vec!["--hsm-url", "http://127.0.0.1:1/hsm/x"],
            "only https URLs are accepted",
        ),
        (
            vec!["--hsm-url", &url, "--ca-cert", "not-a-ca.pem"],
            "not-a-ca.pem: holds no PEM certificate; CA files hold PEM certificates",
        ),
        (
            vec![
                "--hsm-url",
                &url,
                "--ca-cert",
                &ca,
                "--subscription",
                "s",
                "--resource-group",
                "g",
                "--arm-url",
                "http://127.0.0.1:1",
            ],
            "--arm-url http://127.0.0.1:1: give an https URL",
        ),
        (
            vec![
                "--hsm-url",
                &url,
                "--ca-cert",
                &ca,
                "--subscription",
                "s",
                "--resource-group",
                "g",
            ],
            "names no HSM: give its Resource Manager name with --resource-name",
        ),
    ] {
        let mut all = vec!["hsm", "status", "--access-token-file", &token];
        all.extend(args);
        fx.sdctl(&all).assert_error(2, needle);
    }
    let run = fx.sdctl(&[
        "hsm",
        "wait",
        "--target",
        "upload",
        "--timeout",
        "0",
        "--hsm-url",
        &url,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a number of seconds"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_untrusted_or_absent_server_is_a_network_error_that_says_what_to_do() {
    let online = Online::start(&["alpha"]);
    let fx = &online.fx;
    let token = fx.path("admin.token").display().to_string();
    let url = online.emu.hsm("alpha");
    // Without --ca-cert the emulator's certificate is not trusted.
    fx.sdctl(&[
        "hsm",
        "status",
        "--hsm-url",
        &url,
        "--access-token-file",
        &token,
    ])
    .assert_error(4, "the server's certificate is not trusted");
    // Nothing listens on a port that was just freed: connection refused, retried, exit 4.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("https://127.0.0.1:{port}/hsm/alpha");
    let run = fx.sdctl(&[
        "hsm",
        "status",
        "--hsm-url",
        &gone,
        "--access-token-file",
        &token,
    ]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
}

#[test]
fn an_output_in_a_missing_directory_is_refused_before_the_hsm_is_activated() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    online
        .download("alpha", "no-such-dir/sd.json", &[])
        .assert_error(
            2,
            "no-such-dir/sd.json: cannot write: its directory does not exist",
        );
    let run = online.hsm("alpha", &["status", "--output", "json"]);
    assert_eq!(run.json()["result"]["activation"], "NotActivated");
}

#[test]
fn status_without_read_permission_says_unknown_and_why() {
    let online = Online::start(&["alpha"]);
    online.token_for("nobody.token", "0b0d1e50-0000-4000-8000-000000000009");
    let run = online.hsm_as("alpha", "nobody.token", &["status", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = &run.json()["result"];
    assert_eq!(result["activation"], "Unknown");
    assert_eq!(result["data_plane"]["download"]["kind"], "not_permitted");
    assert!(result["data_plane"]["download"]["message"]
        .as_str()
        .unwrap()
        .contains("securitydomain/download/read"));
}
