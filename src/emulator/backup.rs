//! Full backup and restore against a storage location on local disk, so the recovery
//! ceremony's last step can be rehearsed: `POST /backup`, `GET /backup/{job}/pending`,
//! `PUT /restore`, `GET /restore/{job}/pending`. The storage URI is `file:///ABSOLUTE/DIR`
//! (an existing directory); a backup is the folder `mhsm-NAME-YYYYMMDDhhmmss` in it holding
//! `backup.json`, sealed under a key derived from the security-domain state: only an HSM
//! holding the same security domain restores it.

use std::path::PathBuf;
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
use super::state::Hsm;
use crate::files::{self, MODE_SECRET};
use crate::primitives::jwe::{self, CompactJwe};

const LABEL: &str = "mhsm-full-backup";
const FILE: &str = "backup.json";

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
}

/// The backup and restore routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/hsm/{hsm}/backup", post(backup))
        .route("/hsm/{hsm}/backup/{job}/pending", get(backup_status))
        .route("/hsm/{hsm}/restore", put(restore))
        .route("/hsm/{hsm}/restore/{job}/pending", get(restore_status))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The directory of a `file:///ABSOLUTE/DIR` storage URI.
fn storage_dir(uri: &str) -> Result<PathBuf, ApiError> {
    let path = uri
        .strip_prefix("file://")
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| ApiError::bad_parameter(format!("storageResourceUri '{uri}': the emulator stores backups on local disk; use file:///ABSOLUTE/DIRECTORY")))?;
    let dir = PathBuf::from(path.trim_end_matches('/'));
    if !dir.is_dir() {
        return Err(ApiError::bad_parameter(format!(
            "storageResourceUri '{uri}': {} is not an existing directory",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Fields of [`Hsm`] a backup leaves out: the HSM's identity and ARM fields, its
/// activation and security-domain state, and its running operations. Everything else
/// (keys, roles, settings, and whatever is added to `Hsm` later) travels in a backup.
const NOT_BACKED_UP: [&str; 13] = [
    "name",
    "subscription",
    "resource_group",
    "tenant_id",
    "initial_admin_object_ids",
    "sku",
    "activation",
    "blobs",
    "transfer_key",
    "download",
    "upload",
    "jobs",
    "operations",
];

/// The backed-up part of `hsm`: its JSON form minus [`NOT_BACKED_UP`].
fn snapshot(hsm: &Hsm) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(hsm).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(fields) = value.as_object_mut() {
        for field in NOT_BACKED_UP {
            fields.remove(field);
        }
    }
    Ok(value)
}

/// Replaces the backed-up fields of `hsm` with those of `snapshot` (fields the snapshot
/// lacks keep their value); a snapshot that does not fit leaves `hsm` unchanged.
fn apply_snapshot(hsm: &mut Hsm, snapshot: &Value) -> Result<(), ApiError> {
    let mut whole = serde_json::to_value(&*hsm).map_err(|e| ApiError::internal(e.to_string()))?;
    if let (Some(target), Some(source)) = (whole.as_object_mut(), snapshot.as_object()) {
        for (field, value) in source {
            if !NOT_BACKED_UP.contains(&field.as_str()) && target.contains_key(field) {
                target.insert(field.clone(), value.clone());
            }
        }
    }
    *hsm = serde_json::from_value(whole)
        .map_err(|e| ApiError::bad_parameter(format!("the backup does not fit this HSM: {e}")))?;
    Ok(())
}

/// The service requires a SAS `token` or `useManagedIdentity: true` with the storage URI.
fn require_credential(parameters: &Value) -> Result<(), ApiError> {
    let token = parameters["token"].as_str().is_some_and(|t| !t.is_empty());
    let managed = parameters["useManagedIdentity"].as_bool() == Some(true);
    if token || managed {
        return Ok(());
    }
    Err(ApiError::bad_parameter(
        "a SAS 'token' or 'useManagedIdentity': true is required with the storage URI",
    ))
}

/// The backup folder `folder` (one or more relative segments) inside storage `dir`;
/// absolute names, `..`, and symbolic links leading out of `dir` are refused.
fn backup_folder(dir: &std::path::Path, folder: &str) -> Result<PathBuf, ApiError> {
    let refused = || {
        ApiError::bad_parameter(format!(
            "'folderToRestore' '{folder}' must name a backup folder inside the storage location"
        ))
    };
    let relative = std::path::Path::new(folder);
    let plain = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if folder.trim_matches('/').is_empty() || !plain || folder.contains('\\') {
        return Err(refused());
    }
    let root = dir.canonicalize().map_err(|_| refused())?;
    let path = root.join(relative);
    match path.canonicalize() {
        Ok(real) if real.starts_with(&root) => Ok(real),
        Ok(_) => Err(refused()),
        // A folder that does not exist fails the job, as a missing blob folder does.
        Err(_) => Ok(path),
    }
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
            (Some(message), false) => json!({"code": "BackupRestoreFailed", "message": message}),
            _ => Value::Null,
        },
        "startTime": job.started as u64,
        "endTime": if running { Value::Null } else { json!((job.started + job.duration) as u64) },
        "jobId": job_id,
        "azureStorageBlobContainerUri": job.folder_uri,
    })
}

fn accepted(app: &App, hsm: &str, kind: &str, job_id: &str, job: &Job) -> Response {
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
    let outcome = (|| {
        let sealed =
            files::read_bounded(&path, 64 * 1024 * 1024, "a backup").map_err(|e| e.to_string())?;
        let jwe = CompactJwe::parse(&String::from_utf8_lossy(&sealed))
            .map_err(|e| format!("the backup is malformed: {e}"))?;
        let key = backup_key(&h, LABEL).map_err(|e| e.message)?;
        let plain = jwe
            .decrypt_dir(&key)
            .map_err(|_| "the backup was made by an HSM with a different security domain; restore it into an HSM that holds the same security domain".to_owned())?;
        serde_json::from_slice::<Value>(&plain).map_err(|e| e.to_string())
    })();
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
