use std::path::Path;

use serde_json::json;

use super::*;
use crate::ceremony::transfer_code::TransferCode;

const PLAN: &str = r#"
[ceremony]
name = "bundle-tests"
output_dir = "out"
machines = "one"
[hsm]
url = "https://127.0.0.1:1/hsm/a"
[security_domain]
quorum = 2
[[custodian]]
name = "alice"
[[custodian]]
name = "bob"
[[custodian]]
name = "carol"
"#;

fn plan() -> Plan {
    Plan::parse(Path::new("/p/plan.toml"), PLAN.as_bytes()).unwrap()
}

fn bundle(kind: &str, ceremony: &str, plan_sha: &str, version: u32) -> serde_json::Value {
    json!({"sdctl_bundle": version, "kind": kind, "ceremony": ceremony, "run": "activate",
           "plan_sha256": plan_sha, "payload": {"certificates": [], "quorum": 2}, "transcript": ""})
}

/// A bundle's text as sdctl writes it (pretty JSON and a new line).
fn written(value: &serde_json::Value) -> String {
    let file: BundleFile = serde_json::from_value(value.clone()).unwrap();
    canonical(&file).unwrap()
}

fn peek_text(text: &str) -> Result<Incoming, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    std::fs::write(&path, text).unwrap();
    peek(&path, "public", &plan()).map_err(|e| e.to_string())
}

#[test]
fn a_bundle_of_this_plan_is_read_with_its_digest() {
    let p = plan();
    let text = written(&bundle("public", "bundle-tests", &p.sha256, 2));
    let incoming = peek_text(&text).unwrap();
    assert_eq!(incoming.run, "activate");
    assert_eq!(incoming.sha256, hex(&Sha256::digest(text.as_bytes())));
    assert_eq!(incoming.bytes, text.len() as u64);
}

#[test]
fn foreign_damaged_or_mismatched_bundles_are_refused_naming_the_file() {
    let sha = plan().sha256;
    let cases = [
        (String::new(), "file is empty; expected a ceremony bundle"),
        (" \n".into(), "file is empty; expected a ceremony bundle"),
        ("{\"sdctl_bundle\": 1".into(), "not a ceremony bundle"),
        ("[1, 2]".into(), "not a ceremony bundle"),
        (
            bundle("public", "bundle-tests", &sha, 1).to_string(),
            "bundle format 1 is not known",
        ),
        (
            bundle("restore-blob", "bundle-tests", &sha, 2).to_string(),
            "this is a restore-blob bundle",
        ),
        (
            bundle("public", "other", &sha, 2).to_string(),
            "belongs to ceremony 'other'",
        ),
        (
            bundle("public", "bundle-tests", "00", 2).to_string(),
            "a different plan",
        ),
        (
            bundle("public", "bundle-tests", &sha, 2)
                .to_string()
                .replace(r#"{"certificates":[],"quorum":2}"#, "5"),
            "its payload is not a JSON object",
        ),
        (
            bundle("public", "bundle-tests", &sha, 2)
                .to_string()
                .replace(r#""certificates":[]"#, r#""certificates":[7]"#),
            "payload.certificates[0] is not a custodian's name",
        ),
    ];
    for (text, expected) in cases {
        let message = peek_text(&text).unwrap_err();
        assert!(message.contains("b.json: "), "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn carried_text_must_match_its_digest() {
    let text = "{\"EncData\": {}}";
    let good = Incoming {
        path: "b.json".into(),
        sha256: String::new(),
        bytes: 0,
        kind: "restore-blob".into(),
        ceremony: "c".into(),
        run: "r".into(),
        plan_sha256: String::new(),
        payload: json!({"restore_blob": text, "sha256": hex(&Sha256::digest(text.as_bytes()))}),
        transcript: String::new(),
        mac: None,
        entries: Vec::new(),
    };
    assert_eq!(carried_text(&good, "restore_blob").unwrap(), text);
    let mut bad = good.clone();
    bad.payload["restore_blob"] = json!("{\"EncData\": {} }");
    let message = carried_text(&bad, "restore_blob").unwrap_err().to_string();
    assert!(message.contains("does not match the SHA-256"), "{message}");
    let mut missing = good;
    missing.payload = json!({});
    assert!(carried_text(&missing, "restore_blob").is_err());
}

/// A bundle of this plan with `mac` computed under `code` over its other members.
fn sealed(code: &TransferCode) -> serde_json::Value {
    let p = plan();
    let mut value = bundle("public", "bundle-tests", &p.sha256, 2);
    let payload = value["payload"].clone();
    let message = Authenticated {
        sdctl_bundle: 2,
        kind: "public",
        ceremony: "bundle-tests",
        run: "activate",
        plan_sha256: &p.sha256,
        payload: &payload,
        transcript: "",
    }
    .message()
    .unwrap();
    let key = code
        .bundle_key(&Binding {
            ceremony: "bundle-tests",
            run: "activate",
            plan_sha256: &p.sha256,
        })
        .unwrap();
    value["mac"] = json!(key.mac(&message).unwrap());
    value
}

#[test]
fn a_bundle_authenticates_only_under_its_runs_code_and_unchanged() {
    let code = TransferCode::generate().unwrap();
    let good = sealed(&code);
    peek_text(&written(&good))
        .unwrap()
        .authenticate(&code)
        .unwrap();
    let refused = |value: &serde_json::Value, code: &TransferCode| {
        let e = peek_text(&written(value))
            .unwrap()
            .authenticate(code)
            .unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::Crypto, "{e}");
        e.to_string()
    };
    assert!(refused(&good, &TransferCode::generate().unwrap()).contains("does not verify"));
    // Every member the importer reads is covered: change each and the MAC fails.
    let changes: [(&str, serde_json::Value); 4] = [
        ("payload", json!({"certificates": [], "quorum": 3})),
        ("transcript", json!("x")),
        ("run", json!("activate-2")),
        ("mac", json!("00".repeat(32))),
    ];
    for (member, value) in changes {
        let mut forged = good.clone();
        forged[member] = value;
        let e = refused(&forged, &code);
        assert!(e.contains("b.json: "), "{member}: {e}");
    }
    let mut bare = good.clone();
    bare.as_object_mut().unwrap().remove("mac");
    assert!(refused(&bare, &code).contains("carries no MAC"));
    let mut extra = good;
    extra["note"] = json!("unauthenticated");
    assert!(peek_text(&extra.to_string())
        .unwrap_err()
        .contains("unknown field"));
}

#[test]
fn only_the_bytes_sdctl_writes_are_read_and_the_run_names_a_folder() {
    let p = plan();
    let good = bundle("public", "bundle-tests", &p.sha256, 2);
    assert!(peek_text(&written(&good)).is_ok());
    // The same members, encoded otherwise: the MAC would not see it; the digest would.
    for other in [
        good.to_string(),
        written(&good).replace("  ", "   "),
        serde_json::to_string_pretty(&good).unwrap(),
    ] {
        let e = peek_text(&other).unwrap_err();
        assert!(
            e.contains("not byte for byte as sdctl writes a bundle"),
            "{e}"
        );
    }
    for run in [
        "../transfer",
        "/tmp/x",
        "activate-",
        "Activate",
        "drill-1-2",
        "\u{1b}[2Jfake",
        "",
    ] {
        let mut bad = good.clone();
        bad["run"] = json!(run);
        let e = peek_text(&written(&bad)).unwrap_err();
        assert!(e.contains("is not a run of a ceremony"), "{run}: {e}");
        assert!(
            !e.contains('\u{1b}'),
            "control characters are escaped: {e:?}"
        );
    }
    let mut bad = good;
    bad["ceremony"] = json!("\u{1b}]0;pwned\u{7}");
    let e = peek_text(&written(&bad)).unwrap_err();
    assert!(!e.contains('\u{1b}') && e.contains("\\u{1b}"), "{e:?}");
}
