use std::fs;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::*;

fn facts(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// (actor, step, event, summary) of the six kinds of test entries.
#[rustfmt::skip]
const STEPS: [(&str, &str, &str, &str); 6] = [
    ("operator", "open", "opened", "Ceremony opened for Zoë's team."),
    ("custodian alice", "key:alice", "step", "Alice made her wrapping key."),
    ("operator", "handoff", "handoff", "Bundle \"to-online\" written."),
    ("operator", "download", "imported", "Security domain downloaded."),
    ("witnesses", "drill", "refused", "A share was refused."),
    ("operator", "close", "closed", "Ceremony closed."),
];

pub(super) fn new_entry(i: usize) -> NewEntry {
    let (actor, step, event, summary) = STEPS[i % 6];
    let f = match i % 6 {
        0 => json!({"hsm": "contoso-mhsm", "quorum": 2, "custodians": [{"name": "alice"}]}),
        1 => json!({"custodian": "alice", "sha256_fingerprint": "AB:CD", "x5t_256": "q-_w"}),
        3 => json!({"z": 1, "a": {"y": [1, 2], "b": true}}),
        4 => json!({"reason": "wrong key"}),
        _ => json!({}),
    };
    NewEntry {
        ceremony: "contoso-2026".into(),
        run: if i < 3 { "activate" } else { "drill-1" }.into(),
        kind: "activate".into(),
        machine: "offline".into(),
        actor: actor.into(),
        step: step.into(),
        event: event.into(),
        summary: summary.into(),
        inputs: vec![FileDigest::of_bytes(
            "plan.toml",
            format!("plan {i}").as_bytes(),
        )],
        outputs: vec![FileDigest::of_bytes("alice.cer", b"cert")],
        facts: facts(f),
    }
}

pub(super) fn build(path: &Path, n: usize) -> Transcript {
    let mut t = Transcript::open(path).unwrap();
    for i in 0..n {
        t.append(new_entry(i)).unwrap();
    }
    t
}

fn five() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let t = build(&dir.path().join("transcript.jsonl"), 5);
    let text = t.text();
    (dir, text)
}

pub(super) fn lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_owned).collect()
}

/// Which 1-based line holds byte `i` (a line's `\n` belongs to it).
fn line_at(text: &str, i: usize) -> usize {
    text.as_bytes()[..i].iter().filter(|b| **b == b'\n').count() + 1
}

#[test]
fn round_trip_of_six_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let t = build(&path, 6);
    assert_eq!(fs::read_to_string(&path).unwrap(), t.text());
    let again = Transcript::open(&path).unwrap();
    assert_eq!(again.entries(), t.entries());
    assert_eq!(again.entries().len(), 6);
    let report = verify_text(&again.text()).unwrap();
    assert_eq!(report.entries, 6);
    let last_hash = again.entries()[5].hash().unwrap();
    assert_eq!(report.final_digest, last_hash);
    assert_eq!(again.final_digest(), Some(last_hash));
    assert_eq!(report.runs, vec!["activate", "drill-1"]);
    assert!(report.closed);
    for (k, e) in again.entries().iter().enumerate() {
        assert_eq!(e.seq, k as u64 + 1);
        let prev = if k == 0 {
            GENESIS.to_owned()
        } else {
            again.entries()[k - 1].hash().unwrap()
        };
        assert_eq!(e.prev, prev);
        assert!(e.time.ends_with('Z') && e.time.len() == 20, "{}", e.time);
    }
    let first = &lines(&t.text())[0];
    assert!(first.starts_with(&format!("{{\"seq\":1,\"prev\":\"{GENESIS}\",\"time\":\"")));
    assert!(first.ends_with(&format!(
        ",\"hash\":\"{}\"}}\n",
        again.entries()[0].hash().unwrap()
    )));
    // Facts are written with sorted keys at every depth.
    assert!(t
        .text()
        .contains(r#""facts":{"a":{"b":true,"y":[1,2]},"z":1}"#));
}

#[test]
fn every_changed_byte_is_caught_on_its_line() {
    let (_dir, text) = five();
    let bytes = text.as_bytes();
    let mut tried = 0;
    for i in 0..bytes.len() {
        let b = bytes[i];
        let mut candidates = vec![if b == b'a' { b'b' } else { b'a' }];
        let flipped = b ^ 1;
        if (0x20..0x7f).contains(&flipped) && flipped != b {
            candidates.push(flipped);
        }
        for r in candidates {
            let mut changed = bytes.to_vec();
            changed[i] = r;
            let err = verify_bytes(&changed).expect_err("a changed byte must break the chain");
            assert_eq!(
                err.line,
                line_at(&text, i),
                "byte {i} ({:?} -> {:?}): {err}",
                b as char,
                r as char
            );
            tried += 1;
        }
    }
    assert!(tried > 2 * 1000, "{tried}");
}

#[test]
fn a_changed_summary_is_reported_as_a_hash_mismatch() {
    let (_dir, text) = five();
    let changed = text.replace("Security domain downloaded.", "Security domain downloadad.");
    let err = verify_text(&changed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 4: the entry does not match its hash: it was changed after it was written"
    );
}

#[test]
fn every_removed_line_but_the_last_is_caught_where_it_was() {
    let (_dir, text) = five();
    for j in 0..4 {
        let mut l = lines(&text);
        l.remove(j);
        let err = verify_text(&l.concat()).unwrap_err();
        assert_eq!(err.line, j + 1, "{err}");
        assert!(err.problem.contains("an entry is missing here"), "{err}");
    }
    let mut l = lines(&text);
    l.remove(2);
    assert_eq!(
        verify_text(&l.concat()).unwrap_err().to_string(),
        "line 3: entry number 4 where 3 was expected: an entry is missing here or the lines \
         are out of order"
    );
}

#[test]
fn removing_the_last_line_verifies_but_changes_the_final_digest() {
    // Only the final digest the witnesses wrote down catches a cut at the end.
    let (_dir, text) = five();
    let whole = verify_text(&text).unwrap();
    let mut l = lines(&text);
    l.pop();
    let cut = verify_text(&l.concat()).unwrap();
    assert_eq!(cut.entries, 4);
    assert_ne!(cut.final_digest, whole.final_digest);
}

#[test]
fn every_swap_of_adjacent_lines_is_caught() {
    let (_dir, text) = five();
    for j in 0..4 {
        let mut l = lines(&text);
        l.swap(j, j + 1);
        let err = verify_text(&l.concat()).unwrap_err();
        assert_eq!(err.line, j + 1, "{err}");
    }
}

#[test]
fn a_forged_prev_names_the_line_it_does_not_follow() {
    // A line re-hashed after its 'prev' was changed: only the chain shows it.
    let (_dir, text) = five();
    let mut entry: Entry = serde_json::from_str(&lines(&text)[3].replace(
        &format!(",\"hash\":\"{}\"", chain::line_hash(&lines(&text)[3])),
        "",
    ))
    .unwrap();
    entry.prev = GENESIS.into();
    let mut l = lines(&text);
    l[3] = chain::line_of(&entry).unwrap();
    assert_eq!(
        verify_text(&l.concat()).unwrap_err().to_string(),
        "line 4: does not follow line 3 (its 'prev' is not line 3's hash): a line was removed, \
         inserted or moved"
    );
}

#[test]
fn partial_and_blank_lines_are_refused() {
    let (_dir, text) = five();
    let no_newline = &text[..text.len() - 1];
    let err = verify_text(no_newline).unwrap_err();
    assert_eq!(err.line, 5);
    assert!(err.problem.contains("no end of line"), "{err}");
    let cut = &text[..text.len() - 40];
    assert_eq!(verify_text(cut).unwrap_err().line, 5);
    let mut l = lines(&text);
    l.insert(2, "\n".into());
    let err = verify_text(&l.concat()).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.problem.contains("blank"), "{err}");
    let crlf = text.replacen('\n', "\r\n", 1);
    assert_eq!(verify_text(&crlf).unwrap_err().line, 1);
}

#[test]
fn file_digests() {
    let d = FileDigest::of_bytes("x", b"abc");
    assert_eq!(
        d.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(d.bytes, 3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    fs::write(&p, b"abc").unwrap();
    assert_eq!(FileDigest::of_file(&p, "x").unwrap(), d);
    let err = FileDigest::of_file(&dir.path().join("missing"), "x").unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::BadInput);
}
