use std::sync::OnceLock;

use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use serde_json::Value;

use super::*;
use crate::domain::exchange::read_exchange_key;
use crate::domain::hsm::{make_security_domain, open_restore_blob};
use crate::domain::model::{hex, SecurityDomain, SplitKeys, SplitPair};
use crate::error::ExitCode;
use crate::keys::{load_wrapping_key, PrivateKey};
use crate::passphrase::PassphraseSource;

const STATE: [(&str, &[u8]); 2] = [
    ("mhsm-config", b"partition config"),
    ("mhsm-keys", &[9; 700]),
];

fn options() -> GenerateOptions {
    GenerateOptions {
        bits: 2048,
        days: 30,
        subject: Vec::new(),
    }
}

fn new_pkey() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

/// Three custodians' keys, with their certificates, made once for every test.
fn custodians() -> &'static [WrappingKey] {
    static KEYS: OnceLock<Vec<WrappingKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..3)
            .map(|i| {
                let pkey = new_pkey();
                let cert =
                    self_signed_certificate(&format!("custodian{i}"), &pkey, &options()).unwrap();
                WrappingKey {
                    key_path: PathBuf::from(format!("custodian{i}.key")),
                    key: PrivateKey::generated(pkey).unwrap(),
                    certificate: Some(cert),
                    certificate_path: Some(PathBuf::from(format!("custodian{i}.cer"))),
                }
            })
            .collect()
    })
}

fn certs() -> Vec<Certificate> {
    custodians()
        .iter()
        .map(|k| k.certificate.clone().unwrap())
        .collect()
}

fn state() -> Vec<(String, Vec<u8>)> {
    STATE
        .iter()
        .map(|(t, p)| (t.to_string(), p.to_vec()))
        .collect()
}

fn sd_file(name: &str, domain: SecurityDomain) -> SdFile {
    let json = domain.to_json().unwrap();
    SdFile {
        path: PathBuf::from(name),
        sha256: hex(&Sha256::digest(json.as_bytes())),
        wrapped: false,
        domain,
    }
}

/// A 2-of-3 security domain for the custodians.
fn domain(name: &str) -> SdFile {
    sd_file(name, make_security_domain(&certs(), 2, &state()).unwrap())
}

/// A session made on disk, and its key loaded as the CLI loads it.
struct TestSession {
    dir: tempfile::TempDir,
    key: WrappingKey,
    cert: Certificate,
    cert_path: PathBuf,
}

fn session() -> TestSession {
    let dir = tempfile::tempdir().unwrap();
    let report = create_session(&dir.path().join("session"), 2048, false).unwrap();
    let key = load_wrapping_key(
        Path::new(&report.session_key),
        0,
        &PassphraseSource::Unavailable,
    )
    .unwrap();
    let cert = key.certificate.clone().unwrap();
    TestSession {
        dir,
        key,
        cert,
        cert_path: PathBuf::from(report.session_certificate),
    }
}

/// Custodian `i`'s export of their share of `file`, sealed to `s`.
fn export(file: &SdFile, i: usize, s: &TestSession) -> ExportFile {
    let sealed = export_share(file, &custodians()[i], &s.cert, &s.cert_path).unwrap();
    ExportFile::parse(Path::new(&format!("c{i}.jwe")), sealed.jwe.as_bytes()).unwrap()
}

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

fn code(e: &DomainError) -> ExitCode {
    e.exit_code()
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

#[test]
fn a_version_1_security_domain_is_refused() {
    let v2 = domain("v2.json");
    let shares = v2.domain.shares();
    let half = |i: usize| shares[i].1.clone();
    let v1 = SecurityDomain {
        version: 1,
        enc_data: v2.domain.enc_data.clone(),
        split: KeySplit::Xor(SplitKeys {
            key_algorithm: crate::domain::model::XOR_SPLIT.into(),
            keys: vec![SplitPair {
                key1: half(0),
                key2: half(1),
                other: Map::new(),
            }],
            other: Map::new(),
        }),
        other: Map::new(),
    };
    let v1 = sd_file("v1.json", v1);
    let s = session();
    let e = export_share(&v1, &custodians()[0], &s.cert, &s.cert_path)
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(
        e.to_string()
            .starts_with("v1.json: a version 1 (xor_split)"),
        "{e}"
    );
    assert!(e.to_string().contains("--sd-wrapping-keys"), "{e}");
    let exports = [export(&v2, 0, &s), export(&v2, 1, &s)];
    let e = open_exports(&v1, &s.key, &exports).unwrap_err();
    assert!(matches!(e, DomainError::NeedsVersion2 { .. }), "{e}");
}

#[test]
fn export_refuses_a_custodian_certificate_and_a_share_that_is_not_one() {
    let sd = domain("sd.json");
    let custodian = &custodians()[0];
    let own = custodian.certificate.clone().unwrap();
    let e = export_share(&sd, custodian, &own, Path::new("custodian0.cer"))
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(e.to_string().contains("not a session certificate"), "{e}");

    // A share that decrypts but is not a GF(257) share is never exported.
    let mut broken = sd.domain.clone();
    if let KeySplit::Shamir(shared) = &mut broken.split {
        let public = own.public_key().to_openssl().unwrap();
        shared.enc_shares[0].enc_key =
            jwe::encrypt_rsa_oaep256(&[0, 0, 0], &public, &Map::new()).unwrap();
    }
    let broken = sd_file("broken.json", broken);
    let s = session();
    let e = export_share(&broken, custodian, &s.cert, &s.cert_path)
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::Crypto);
    assert!(e.to_string().contains("is not a valid share"), "{e}");
}

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
