//! Full backup and full restore of a Managed HSM: `POST /backup`, `PUT /restore`, and
//! following the job (`GET /{backup|restore}/{jobId}/pending`) to Succeeded or Failed.
//!
//! A full backup holds every key, version and role assignment, sealed under keys of the
//! HSM's security domain: it restores only into an HSM holding the same security domain,
//! which is how a recovery is proven complete. The storage is an Azure Blob container
//! (`https://ACCOUNT.blob.core.windows.net/CONTAINER` with a SAS token), or for the
//! emulator a local directory (`file:///ABSOLUTE/DIR`). The SAS token is a secret: it goes
//! only into the request body, never into a message.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use zeroize::Zeroize;

use super::client::{remaining, HsmClient};
use super::host_scope::check_storage_host;
use super::operation::{transient, State, WaitOptions};
use super::retry::{parse_retry_after, Idempotency};
use super::HsmError;

/// Which kind of job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A full backup (`POST /backup`).
    Backup,
    /// A full restore (`PUT /restore`).
    Restore,
}

impl JobKind {
    /// `backup` or `restore`: the path segment of the job's routes.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Restore => "restore",
        }
    }

    /// `full backup` or `full restore`, for messages.
    pub fn title(self) -> &'static str {
        match self {
            JobKind::Backup => "full backup",
            JobKind::Restore => "full restore",
        }
    }

    /// The job's status path (`backup/{job_id}/pending`).
    pub fn pending_path(self, job_id: &str) -> String {
        format!("{}/{job_id}/pending", self.name())
    }
}

/// A backup or restore job, as the service reports it. Every field but `job_id` and
/// `status` may be absent (a restore job names no folder; a running one has no end).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The service's job id.
    pub job_id: String,
    /// The status word as sent (`InProgress`, `Succeeded`, `Failed`).
    pub status: String,
    /// `statusDetails`, verbatim.
    pub status_details: Option<String>,
    /// The service's error message (`error.message`, else `error.code`), verbatim.
    pub error: Option<String>,
    /// `azureStorageBlobContainerUri`: for a backup, the folder it was written to.
    pub folder_uri: Option<String>,
    /// `startTime` (Unix seconds).
    pub start_time: Option<u64>,
    /// `endTime` (Unix seconds), once finished.
    pub end_time: Option<u64>,
}

impl Job {
    /// Reads a job status answer, tolerating absent, null or oddly typed fields.
    pub fn from_json(v: &Value) -> Job {
        let text = |key: &str| v[key].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let error = match &v["error"] {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            e @ Value::Object(_) => e["message"]
                .as_str()
                .filter(|s| !s.is_empty())
                .or(e["code"].as_str())
                .map(str::to_owned),
            _ => None,
        };
        Job {
            job_id: text("jobId").unwrap_or_default(),
            status: text("status").unwrap_or_default(),
            status_details: text("statusDetails").or_else(|| text("status_details")),
            error,
            folder_uri: text("azureStorageBlobContainerUri"),
            start_time: unix_time(&v["startTime"]),
            end_time: unix_time(&v["endTime"]),
        }
    }

    /// The backup folder's name (what `restore` takes): the last path segment of
    /// `folder_uri`, without any query.
    pub fn folder_name(&self) -> Option<&str> {
        let uri = self.folder_uri.as_deref()?;
        let path = uri.split(['?', '#']).next().unwrap_or(uri);
        let (scheme_and_host, last) = path.trim_end_matches('/').rsplit_once('/')?;
        (!last.is_empty() && !scheme_and_host.ends_with('/')).then_some(last)
    }

    /// What the service said about a failure: `error`, else `statusDetails`.
    pub fn failure_message(&self) -> String {
        self.error
            .clone()
            .or_else(|| self.status_details.clone())
            .unwrap_or_else(|| "the service gave no reason".to_owned())
    }

    /// Where the job stands; `None` for a status word nobody documented.
    pub fn state(&self) -> Option<State> {
        match self.status.to_ascii_lowercase().as_str() {
            "success" | "succeeded" => Some(State::Succeeded),
            "failed" | "canceled" | "cancelled" => Some(State::Failed),
            "inprogress" | "running" | "notstarted" | "accepted" => Some(State::InProgress),
            _ => None,
        }
    }
}

/// Unix seconds from a number or a string of digits.
fn unix_time(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Checks a storage URI: `https://HOST/CONTAINER` (Azure Blob Storage) or
/// `file:///ABSOLUTE/DIR` (the emulator), with no query: the SAS token belongs in its file,
/// never in a URI that ends up in shell history and logs (nor in this error message).
pub fn check_storage_uri(uri: &str) -> Result<(), HsmError> {
    let shown = uri.split(['?', '#']).next().unwrap_or("").escape_debug();
    if uri.contains(['?', '#']) {
        return Err(HsmError::Usage(format!("storage URI '{shown}?...': give the container's URI without a query, and the SAS token in its file (--token-file)")));
    }
    let https = uri
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(host, path)| {
            !host.is_empty() && !host.contains('@') && !path.trim_matches('/').is_empty()
        });
    let file = uri
        .strip_prefix("file://")
        .is_some_and(|path| path.starts_with('/') && !path.trim_matches('/').is_empty());
    if (https || file) && !uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Ok(());
    }
    Err(HsmError::Usage(format!("storage URI '{shown}': expected https://ACCOUNT.blob.core.windows.net/CONTAINER (Azure Blob Storage) or file:///ABSOLUTE/DIRECTORY (the emulator)")))
}

/// Checks a backup folder's name (`mhsm-NAME-YYYYMMDDhhmmss`): one path segment.
pub fn check_folder(folder: &str) -> Result<(), HsmError> {
    let word = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if folder.len() <= 1024 && folder.chars().all(word) && !matches!(folder, "" | "." | "..") {
        return Ok(());
    }
    Err(HsmError::Usage(format!("backup folder '{}': give the folder's name only (the last part of the backup's URI, like mhsm-NAME-20240101120000)", folder.escape_debug())))
}

/// Starts a full backup into the container `storage_uri` with the SAS `token`.
/// Not repeated after a lost answer: a second backup would be a second job.
pub async fn start_backup(
    client: &HsmClient,
    storage_uri: &str,
    token: &str,
) -> Result<Job, HsmError> {
    check_storage_uri(storage_uri)?;
    check_storage_host(&client.scope, storage_uri)?;
    check_token(token)?;
    let mut body = json!({"storageResourceUri": storage_uri, "token": token});
    let answer = start(client, JobKind::Backup, Method::POST, &body).await;
    wipe(&mut body["token"]);
    answer
}

/// Starts a full restore of the backup `folder` in `storage_uri` (SAS `token`). The
/// restore replaces the HSM's keys and role assignments with the backup's.
pub async fn start_restore(
    client: &HsmClient,
    storage_uri: &str,
    token: &str,
    folder: &str,
) -> Result<Job, HsmError> {
    check_storage_uri(storage_uri)?;
    check_storage_host(&client.scope, storage_uri)?;
    check_token(token)?;
    check_folder(folder)?;
    let mut body = json!({
        "sasTokenParameters": {"storageResourceUri": storage_uri, "token": token},
        "folderToRestore": folder,
    });
    let answer = start(client, JobKind::Restore, Method::PUT, &body).await;
    wipe(&mut body["sasTokenParameters"]["token"]);
    answer
}

fn check_token(token: &str) -> Result<(), HsmError> {
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(HsmError::Usage(
            "the SAS token must be one line without spaces".into(),
        ));
    }
    Ok(())
}

/// Overwrites the token's copy in a request body.
fn wipe(v: &mut Value) {
    if let Value::String(s) = v {
        s.zeroize();
    }
}

async fn start(
    client: &HsmClient,
    kind: JobKind,
    method: Method,
    body: &Value,
) -> Result<Job, HsmError> {
    let answer = client
        .call(method, kind.name(), Some(body), Idempotency::Once)
        .await?;
    let job = Job::from_json(&answer.json()?);
    if !job_id_ok(&job.job_id) {
        return Err(HsmError::BadResponse {
            url: answer.url.clone(),
            detail: format!(
                "the {} answer carries no usable 'jobId' ('{}')",
                kind.title(),
                job.job_id.escape_debug()
            ),
        });
    }
    Ok(job)
}

/// A job id is one safe path segment.
fn job_id_ok(id: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    !id.is_empty() && id.len() <= 200 && id.chars().all(word)
}

/// One read of a job's status, with the service's `Retry-After`.
pub async fn job_status(
    client: &HsmClient,
    kind: JobKind,
    job_id: &str,
    deadline: Option<Instant>,
) -> Result<(Job, Option<Duration>), HsmError> {
    if !job_id_ok(job_id) {
        let id = job_id.escape_debug();
        return Err(HsmError::Usage(format!(
            "'{id}' is not a job id (letters, digits, '-', '_')"
        )));
    }
    let url = client.endpoint.url(&kind.pending_path(job_id));
    let answer = client
        .send(Method::GET, url, None, Idempotency::Repeatable, deadline)
        .await?;
    let answer = client.expect_ok(answer)?;
    let after = answer.header("retry-after").and_then(parse_retry_after);
    let mut job = Job::from_json(&answer.json()?);
    if job.job_id.is_empty() {
        job.job_id = job_id.to_owned();
    }
    if job.state().is_none() {
        return Err(HsmError::BadResponse {
            url: answer.url.clone(),
            detail: format!("unknown {} status '{}'", kind.title(), job.status),
        });
    }
    Ok((job, after))
}

/// Follows `job` to Succeeded (Ok, the final status), Failed
/// ([`HsmError::OperationFailed`] with the service's message verbatim) or the end of
/// `options.timeout` ([`HsmError::Timeout`]; the job goes on in the HSM). Pauses follow
/// `Retry-After`, else start at a quarter second and double up to `options.interval`.
pub async fn wait_job(
    client: &HsmClient,
    kind: JobKind,
    job: &Job,
    options: WaitOptions,
    progress: &(dyn Fn(&Job, Duration) + Sync),
) -> Result<Job, HsmError> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let timeout = |last: String| HsmError::Timeout {
        operation: kind.title(),
        seconds: options.timeout.as_secs_f64().ceil() as u64,
        last: format!("{last}; job {}", job.job_id),
        resume: format!("sdctl hsm {} --job-id {}", kind.name(), job.job_id),
    };
    let mut last = job.status.clone();
    let mut pace = Duration::from_millis(250).min(options.interval);
    loop {
        let (now, after) = match job_status(client, kind, &job.job_id, Some(deadline)).await {
            Ok(s) => s,
            Err(e)
                if remaining(deadline).is_zero()
                    || (transient(&e) && remaining(deadline) < client.retry.max_delay) =>
            {
                return Err(timeout(format!("{last}; last poll: {e}")));
            }
            Err(e) => return Err(e),
        };
        progress(&now, started.elapsed());
        match now.state() {
            Some(State::Succeeded) => return Ok(now),
            Some(State::Failed) => {
                return Err(HsmError::OperationFailed {
                    operation: kind.title(),
                    details: now.failure_message(),
                })
            }
            _ => last = now.status.clone(),
        }
        let left = remaining(deadline);
        if left.is_zero() {
            return Err(timeout(last));
        }
        let pause = after.unwrap_or(pace).min(Duration::from_secs(30)).min(left);
        pace = (pace * 2).min(options.interval);
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
