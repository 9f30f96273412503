use serde_json::{json, Map, Value};

use super::*;
use crate::ceremony::transcript::{FileDigest, NewEntry, Transcript};
use crate::ceremony::ui::spoken;

/// The text with every run of whitespace made one space (the Markdown wraps lines).
fn folded(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A fingerprint (`AB:CD:…`) or hex digest in the record's notation.
fn said(digest: &str) -> String {
    spoken(&digest.replace(':', "").to_ascii_lowercase())
}

const FP_ALICE: &str = "3F:9A:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:01";
const FP_BOB_OLD: &str = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00";
const FP_BOB: &str = "B0:B0:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:02";
const X5T_ALICE: &str = "P5oRIjNEVWZ3iJmqu8zd7v8AESIzRFVmd4iZqrvM3QE";

fn facts(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn entry(actor: &str, step: &str, event: &str, summary: &str, f: Value) -> NewEntry {
    NewEntry {
        ceremony: "contoso-prod-2026".into(),
        run: "activate".into(),
        kind: "activate".into(),
        machine: "offline".into(),
        actor: actor.into(),
        step: step.into(),
        event: event.into(),
        summary: summary.into(),
        facts: facts(f),
        ..NewEntry::default()
    }
}

fn realistic(custodian: &str) -> (tempfile::TempDir, Transcript) {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript::open(&dir.path().join("transcript.jsonl")).unwrap();
    let opened = json!({
        "hsm": "contoso-mhsm", "quorum": 2, "operator": "Olga Operator",
        "plan_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "machines": "offline + online",
        "sdctl_version": "0.1.0", "sdctl_build": "air-gapped (no network code)",
        "openssl": "OpenSSL 3.6.3 (static, compiled in)",
        "sdctl_commit": "20951061487d30606c500101e1bb8937b7d25a9d",
        "custodians": [
            {"name": custodian, "contact": "alice@contoso.example"},
            {"name": "bob", "contact": "+1 555 0100"},
            {"name": "carol", "contact": "carol@contoso.example"}
        ],
        "witnesses": [{"name": "Wendy Witness", "role": "security officer"}, {"name": "Walt", "role": "auditor"}]
    });
    t.append(entry(
        "operator",
        "open",
        "opened",
        "Ceremony opened.",
        opened,
    ))
    .unwrap();
    for (name, fp) in [(custodian, FP_ALICE), ("bob", FP_BOB_OLD), ("bob", FP_BOB)] {
        let f = json!({"custodian": name, "sha256_fingerprint": fp,
                       "x5t_256": if name == custodian { X5T_ALICE } else { "Ym9i" }});
        let mut e = entry(
            &format!("custodian {name}"),
            &format!("key:{name}"),
            "step",
            "Key made.",
            f,
        );
        e.outputs = vec![FileDigest::of_bytes(
            &format!("{name}.cer"),
            name.as_bytes(),
        )];
        t.append(e).unwrap();
    }
    let mut retired = entry(
        "operator",
        "retire",
        "retired",
        "Old security domain retired.",
        json!({}),
    );
    retired.inputs = vec![FileDigest::of_bytes("old-sd.json", b"old security domain")];
    t.append(retired).unwrap();
    t.append(entry(
        "witnesses",
        "drill",
        "refused",
        "carol's share was refused: wrong key.",
        json!({}),
    ))
    .unwrap();
    t.append(entry(
        "operator",
        "close",
        "closed",
        "Ceremony closed.",
        json!({}),
    ))
    .unwrap();
    (dir, t)
}

#[test]
fn record_holds_every_name_fingerprint_and_digest() {
    let (_dir, t) = realistic("alice");
    let digest = t.final_digest().unwrap();
    let old_sd = FileDigest::of_bytes("old-sd.json", b"old security domain").sha256;
    let bob_cer = FileDigest::of_bytes("bob.cer", b"bob").sha256;
    for page in [folded(&markdown(t.entries())), folded(&html(t.entries()))] {
        for needle in [
            "sdctl ceremony record: activate — contoso-prod-2026",
            "alice",
            "bob",
            "carol",
            "Wendy Witness",
            "security officer",
            "Walt",
            "Olga Operator",
            "alice@contoso.example",
            "contoso-mhsm",
            "2 of 3 custodians",
            "closed",
            &said(FP_ALICE),
            &said(FP_BOB),
            X5T_ALICE,
            &said(&digest),
            &said(&old_sd),
            &said(&bob_cer),
            "Old security domain retired.",
            "wrong key",
            "Signature",
            "sdctl ceremony log verify",
            "sdctl 0.1.0, air-gapped (no network code); OpenSSL 3.6.3 (static, compiled in); commit 20951061487d30606c500101e1bb8937b7d25a9d",
        ] {
            assert!(page.contains(needle), "missing {needle:?} in:\n{page}");
        }
        // The latest fingerprint of a custodian wins (the older one is only in the steps).
        let participants = &page[page.find("Participants").unwrap()..page.find("Steps").unwrap()];
        assert!(!participants.contains(&said(FP_BOB_OLD)), "{participants}");
        assert!(participants.contains(&said(FP_BOB)), "{participants}");
        // One notation: no digest in its raw or colon form.
        for raw in [FP_ALICE, &digest, &old_sd, &bob_cer] {
            assert!(!page.contains(raw), "{raw} in:\n{page}");
        }
        // The refusal is listed, not "None recorded".
        assert!(page.contains("REFUSED"), "{page}");
    }
    let md = markdown(t.entries());
    // One signature line per custodian, witness and the operator.
    assert_eq!(md.matches("Date ____").count(), 6, "{md}");
    let page = html(t.entries());
    assert_eq!(page.matches("<div class=\"sig\">").count(), 6, "{page}");
    assert!(page.starts_with("<!DOCTYPE html>"));
    for forbidden in ["<script", "http://", "https://", "<link", "src="] {
        assert!(!page.contains(forbidden), "{forbidden}");
    }
}

#[test]
fn hostile_names_are_escaped() {
    let (_dir, t) = realistic("<script>alert(1)</script>");
    let page = html(t.entries());
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let md = markdown(t.entries());
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>"));
    // Its fingerprint is still found under its name.
    assert!(folded(&page).contains(&said(FP_ALICE)) && folded(&md).contains(&said(FP_ALICE)));
}

#[test]
fn markdown_cells_stay_in_their_table() {
    let (_dir, mut t) = realistic("alice");
    t.append(entry(
        "operator",
        "note",
        "step",
        "two | cells\nand a line",
        json!({}),
    ))
    .unwrap();
    let md = markdown(t.entries());
    assert!(md.contains("two \\| cells and a line"), "{md}");
    // The Markdown reads in 80 columns.
    for line in md.lines() {
        assert!(line.chars().count() <= 80, "{line:?} in:\n{md}");
    }
}

#[test]
fn sparse_and_odd_facts_do_not_panic() {
    assert!(markdown(&[]).contains("(none: the transcript is empty)"));
    assert!(html(&[]).contains("None recorded."));
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript::open(&dir.path().join("t.jsonl")).unwrap();
    t.append(entry("operator", "open", "opened", "", json!({})))
        .unwrap();
    t.append(entry(
        "operator",
        "x",
        "opened",
        "",
        json!({"custodians": "nobody", "witnesses": [1, null, {"x": 2}], "quorum": [2]}),
    ))
    .unwrap();
    t.append(entry(
        "",
        "",
        "step",
        "",
        json!({"custodian": 7, "sha256_fingerprint": null}),
    ))
    .unwrap();
    let (md, page) = (markdown(t.entries()), html(t.entries()));
    assert!(md.contains("in progress") && page.contains("in progress"));
    assert!(md.contains("- Operator, ceremony"), "{md}");
}

#[test]
fn write_record_writes_both_files_and_regenerates_them() {
    let (dir, t) = realistic("alice");
    let (md, page) = write_record(dir.path(), t.entries()).unwrap();
    assert_eq!(md, dir.path().join("record.md"));
    assert_eq!(page, dir.path().join("record.html"));
    let digest = said(&t.final_digest().unwrap());
    assert!(folded(&std::fs::read_to_string(&md).unwrap()).contains(&digest));
    write_record(dir.path(), &t.entries()[..2]).unwrap();
    assert!(!folded(&std::fs::read_to_string(&page).unwrap()).contains(&digest));
    let err = write_record(&dir.path().join("missing"), t.entries()).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}
