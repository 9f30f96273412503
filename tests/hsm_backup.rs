//! Full backup and full restore, and keys, through the CLI against the emulator: a key made
//! in A survives A's full backup restored into B recovered with A's security domain; a
//! backup does not restore into an HSM with another security domain; bad input is refused
//! before anything is sent; the SAS token never shows.

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::emulator::TestEmulator;
use common::online::{assert_error_envelope, Online};
use common::Run;
use serde_json::Value;

/// The SAS token the tests use; it must never be printed.
const SAS: &str = "sv=2024-05-04&sr=c&sp=crdw&sig=NeverPrintThisSignature";

/// An emulator with `hsms`, custodians, key roles, a SAS-token file (0600) and a storage
/// directory; returns it with the storage URI.
fn setup(hsms: &[&str]) -> (Online, String) {
    let online = Online::start(hsms);
    online.custodians();
    for h in hsms {
        online.emu.grant_crypto_user(h);
    }
    online.token_file("sas.token", SAS);
    let dir = online.fx.path("backups");
    fs::create_dir(&dir).unwrap();
    let uri = format!("file://{}", dir.display());
    (online, uri)
}

/// Activates `hsm` with its own new security domain, saved in `out`.
fn activate(online: &Online, hsm: &str, out: &str) {
    let run = online.download(hsm, out, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// Asserts success and that the SAS token appears nowhere.
fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    no_secret(&run);
    run
}

fn no_secret(run: &Run) {
    assert!(!run.stdout.contains("NeverPrint"), "{}", run.stdout);
    assert!(!run.stderr.contains("NeverPrint"), "{}", run.stderr);
}

/// `hsm backup` of `hsm` into `uri` with --output json; the envelope's result.
fn backup(online: &Online, hsm: &str, uri: &str) -> Value {
    let run = ok(online.hsm(
        hsm,
        &[
            "backup",
            "--storage-uri",
            uri,
            "--token-file",
            "sas.token",
            "--timeout",
            "60",
            "--output",
            "json",
        ],
    ));
    run.json()["result"].clone()
}

fn restore(online: &Online, hsm: &str, uri: &str, folder: &str, extra: &[&str]) -> Run {
    let mut words = vec![
        "restore",
        "--storage-uri",
        uri,
        "--token-file",
        "sas.token",
        "--folder",
        folder,
        "--timeout",
        "60",
    ];
    words.extend_from_slice(extra);
    online.hsm(hsm, &words)
}

fn key_names(online: &Online, hsm: &str) -> Vec<String> {
    let run = ok(online.hsm(hsm, &["key", "list", "--output", "json"]));
    run.json()["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_full_backup_of_a_restores_into_b_recovered_with_the_same_security_domain() {
    let (online, uri) = setup(&["hsm-a", "hsm-b"]);
    activate(&online, "hsm-a", "sd-a.json");

    // Keys in A.
    let run = ok(online.hsm("hsm-a", &["key", "create", "app-key", "--output", "json"]));
    let created = run.json()["result"].clone();
    assert_eq!(created["name"], "app-key");
    assert_eq!(created["kty"], "RSA-HSM");
    let run = ok(online.hsm(
        "hsm-a",
        &[
            "key", "create", "aes-key", "--kty", "oct-HSM", "--size", "128",
        ],
    ));
    assert!(
        run.stdout.contains("Created key aes-key (oct-HSM)"),
        "{}",
        run.stdout
    );
    assert_eq!(key_names(&online, "hsm-a"), ["aes-key", "app-key"]);

    // Full backup of A: the JSON envelope, and the folder on disk.
    let result = backup(&online, "hsm-a", &uri);
    assert_eq!(result["operation"], "backup");
    assert_eq!(result["status"], "Succeeded");
    assert_eq!(result["waited"], true);
    assert_eq!(result["storage_uri"], uri.as_str());
    assert!(!result["job_id"].as_str().unwrap().is_empty());
    let folder = result["folder"].as_str().unwrap().to_owned();
    assert!(folder.starts_with("mhsm-hsm-a-"), "{result}");
    assert_eq!(result["folder_uri"], format!("{uri}/{folder}"));
    assert!(online.fx.path("backups").join(&folder).is_dir());

    // Recover B with A's security domain.
    ok(online.hsm(
        "hsm-b",
        &["init-recovery", "--sd-exchange-key", "exchange.pem"],
    ));
    online.restore_blob(
        "sd-a.json",
        "exchange.pem",
        ["keys/custodian1.key", "keys/custodian2.key"],
    );
    ok(online.hsm(
        "hsm-b",
        &["upload", "--sd-file", "blob.json", "--restore-blob"],
    ));

    // B has no app-key yet: show exits 1.
    let run = online.hsm("hsm-b", &["key", "show", "app-key"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("no key named 'app-key'"),
        "{}",
        run.stdout
    );
    let run = online.hsm("hsm-b", &["key", "show", "app-key", "--output", "json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["status"], "check_failed");
    assert_eq!(run.json()["result"]["found"], false);

    // The full restore of A's backup into B brings the keys.
    let run = ok(restore(&online, "hsm-b", &uri, &folder, &[]));
    assert!(run.stdout.contains("Full restore: job "), "{}", run.stdout);
    assert!(run.stdout.contains("Succeeded"), "{}", run.stdout);
    assert_eq!(key_names(&online, "hsm-b"), ["aes-key", "app-key"]);
    let run = ok(online.hsm("hsm-b", &["key", "show", "app-key", "--output", "json"]));
    let shown = &run.json()["result"]["key"];
    assert_eq!(shown["kty"], "RSA-HSM");
    assert_eq!(shown["enabled"], true);
    assert!(shown["key_ops"]
        .as_array()
        .unwrap()
        .contains(&"wrapKey".into()));
}

#[test]
fn a_backup_does_not_restore_into_an_hsm_with_another_security_domain() {
    let (online, uri) = setup(&["hsm-a", "hsm-c"]);
    activate(&online, "hsm-a", "sd-a.json");
    activate(&online, "hsm-c", "sd-c.json");
    ok(online.hsm("hsm-a", &["key", "create", "app-key"]));

    // Started without waiting, then followed by its id.
    let run = ok(online.hsm(
        "hsm-a",
        &[
            "backup",
            "--storage-uri",
            &uri,
            "--token-file",
            "sas.token",
            "--no-wait",
            "--output",
            "json",
        ],
    ));
    let started = run.json()["result"].clone();
    assert_eq!(started["waited"], false);
    let id = started["job_id"].as_str().unwrap().to_owned();
    let run = ok(online.hsm("hsm-a", &["backup", "--job-id", &id, "--timeout", "60"]));
    assert!(
        run.stdout.contains(&format!("job {id} Succeeded")),
        "{}",
        run.stdout
    );
    let folder = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup folder: "))
        .unwrap()
        .to_owned();

    // C holds another security domain: the service's message, exit 4.
    let run = restore(&online, "hsm-c", &uri, &folder, &[]);
    no_secret(&run);
    run.assert_error(4, "made by an HSM with a different security domain");
    let run = restore(&online, "hsm-c", &uri, &folder, &["--output", "json"]);
    assert_error_envelope(&run, 4);
    assert!(key_names(&online, "hsm-c").is_empty());
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let (online, uri) = setup(&["hsm-a"]);
    let fx = &online.fx;
    let backup_with = |storage: &str, token: &str| {
        online.hsm(
            "hsm-a",
            &["backup", "--storage-uri", storage, "--token-file", token],
        )
    };
    for storage in [
        "http://acct.blob.core.windows.net/c",
        "/tmp/backups",
        "s3://bucket/x",
    ] {
        backup_with(storage, "sas.token").assert_error(2, &format!("storage URI '{storage}'"));
    }
    // A SAS token pasted into the URI is refused without being repeated.
    let run = backup_with(
        "https://acct.blob.core.windows.net/c?sig=NeverPrintThis",
        "sas.token",
    );
    no_secret(&run);
    run.assert_error(2, "--token-file");
    // The token file: missing, or not one line.
    backup_with(&uri, "missing.token").assert_error(2, "missing.token");
    fs::write(fx.path("two.token"), "a b\nc\n").unwrap();
    fs::set_permissions(fx.path("two.token"), fs::Permissions::from_mode(0o600)).unwrap();
    backup_with(&uri, "two.token").assert_error(2, "two.token: does not hold one SAS token");
    // A folder is a name, a key name is 1..127 of [A-Za-z0-9-], a size fits the type.
    restore(&online, "hsm-a", &uri, "../etc", &[]).assert_error(2, "backup folder '../etc'");
    online
        .hsm("hsm-a", &["key", "create", "bad_name"])
        .assert_error(2, "key name 'bad_name'");
    online
        .hsm("hsm-a", &["key", "show", "bad/name"])
        .assert_error(2, "key name 'bad/name'");
    online
        .hsm(
            "hsm-a",
            &["key", "create", "k", "--kty", "RSA-HSM", "--size", "1024"],
        )
        .assert_error(2, "key size 1024 is not valid for RSA-HSM");
    // Usage: --folder is required for a restore; --job-id excludes --token-file.
    let run = online.hsm(
        "hsm-a",
        &[
            "restore",
            "--storage-uri",
            &uri,
            "--token-file",
            "sas.token",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = online.hsm(
        "hsm-a",
        &["backup", "--job-id", "x", "--token-file", "sas.token"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_wait_that_times_out_exits_4_and_names_the_job_to_follow() {
    // Jobs that take 30 s: the wait gives up after 1 s; the job goes on.
    let fx = common::Fixture::new();
    let state = fx.path("state");
    let emu = TestEmulator::start_configured(&state, &["hsm-a"], |c| c.operation_seconds = 30.0);
    let online = Online { fx, emu };
    online.token_file("admin.token", &online.emu.admin_token());
    online.custodians();
    online.token_file("sas.token", SAS);
    fs::create_dir(online.fx.path("backups")).unwrap();
    let uri = format!("file://{}", online.fx.path("backups").display());
    let run = online.download("hsm-a", "sd-a.json", &["--no-wait"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let started = std::time::Instant::now();
    let run = online.hsm(
        "hsm-a",
        &[
            "backup",
            "--storage-uri",
            &uri,
            "--token-file",
            "sas.token",
            "--timeout",
            "1",
        ],
    );
    assert!(started.elapsed().as_secs() < 20);
    no_secret(&run);
    run.assert_error(4, "did not finish within 1 s (last status: InProgress");
    // The error line itself names the command that follows the job further.
    let line = run.stderr.lines().last().unwrap();
    assert!(
        line.contains("it goes on in the HSM: run 'sdctl hsm backup --job-id "),
        "{line}"
    );
    let id = line
        .split("--job-id ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    // Following it by id: --no-wait reads its status once.
    let run = ok(online.hsm(
        "hsm-a",
        &["backup", "--job-id", id, "--no-wait", "--output", "json"],
    ));
    let result = &run.json()["result"];
    assert_eq!(
        (result["status"].as_str(), result["waited"].as_bool()),
        (Some("InProgress"), Some(false))
    );
    assert_eq!(result["job_id"], id);
    // An unknown job is the service's 404, exit 4.
    online
        .hsm("hsm-a", &["backup", "--job-id", "no-such-job", "--no-wait"])
        .assert_error(4, "404");
}
