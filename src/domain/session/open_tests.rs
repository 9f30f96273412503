use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::domain::exchange::read_exchange_key;
use crate::domain::hsm::open_restore_blob;
use crate::domain::session::export_share;
use crate::domain::session::test_support::{
    certs, code, custodians, domain, export, new_pkey, options, session, state, TestSession,
};
use crate::domain::unlock;
use crate::exit_code::ExitCode;
use crate::keys::generate::self_signed_certificate;
use crate::keys::load_wrapping_key;
use crate::passphrase::PassphraseSource;
use crate::primitives::base64url;

fn jwe_text(file: &SdFile, i: usize, s: &TestSession) -> String {
    export_share(file, &custodians()[i], &s.cert, &s.cert_path)
        .unwrap()
        .jwe
}

fn parse(text: &str) -> Result<ExportFile, DomainError> {
    ExportFile::parse(Path::new("x.jwe"), text.as_bytes())
}

fn header_of(text: &str) -> Value {
    serde_json::from_slice(&base64url::decode(text.split('.').next().unwrap()).unwrap()).unwrap()
}

fn with_header(text: &str, header: &Value) -> String {
    let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    parts[0] = base64url::encode(&serde_json::to_vec(header).unwrap());
    parts.join(".")
}

fn flip(text: &str, part: usize) -> String {
    let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    let mut bytes = base64url::decode(&parts[part]).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    parts[part] = base64url::encode(&bytes);
    parts.join(".")
}

#[test]
fn exports_round_trip_to_the_same_master_key_and_restore_blob() {
    let sd = domain("sd.json");
    let s = session();
    let exports: Vec<ExportFile> = (0..3).map(|i| export(&sd, i, &s)).collect();

    // The header records the share, the session and this SD.
    let text = jwe_text(&sd, 1, &s);
    let header = header_of(&text);
    assert_eq!(header["cty"], CONTENT_TYPE);
    assert_eq!(header["alg"], "RSA-OAEP-256");
    assert_eq!(header["enc"], "A256CBC-HS512");
    assert_eq!(header["x5t#S256"], s.cert.x5t_256());
    let claim = &header[CLAIM_HEADER];
    assert_eq!(claim["location"], "SharedKeys.enc_shares[1]");
    assert_eq!(claim["x5t_256"], certs()[1].x5t_256());
    let shares = sd.domain.shares();
    assert_eq!(claim["enc_key_sha256"], enc_key_sha256(shares[1].1));
    assert_eq!(claim["sd_sha256"], sd.sha256);

    let by_keys = unlock::unlock(&sd.path, &sd.domain, custodians()).unwrap();
    for order in [[0usize, 1, 2], [2, 0, 1], [1, 2, 0]] {
        let chosen: Vec<ExportFile> = order.iter().map(|&i| export(&sd, i, &s)).collect();
        let unlocked = open_exports(&sd, &s.key, &chosen).unwrap();
        assert_eq!(unlocked.master_key, by_keys.master_key);
        assert_eq!(unlocked.used.len(), 2);
        assert_eq!(unlocked.matches.len(), 3);
    }

    let report = verify_exports(&sd, &s.key, &exports).unwrap();
    assert!(report.verified);
    assert_eq!(report.data.len(), 2);
    assert_eq!(report.custodians_used[0].key, PathBuf::from("c0.jwe"));
    assert_eq!(
        report.custodians_used[1].location,
        "SharedKeys.enc_shares[1]"
    );
    assert!(report
        .keys
        .iter()
        .all(|m| m.matched_by == MatchedBy::SessionExport));

    // The restore blob opens on the HSM side with the exchange key.
    let exchange_key = new_pkey();
    let exchange_cert = self_signed_certificate("exchange", &exchange_key, &options()).unwrap();
    let exchange_path = s.dir.path().join("exchange.cer");
    fs::write(&exchange_path, exchange_cert.to_pem()).unwrap();
    let exchange = read_exchange_key(&exchange_path).unwrap();
    let (blob, unlocked) =
        restore_blob_from_exports(&sd, &s.key, &exports[1..], &exchange).unwrap();
    assert_eq!(unlocked.used[0].key, PathBuf::from("c1.jwe"));
    let opened = open_restore_blob(
        Path::new("blob.json"),
        blob.to_json().unwrap().as_bytes(),
        &exchange_key,
    )
    .unwrap();
    let got: Vec<(String, Vec<u8>)> = opened
        .iter()
        .map(|d| (d.tag.clone(), d.plaintext.to_vec()))
        .collect();
    assert_eq!(got, state());
}

#[test]
fn an_export_of_another_security_domain_is_refused() {
    let sd = domain("sd.json");
    let other = domain("other.json");
    let s = session();
    let exports = [export(&other, 0, &s), export(&sd, 1, &s)];
    let e = open_exports(&sd, &s.key, &exports).unwrap_err();
    assert_eq!(code(&e), ExitCode::Crypto);
    let text = e.to_string();
    assert!(
        text.contains("c0.jwe: exported from a different security domain than sd.json"),
        "{text}"
    );
    assert!(text.contains(&sd.sha256), "{text}");
}

#[test]
fn duplicate_and_too_few_exports_are_refused() {
    let sd = domain("sd.json");
    let s = session();
    let a = jwe_text(&sd, 0, &s);
    let exports = [
        export(&sd, 1, &s),
        ExportFile::parse(Path::new("a.jwe"), a.as_bytes()).unwrap(),
        ExportFile::parse(Path::new("a-again.jwe"), a.as_bytes()).unwrap(),
    ];
    let e = open_exports(&sd, &s.key, &exports).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(
        e.to_string().contains(
            "a.jwe and a-again.jwe are exports of the same share (SharedKeys.enc_shares[0])"
        ),
        "{e}"
    );
    // Two exports of the same custodian made one after the other are the same share too.
    let exports = [export(&sd, 2, &s), export(&sd, 2, &s)];
    let e = open_exports(&sd, &s.key, &exports).unwrap_err();
    assert!(matches!(e, DomainError::DuplicateExport { .. }), "{e}");

    let e = open_exports(&sd, &s.key, &exports[..1]).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(
        e.to_string()
            .contains("hold 1 share(s) but the quorum is 2; collect 1 more"),
        "{e}"
    );
    let e = open_exports(&sd, &s.key, &[]).unwrap_err();
    assert!(e.to_string().contains("collect 2 more"), "{e}");
}

#[test]
fn a_tampered_export_is_refused() {
    let sd = domain("sd.json");
    let s = session();
    let good = jwe_text(&sd, 0, &s);
    let other = export(&sd, 1, &s);
    let open = |text: &str| match parse(text) {
        Ok(export) => open_exports(&sd, &s.key, &[export, export_again(&other)]).map(drop),
        Err(e) => Err(e),
    };
    assert!(open(&good).is_ok());

    // Ciphertext, IV, tag or wrapped key changed: it does not authenticate (exit 3).
    for part in [1, 2, 3, 4] {
        let e = open(&flip(&good, part)).unwrap_err();
        assert_eq!(code(&e), ExitCode::Crypto, "part {part}: {e}");
        assert!(matches!(e, DomainError::ExportUnopened { .. }), "{e}");
    }

    // A header rewritten to claim another share is authenticated data: exit 3.
    let mut header = header_of(&good);
    header[CLAIM_HEADER]["location"] = Value::from("SharedKeys.enc_shares[2]");
    header[CLAIM_HEADER]["x5t_256"] = Value::from(certs()[2].x5t_256());
    let e = open(&with_header(&good, &header)).unwrap_err();
    assert!(matches!(e, DomainError::ExportUnopened { .. }), "{e}");
    assert_eq!(code(&e), ExitCode::Crypto);

    // A header that is not a share export's, or not JSON: bad input (exit 2).
    let mut header = header_of(&good);
    header["cty"] = Value::from("JWT");
    let e = open(&with_header(&good, &header)).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(e.to_string().contains("not an sdctl share export"), "{e}");
    let mut parts: Vec<&str> = good.split('.').collect();
    parts[0] = "bm90IGpzb24";
    let e = open(&parts.join(".")).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    for junk in ["", "   \n", "a.b.c", "\u{0}\u{1}"] {
        assert_eq!(
            code(&open(junk).unwrap_err()),
            ExitCode::BadInput,
            "{junk:?}"
        );
    }
    let e = ExportFile::parse(Path::new("bin.jwe"), &[0xff, 0xfe])
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::BadInput);
}

fn export_again(e: &ExportFile) -> ExportFile {
    ExportFile {
        path: e.path.clone(),
        jwe: e.jwe.clone(),
    }
}

#[test]
fn the_wrong_session_key_is_refused() {
    let sd = domain("sd.json");
    let (a, b) = (session(), session());
    let exports = [export(&sd, 0, &a), export(&sd, 1, &a)];
    let e = open_exports(&sd, &b.key, &exports).unwrap_err();
    assert_eq!(code(&e), ExitCode::Crypto);
    assert!(
        e.to_string()
            .contains("sealed to another session certificate"),
        "{e}"
    );
    assert!(e.to_string().contains(&a.cert.x5t_256()), "{e}");

    // A header forged to name session B still does not open with B's key.
    let mut header = header_of(&jwe_text(&sd, 0, &a));
    header["x5t#S256"] = Value::from(b.cert.x5t_256());
    let forged = parse(&with_header(&jwe_text(&sd, 0, &a), &header)).unwrap();
    let e = open_exports(&sd, &b.key, &[forged, export(&sd, 1, &b)]).unwrap_err();
    assert!(matches!(e, DomainError::ExportUnopened { .. }), "{e}");

    // A session key whose certificate is not beside it cannot tell which exports are its.
    let mut bare = load_wrapping_key(&a.key.key_path, 0, &PassphraseSource::Unavailable).unwrap();
    bare.certificate = None;
    bare.certificate_path = None;
    let e = open_exports(&sd, &bare, &exports).unwrap_err();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(
        e.to_string()
            .contains("no certificate beside the session key"),
        "{e}"
    );
}
