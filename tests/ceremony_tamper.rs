//! The attacker on the transfer medium: two workspaces (air-gapped, online) against the
//! emulator, with every bundle changed on its way the way an attacker who can write the
//! medium would change it — the key or the data swapped for the attacker's own, the carried
//! transcript edited to match and its hash chain recomputed (the chain has no key: anyone
//! can recompute it). Each forgery must be refused on the importing machine before anything
//! is built, sent or adopted (exit 3: the bundle does not authenticate under the run's
//! transfer code), with one error line naming the bundle, and the importing machine's
//! workspace byte for byte as it was.

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sdctl::ceremony::transcript::Entry;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use common::ceremony::{copy, snapshot, write_bundle, TwoMachines};
use common::Run;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rewrites a transcript with `edit` applied to each entry and the chain recomputed, as
/// sdctl writes lines (compact JSON of the entry, then its hash).
fn rechain(text: &str, mut edit: impl FnMut(&mut Entry)) -> String {
    let mut prev = "0".repeat(64);
    let mut out = String::new();
    for line in text.lines() {
        let head = &line[..line.len() - r#","hash":""}"#.len() - 64];
        let mut entry: Entry = serde_json::from_str(&format!("{head}}}")).unwrap();
        edit(&mut entry);
        entry.prev = prev.clone();
        let json = serde_json::to_string(&entry).unwrap();
        let hash = sha256_hex(json.as_bytes());
        out.push_str(&format!(
            "{},\"hash\":\"{hash}\"}}\n",
            &json[..json.len() - 1]
        ));
        prev = hash;
    }
    out
}

/// Changes the bundle at `path` as an attacker would: `payload` edits the data (the
/// SHA-256 beside a carried text is recomputed), `entries` the carried transcript (chain
/// recomputed); the MAC is left as it was, or removed.
fn forge(
    path: &Path,
    payload: impl FnOnce(&mut Value),
    entries: impl FnMut(&mut Entry),
    drop_mac: bool,
) {
    let mut bundle: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    payload(&mut bundle["payload"]);
    for field in ["security_domain", "exchange_key_pem", "restore_blob"] {
        if let Some(text) = bundle["payload"][field].as_str() {
            let digest = sha256_hex(text.as_bytes());
            bundle["payload"]["sha256"] = digest.into();
        }
    }
    let transcript = rechain(bundle["transcript"].as_str().unwrap(), entries);
    bundle["transcript"] = transcript.into();
    if drop_mac {
        bundle.as_object_mut().unwrap().remove("mac");
    }
    write_bundle(path, &bundle);
}

/// The refusal every forgery must get: exit 3, one error line naming the bundle.
fn assert_forgery_refused(run: &Run, bundle: &str) {
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.assert_error(3, bundle);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("sdctl: "))
        .unwrap();
    assert!(line.contains("its MAC does not verify") || line.contains("carries no MAC"));
}

/// `x5t_256` of a PEM certificate file, computed with the openssl CLI and SHA-256.
fn x5t_256(m: &TwoMachines, cert: &str) -> String {
    let der = format!("{cert}.der");
    m.bed
        .online
        .fx
        .openssl(&["x509", "-in", cert, "-outform", "DER", "-out", &der]);
    URL_SAFE_NO_PAD.encode(Sha256::digest(fs::read(m.bed.path(&der)).unwrap()))
}

/// The attacker's RSA key `name` (openssl CLI), as a JWK without a certificate.
fn attacker_jwk(m: &TwoMachines, name: &str, claimed_x5t: &str) -> Value {
    let out =
        m.bed
            .online
            .fx
            .openssl(&["rsa", "-in", &format!("{name}.key"), "-noout", "-modulus"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.trim().strip_prefix("Modulus=").unwrap();
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB",
           "key_ops": ["wrapKey", "encrypt"], "x5t#S256": claimed_x5t})
}

/// Activation across both machines, each bundle carried.
fn activated(m: &TwoMachines) {
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "handoff");
    m.carry("public-bundle.json", "offline", "online");
    assert_eq!(m.run("activate", "online", &[])["outcome"], "handoff");
    m.carry("security-domain-bundle.json", "online", "offline");
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "complete");
}

#[test]
fn certificates_swapped_in_the_public_bundle_never_reach_the_hsm() {
    let m = TwoMachines::new("together");
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "handoff");
    m.carry("public-bundle.json", "offline", "online");
    let bundle = m.out("online").join("transfer/public-bundle.json");
    let genuine = fs::read(&bundle).unwrap();
    let mut forged_certs = Vec::new();
    for name in ["mallory1", "mallory2", "mallory3"] {
        m.bed.online.fx.openssl_custodian(name, 2048);
        let cert = format!("{name}.cer");
        forged_certs.push((
            fs::read_to_string(m.bed.path(&cert)).unwrap(),
            x5t_256(&m, &cert),
        ));
    }
    for drop_mac in [false, true] {
        fs::write(&bundle, &genuine).unwrap();
        forge(
            &bundle,
            |p| {
                for (i, (pem, _)) in forged_certs.iter().enumerate() {
                    p["certificates"][i]["pem"] = pem.clone().into();
                    p["certificates"][i]["x5t_256"] = forged_certs[i].1.clone().into();
                }
            },
            // The witnesses' check-keys entry now names the attacker's certificates.
            |e| {
                if e.step == "check-keys" {
                    let certs = e.facts["certificates"].as_array_mut().unwrap();
                    for (i, c) in certs.iter_mut().enumerate() {
                        c["x5t_256"] = forged_certs[i].1.clone().into();
                    }
                }
            },
            drop_mac,
        );
        let before = snapshot(&m.bed.path("online"));
        let run = m.attempt("activate", "online", &[]);
        assert_forgery_refused(&run, "public-bundle.json");
        assert_eq!(
            snapshot(&m.bed.path("online")),
            before,
            "mac dropped: {drop_mac}"
        );
    }
    // The forged transcript itself verifies: only the MAC tells it from the genuine one.
    let forged: Value = serde_json::from_slice(&fs::read(&bundle).unwrap()).unwrap();
    let carried = m.bed.path("forged.jsonl");
    fs::write(&carried, forged["transcript"].as_str().unwrap()).unwrap();
    let verify = m
        .bed
        .ceremony(&["log", "verify", &carried.display().to_string()]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    // Nothing was sent: the HSM is still waiting for its activation.
    let status = m.bed.online.hsm("hsm-a", &["status", "--output", "json"]);
    assert_eq!(
        status.json()["result"]["activation"],
        "NotActivated",
        "{}",
        status.stdout
    );
    // The genuine bundle goes through.
    fs::write(&bundle, &genuine).unwrap();
    assert_eq!(m.run("activate", "online", &[])["outcome"], "handoff");
}

#[test]
fn a_security_domain_swapped_in_its_bundle_is_not_imported() {
    let m = TwoMachines::new("together");
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "handoff");
    m.carry("public-bundle.json", "offline", "online");
    assert_eq!(m.run("activate", "online", &[])["outcome"], "handoff");
    m.carry("security-domain-bundle.json", "online", "offline");
    // The attacker's security domain, encrypted to the very same custodians' certificates
    // (they are public) by another HSM: it would pass the custodians-and-quorum check.
    let certs = m.out("online").join("certs");
    let names: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| certs.join(format!("{n}.cer")).display().to_string())
        .collect();
    let mut words = vec!["download", "--sd-wrapping-keys"];
    words.extend(names.iter().map(String::as_str));
    words.extend([
        "--sd-quorum",
        "2",
        "--security-domain-file",
        "other-sd.json",
    ]);
    let run = m.bed.online.hsm("hsm-b", &words);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let other = fs::read_to_string(m.bed.path("other-sd.json")).unwrap();
    let bundle = m
        .out("offline")
        .join("transfer/security-domain-bundle.json");
    forge(
        &bundle,
        |p| p["security_domain"] = other.clone().into(),
        |_| {},
        false,
    );
    let before = snapshot(&m.bed.path("offline"));
    let run = m.attempt("activate", "offline", &[]);
    assert_forgery_refused(&run, "security-domain-bundle.json");
    assert_eq!(snapshot(&m.bed.path("offline")), before);
    assert!(!m.out("offline").join("sd/security-domain.json").exists());
}

/// Recovery up to the exchange-key bundle on the air-gapped machine's medium.
fn recovery_started(m: &TwoMachines) -> std::path::PathBuf {
    activated(m);
    assert_eq!(m.run("recover", "online", &[])["outcome"], "handoff");
    m.carry("exchange-key-bundle.json", "online", "offline");
    m.out("offline").join("transfer/exchange-key-bundle.json")
}

#[test]
fn an_exchange_key_swapped_in_its_bundle_gets_no_restore_blob() {
    let m = TwoMachines::new("together");
    let bundle = recovery_started(&m);
    let genuine = fs::read(&bundle).unwrap();
    let carried: Value = serde_json::from_slice(&genuine).unwrap();
    let entries = common::ceremony::transcript_lines(carried["transcript"].as_str().unwrap());
    let genuine_x5t = entries
        .iter()
        .find(|e| e["step"] == "exchange-key")
        .unwrap()["facts"]["exchange_x5t_256"]
        .as_str()
        .unwrap()
        .to_owned();
    m.bed.online.fx.openssl_custodian("mallory", 2048);
    let mallory_pem = fs::read_to_string(m.bed.path("mallory.cer")).unwrap();
    let mallory_x5t = x5t_256(&m, "mallory.cer");
    // (a) The attacker's JWK claiming the genuine key's thumbprint, transcript untouched.
    let jwk = attacker_jwk(&m, "mallory", &genuine_x5t).to_string();
    // (b) The attacker's certificate, the online machine's entry edited to name it.
    let cases: [(&str, String, Option<String>, bool); 3] = [
        ("JWK with a forged x5t#S256", jwk, None, false),
        (
            "certificate, entry rewritten",
            mallory_pem.clone(),
            Some(mallory_x5t.clone()),
            false,
        ),
        (
            "certificate, entry rewritten, MAC dropped",
            mallory_pem,
            Some(mallory_x5t),
            true,
        ),
    ];
    for (what, key, entry_x5t, drop_mac) in cases {
        fs::write(&bundle, &genuine).unwrap();
        forge(
            &bundle,
            |p| p["exchange_key_pem"] = key.into(),
            |e| {
                if let (Some(x5t), "exchange-key") = (&entry_x5t, e.step.as_str()) {
                    e.facts["exchange_x5t_256"] = x5t.clone().into();
                }
            },
            drop_mac,
        );
        let before = snapshot(&m.bed.path("offline"));
        let run = m.attempt("recover", "offline", &[]);
        assert_forgery_refused(&run, "exchange-key-bundle.json");
        assert_eq!(snapshot(&m.bed.path("offline")), before, "{what}");
    }
    // The genuine bundle: the air-gapped part goes on and builds the blob.
    fs::write(&bundle, &genuine).unwrap();
    let r = m.run("recover", "offline", &[]);
    assert_eq!(r["outcome"], "handoff", "{r}");
}

#[test]
fn a_restore_blob_swapped_in_its_bundle_is_never_uploaded() {
    let m = TwoMachines::new("together");
    recovery_started(&m);
    assert_eq!(m.run("recover", "offline", &[])["outcome"], "handoff");
    m.carry("restore-blob-bundle.json", "offline", "online");
    // The attacker's own security domain (keys they hold), wrapped to the new HSM's genuine
    // exchange key (public): uploaded, it would give the new HSM a domain the attacker knows.
    let online = &m.bed.online;
    online.custodians();
    let run = online.download("hsm-a", "attacker-sd.json", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let exchange = m.out("online").join("runs/recover-1/exchange-key.pem");
    copy(&exchange, &m.bed.path("exchange.pem"));
    online.restore_blob(
        "attacker-sd.json",
        "exchange.pem",
        ["keys/custodian1.key", "keys/custodian2.key"],
    );
    let blob = fs::read_to_string(m.bed.path("blob.json")).unwrap();
    let bundle = m.out("online").join("transfer/restore-blob-bundle.json");
    forge(&bundle, |p| p["restore_blob"] = blob.into(), |_| {}, false);
    let before = snapshot(&m.bed.path("online"));
    let run = m.attempt("recover", "online", &[]);
    assert_forgery_refused(&run, "restore-blob-bundle.json");
    assert_eq!(snapshot(&m.bed.path("online")), before);
    let status = online.hsm("hsm-b", &["status", "--output", "json"]);
    assert_eq!(
        status.json()["result"]["activation"],
        "NotActivated",
        "{}",
        status.stdout
    );
}

/// The members a bundle's MAC covers, in their order (as `sdctl::ceremony::bundle` writes
/// them), for tests that play an *authentic* but misbehaving other machine.
#[derive(serde::Serialize)]
struct Covered<'a> {
    sdctl_bundle: u32,
    kind: &'a str,
    ceremony: &'a str,
    run: &'a str,
    plan_sha256: &'a str,
    payload: &'a Value,
    transcript: &'a str,
}

/// Recomputes the MAC of the bundle at `path` with the run's transfer code from `code_file`.
fn reseal(path: &Path, code_file: &str) {
    use sdctl::ceremony::transfer_code::{Binding, TransferCode};
    let mut bundle: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let text = |k: &str| bundle[k].as_str().unwrap().to_owned();
    let (kind, ceremony, run, plan) = (
        text("kind"),
        text("ceremony"),
        text("run"),
        text("plan_sha256"),
    );
    let transcript = text("transcript");
    let message = serde_json::to_vec(&Covered {
        sdctl_bundle: 2,
        kind: &kind,
        ceremony: &ceremony,
        run: &run,
        plan_sha256: &plan,
        payload: &bundle["payload"],
        transcript: &transcript,
    })
    .unwrap();
    let code = TransferCode::read_file(Path::new(code_file)).unwrap();
    let key = code
        .bundle_key(&Binding {
            ceremony: &ceremony,
            run: &run,
            plan_sha256: &plan,
        })
        .unwrap();
    bundle["mac"] = key.mac(&message).unwrap().into();
    write_bundle(path, &bundle);
}

/// What this machine carried out is checked by the name and digest the other machine
/// recorded importing: a name that is not a bundle in `transfer/` is refused even in an
/// authentic bundle, and so is a bundle this machine no longer has.
#[test]
fn what_this_machine_carried_out_is_checked_by_name_and_digest() {
    let m = TwoMachines::new("together");
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "handoff");
    m.carry("public-bundle.json", "offline", "online");
    assert_eq!(m.run("activate", "online", &[])["outcome"], "handoff");
    m.carry("security-domain-bundle.json", "online", "offline");
    let bundle = m
        .out("offline")
        .join("transfer/security-domain-bundle.json");
    let genuine = fs::read(&bundle).unwrap();
    // Sealed with the real code, as a compromised online machine could: the MAC passes.
    reseal(&bundle, &m.code);
    assert_eq!(fs::read(&bundle).unwrap(), genuine);
    for name in [
        "transfer/../state.json",
        "state.json",
        "transfer/",
        "transfer/..",
        "transfer/sub/public-bundle.json",
    ] {
        fs::write(&bundle, &genuine).unwrap();
        forge(
            &bundle,
            |_| {},
            |e| {
                if e.event == "imported" && e.machine == "online" {
                    e.inputs[0].name = name.to_owned();
                }
            },
            false,
        );
        reseal(&bundle, &m.code);
        let before = snapshot(&m.bed.path("offline"));
        m.attempt("activate", "offline", &[])
            .assert_error(1, "which is not a bundle in transfer/");
        assert_eq!(snapshot(&m.bed.path("offline")), before, "{name}");
    }
    // An authentic bundle whose online entry names another digest for the public bundle.
    fs::write(&bundle, &genuine).unwrap();
    forge(
        &bundle,
        |_| {},
        |e| {
            if e.event == "imported" && e.machine == "online" {
                e.inputs[0].sha256 = "0".repeat(64);
            }
        },
        false,
    );
    reseal(&bundle, &m.code);
    m.attempt("activate", "offline", &[])
        .assert_error(1, "it was changed in transit");
    // The genuine bundle, but the public bundle this machine wrote is gone.
    fs::write(&bundle, &genuine).unwrap();
    let written = m.out("offline").join("transfer/public-bundle.json");
    let kept = fs::read(&written).unwrap();
    fs::remove_file(&written).unwrap();
    m.attempt("activate", "offline", &[])
        .assert_error(1, "cannot read the bundle it wrote");
    fs::write(&written, kept).unwrap();
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "complete");
}
