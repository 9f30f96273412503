//! Full backup and restore against a storage location on local disk, so the recovery
//! ceremony's last step can be rehearsed: `POST /backup`, `GET /backup/{job}/pending`,
//! `PUT /restore`, `GET /restore/{job}/pending`. The storage URI is `file:///ABSOLUTE/DIR`
//! (an existing directory); a backup is the folder `mhsm-NAME-YYYYMMDDhhmmss` in it holding
//! `backup.json`, sealed under a key derived from the security-domain state: only an HSM
//! holding the same security domain restores it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::keys::{backup_key, require_active};
use super::server::uuid;

mod contents;
mod selective;
mod storage;

use crate::files::{self, MODE_SECRET};
use crate::primitives::jwe::{self, CompactJwe};
use contents::{apply_snapshot, snapshot};
use storage::{backup_folder, require_credential, storage_dir};

const LABEL: &str = "mhsm-full-backup";
pub(super) const FILE: &str = "backup.json";

/// A full backup or restore job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// `Succeeded` or `Failed`, once done.
    pub final_status: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Start (Unix seconds).
    pub started: f64,
    /// How long it stays InProgress.
    pub duration: f64,
    /// The backup folder's URI.
    pub folder_uri: String,
    /// The error code of a failed job (`BackupRestoreFailed` when not set).
    #[serde(default)]
    pub code: Option<String>,
}

/// The backup and restore routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/hsm/{hsm}/backup", post(backup))
        .route("/hsm/{hsm}/backup/{job}/pending", get(backup_status))
        .route("/hsm/{hsm}/restore", put(restore))
        .route("/hsm/{hsm}/restore/{job}/pending", get(restore_status))
        .route(
            "/hsm/{hsm}/keys/{name}/restore",
            put(selective::restore_key),
        )
}

pub(super) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn status_body(job_id: &str, job: &Job) -> Value {
    let running = now() < job.started + job.duration;
    let status = if running {
        "InProgress"
    } else {
        job.final_status.as_str()
    };
    json!({
        "status": status,
        "statusDetails": if running { Value::Null } else { json!(job.error.clone().unwrap_or_default()) },
        "error": match (&job.error, running) {
            (Some(message), false) => json!({
                "code": job.code.as_deref().unwrap_or("BackupRestoreFailed"),
                "message": message,
            }),
            _ => Value::Null,
        },
        "startTime": job.started as u64,
        "endTime": if running { Value::Null } else { json!((job.started + job.duration) as u64) },
        "jobId": job_id,
        "azureStorageBlobContainerUri": job.folder_uri,
    })
}

pub(super) fn accepted(app: &App, hsm: &str, kind: &str, job_id: &str, job: &Job) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(status_body(job_id, job))).into_response();
    let url = format!("{}/{kind}/{job_id}/pending", app.hsm_url(hsm));
    if let Ok(v) = HeaderValue::from_str(&url) {
        response.headers_mut().insert("Azure-AsyncOperation", v);
    }
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(1));
    response
}

fn record(app: &App, hsm: &str, job_id: &str, job: Job) -> Result<(), ApiError> {
    app.mutate_hsm(hsm, |h| {
        h.jobs.insert(job_id.to_owned(), job);
        Ok(())
    })
}

async fn backup(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "backup/start/action")?;
    require_active(&h)?;
    let uri = body["storageResourceUri"]
        .as_str()
        .ok_or_else(|| ApiError::bad_parameter("'storageResourceUri' is required"))?;
    let dir = storage_dir(uri)?;
    let stamp = crate::keys::generate::now_rfc3339().replace(['-', ':', 'T', 'Z'], "");
    let folder = format!("mhsm-{hsm}-{stamp}");
    require_credential(&body)?;
    let contents = snapshot(&h)?;
    let sealed = jwe::encrypt_dir(
        contents.to_string().as_bytes(),
        &backup_key(&h, LABEL)?,
        Some(LABEL),
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let written = files::create_private_dir(&dir.join(&folder)).and_then(|()| {
        files::write_atomic(
            &dir.join(&folder).join(FILE),
            sealed.as_bytes(),
            MODE_SECRET,
            false,
        )
    });
    let job_id = uuid();
    let job = Job {
        final_status: if written.is_ok() {
            "Succeeded".into()
        } else {
            "Failed".into()
        },
        error: written
            .err()
            .map(|e| format!("could not write the backup: {e}")),
        started: now(),
        duration: app.operation_seconds,
        folder_uri: format!("{}/{folder}", uri.trim_end_matches('/')),
        code: None,
    };
    record(&app, &hsm, &job_id, job.clone())?;
    Ok(accepted(&app, &hsm, "backup", &job_id, &job))
}

async fn restore(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "restore/start/action")?;
    require_active(&h)?;
    let uri = body["sasTokenParameters"]["storageResourceUri"]
        .as_str()
        .ok_or_else(|| {
            ApiError::bad_parameter("'sasTokenParameters.storageResourceUri' is required")
        })?;
    require_credential(&body["sasTokenParameters"])?;
    let folder = body["folderToRestore"]
        .as_str()
        .ok_or_else(|| ApiError::bad_parameter("'folderToRestore' must name a backup folder"))?;
    let path = backup_folder(&storage_dir(uri)?, folder)?.join(FILE);
    let outcome = read_backup(&h, &path);
    let job_id = uuid();
    let job = Job {
        final_status: if outcome.is_ok() {
            "Succeeded".into()
        } else {
            "Failed".into()
        },
        error: outcome.as_ref().err().cloned(),
        started: now(),
        duration: app.operation_seconds,
        folder_uri: format!("{}/{folder}", uri.trim_end_matches('/')),
        code: None,
    };
    app.mutate_hsm(&hsm, |h| {
        let restored = match &outcome {
            Ok(contents) => apply_snapshot(h, contents),
            Err(_) => Ok(()),
        };
        h.jobs.insert(job_id.clone(), job.clone());
        restored
    })?;
    Ok(accepted(&app, &hsm, "restore", &job_id, &job))
}

/// The contents of the sealed backup at `path`, opened with `hsm`'s security domain.
pub(super) fn read_backup(
    hsm: &super::state::Hsm,
    path: &std::path::Path,
) -> Result<Value, String> {
    let sealed =
        files::read_bounded(path, 64 * 1024 * 1024, "a backup").map_err(|e| e.to_string())?;
    let jwe = CompactJwe::parse(&String::from_utf8_lossy(&sealed))
        .map_err(|e| format!("the backup is malformed: {e}"))?;
    let key = backup_key(hsm, LABEL).map_err(|e| e.message)?;
    let plain = jwe.decrypt_dir(&key).map_err(|_| {
        "the backup was made by an HSM with a different security domain; restore it into an HSM that holds the same security domain".to_owned()
    })?;
    serde_json::from_slice::<Value>(&plain).map_err(|e| e.to_string())
}

fn job_status(
    app: &App,
    headers: &HeaderMap,
    hsm: &str,
    job_id: &str,
    action: &str,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(headers, hsm, "/", action)?;
    let job = h
        .jobs
        .get(job_id)
        .ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))?;
    Ok(Json(status_body(job_id, job)))
}

async fn backup_status(
    State(app): State<Arc<App>>,
    Path((hsm, job)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    job_status(&app, &headers, &hsm, &job, "backup/status/action")
}

async fn restore_status(
    State(app): State<Arc<App>>,
    Path((hsm, job)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    job_status(&app, &headers, &hsm, &job, "restore/status/action")
}
