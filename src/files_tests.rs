//! Unit tests of `files`.

use super::*;

#[test]
fn atomic_write_refuses_existing_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.txt");
    write_atomic(&dest, b"one", MODE_SECRET, false).unwrap();
    let err = write_atomic(&dest, b"two", MODE_SECRET, false).unwrap_err();
    assert!(matches!(err, FileError::Exists { .. }), "{err}");
    assert_eq!(fs::read(&dest).unwrap(), b"one");
    write_atomic(&dest, b"three", MODE_SECRET, true).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"three");
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "temporary files left behind");
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn failed_batch_rolls_back_committed_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let mut batch = WriteBatch::new(false);
    batch.stage(&a, b"a", MODE_PUBLIC).unwrap();
    batch.stage(&b, b"b", MODE_PUBLIC).unwrap();
    // Someone creates b between staging and commit: the batch must undo a.
    fs::write(&b, b"theirs").unwrap();
    let err = batch.commit().unwrap_err();
    assert!(matches!(err, FileError::Exists { .. }));
    assert!(!a.exists(), "a partial output was left behind");
    assert_eq!(fs::read(&b).unwrap(), b"theirs");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn bounded_read_refuses_directories_and_large_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_bounded(dir.path(), 10, "a key").unwrap_err();
    assert!(matches!(err, FileError::NotAFile { .. }));
    let big = dir.path().join("big");
    fs::write(&big, [0u8; 11]).unwrap();
    let err = read_bounded(&big, 10, "a key").unwrap_err();
    assert!(err.to_string().contains("larger than 10 bytes"), "{err}");
    assert_eq!(read_bounded(&big, 11, "a key").unwrap().len(), 11);
}

#[test]
fn bounded_read_refuses_a_huge_file_by_its_size_and_an_empty_one_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge");
    // Sparse: refused from its metadata, never read.
    File::create(&huge).unwrap().set_len(1 << 40).unwrap();
    let err = read_bounded(&huge, 1024, "a key").unwrap_err();
    assert!(matches!(err, FileError::TooLarge { .. }), "{err}");
    let blank = dir.path().join("blank");
    fs::write(&blank, " \n\t\r\n").unwrap();
    assert_eq!(read_bounded(&blank, 1024, "a key").unwrap().len(), 5);
    let err = read_bounded_nonempty(&blank, 1024, "a key").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: file is empty; expected a key", blank.display())
    );
    fs::write(&blank, "x").unwrap();
    assert_eq!(read_bounded_nonempty(&blank, 1024, "a key").unwrap(), b"x");
}

#[test]
fn streams_are_read_whole_up_to_one_byte_past_the_limit() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let all = read_to_end_wiped(&data[..], 1 << 20).unwrap();
    assert_eq!(all.as_slice(), data.as_slice());
    // Over the limit: limit + 1 bytes, so the caller can say "too large".
    let capped = read_to_end_wiped(&data[..], 70_000).unwrap();
    assert_eq!(capped.as_slice(), &data[..70_001]);
    assert!(read_to_end_wiped(&b""[..], 10).unwrap().is_empty());
}
