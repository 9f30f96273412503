use std::fs;
use std::path::Path;
use std::time::SystemTime;

use super::*;
use crate::domain::session::finish_session;
use crate::domain::session::test_support::{code, session};
use crate::exit_code::ExitCode;

#[test]
fn a_session_is_made_atomically_and_destroyed_after_use() {
    let s = session();
    let dir = s.dir.path().join("session");
    let (key_path, cert_path) = session_paths(&dir);
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert!(fs::read_to_string(&key_path)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(is_session_certificate(&s.cert));
    let days = s.cert.days_left(SystemTime::now());
    assert!((1..=2).contains(&days), "{days}");

    // Existing files are refused without force and left as they were.
    let before = fs::read(&key_path).unwrap();
    let e = create_session(&dir, 2048, false).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert_eq!(fs::read(&key_path).unwrap(), before);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    assert_eq!(
        code(&create_session(&s.dir.path().join("x"), 1024, false).unwrap_err()),
        ExitCode::BadInput
    );

    let kept = finish_session(&key_path, true);
    assert!(!kept.destroyed && key_path.exists());
    let state = finish_session(&key_path, false);
    assert!(state.destroyed, "{:?}", state.kept_because);
    assert!(!key_path.exists());
    assert!(cert_path.exists());
    let again = finish_session(&key_path, false);
    assert!(!again.destroyed);
    assert!(again
        .kept_because
        .unwrap()
        .contains("could not be destroyed"));
}
