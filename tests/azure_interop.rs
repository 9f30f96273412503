//! Interop with independent implementations, run offline from the harness in
//! tests/interop/ (a venv with the pinned Azure CLI and jwcrypto, made on first use):
//! - compact JWE cross-checked with Python jwcrypto, both directions, `dir` and RSA-OAEP-256;
//! - an SD made by sdctl's HSM-side code is turned into restore blobs by both
//!   `az keyvault security-domain restore-blob` and `sdctl sd restore-blob`; both open (HSM
//!   side) to the same plaintexts and are laid out alike; az accepts an SD from `sd rewrap`.

mod common;

use std::process::{Command, Stdio};

use common::interop::{az_restore_blob, repo_file, venv};
use common::Fixture;
use sdctl::primitives::jwe::{self, CompactJwe};

/// Runs jwe_check.py with `args` in the fixture directory; returns success.
fn jwcrypto(fx: &Fixture, args: &[&str]) -> bool {
    let out = Command::new(venv().join("bin/python"))
        .arg(repo_file("tests/interop/jwe_check.py"))
        .args(args)
        .current_dir(fx.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "jwe_check {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

#[test]
fn jwe_cross_checked_with_jwcrypto() {
    let fx = Fixture::new();
    fx.openssl_custodian("r", 2048);
    let mut key = vec![0u8; 64];
    openssl::rand::rand_bytes(&mut key).unwrap();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(fx.path("dir.hex"), &hex).unwrap();
    let mut plaintext = vec![0u8; 1000];
    openssl::rand::rand_bytes(&mut plaintext).unwrap();
    std::fs::write(fx.path("plain.bin"), &plaintext).unwrap();

    // sdctl encrypts, jwcrypto decrypts.
    std::fs::write(
        fx.path("ours-dir.jwe"),
        jwe::encrypt_dir(&plaintext, &key, Some("t")).unwrap(),
    )
    .unwrap();
    assert!(jwcrypto(
        &fx,
        &[
            "decrypt",
            "--dir-key-hex-file",
            "dir.hex",
            "--in",
            "ours-dir.jwe",
            "--out",
            "a.bin"
        ]
    ));
    assert_eq!(std::fs::read(fx.path("a.bin")).unwrap(), plaintext);
    let cert = sdctl::keys::load_certificate(&fx.path("r.cer")).unwrap();
    let public = cert.public_key().to_openssl().unwrap();
    let ours_rsa = jwe::encrypt_rsa_oaep256(&plaintext, &public, &Default::default()).unwrap();
    std::fs::write(fx.path("ours-rsa.jwe"), ours_rsa).unwrap();
    assert!(jwcrypto(
        &fx,
        &[
            "decrypt",
            "--key",
            "r.key",
            "--in",
            "ours-rsa.jwe",
            "--out",
            "b.bin"
        ]
    ));
    assert_eq!(std::fs::read(fx.path("b.bin")).unwrap(), plaintext);

    // jwcrypto encrypts, sdctl decrypts.
    assert!(jwcrypto(
        &fx,
        &[
            "encrypt",
            "--dir-key-hex-file",
            "dir.hex",
            "--alg",
            "dir",
            "--in",
            "plain.bin",
            "--out",
            "theirs-dir.jwe"
        ]
    ));
    let theirs =
        CompactJwe::parse(&std::fs::read_to_string(fx.path("theirs-dir.jwe")).unwrap()).unwrap();
    assert_eq!(&*theirs.decrypt_dir(&key).unwrap(), &plaintext[..]);
    assert!(jwcrypto(
        &fx,
        &[
            "encrypt",
            "--cert",
            "r.cer",
            "--alg",
            "RSA-OAEP-256",
            "--in",
            "plain.bin",
            "--out",
            "theirs-rsa.jwe"
        ]
    ));
    let private =
        openssl::pkey::PKey::private_key_from_pem(&std::fs::read(fx.path("r.key")).unwrap())
            .unwrap();
    let theirs =
        CompactJwe::parse(&std::fs::read_to_string(fx.path("theirs-rsa.jwe")).unwrap()).unwrap();
    assert_eq!(&*theirs.decrypt_rsa(&private).unwrap(), &plaintext[..]);

    // A tampered tag is refused by both.
    let tampered = common::tamper_jwe(
        &std::fs::read_to_string(fx.path("ours-dir.jwe")).unwrap(),
        4,
    );
    std::fs::write(fx.path("bad.jwe"), &tampered).unwrap();
    assert!(!jwcrypto(
        &fx,
        &[
            "decrypt",
            "--dir-key-hex-file",
            "dir.hex",
            "--in",
            "bad.jwe",
            "--out",
            "c.bin"
        ]
    ));
    assert!(CompactJwe::parse(&tampered)
        .unwrap()
        .decrypt_dir(&key)
        .is_err());
}

fn open_blob(fx: &Fixture, blob: &str) -> Vec<(String, Vec<u8>)> {
    let key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(fx.path("x.key")).unwrap())
        .unwrap();
    let bytes = std::fs::read(fx.path(blob)).unwrap();
    sdctl::domain::hsm::open_restore_blob(&fx.path(blob), &bytes, &key)
        .unwrap_or_else(|e| panic!("{blob}: {e}"))
        .into_iter()
        .map(|d| (d.tag, d.plaintext.to_vec()))
        .collect()
}

/// The blob's text with every JWE replaced by a placeholder: what is left is the layout.
fn layout(fx: &Fixture, blob: &str) -> String {
    let text = std::fs::read_to_string(fx.path(blob)).unwrap();
    let mut out = String::new();
    for (i, piece) in text.split('"').enumerate() {
        let is_jwe = i % 2 == 1 && piece.matches('.').count() == 4 && piece.len() > 60;
        out.push_str(if is_jwe { "JWE" } else { piece });
        out.push('"');
    }
    out
}

#[test]
fn az_and_sdctl_restore_blobs_agree() {
    let fx = Fixture::new();
    for n in ["a", "b", "c", "x"] {
        fx.openssl_custodian(n, 2048);
    }
    let state = fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    az_restore_blob(&fx, "sd.json", "x.cer", &["c.key", "a.key"], "az-blob.json");
    let run = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key x.cer --sd-wrapping-keys c.key a.key --sd-file-restore-blob our-blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(open_blob(&fx, "az-blob.json"), state);
    assert_eq!(open_blob(&fx, "our-blob.json"), state);
    assert_eq!(
        layout(&fx, "our-blob.json"),
        layout(&fx, "az-blob.json"),
        "restore blob layout differs from az's"
    );
    let (ours, theirs) = (fx.read_json("our-blob.json"), fx.read_json("az-blob.json"));
    assert_eq!(
        ours["WrappedKey"]["x5t_256"],
        theirs["WrappedKey"]["x5t_256"]
    );
    let header = |v: &serde_json::Value| {
        CompactJwe::parse(v["WrappedKey"]["enc_key"].as_str().unwrap())
            .unwrap()
            .header()
            .clone()
    };
    assert_eq!(header(&ours), header(&theirs));
}

#[test]
fn az_accepts_an_sd_written_by_rewrap() {
    let fx = Fixture::new();
    for n in ["a", "b", "c", "d", "e", "x"] {
        fx.openssl_custodian(n, 2048);
    }
    let state = fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    let run = fx.run("sd rewrap --sd-file sd.json --sd-wrapping-keys a.key b.key --new-wrapping-keys c.cer d.cer e.cer --new-quorum 3 --out new.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    az_restore_blob(
        &fx,
        "new.json",
        "x.cer",
        &["e.key", "d.key", "c.key"],
        "az-blob.json",
    );
    assert_eq!(open_blob(&fx, "az-blob.json"), state);
}
