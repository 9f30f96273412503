//! Distributed quorum through the CLI: custodians export their own share on their own
//! device, sealed to a ceremony session; the ceremony machine, which never holds a
//! custodian's private key, rebuilds the security domain and makes a restore blob the
//! emulator accepts; then every refusal.

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::Path;

use common::online::Online;
use common::{mode_of, tamper_jwe, Fixture, Run};
use serde_json::Value;

const PASSPHRASE: &str = "correct horse battery staple";

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// Every file in `dir`: none holds a private key, except the names in `allowed`, and none
/// is a copy of one of `keys`.
fn assert_no_private_keys(dir: &Path, allowed: &[&str], keys: &[Vec<u8>]) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = fs::read(entry.path()).unwrap();
        assert!(!keys.contains(&bytes), "{name} is a custodian's key");
        if !allowed.contains(&name.as_str()) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("PRIVATE KEY"), "{name} holds a private key");
        }
    }
}

#[test]
fn custodians_export_their_shares_and_the_new_hsm_accepts_the_blob() {
    let online = Online::start(&["hsm-a", "hsm-b"]);
    online.custodians();
    let (emu, fx) = (&online.emu, &online.fx);
    for h in ["hsm-a", "hsm-b"] {
        emu.grant_crypto_user(h);
    }

    // HSM A is activated with three custodians (quorum 2) and holds a key.
    ok(&online.download("hsm-a", "sd-a.json", &[]));
    let created = emu.create_key("hsm-a", "app-key");
    let backup = emu.backup_key("hsm-a", "app-key");
    let custodian_keys: Vec<Vec<u8>> = (1..=3)
        .map(|i| fs::read(fx.path(&format!("keys/custodian{i}.key"))).unwrap())
        .collect();

    // The ceremony machine: the SD, HSM B's exchange key, and a session.
    fs::create_dir(fx.path("ceremony")).unwrap();
    fs::copy(fx.path("sd-a.json"), fx.path("ceremony/sd.json")).unwrap();
    ok(&online.hsm(
        "hsm-b",
        &[
            "init-recovery",
            "--sd-exchange-key",
            "ceremony/exchange.pem",
        ],
    ));
    let run = fx.sdctl(&[
        "sd",
        "session",
        "new",
        "--out-dir",
        "ceremony",
        "--bits",
        "2048",
        "--output",
        "json",
    ]);
    ok(&run);
    let session = run.json()["result"].clone();
    let fingerprint = session["sha256_fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(session["session_key"], "ceremony/session.key");
    assert_eq!(mode_of(&fx.path("ceremony/session.key")), 0o600);
    assert!(session["subject"]
        .as_str()
        .unwrap()
        .contains("sdctl distributed-quorum session"));

    // Each custodian, on their own device, holds only their own key and certificate (and
    // the public SD and session certificate), and exports only their own share.
    for i in 1..=3 {
        let device = format!("device{i}");
        fs::create_dir(fx.path(&device)).unwrap();
        for ext in ["key", "cer"] {
            fs::copy(
                fx.path(&format!("keys/custodian{i}.{ext}")),
                fx.path(&format!("{device}/custodian{i}.{ext}")),
            )
            .unwrap();
        }
        fs::copy(
            fx.path("ceremony/sd.json"),
            fx.path(&format!("{device}/sd.json")),
        )
        .unwrap();
        fs::copy(
            fx.path("ceremony/session.cer"),
            fx.path(&format!("{device}/session.cer")),
        )
        .unwrap();
        let pass = format!("{device}/pass");
        fx.pass_file(&pass, &[PASSPHRASE]);
        let (sd, key, to, out) = (
            format!("{device}/sd.json"),
            format!("{device}/custodian{i}.key"),
            format!("{device}/session.cer"),
            format!("{device}/share{i}.jwe"),
        );
        let mut args = vec![
            "sd",
            "share-export",
            "--sd-file",
            &sd,
            "--key",
            &key,
            "--to",
            &to,
            "--out",
            &out,
            "--passphrase-file",
            &pass,
        ];
        if i != 2 {
            args.extend(["--output", "json"]);
        }
        let run = fx.sdctl(&args);
        ok(&run);
        if i == 2 {
            // What the custodian reads: the share and the fingerprint to compare.
            assert!(
                run.stdout
                    .contains("Share SharedKeys.enc_shares[1] exported"),
                "{}",
                run.stdout
            );
            assert!(run.stdout.contains(&fingerprint), "{}", run.stdout);
        } else {
            let result = &run.json()["result"];
            assert_eq!(result["session_sha256_fingerprint"], fingerprint.as_str());
            assert_eq!(
                result["location"],
                format!("SharedKeys.enc_shares[{}]", i - 1)
            );
            assert_eq!(result["export"], out.as_str());
        }
        assert_eq!(mode_of(&fx.path(&out)), 0o600);
        assert_eq!(
            fx.listing(&device),
            vec![
                format!("custodian{i}.cer"),
                format!("custodian{i}.key"),
                "pass".to_owned(),
                "sd.json".to_owned(),
                "session.cer".to_owned(),
                format!("share{i}.jwe"),
            ]
        );
        // The export travels to the ceremony machine; the key stays on the device.
        fs::copy(fx.path(&out), fx.path(&format!("ceremony/share{i}.jwe"))).unwrap();
    }
    assert_no_private_keys(&fx.path("ceremony"), &["session.key"], &custodian_keys);

    // The drill, keeping the session key for the real restore blob.
    let run = fx.sdctl(&[
        "sd",
        "verify",
        "--sd-file",
        "ceremony/sd.json",
        "--shares",
        "ceremony/share1.jwe",
        "ceremony/share2.jwe",
        "ceremony/share3.jwe",
        "--session-key",
        "ceremony/session.key",
        "--keep-session",
        "--output",
        "json",
    ]);
    ok(&run);
    let result = &run.json()["result"];
    assert_eq!(result["verified"], true);
    assert_eq!(result["custodians_used"][0]["matched_by"], "session_export");
    assert_eq!(result["custodians_used"][0]["key"], "ceremony/share1.jwe");
    assert_eq!(result["keys"].as_array().unwrap().len(), 3);
    assert_eq!(result["session"]["destroyed"], false);
    assert!(fx.path("ceremony/session.key").exists());

    // The restore blob for HSM B from two of the exports; the session key is destroyed.
    let run = fx.sdctl(&[
        "sd",
        "restore-blob",
        "--sd-file",
        "ceremony/sd.json",
        "--sd-exchange-key",
        "ceremony/exchange.pem",
        "--shares",
        "ceremony/share3.jwe",
        "ceremony/share1.jwe",
        "--session-key",
        "ceremony/session.key",
        "--sd-file-restore-blob",
        "ceremony/blob.json",
    ]);
    ok(&run);
    assert!(
        run.stdout
            .contains("Restore blob written to ceremony/blob.json"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("session key:  ceremony/session.key destroyed"),
        "{}",
        run.stdout
    );
    assert!(!fx.path("ceremony/session.key").exists());
    assert!(fx.path("ceremony/session.cer").exists());

    // HSM B accepts it and holds A's security domain: A's key backup restores there.
    ok(&online.hsm(
        "hsm-b",
        &[
            "upload",
            "--sd-file",
            "ceremony/blob.json",
            "--restore-blob",
            "--no-wait",
        ],
    ));
    let run = online.hsm("hsm-b", &["wait", "--target", "upload", "--output", "json"]);
    ok(&run);
    assert_eq!(run.json()["result"]["state"], "Succeeded");
    let run = online.hsm("hsm-b", &["status", "--output", "json"]);
    ok(&run);
    assert_eq!(run.json()["result"]["activation"], "Active");
    let restored = emu.restore_key("hsm-b", &backup);
    assert_eq!(restored.status(), 200);
    let restored: Value = restored.json().unwrap();
    assert_eq!(restored["key"]["n"], created["key"]["n"]);

    // No private wrapping key was ever in the ceremony directory; the session key is gone.
    assert_no_private_keys(&fx.path("ceremony"), &[], &custodian_keys);
    assert_eq!(
        fx.listing("ceremony"),
        [
            "blob.json",
            "exchange.pem",
            "sd.json",
            "session.cer",
            "share1.jwe",
            "share2.jwe",
            "share3.jwe",
        ]
    );
}

/// A 2-of-3 SD (`sd.json`) and another for the same custodians (`other.json`), plain
/// openssl keys c1..c3, an exchange key x, and a session in `s/`.
fn setup() -> Fixture {
    let fx = Fixture::new();
    for name in ["c1", "c2", "c3", "x"] {
        fx.openssl_custodian(name, 2048);
    }
    fx.make_sd(&["c1.cer", "c2.cer", "c3.cer"], 2, "sd.json");
    fx.make_sd(&["c1.cer", "c2.cer", "c3.cer"], 2, "other.json");
    ok(&fx.run("sd session new --out-dir s --bits 2048"));
    fx
}

fn export(fx: &Fixture, sd: &str, key: &str, to: &str, out: &str) -> Run {
    fx.sdctl(&[
        "sd",
        "share-export",
        "--sd-file",
        sd,
        "--key",
        key,
        "--to",
        to,
        "--out",
        out,
    ])
}

fn restore_blob(fx: &Fixture, shares: &[&str], out: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "sd",
        "restore-blob",
        "--sd-file",
        "sd.json",
        "--sd-exchange-key",
        "x.cer",
        "--shares",
    ];
    args.extend_from_slice(shares);
    args.extend_from_slice(&[
        "--session-key",
        "s/session.key",
        "--sd-file-restore-blob",
        out,
    ]);
    args.extend_from_slice(extra);
    fx.sdctl(&args)
}

#[test]
fn refusals_name_the_export_keep_the_session_key_and_leave_no_output() {
    let fx = setup();
    for i in 1..=3 {
        ok(&export(
            &fx,
            "sd.json",
            &format!("c{i}.key"),
            "s/session.cer",
            &format!("e{i}.jwe"),
        ));
    }
    ok(&export(
        &fx,
        "other.json",
        "c1.key",
        "s/session.cer",
        "o1.jwe",
    ));
    ok(&fx.run("sd session new --out-dir s2 --bits 2048"));
    ok(&export(
        &fx,
        "sd.json",
        "c2.key",
        "s2/session.cer",
        "w2.jwe",
    ));
    let e1 = fs::read_to_string(fx.path("e1.jwe")).unwrap();
    fs::write(fx.path("t1.jwe"), tamper_jwe(&e1, 3)).unwrap();
    let before = fx.listing("");

    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["o1.jwe", "e2.jwe"],
            3,
            "o1.jwe: exported from a different security domain than sd.json",
        ),
        (
            &["e1.jwe", "e1.jwe"],
            2,
            "e1.jwe and e1.jwe are exports of the same share",
        ),
        (
            &["e2.jwe"],
            2,
            "the quorum is 2; collect 1 more custodian export(s)",
        ),
        (
            &["t1.jwe", "e2.jwe"],
            3,
            "t1.jwe: does not open with the session key s/session.key",
        ),
        (
            &["w2.jwe", "e1.jwe"],
            3,
            "w2.jwe: sealed to another session certificate",
        ),
    ];
    for (shares, code, needle) in cases {
        let run = restore_blob(&fx, shares, "blob.json", &[]);
        run.assert_error(code, needle);
        run.assert_error(
            code,
            "the session key s/session.key was kept: fix the problem and run again, or destroy it with 'sdctl sd session destroy --session-key s/session.key'",
        );
        let mut args = vec!["sd", "verify", "--sd-file", "sd.json", "--shares"];
        args.extend_from_slice(shares);
        args.extend_from_slice(&["--session-key", "s/session.key", "--output", "json"]);
        let run = fx.sdctl(&args);
        assert_eq!(run.code, code, "{}", run.stderr);
        assert_eq!(run.json()["status"], "error");
        assert!(fx.path("s/session.key").exists());
    }
    // Nothing was written by any of them.
    assert_eq!(fx.listing(""), before);

    // Usage: --shares needs --session-key, and excludes --sd-wrapping-keys.
    let run = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key x.cer --shares e1.jwe e2.jwe --sd-file-restore-blob blob.json");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--session-key"), "{}", run.stderr);
    let run = fx.run("sd verify --sd-file sd.json --sd-wrapping-keys c1.key c2.key --shares e1.jwe e2.jwe --session-key s/session.key");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    let run = fx.run("sd verify --sd-file sd.json --session-key s/session.key");
    assert_eq!(run.code, 2, "{}", run.stderr);

    // Existing outputs are never overwritten without --force, and nothing is left behind.
    export(&fx, "sd.json", "c1.key", "s/session.cer", "e2.jwe")
        .assert_error(2, "e2.jwe: already exists");
    assert_ne!(fs::read_to_string(fx.path("e2.jwe")).unwrap(), e1);
    fs::write(fx.path("blob.json"), "keep me").unwrap();
    restore_blob(&fx, &["e1.jwe", "e2.jwe"], "blob.json", &[])
        .assert_error(2, "blob.json: already exists");
    assert_eq!(fs::read_to_string(fx.path("blob.json")).unwrap(), "keep me");
    let session_key = fs::read(fx.path("s/session.key")).unwrap();
    fx.run("sd session new --out-dir s --bits 2048")
        .assert_error(2, "s/session.key: already exists");
    assert_eq!(fs::read(fx.path("s/session.key")).unwrap(), session_key);
    assert_eq!(fx.listing("s"), ["session.cer", "session.key"]);

    // A custodian's own certificate is not a session; nor is an SD's custodian a session key.
    export(&fx, "sd.json", "c1.key", "c2.cer", "mine.jwe").assert_error(
        2,
        "c2.cer: is the wrapping certificate of SharedKeys.enc_shares[1]",
    );
    fx.run("sd session destroy --session-key c1.key")
        .assert_error(2, "may be a custodian's key; nothing was changed");
    assert!(fx.path("c1.key").exists());
    assert!(!fx.path("mine.jwe").exists());

    // An aborted ceremony's key is destroyed on request.
    let run = fx.run("sd session destroy --session-key s2/session.key --output json");
    ok(&run);
    assert_eq!(run.json()["result"]["destroyed"], true);
    assert_eq!(fx.listing("s2"), ["session.cer"]);

    // After all of that the ceremony still works, and ends with the key destroyed.
    let run = restore_blob(
        &fx,
        &["e2.jwe", "e3.jwe"],
        "blob2.json",
        &["--output", "json"],
    );
    ok(&run);
    let result = &run.json()["result"];
    assert_eq!(result["session"]["destroyed"], true);
    assert_eq!(result["custodians_used"][1]["key"], "e3.jwe");
    assert_eq!(fx.listing("s"), ["session.cer"]);
    let x =
        openssl::pkey::PKey::private_key_from_pem(&fs::read(fx.path("x.key")).unwrap()).unwrap();
    let blob = fs::read(fx.path("blob2.json")).unwrap();
    let data = sdctl::domain::hsm::open_restore_blob(Path::new("blob2.json"), &blob, &x).unwrap();
    assert_eq!(data.len(), 3);
}
