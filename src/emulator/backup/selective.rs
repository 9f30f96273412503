//! Selective key restore: `PUT /keys/{name}/restore` with `{"sasTokenParameters",
//! "folder"}` puts back key `name` (all its versions) from a full backup, as a long-running
//! operation polled at `/restore/{job}/pending`. A key the backup does not hold fails the
//! job.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde_json::Value;

use super::contents::restore_key as put_key_back;
use super::storage::{backup_folder, require_credential, storage_dir};
use super::{accepted, now, read_backup, Job, FILE};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;
use crate::emulator::keys::require_active;
use crate::emulator::server::uuid;

/// `PUT /keys/{name}/restore`.
pub async fn restore_key(
    State(app): State<Arc<App>>,
    Path((hsm, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "restore/start/action")?;
    require_active(&h)?;
    let parameters = &body["sasTokenParameters"];
    let uri = parameters["storageResourceUri"].as_str().ok_or_else(|| {
        ApiError::bad_parameter("'sasTokenParameters.storageResourceUri' is required")
    })?;
    require_credential(parameters)?;
    let folder = body["folder"]
        .as_str()
        .ok_or_else(|| ApiError::bad_parameter("'folder' must name a backup folder"))?;
    let path = backup_folder(&storage_dir(uri)?, folder)?.join(FILE);
    let outcome = read_backup(&h, &path);
    let job_id = uuid();
    let mut job = Job {
        final_status: "Succeeded".into(),
        error: None,
        started: now(),
        duration: app.operation_seconds,
        folder_uri: format!("{}/{folder}", uri.trim_end_matches('/')),
        code: None,
    };
    let stored = app.mutate_hsm(&hsm, |h| {
        match &outcome {
            Ok(contents) => {
                if !put_key_back(h, contents, &name)? {
                    job.final_status = "Failed".into();
                    job.code = Some("KeyNotFound".into());
                    job.error = Some(format!("the backup holds no key named '{name}'"));
                }
            }
            Err(message) => {
                job.final_status = "Failed".into();
                job.error = Some(message.clone());
            }
        }
        h.jobs.insert(job_id.clone(), job.clone());
        Ok(job.clone())
    })?;
    Ok(accepted(&app, &hsm, "restore", &job_id, &stored))
}
