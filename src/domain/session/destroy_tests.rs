use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::domain::session::test_support::{code, new_pkey, options, session};
use crate::exit_code::ExitCode;
use crate::keys::generate::self_signed_certificate;

#[test]
fn destroy_refuses_what_is_not_a_session_key() {
    let dir = tempfile::tempdir().unwrap();
    // A custodian's unencrypted key with its certificate beside it.
    let pkey = new_pkey();
    let cert = self_signed_certificate("alice", &pkey, &options()).unwrap();
    let key_path = dir.path().join("alice.key");
    fs::write(&key_path, pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
    fs::write(dir.path().join("alice.cer"), cert.to_pem()).unwrap();
    let e = destroy_session_key(&key_path).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(e.to_string().contains("may be a custodian's key"), "{e}");
    assert!(key_path.exists());
    // A certificate is not a key; a missing file is reported.
    let e = destroy_session_key(&dir.path().join("alice.cer")).unwrap_err();
    assert!(e.to_string().contains("not a session key"), "{e}");
    let e = destroy_session_key(&dir.path().join("none.key")).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    // A link to a session key is refused; the key itself is not touched.
    let s = session();
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(&s.key.key_path, &link).unwrap();
    let e = destroy_session_key(&link).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(s.key.key_path.exists());
}

#[test]
fn a_failure_says_the_session_key_was_kept() {
    let s = session();
    let failure = crate::Error::Domain(DomainError::TooFewExports {
        path: PathBuf::from("sd.json"),
        given: 1,
        required: 2,
    });
    let noted = note_session_kept(failure, &s.key.key_path);
    assert_eq!(noted.exit_code(), ExitCode::BadInput);
    let text = noted.to_string();
    assert!(
        text.starts_with("sd.json: the exports given hold 1"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "the session key {} was kept",
            s.key.key_path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("sdctl sd session destroy --session-key"),
        "{text}"
    );
    // Noted once only; nothing to note once the key is gone.
    let twice = note_session_kept(noted, &s.key.key_path);
    assert_eq!(twice.to_string(), text);
    let gone = note_session_kept(
        crate::Error::Domain(DomainError::Usage("x".into())),
        Path::new("/nonexistent/session.key"),
    );
    assert_eq!(gone.to_string(), "x");
}
