//! The security-domain steps against a live HSM: activation (download), the exchange key
//! for a recovery (init-recovery), and the upload of a restore blob.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client::HsmClient;
use super::interrupted::post_operation;
use super::operation::{Operation, OperationStatus, Progress, WaitOptions};
use super::retry::Idempotency;
use super::HsmError;
use crate::domain::activation::{certificate_info, check_downloaded, DownloadCheck};
use crate::domain::exchange::{self, ExchangeKey};
use crate::domain::restore_blob::RestoreBlob;
use crate::domain::{model::hex, SecurityDomain};
use crate::files::{ensure_writable, write_atomic, MODE_PUBLIC};
use crate::keys::check::{check_set, CheckReport};
use crate::keys::{load_certificate, Certificate};
use crate::passphrase::PassphraseSource;

/// What `download` is asked to do.
#[derive(Clone, Debug)]
pub struct DownloadPlan {
    /// The custodians' certificates (3 to 10).
    pub certificates: Vec<PathBuf>,
    /// The quorum.
    pub quorum: usize,
    /// Where to save the security domain.
    pub out: PathBuf,
    /// Overwrite `out` (`--force`).
    pub overwrite: bool,
    /// Follow the operation to its end (`None`: `--no-wait`).
    pub wait: Option<WaitOptions>,
}

/// What `download` did.
#[derive(Clone, Debug, Serialize)]
pub struct DownloadReport {
    /// The `keys check` run before anything was sent.
    pub preflight: CheckReport,
    /// The saved file, once saved.
    pub security_domain_file: Option<PathBuf>,
    /// SHA-256 (hex) of the saved bytes.
    pub sha256: Option<String>,
    /// The check of the saved domain against the request.
    pub check: Option<DownloadCheck>,
    /// The operation's final status, when waited for.
    pub operation: Option<OperationStatus>,
}

impl DownloadReport {
    /// True when the pre-flight check and the check of the saved domain passed.
    pub fn passed(&self) -> bool {
        self.preflight.passed && self.check.as_ref().is_some_and(|c| c.passed)
    }
}

/// Activates the HSM: checks the certificates (`keys check`), sends the download request,
/// saves the security domain atomically the moment it arrives, checks it against the
/// request, and (unless `plan.wait` is `None`) follows the operation to Success.
///
/// A pre-flight failure returns a report with `preflight.passed == false` and nothing
/// sent. Once the file is saved, any later failure is an [`HsmError::AfterDownload`]
/// naming it.
pub async fn download(
    client: &HsmClient,
    plan: &DownloadPlan,
    progress: Progress<'_>,
) -> Result<DownloadReport, HsmError> {
    ensure_writable(&plan.out, plan.overwrite)?;
    let preflight = check_set(
        &plan.certificates,
        &[],
        &PassphraseSource::Unavailable,
        SystemTime::now(),
    )?;
    let mut report = DownloadReport {
        preflight,
        security_domain_file: None,
        sha256: None,
        check: None,
        operation: None,
    };
    if !report.preflight.passed {
        return Ok(report);
    }
    let certs = named_certificates(&plan.certificates)?;
    let body = certificate_info(&certs, plan.quorum)?;
    let answer = post_operation(client, Operation::Download, &body).await?;
    let sd_text = sd_text(&answer.json()?).ok_or_else(|| HsmError::BadResponse {
        url: answer.url.clone(),
        detail: "the download answer has no 'value' holding the security domain".into(),
    })?;
    let out_dir = plan.out.parent().unwrap_or(Path::new(".")).to_owned();
    let saved = save_security_domain(
        &plan.out,
        sd_text.as_bytes(),
        plan.overwrite,
        &[out_dir, std::env::temp_dir()],
    )?;
    let after = |source: HsmError| HsmError::AfterDownload {
        file: saved.clone(),
        source: Box::new(source),
    };
    report.security_domain_file = Some(saved.clone());
    report.sha256 = Some(hex(&Sha256::digest(sd_text.as_bytes())));
    let domain = SecurityDomain::from_json(sd_text.as_bytes())
        .map_err(|detail| {
            after(HsmError::BadResponse {
                url: answer.url.clone(),
                detail: format!("the security domain does not parse: {detail}"),
            })
        })?
        .0;
    report.check = Some(check_downloaded(&domain, &certs, plan.quorum));
    if let Some(options) = plan.wait {
        let status_url =
            client.status_url(Operation::Download, answer.header("azure-asyncoperation"));
        let status = client
            .wait(Operation::Download, &status_url, options, progress)
            .await
            .map_err(after)?;
        report.operation = Some(status);
    }
    Ok(report)
}

/// The certificates with names for their JWK `kid` (the file stem).
fn named_certificates(paths: &[PathBuf]) -> Result<Vec<(String, Certificate)>, HsmError> {
    paths
        .iter()
        .map(|p| {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            Ok((name, load_certificate(p)?))
        })
        .collect()
}

/// The SD JSON text of a download answer: `value` as a string (or an object, re-encoded).
fn sd_text(answer: &Value) -> Option<String> {
    match answer.get("value")? {
        Value::String(s) => Some(s.clone()),
        v @ Value::Object(_) => Some(v.to_string()),
        _ => None,
    }
}

/// Saves the security domain; if `out` cannot be written, saves it under a fresh name in
/// the first of `fallback_dirs` that takes it (beside `out`, then the temporary directory),
/// because this answer is the only copy that will ever exist.
fn save_security_domain(
    out: &Path,
    bytes: &[u8],
    overwrite: bool,
    fallback_dirs: &[PathBuf],
) -> Result<PathBuf, HsmError> {
    let first = match write_atomic(out, bytes, MODE_PUBLIC, overwrite) {
        Ok(()) => return Ok(out.to_owned()),
        Err(e) => e,
    };
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = format!("sdctl-security-domain-{stamp}-{}.json", std::process::id());
    for fallback in fallback_dirs.iter().map(|d| d.join(&name)) {
        if write_atomic(&fallback, bytes, MODE_PUBLIC, false).is_ok() {
            return Err(HsmError::AfterDownload {
                file: fallback,
                source: Box::new(HsmError::File(first)),
            });
        }
    }
    Err(HsmError::File(first))
}

/// The exchange key of a new HSM, as the service sent it and parsed.
pub struct TransferKey {
    /// The JWK (an object, even when the service sent it as a JSON string).
    pub jwk: Value,
    /// The key and its certificate.
    pub exchange: ExchangeKey,
}

/// Fetches the new HSM's exchange (transfer) key (`GET /securitydomain/upload`).
pub async fn transfer_key(client: &HsmClient) -> Result<TransferKey, HsmError> {
    let answer = client
        .call(
            Method::GET,
            "securitydomain/upload",
            None,
            Idempotency::Repeatable,
        )
        .await?;
    let value = answer.json()?;
    let bad = |detail: String| HsmError::BadResponse {
        url: answer.url.clone(),
        detail,
    };
    let jwk = exchange::transfer_key_jwk(&value)
        .map_err(&bad)?
        .ok_or_else(|| bad("no 'transfer_key' in the answer".into()))?;
    let exchange = exchange::from_json(&jwk).map_err(bad)?;
    Ok(TransferKey { jwk, exchange })
}

/// What `upload` did.
#[derive(Clone, Debug, Serialize)]
pub struct UploadReport {
    /// `WrappedKey.x5t_256` of the blob sent.
    pub exchange_x5t_256: String,
    /// Data blobs sent.
    pub data: usize,
    /// The operation's final status, when waited for.
    pub operation: Option<OperationStatus>,
}

/// Checks that `blob` is a restore blob (not a security-domain file) before it is sent.
pub fn parse_restore_blob(path: &Path, blob: &[u8]) -> Result<RestoreBlob, HsmError> {
    RestoreBlob::from_json(blob).map_err(|detail| {
        let hint = if SecurityDomain::from_json(blob).is_ok() {
            "this is a security-domain file, not a restore blob: build the blob with 'sdctl sd restore-blob', or give --sd-exchange-key and --sd-wrapping-keys".to_owned()
        } else {
            format!("not a restore blob: {detail}")
        };
        HsmError::Usage(format!("{}: {hint}", path.display()))
    })
}

/// Uploads a restore blob (`{"value": blob}`) and, unless `wait` is `None`, follows the
/// operation to Success; a Failed upload is [`HsmError::OperationFailed`] with the
/// service's `status_details` verbatim.
pub async fn upload(
    client: &HsmClient,
    blob: &RestoreBlob,
    wait: Option<WaitOptions>,
    progress: Progress<'_>,
) -> Result<UploadReport, HsmError> {
    let body: Value = serde_json::from_str(&blob.upload_body()?)
        .map_err(|e| HsmError::Usage(format!("the restore blob cannot be encoded: {e}")))?;
    let answer = post_operation(client, Operation::Upload, &body).await?;
    let mut report = UploadReport {
        exchange_x5t_256: blob.wrapped_key.x5t_256.clone(),
        data: blob.enc_data.data.len(),
        operation: None,
    };
    if let Some(options) = wait {
        let status_url =
            client.status_url(Operation::Upload, answer.header("azure-asyncoperation"));
        report.operation = Some(
            client
                .wait(Operation::Upload, &status_url, options, progress)
                .await?,
        );
    }
    Ok(report)
}

#[cfg(test)]
#[path = "security_domain_tests.rs"]
mod tests;
