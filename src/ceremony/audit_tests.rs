use super::bundles::divergence;
use super::files::inside;
use std::path::Path;

#[test]
fn divergence_names_the_first_differing_line_and_accepts_prefixes() {
    assert_eq!(divergence("a\nb\n", "a\nb\nc\n"), None);
    assert_eq!(divergence("a\nb\nc\n", "a\nb\n"), None);
    assert_eq!(divergence("a\nb\n", "a\nx\n"), Some(2));
    assert_eq!(divergence("", "a\n"), None);
}

#[test]
fn names_outside_the_folder_are_refused() {
    let dir = Path::new("/audit");
    assert_eq!(inside(dir, "sd/x.json"), Some(dir.join("sd/x.json")));
    for bad in ["../x", "/etc/passwd", "sd/../../x", "", "./x"] {
        assert_eq!(inside(dir, bad), None, "{bad}");
    }
}

use super::files;
use super::folder::FolderRun;
use super::{Findings, Folder};
use crate::ceremony::state::State;
use crate::ceremony::transcript::{Entry, FileDigest};
use serde_json::{json, Value};

fn entry(seq: u64, step: &str, outputs: Vec<FileDigest>, facts: Value) -> Entry {
    let Value::Object(facts) = facts else {
        panic!("facts")
    };
    Entry {
        seq,
        prev: String::new(),
        time: String::new(),
        ceremony: "c".into(),
        run: "recover-1".into(),
        kind: "recover".into(),
        machine: "offline".into(),
        actor: "operator".into(),
        step: step.into(),
        event: "step".into(),
        summary: String::new(),
        inputs: Vec::new(),
        outputs,
        facts,
    }
}

fn folder_with(dir: &Path, entries: Vec<Entry>) -> Folder {
    Folder {
        dir: dir.to_owned(),
        state: State::new("c"),
        runs: vec![FolderRun {
            id: "recover-1".into(),
            path: dir.join("runs/recover-1/transcript.jsonl"),
            text: String::new(),
            entries,
            report: None,
        }],
    }
}

/// A later record of a file supersedes an earlier one; a destroyed session key must be gone;
/// a missing file and a changed one are told apart.
#[test]
fn files_are_judged_by_their_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.cer"), b"new").unwrap();
    std::fs::write(d.join("b.cer"), b"changed").unwrap();
    let key = "runs/recover-1/session/session.key";
    let entries = vec![
        entry(
            1,
            "key",
            vec![FileDigest::of_bytes("a.cer", b"old")],
            json!({}),
        ),
        entry(
            2,
            "key",
            vec![FileDigest::of_bytes("a.cer", b"new")],
            json!({}),
        ),
        entry(
            3,
            "b",
            vec![FileDigest::of_bytes("b.cer", b"first")],
            json!({}),
        ),
        entry(
            4,
            "c",
            vec![FileDigest::of_bytes("c.cer", b"gone")],
            json!({}),
        ),
        entry(
            5,
            "blob",
            vec![],
            json!({"session": "session key destroyed"}),
        ),
    ];
    let problems = |f: &Folder| {
        let mut found = Findings::default();
        files::check(f, &mut found).unwrap();
        found.0
    };
    let found = problems(&folder_with(d, entries.clone()));
    let lines: Vec<String> = found
        .iter()
        .map(|f| format!("{}: {}", f.file, f.problem))
        .collect();
    assert_eq!(found.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("b.cer: changed") && lines[0].contains("line 3 (step b)"),
        "{lines:?}"
    );
    assert!(lines[1].contains("c.cer: missing"), "{lines:?}");

    // A session key recorded destroyed but left behind is a finding.
    std::fs::create_dir_all(d.join("runs/recover-1/session")).unwrap();
    std::fs::write(d.join(key), b"k").unwrap();
    let found = problems(&folder_with(d, entries));
    assert!(
        found
            .iter()
            .any(|f| f.file.ends_with("session.key") && f.problem.contains("destroyed")),
        "{found:?}"
    );
}
