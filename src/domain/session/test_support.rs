//! Helpers shared by the session tests: three custodians, their 2-of-3 security domain,
//! a session made on disk, and a custodian's export sealed to it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use sha2::{Digest, Sha256};

use super::{create_session, export_share, ExportFile};
use crate::domain::hsm::make_security_domain;
use crate::domain::model::{hex, SdFile, SecurityDomain};
use crate::domain::DomainError;
use crate::exit_code::ExitCode;
use crate::keys::generate::{self_signed_certificate, GenerateOptions};
use crate::keys::{load_wrapping_key, Certificate, PrivateKey, WrappingKey};
use crate::passphrase::PassphraseSource;

const STATE: [(&str, &[u8]); 2] = [
    ("mhsm-config", b"partition config"),
    ("mhsm-keys", &[9; 700]),
];

pub(super) fn options() -> GenerateOptions {
    GenerateOptions {
        bits: 2048,
        days: 30,
        subject: Vec::new(),
    }
}

pub(super) fn new_pkey() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

/// Three custodians' keys, with their certificates, made once for every test.
pub(super) fn custodians() -> &'static [WrappingKey] {
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

pub(super) fn certs() -> Vec<Certificate> {
    custodians()
        .iter()
        .map(|k| k.certificate.clone().unwrap())
        .collect()
}

pub(super) fn state() -> Vec<(String, Vec<u8>)> {
    STATE
        .iter()
        .map(|(t, p)| (t.to_string(), p.to_vec()))
        .collect()
}

pub(super) fn sd_file(name: &str, domain: SecurityDomain) -> SdFile {
    let json = domain.to_json().unwrap();
    SdFile {
        path: PathBuf::from(name),
        sha256: hex(&Sha256::digest(json.as_bytes())),
        wrapped: false,
        domain,
    }
}

/// A 2-of-3 security domain for the custodians.
pub(super) fn domain(name: &str) -> SdFile {
    sd_file(name, make_security_domain(&certs(), 2, &state()).unwrap())
}

/// A session made on disk, and its key loaded as the CLI loads it.
pub(super) struct TestSession {
    pub(super) dir: tempfile::TempDir,
    pub(super) key: WrappingKey,
    pub(super) cert: Certificate,
    pub(super) cert_path: PathBuf,
}

pub(super) fn session() -> TestSession {
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
pub(super) fn export(file: &SdFile, i: usize, s: &TestSession) -> ExportFile {
    let sealed = export_share(file, &custodians()[i], &s.cert, &s.cert_path).unwrap();
    ExportFile::parse(Path::new(&format!("c{i}.jwe")), sealed.jwe.as_bytes()).unwrap()
}

pub(super) fn code(e: &DomainError) -> ExitCode {
    e.exit_code()
}
