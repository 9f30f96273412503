//! Every refusal of `read_share`, fed the bad input it names.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{Map, Value};

use super::*;
use crate::exit_code::ExitCode;
use crate::keys::generate::{self_signed_certificate, GenerateOptions};
use crate::keys::PrivateKey;
use crate::primitives::jwe;
use crate::shares::{scheme::split, sealed, text};

fn custodian() -> WrappingKey {
    let pkey = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let options = GenerateOptions {
        bits: 2048,
        days: 30,
        subject: Vec::new(),
    };
    let cert = self_signed_certificate("carol", &pkey, &options).unwrap();
    WrappingKey {
        key_path: PathBuf::from("carol.key"),
        key: PrivateKey::generated(pkey).unwrap(),
        certificate: Some(cert),
        certificate_path: Some(PathBuf::from("carol.cer")),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn refused(path: &Path, keys: &[WrappingKey], needle: &str, code: ExitCode) {
    let err = read_share(path, keys).expect_err(needle);
    let message = err.to_string();
    assert!(message.contains(needle), "{message}");
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert_eq!(err.exit_code(), code, "{message}");
}

/// A JWE to carol's certificate with `header` fields and `plaintext`.
fn jwe_to(key: &WrappingKey, header: &[(&str, &str)], plaintext: &[u8]) -> String {
    let cert = key.certificate.as_ref().unwrap();
    let public = cert.public_key().to_openssl().unwrap();
    let extra: Map<String, Value> = header
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    jwe::encrypt_rsa_oaep256(plaintext, &public, &extra).unwrap()
}

#[test]
fn every_form_reads_back_and_says_which_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let key = custodian();
    let share = &split(b"secret", 2, 3).unwrap()[0];
    let record = share.encode();
    let paper = text::to_text(&record, &[]).unwrap();
    let compact = text::to_compact(&record);
    let sealed = sealed::seal(share, key.certificate.as_ref().unwrap()).unwrap();
    let cases = [
        ("a.share", record.to_vec(), Form::Binary),
        ("a.txt", paper.as_bytes().to_vec(), Form::Text),
        ("a.qr", compact.as_bytes().to_vec(), Form::Compact),
        ("a.jwe", sealed.as_bytes().to_vec(), Form::Sealed),
    ];
    for (name, bytes, form) in cases {
        let read =
            read_share(&write(dir.path(), name, &bytes), std::slice::from_ref(&key)).unwrap();
        assert_eq!(read.form, form, "{name}");
        assert_eq!(read.share.payload, share.payload, "{name}");
        assert_eq!(read.opened_with.is_some(), form == Form::Sealed, "{name}");
    }
}

#[test]
fn files_that_are_not_shares_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [custodian()];
    let binary = write(dir.path(), "photo.jpg", &[0xff, 0xd8, 0xff, 0xe0, 0x80]);
    refused(
        &binary,
        &keys,
        "is neither a binary share nor text",
        ExitCode::BadInput,
    );

    let compact = write(dir.path(), "scan.txt", b"SDCTL-SHARE:ABC!DEF");
    refused(
        &compact,
        &keys,
        "is not a valid QR share payload",
        ExitCode::BadInput,
    );

    // Lines that all check but spell something other than a share.
    let paper = text::to_text(b"not a share at all", &[]).unwrap();
    let paper = write(dir.path(), "paper.txt", paper.as_bytes());
    refused(
        &paper,
        &keys,
        "every line checks, but the share it spells is not an sdctl share",
        ExitCode::BadInput,
    );

    let prose = write(dir.path(), "notes.txt", b"remember to water the plants\n");
    refused(&prose, &keys, "line 1", ExitCode::BadInput);
}

#[test]
fn sealed_files_that_are_not_sealed_shares_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = custodian();
    let keys = std::slice::from_ref(&key);
    let share = split(b"secret", 2, 2).unwrap()[0].encode();

    let other_jwe = write(
        dir.path(),
        "other.jwe",
        jwe_to(&key, &[], &share).as_bytes(),
    );
    refused(
        &other_jwe,
        keys,
        "is a JWE but not a sealed sdctl share",
        ExitCode::BadInput,
    );

    let thumbprint = key.certificate.as_ref().unwrap().x5t_256();
    let header = [
        ("cty", sealed::CONTENT_TYPE),
        ("x5t#S256", thumbprint.as_str()),
    ];
    let junk = write(
        dir.path(),
        "junk.jwe",
        jwe_to(&key, &header, b"junk").as_bytes(),
    );
    refused(
        &junk,
        keys,
        "opens, but holds no valid share",
        ExitCode::BadInput,
    );

    let broken = write(dir.path(), "broken.jwe", b"eyJhbGciOi.x.y.z.w");
    refused(
        &broken,
        keys,
        "is not a valid sealed share",
        ExitCode::BadInput,
    );

    let good = write(
        dir.path(),
        "good.jwe",
        jwe_to(&key, &header, &share).as_bytes(),
    );
    refused(
        &good,
        &[],
        "give that custodian's key with --keys",
        ExitCode::BadInput,
    );
    let stranger = custodian();
    refused(
        &good,
        std::slice::from_ref(&stranger),
        "none of the keys given opens it",
        ExitCode::Crypto,
    );
}

#[test]
fn more_than_255_files_are_refused_before_any_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // None of these files exists: a refusal that read one would say "cannot read".
    let paths: Vec<PathBuf> = (0..256).map(|i| dir.path().join(format!("s{i}"))).collect();
    let err = combine_files(&paths, &[]).expect_err("too many");
    assert!(err.to_string().contains("at most 255"), "{err}");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    let err = combine_files(&paths[..255], &[]).expect_err("missing files");
    assert!(err.to_string().contains("s0"), "{err}");
}

#[test]
fn shares_carrying_more_than_the_total_cap_are_refused_at_the_file_that_goes_over() {
    use crate::shares::format::{MAX_SECRET_LEN, NONCE_LEN};
    use crate::shares::scheme::MAX_TOTAL_PAYLOAD;
    // The cap holds the shares of the largest secret at a threshold of 16.
    assert_eq!(MAX_TOTAL_PAYLOAD, 16 * (NONCE_LEN + MAX_SECRET_LEN));
    // The same check at a small cap: three shares of a 100-byte secret reach a cap of three
    // payloads exactly; the fourth file goes over and is named.
    let dir = tempfile::tempdir().unwrap();
    let shares = split(&[0x42; 100], 2, 5).unwrap();
    let paths: Vec<PathBuf> = shares
        .iter()
        .map(|s| write(dir.path(), &format!("s{}.share", s.index), &s.encode()))
        .collect();
    let cap = 3 * (NONCE_LEN + 100);
    assert_eq!(read_all(&paths[..3], &[], cap).unwrap().len(), 3);
    let err = read_all(&paths[..4], &[], cap).expect_err("over the cap");
    let message = err.to_string();
    assert!(
        message.starts_with(&paths[3].display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&format!("more than {cap} bytes together")),
        "{message}"
    );
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    let err = read_all(&paths[..4], &[], cap + 1).expect_err("still over");
    assert!(
        err.to_string().starts_with(&paths[3].display().to_string()),
        "{err}"
    );
    assert_eq!(
        read_all(&paths[..4], &[], cap + NONCE_LEN + 100)
            .unwrap()
            .len(),
        4
    );
}
