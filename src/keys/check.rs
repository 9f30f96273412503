//! `keys check`: the preflight before an activation. Every certificate must be RSA of at
//! least 2048 bits, valid, and carry a key no other certificate carries; there must be 3
//! to 10 of them; and every private key given must open and match one of them.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::certificate::Certificate;
use super::generate::{MAX_CUSTODIANS, MIN_CUSTODIANS};
use super::private::{find_certificate_beside, load_token_key, open_private_key};
use super::public::KeyInfo;
use super::token::{self, TokenAccess, TokenError};
use super::{load_certificate, KeyError};
use crate::passphrase::{PassphraseError, PassphraseSource};

/// Days of validity under which a certificate earns a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The check fails.
    Error,
    /// Worth attention; the check still passes.
    Warning,
}

/// One problem found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable machine-readable code (`expired`, `duplicate_key`, ...).
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl Finding {
    fn error(code: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Error,
            code,
            message,
        }
    }

    fn warning(code: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Warning,
            code,
            message,
        }
    }
}

/// The state of a custodian's private key in the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// No key was given for this certificate.
    NotGiven,
    /// The key opened and matches the certificate.
    Ok,
    /// A key was given for this certificate but failed (see the findings).
    Failed,
}

/// One custodian: a certificate and, when given, their private key.
#[derive(Clone, Debug, Serialize)]
pub struct CustodianRow {
    /// 1-based position among the certificates.
    pub index: usize,
    /// The certificate file.
    pub certificate: String,
    /// Its subject.
    pub subject: String,
    /// Key algorithm and size.
    pub key: KeyInfo,
    /// Validity end.
    pub not_after: String,
    /// Whole days left.
    pub days_left: i64,
    /// The SD file's `x5t_256` for this certificate.
    pub x5t_256: String,
    /// SHA-256 fingerprint in openssl's form.
    pub sha256_fingerprint: String,
    /// The private key file matched to this certificate, if any.
    pub private_key: Option<String>,
    /// Whether that key opened and matched.
    pub key_status: KeyStatus,
    /// Problems with this custodian.
    pub findings: Vec<Finding>,
    /// No error finding on this row.
    pub ok: bool,
}

/// The result of a check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// True when no error was found anywhere.
    pub passed: bool,
    /// One row per certificate, in the order given.
    pub custodians: Vec<CustodianRow>,
    /// Problems with the set as a whole (count, keys that match no certificate).
    pub set_findings: Vec<Finding>,
}

/// Checks `certs` and, when given, `keys` (key number `i` uses passphrase line `i`).
/// Unreadable certificate files are errors; every other problem is a finding.
pub fn check_set(
    certs: &[PathBuf],
    keys: &[PathBuf],
    passphrases: &PassphraseSource,
    now: SystemTime,
) -> Result<CheckReport, KeyError> {
    check_set_with(certs, keys, passphrases, &TokenAccess::default(), now)
}

/// [`check_set`] where keys may also be PKCS#11 URIs, reached through `tokens`: a wrong
/// PIN is a failed check like a wrong passphrase; a token key that can leave its token is
/// a warning.
pub fn check_set_with(
    certs: &[PathBuf],
    keys: &[PathBuf],
    passphrases: &PassphraseSource,
    tokens: &TokenAccess,
    now: SystemTime,
) -> Result<CheckReport, KeyError> {
    let loaded: Vec<Certificate> = certs
        .iter()
        .map(|p| load_certificate(p))
        .collect::<Result<_, _>>()?;
    let mut rows: Vec<CustodianRow> = certs
        .iter()
        .zip(&loaded)
        .enumerate()
        .map(|(i, (path, cert))| certificate_row(i + 1, path, cert, now))
        .collect();
    let mut set_findings = Vec::new();

    if !(MIN_CUSTODIANS..=MAX_CUSTODIANS).contains(&certs.len()) {
        set_findings.push(Finding::error(
            "custodian_count",
            format!(
                "{} certificate(s) given: a Managed HSM security domain needs {MIN_CUSTODIANS} to {MAX_CUSTODIANS}",
                certs.len()
            ),
        ));
    }
    mark_duplicates(&loaded, &mut rows);
    for (i, key_path) in keys.iter().enumerate() {
        check_key(
            i,
            key_path,
            &loaded,
            &mut rows,
            &mut set_findings,
            (passphrases, tokens),
        )?;
    }
    if !keys.is_empty() {
        for row in rows
            .iter_mut()
            .filter(|r| r.key_status == KeyStatus::NotGiven)
        {
            row.findings.push(Finding::warning(
                "no_private_key",
                format!(
                    "{}: no private key was given for this certificate",
                    row.certificate
                ),
            ));
        }
    }
    for row in &mut rows {
        row.ok = !row.findings.iter().any(|f| f.severity == Severity::Error);
    }
    let passed =
        rows.iter().all(|r| r.ok) && !set_findings.iter().any(|f| f.severity == Severity::Error);
    Ok(CheckReport {
        passed,
        custodians: rows,
        set_findings,
    })
}

fn certificate_row(index: usize, path: &Path, cert: &Certificate, now: SystemTime) -> CustodianRow {
    let name = path.display().to_string();
    let key = cert.public_key().info();
    let days_left = cert.days_left(now);
    let mut findings = Vec::new();
    if let Some(reason) = cert.public_key().encryption_problem() {
        findings.push(Finding::error("unusable_key", format!("{name}: {reason}")));
    }
    if cert.is_expired(now) {
        findings.push(Finding::error(
            "expired",
            format!("{name}: certificate expired on {}", cert.not_after()),
        ));
    } else if days_left < EXPIRY_WARNING_DAYS {
        findings.push(Finding::warning(
            "expires_soon",
            format!(
                "{name}: certificate expires in {days_left} day(s), on {}",
                cert.not_after()
            ),
        ));
    }
    if cert.is_not_yet_valid(now) {
        findings.push(Finding::warning(
            "not_yet_valid",
            format!(
                "{name}: certificate is not valid before {} (check this machine's clock)",
                cert.not_before()
            ),
        ));
    }
    if cert.key_encipherment() == Some(false) {
        findings.push(Finding::warning(
            "no_key_encipherment",
            format!("{name}: keyUsage does not include keyEncipherment"),
        ));
    }
    CustodianRow {
        index,
        certificate: name,
        subject: cert.subject().to_owned(),
        key,
        not_after: cert.not_after().to_string(),
        days_left,
        x5t_256: cert.x5t_256(),
        sha256_fingerprint: cert.sha256_fingerprint(),
        private_key: None,
        key_status: KeyStatus::NotGiven,
        findings,
        ok: true,
    }
}

fn mark_duplicates(certs: &[Certificate], rows: &mut [CustodianRow]) {
    for i in 0..certs.len() {
        for j in 0..certs.len() {
            if i != j && certs[i].public_key() == certs[j].public_key() {
                let (what, code) = if certs[i].der() == certs[j].der() {
                    ("is the same certificate as", "duplicate_certificate")
                } else {
                    ("carries the same public key as", "duplicate_key")
                };
                let message = format!(
                    "{} {what} #{} ({}): every custodian needs their own key pair",
                    rows[i].certificate, rows[j].index, rows[j].certificate
                );
                rows[i].findings.push(Finding::error(code, message));
            }
        }
    }
}

fn check_key(
    index: usize,
    key_path: &Path,
    certs: &[Certificate],
    rows: &mut [CustodianRow],
    set_findings: &mut Vec<Finding>,
    (passphrases, tokens): (&PassphraseSource, &TokenAccess),
) -> Result<(), KeyError> {
    let shown = key_path.display().to_string();
    let opened = if token::is_pkcs11_uri(key_path) {
        load_token_key(key_path, tokens).map(|k| k.key)
    } else {
        open_private_key(key_path, index, passphrases).map(|(key, _)| key)
    };
    let key = match opened {
        Ok(key) => key,
        Err(
            err @ KeyError::Token(
                TokenError::WrongPin { .. } | TokenError::LoginFailedEarlier { .. },
            ),
        ) => {
            set_findings.push(Finding::error("wrong_pin", err.to_string()));
            return Ok(());
        }
        // A key that is there but does not open is a failed check; a file that is not a
        // key at all, or a passphrase that cannot be had, is bad input.
        Err(err @ KeyError::WrongPassphrase { .. })
        | Err(err @ KeyError::Passphrase(PassphraseError::EmptyForEncrypted { .. })) => {
            let code = match err {
                KeyError::WrongPassphrase { .. } => "wrong_passphrase",
                _ => "missing_passphrase",
            };
            let finding = Finding::error(code, err.to_string());
            let row = row_beside(key_path, certs, rows);
            record_key_failure(rows, set_findings, row, shown, finding);
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let matching = certs.iter().position(|c| key.matches(c));
    if let Some(reason) = key.public_key().info().unusable_reason() {
        let finding = Finding::error("unusable_key", format!("{shown}: {reason}"));
        record_key_failure(rows, set_findings, matching, shown, finding);
        return Ok(());
    }
    let Some(r) = matching else {
        let hint = match find_certificate_beside(key_path) {
            Ok(Some((p, _))) => format!(
                " (the certificate beside it, {}, is not one of them)",
                p.display()
            ),
            _ => String::new(),
        };
        set_findings.push(Finding::error(
            "key_matches_no_certificate",
            format!("{shown}: private key matches none of the certificates given{hint}"),
        ));
        return Ok(());
    };
    let row = &mut rows[r];
    if let Some(previous) = &row.private_key {
        set_findings.push(Finding::error(
            "duplicate_private_key",
            format!(
                "{shown}: same key pair as {previous}, already matched to {}",
                row.certificate
            ),
        ));
        return Ok(());
    }
    if key.token().is_some_and(|t| !t.facts().stays_on_token()) {
        row.findings.push(Finding::warning(
            "extractable_token_key",
            format!("{shown}: the key can leave its token (CKA_EXTRACTABLE true or CKA_SENSITIVE false); generate custodian keys on the token, non-extractable"),
        ));
    }
    row.private_key = Some(shown);
    row.key_status = KeyStatus::Ok;
    Ok(())
}

/// Records a key that failed: on its custodian's row when known, else for the whole set.
fn record_key_failure(
    rows: &mut [CustodianRow],
    set_findings: &mut Vec<Finding>,
    row: Option<usize>,
    key: String,
    finding: Finding,
) {
    match row {
        Some(r) => {
            rows[r].private_key = Some(key);
            rows[r].key_status = KeyStatus::Failed;
            rows[r].findings.push(finding);
        }
        None => set_findings.push(finding),
    }
}

/// The row of the certificate found beside a key that could not be opened, if that
/// certificate is one of the set and has no key yet.
fn row_beside(key_path: &Path, certs: &[Certificate], rows: &[CustodianRow]) -> Option<usize> {
    let (_, cert) = find_certificate_beside(key_path).ok().flatten()?;
    let r = certs.iter().position(|c| c.der() == cert.der())?;
    rows[r].private_key.is_none().then_some(r)
}
