use std::path::Path;

use serde_json::json;

use super::*;

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

fn peek_text(text: &str) -> Result<Incoming, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.json");
    std::fs::write(&path, text).unwrap();
    peek(&path, "public", &plan()).map_err(|e| e.to_string())
}

#[test]
fn a_bundle_of_this_plan_is_read_with_its_digest() {
    let p = plan();
    let text = bundle("public", "bundle-tests", &p.sha256, 1).to_string();
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
            bundle("public", "bundle-tests", &sha, 2).to_string(),
            "bundle format 2",
        ),
        (
            bundle("restore-blob", "bundle-tests", &sha, 1).to_string(),
            "this is a restore-blob bundle",
        ),
        (
            bundle("public", "other", &sha, 1).to_string(),
            "belongs to ceremony 'other'",
        ),
        (
            bundle("public", "bundle-tests", "00", 1).to_string(),
            "a different plan",
        ),
        (
            bundle("public", "bundle-tests", &sha, 1)
                .to_string()
                .replace(r#"{"certificates":[],"quorum":2}"#, "5"),
            "its payload is not a JSON object",
        ),
        (
            bundle("public", "bundle-tests", &sha, 1)
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
        run: "r".into(),
        payload: json!({"restore_blob": text, "sha256": hex(&Sha256::digest(text.as_bytes()))}),
        transcript: String::new(),
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
