//! Process and memory hygiene of the library types: core dumps off, passphrases redacted
//! and never in error messages, and encrypted keys opened through OpenSSL's passphrase
//! callback (no copy of the passphrase of our own), whatever the passphrase's length.

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

/// An encrypted key opens with its passphrase, as PEM and as DER, and refuses a wrong one
/// or one longer than OpenSSL's passphrase buffer as a wrong passphrase (never a crash).
#[test]
fn encrypted_keys_open_through_the_passphrase_callback() {
    use openssl::pkey::PKey;
    use openssl::symm::Cipher;
    use sdctl::keys::{load_wrapping_key, KeyError};
    use sdctl::passphrase::{PassphraseFile, PassphraseSource};

    let dir = tempfile::tempdir().unwrap();
    let right = "correct horse battery staple";
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let key = PKey::from_rsa(rsa).unwrap();
    let pem = key
        .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), right.as_bytes())
        .unwrap();
    let der = key
        .private_key_to_pkcs8_passphrase(Cipher::aes_256_cbc(), right.as_bytes())
        .unwrap();
    std::fs::write(dir.path().join("k.pem"), pem).unwrap();
    std::fs::write(dir.path().join("k.der"), der).unwrap();
    let source = |line: &str| {
        let file = dir.path().join("p.txt");
        std::fs::write(&file, format!("{line}\n")).unwrap();
        PassphraseSource::File(PassphraseFile::read(&file).unwrap())
    };
    let long = "x".repeat(5000);
    for name in ["k.pem", "k.der"] {
        let path = dir.path().join(name);
        let opened = load_wrapping_key(&path, 0, &source(right)).expect(name);
        assert!(
            opened.key.openssl().unwrap().public_eq(&key),
            "{name}: the same key"
        );
        for wrong in ["correct horse battery stapler", long.as_str()] {
            let err = load_wrapping_key(&path, 0, &source(wrong)).unwrap_err();
            assert!(
                matches!(err, KeyError::WrongPassphrase { .. }),
                "{name}: {err}"
            );
        }
    }
}
