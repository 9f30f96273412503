use std::fs;

use super::super::tests::{build, lines, new_entry};
use super::super::{verify_text, TranscriptError};
use super::*;
use crate::exit_code::ExitCode;

#[test]
fn missing_file_is_an_empty_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let t = Transcript::open(&dir.path().join("none.jsonl")).unwrap();
    assert!(t.entries().is_empty());
    assert_eq!(t.final_digest(), None);
    assert_eq!(t.text(), "");
    assert_eq!(
        verify_text("").unwrap_err().to_string(),
        "line 1: the transcript is empty"
    );
}

#[test]
fn open_of_a_broken_file_names_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let t = build(&path, 5);
    fs::write(
        &path,
        t.text()
            .replace("A share was refused.", "A share was accepted."),
    )
    .unwrap();
    let err = Transcript::open(&path).unwrap_err();
    let message = err.to_string();
    match &err {
        TranscriptError::Broken { error, .. } => assert_eq!(error.line, 5),
        other => panic!("{other:?}"),
    }
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("line 5: the entry does not match its hash"),
        "{message}"
    );
    assert!(message.contains("do not edit"), "{message}");
    assert_eq!(err.exit_code(), ExitCode::CheckFailed);
}

#[test]
fn adopt_accepts_an_extension_and_refuses_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("offline.jsonl");
    let there = dir.path().join("online.jsonl");
    let mut local = build(&here, 3);
    fs::copy(&here, &there).unwrap();
    let mut remote = Transcript::open(&there).unwrap();
    remote.append(new_entry(3)).unwrap();
    remote.append(new_entry(4)).unwrap();

    // A different fourth entry on this machine: the two have diverged at line 4.
    let fork = dir.path().join("fork.jsonl");
    fs::copy(&here, &fork).unwrap();
    let mut forked = Transcript::open(&fork).unwrap();
    forked.append(new_entry(5)).unwrap();
    match forked.adopt(&remote.text()) {
        Err(TranscriptError::Diverged { line, .. }) => assert_eq!(line, 4),
        other => panic!("{other:?}"),
    }

    // A damaged carried transcript is refused at its damaged line.
    let damaged = remote
        .text()
        .replace("Bundle \\\"to-online\\\"", "Bundle \\\"to-onlime\\\"");
    assert_ne!(damaged, remote.text());
    let err = local.adopt(&damaged).unwrap_err();
    assert!(
        matches!(err, TranscriptError::Diverged { line: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("broken"), "{err}");
    assert_eq!(local.entries().len(), 3);

    assert_eq!(local.adopt(&remote.text()).unwrap(), 2);
    assert_eq!(local.text(), remote.text());
    assert_eq!(fs::read_to_string(&here).unwrap(), remote.text());
    assert_eq!(Transcript::open(&here).unwrap().entries().len(), 5);
    assert_eq!(local.adopt(&remote.text()).unwrap(), 0);

    // A shorter one does not continue this one either.
    let short: String = lines(&remote.text())[..3].concat();
    let err = local.adopt(&short).unwrap_err();
    assert!(
        matches!(err, TranscriptError::Diverged { line: 4, .. }),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("does not continue this machine's transcript at line 4"));

    // An empty transcript accepts any that verifies, and appending goes on from it.
    let mut empty = Transcript::open(&dir.path().join("new.jsonl")).unwrap();
    assert_eq!(empty.adopt(&remote.text()).unwrap(), 5);
    assert_eq!(empty.append(new_entry(5)).unwrap().seq, 6);
    assert!(verify_text(&empty.text()).unwrap().closed);
}

#[test]
fn append_refuses_to_write_over_entries_it_has_not_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let mut first = build(&path, 2);
    let mut second = Transcript::open(&path).unwrap();
    second.append(new_entry(2)).unwrap();
    let err = first.append(new_entry(3)).unwrap_err();
    assert!(matches!(err, TranscriptError::Changed { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(Transcript::open(&path).unwrap().text(), second.text());
}

#[test]
fn append_with_hands_over_the_new_text_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let mut t = build(&path, 2);
    let mut carried = String::new();
    t.append_with(new_entry(2), |text| {
        carried = text.to_owned();
        Ok(())
    })
    .unwrap();
    assert_eq!(carried, fs::read_to_string(&path).unwrap());
    assert_eq!(verify_text(&carried).unwrap().entries, 3);
    let refused = FileError::Exists { path: path.clone() };
    let err = t
        .append_with(new_entry(3), |_| Err(refused.into()))
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert_eq!(Transcript::open(&path).unwrap().entries().len(), 3);
}
