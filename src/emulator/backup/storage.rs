//! Where backups live: a `file:///ABSOLUTE/DIR` storage location, backup folders inside
//! it (never outside, whatever the folder name or symbolic links say), and the credential
//! the service requires with every storage URI.

use std::path::PathBuf;

use serde_json::Value;

use crate::emulator::http::ApiError;

/// The directory of a `file:///ABSOLUTE/DIR` storage URI.
pub fn storage_dir(uri: &str) -> Result<PathBuf, ApiError> {
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

/// The service requires a SAS `token` or `useManagedIdentity: true` with the storage URI.
pub fn require_credential(parameters: &Value) -> Result<(), ApiError> {
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
pub fn backup_folder(dir: &std::path::Path, folder: &str) -> Result<PathBuf, ApiError> {
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
