//! Unit tests of `passphrase`.

use super::*;
use proptest::prelude::*;

fn file_with(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pass.txt");
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

#[test]
fn lines_split_on_lf_and_crlf_with_optional_final_newline() {
    let (_d, path) = file_with(b"one\r\n\nthree");
    let file = PassphraseFile::read(&path).unwrap();
    assert_eq!(file.len(), 3);
    let (_d, path) = file_with(b"one\ntwo\n");
    let file = PassphraseFile::read(&path).unwrap();
    assert_eq!(file.len(), 2);
    let src = PassphraseSource::File(file);
    assert_eq!(src.for_existing(1, Path::new("k")).unwrap().expose(), "two");
}

#[test]
fn empty_line_for_encrypted_key_is_refused() {
    let (_d, path) = file_with(b"\n");
    let src = PassphraseSource::File(PassphraseFile::read(&path).unwrap());
    let err = src.for_existing(0, Path::new("alice.key")).unwrap_err();
    assert!(err
        .to_string()
        .contains("line 1 is empty but alice.key is encrypted"));
}

#[test]
fn line_count_mismatch_is_explained() {
    let (_d, path) = file_with(b"a\nb\n");
    let file = PassphraseFile::read(&path).unwrap();
    let err = file.expect_lines(3).unwrap_err();
    assert!(
        err.to_string().contains("has 2 line(s) but 3 key(s)"),
        "{err}"
    );
}

#[test]
fn strength_rule() {
    let weak = |s: &str| StrengthRule::DEFAULT.weakness(&Passphrase::new(s.into()));
    assert!(weak("short").is_some());
    assert!(weak("aaaaaaaaaaaaaaaa").is_some());
    assert!(weak("121212121212").is_some());
    assert!(weak("").is_some());
    assert!(weak("correct horse battery staple").is_none());
    assert!(StrengthRule::RELAXED
        .weakness(&Passphrase::new("x".into()))
        .is_none());
    assert!(StrengthRule::RELAXED
        .weakness(&Passphrase::new(String::new()))
        .is_some());
}

#[test]
fn debug_never_shows_the_passphrase() {
    let p = Passphrase::new("hunter2-secret".into());
    assert!(!format!("{p:?}").contains("hunter2"));
}

proptest! {
    #[test]
    fn any_lines_round_trip(lines in proptest::collection::vec("[^\r\n]{0,20}", 1..12)) {
        let mut content = lines.join("\n");
        content.push('\n');
        let (_d, path) = file_with(content.as_bytes());
        let file = PassphraseFile::read(&path).unwrap();
        prop_assert_eq!(file.len(), lines.len());
        for (i, l) in lines.iter().enumerate() {
            prop_assert_eq!(file.line(i).unwrap().expose(), l.as_str());
        }
    }
}
