//! Process and memory hygiene of the library types.

use sdctl::passphrase::Passphrase;

#[test]
fn core_dumps_are_disabled_for_the_process() {
    // This test binary is its own process: disabling core dumps here affects nothing else.
    sdctl::process::disable_core_dumps().expect("setrlimit/prctl");
    assert!(sdctl::process::core_dumps_disabled());
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        assert_eq!(dumpable, 0, "process is still dumpable");
    }
}

#[test]
fn passphrase_is_redacted_in_debug_output() {
    let p = Passphrase::new("correct horse battery staple".into());
    let shown = format!("{p:?} {:?}", vec![p.clone()]);
    assert!(!shown.contains("horse"), "{shown}");
}

#[test]
fn error_messages_never_carry_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2 hunter2 hunter2";
    let file = dir.path().join("p.txt");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let src = sdctl::passphrase::PassphraseSource::File(
        sdctl::passphrase::PassphraseFile::read(&file).unwrap(),
    );
    // A file that is not a key, and a key file that does not exist.
    let junk = dir.path().join("junk.key");
    std::fs::write(
        &junk,
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    for path in [junk, dir.path().join("missing.key")] {
        let err = sdctl::keys::load_wrapping_key(&path, 0, &src).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }
}
