//! The emulator as a process (`sdctl emulator serve`): killed mid-run and restarted on the
//! same state directory, it carries on; its SDs and its transfer keys interoperate with the
//! Azure CLI; and it serves 32 parallel clients without errors.

#![cfg(feature = "online")]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::emulator::{client_for, download_request, TestEmulator};
use common::interop::az_restore_blob;
use common::Fixture;
use serde_json::{json, Value};

/// A served emulator process, killed and reaped when dropped (also when a test fails).
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sdctl emulator serve` on `dir` and waits (bounded) until it has written its
/// emulator.json for this run; returns the process and that emulator.json.
fn serve(dir: &std::path::Path, hsms: &[&str]) -> (Served, Value) {
    let info = dir.join("emulator.json");
    let before = std::fs::metadata(&info).and_then(|m| m.modified()).ok();
    let mut args = vec![
        "emulator".to_owned(),
        "serve".into(),
        "--state-dir".into(),
        dir.display().to_string(),
        "--operation-seconds".into(),
        "0.2".into(),
    ];
    for h in hsms {
        args.push("--hsm".into());
        args.push((*h).into());
    }
    let child = Served(
        Command::new(env!("CARGO_BIN_EXE_sdctl"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let modified = std::fs::metadata(&info).and_then(|m| m.modified()).ok();
        if modified.is_some() && modified != before {
            if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&info).unwrap()) {
                return (child, v);
            }
        }
        assert!(Instant::now() < deadline, "emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn killed_and_restarted_on_the_same_state() {
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let dir = fx.path("state");
    let (mut first, info) = serve(&dir, &["alpha"]);
    let alpha = info["hsms"]["alpha"].as_str().unwrap();
    let client = client_for(&dir);
    let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
    let body = download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2);
    let r = client
        .post(format!("{alpha}/securitydomain/download"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    // Killed without warning, mid-run.
    first.0.kill().unwrap();
    first.0.wait().unwrap();

    let (second, info) = serve(&dir, &["alpha"]);
    let (url2, alpha) = (
        info["url"].as_str().unwrap(),
        info["hsms"]["alpha"].as_str().unwrap(),
    );
    let client = client_for(&dir);
    // The same tenant and signing key: the first run's token still works, and alpha is active.
    let pending: Value = client
        .get(format!("{alpha}/securitydomain/download/pending"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        pending["status"] == "Success" || pending["status"] == "InProgress",
        "{pending}"
    );
    let creds: Value =
        serde_json::from_slice(&std::fs::read(dir.join("admin-credentials.json")).unwrap())
            .unwrap();
    let arm = client
        .get(format!("{url2}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sdctl-emulator/providers/Microsoft.KeyVault/managedHSMs/alpha"))
        .bearer_auth(&token).send().unwrap().json::<Value>().unwrap();
    assert_eq!(
        arm["properties"]["securityDomainProperties"]["activationStatus"],
        "Active"
    );
    assert_eq!(arm["properties"]["tenantId"], creds["tenant_id"]);
    assert_eq!(arm["properties"]["hsmUri"], format!("{alpha}/"));
    drop(second);
}

/// A port no listener holds right now (bound once by the OS's choice, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn hsm_name_equals_port_fixes_the_origin_across_restarts_and_the_others_get_their_own() {
    let fx = Fixture::new();
    let dir = fx.path("state");
    let port = free_port();
    let pinned = format!("alpha={port}");
    let (first, info) = serve(&dir, &[&pinned, "beta"]);
    assert_eq!(info["hsms"]["alpha"], format!("https://127.0.0.1:{port}"));
    let beta = info["hsms"]["beta"].as_str().unwrap().to_owned();
    let main = info["url"].as_str().unwrap().to_owned();
    assert!(beta.starts_with("https://127.0.0.1:"), "{beta}");
    assert!(![main.as_str(), info["hsms"]["alpha"].as_str().unwrap()].contains(&beta.as_str()));
    let client = client_for(&dir);
    let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
    let oid = serde_json::from_slice::<Value>(
        &std::fs::read(dir.join("admin-credentials.json")).unwrap(),
    )
    .unwrap()["object_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assignment =
        |base: &str| format!("{base}/providers/Microsoft.Authorization/roleAssignments/pinned-1");
    let alpha = format!("https://127.0.0.1:{port}");
    let body = json!({"properties": {"scope": "/", "principalId": oid,
        "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b"}});
    let r = client
        .put(assignment(&alpha))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let get = |base: &str| {
        client
            .get(assignment(base))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status()
    };
    // Only alpha has it.
    assert_eq!(get(&beta), 404);
    drop(first);

    // Restarted with the same pin: the same origin, still serving alpha (and its assignment).
    let (second, info) = serve(&dir, &[&pinned]);
    assert_eq!(info["hsms"]["alpha"], alpha.as_str());
    assert_eq!(get(&alpha), 200);
    // beta is still in the state, so it has an origin again (any free port), without it.
    let beta = info["hsms"]["beta"].as_str().unwrap();
    assert!(beta.starts_with("https://127.0.0.1:"), "{beta}");
    assert_eq!(get(beta), 404);
    drop(second);

    // A port that is not a number is refused before anything starts.
    let out = Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args(["emulator", "serve", "--state-dir"])
        .arg(&dir)
        .args(["--hsm", "alpha=http"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'http' is not a port number"));
}

#[test]
fn azure_cli_reads_its_security_domains_and_feeds_its_uploads() {
    let e = TestEmulator::start(&["alpha", "beta"]);
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let token = e.admin_token();
    let body = download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2);
    let sd = e
        .post(
            &format!("{}/securitydomain/download", e.hsm("alpha")),
            &token,
            &body,
        )
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    std::fs::write(fx.path("sd.json"), sd["value"].as_str().unwrap()).unwrap();
    // az turns the emulator's SD into a restore blob for beta's transfer key, which beta accepts.
    let transfer: Value = e.get_json(&format!("{}/securitydomain/upload", e.hsm("beta")), &token);
    let jwk: Value = serde_json::from_str(transfer["transfer_key"].as_str().unwrap()).unwrap();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(jwk["x5c"][0].as_str().unwrap())
        .unwrap();
    let pem = sdctl::keys::Certificate::from_der(&der).unwrap().to_pem();
    std::fs::write(fx.path("exchange.pem"), pem).unwrap();
    az_restore_blob(
        &fx,
        "sd.json",
        "exchange.pem",
        &["a.key", "b.key"],
        "az-blob.json",
    );
    let upload = json!({"value": std::fs::read_to_string(fx.path("az-blob.json")).unwrap()});
    assert_eq!(
        e.post(
            &format!("{}/securitydomain/upload", e.hsm("beta")),
            &token,
            &upload
        )
        .send()
        .unwrap()
        .status(),
        202
    );
    assert_eq!(
        e.wait(
            &format!("{}/securitydomain/upload/pending", e.hsm("beta")),
            &token
        )["status"],
        "Success"
    );
}

#[test]
fn thirty_two_parallel_clients() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let token = e.admin_token();
    let admin = e.credentials()["object_id"].as_str().unwrap().to_owned();
    let body = download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2);
    assert_eq!(
        e.post(
            &format!("{}/securitydomain/download", e.hsm("alpha")),
            &token,
            &body
        )
        .send()
        .unwrap()
        .status(),
        202
    );
    let grant = json!({"properties": {"scope": "/keys", "principalId": admin, "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b"}});
    assert_eq!(
        e.client
            .put(format!(
                "{}/keys/providers/Microsoft.Authorization/roleAssignments/cu",
                e.hsm("alpha")
            ))
            .bearer_auth(&token)
            .json(&grant)
            .send()
            .unwrap()
            .status(),
        201
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let results: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let (e, token) = (&e, &token);
                s.spawn(move || {
                    let (mut ok, mut bad) = (0, 0);
                    for n in 0..200 {
                        if Instant::now() > deadline {
                            break;
                        }
                        let status = match n % 3 {
                            0 => e
                                .get(
                                    &format!("{}/securitydomain/download/pending", e.hsm("alpha")),
                                    token,
                                )
                                .send()
                                .map(|r| r.status()),
                            1 => e
                                .post(
                                    &format!("{}/keys/k{i}-{n}/create", e.hsm("alpha")),
                                    token,
                                    &json!({"kty": "oct-HSM", "key_size": 256}),
                                )
                                .send()
                                .map(|r| r.status()),
                            _ => e
                                .get(&format!("{}/keys", e.hsm("alpha")), token)
                                .send()
                                .map(|r| r.status()),
                        };
                        match status {
                            Ok(s) if s.is_success() => ok += 1,
                            _ => bad += 1,
                        }
                    }
                    (ok, bad)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok: usize = results.iter().map(|r| r.0).sum();
    let bad: usize = results.iter().map(|r| r.1).sum();
    assert_eq!(bad, 0, "{bad} failed requests of {}", ok + bad);
    assert!(ok >= 32, "only {ok} requests completed");
}
