//! The loaders never panic on damaged input: real files made by openssl, with random bytes
//! changed or cut short, either load or fail with a typed error.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::Fixture;
use proptest::prelude::*;
use sdctl::keys::KeyFile;
use sdctl::passphrase::{PassphraseFile, PassphraseSource};

/// Real files, made once: (name, bytes).
fn samples() -> &'static Vec<(String, Vec<u8>)> {
    static SAMPLES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let fx = Fixture::new();
        fx.openssl_custodian("k", 2048);
        fx.pass_file("p.txt", &["robust passphrase"]);
        fx.pkcs8_encrypt("k.key", "p.txt", "enc.key", &["-v2", "aes-256-cbc"]);
        fx.pkcs8_encrypt(
            "k.key",
            "p.txt",
            "enc.der",
            &["-v2", "aes-256-cbc", "-outform", "DER"],
        );
        fx.genrsa_legacy("p.txt", "legacy.key");
        fx.openssl(&["x509", "-in", "k.cer", "-outform", "DER", "-out", "k.der"]);
        fx.pkcs12_export("k.key", "k.cer", "p.txt", "k.pfx", &[]);
        [
            "k.key",
            "k.cer",
            "enc.key",
            "enc.der",
            "legacy.key",
            "k.der",
            "k.pfx",
        ]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(fx.path(n)).unwrap()))
        .collect()
    })
}

fn load_damaged(name: &str, bytes: &[u8]) {
    // A directory of its own, so no damaged file from another case sits beside this one.
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("p.txt");
    std::fs::write(&pass, "robust passphrase\n").unwrap();
    let path = dir.path().join(name);
    let _ = KeyFile::parse(Path::new(name), bytes);
    std::fs::write(&path, bytes).unwrap();
    let source = PassphraseSource::File(PassphraseFile::read(&pass).unwrap());
    if let Err(e) = sdctl::keys::load_wrapping_key(&path, 0, &source) {
        let msg = e.to_string();
        assert!(msg.contains(name), "error does not name the file: {msg}");
        assert!(!msg.contains("robust passphrase"));
    }
    let _ = sdctl::keys::inspect::inspect_file(&path, std::time::SystemTime::now());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn changed_bytes_never_panic(which in 0usize..7, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let (name, original) = &samples()[which];
        let mut bytes = original.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        load_damaged(name, &bytes);
    }

    #[test]
    fn truncation_never_panics(which in 0usize..7, keep in any::<prop::sample::Index>()) {
        let (name, original) = &samples()[which];
        let cut = keep.index(original.len());
        load_damaged(name, &original[..cut]);
    }
}

#[test]
fn undamaged_samples_load() {
    for (name, bytes) in samples() {
        let file = KeyFile::parse(Path::new(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!file.items.is_empty(), "{name}");
    }
}
