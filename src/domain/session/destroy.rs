//! Step 4, on the ceremony machine: the session key overwritten, fsynced and unlinked
//! after use, or the reason it is still there.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::Serialize;

use super::is_session_certificate;
use crate::domain::DomainError;
use crate::files::FileError;
use crate::keys::{find_certificate_beside, Item, KeyFile};

/// What became of a session key after a command that used it.
#[derive(Clone, Debug, Serialize)]
pub struct SessionKeyState {
    /// The session key file.
    pub session_key: String,
    /// Whether it was overwritten with zeros, fsynced and unlinked.
    pub destroyed: bool,
    /// Why it is still there, when it is.
    pub kept_because: Option<String>,
    /// The session certificate beside it (public; left in place), if any.
    pub session_certificate: Option<String>,
}

/// Destroys a session key: the file must hold one unencrypted private key and, when a
/// certificate is beside it, that certificate must be a session certificate (so a
/// custodian's key given by mistake is refused, untouched). The file is then overwritten
/// with zeros, fsynced and unlinked, and its directory fsynced. The certificate stays.
pub fn destroy_session_key(path: &Path) -> Result<SessionKeyState, DomainError> {
    let refuse = |detail: String| DomainError::Session {
        path: path.to_owned(),
        detail: format!("{detail}; nothing was changed"),
    };
    let meta = fs::symlink_metadata(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "is a symbolic link; give the session key file itself".into(),
        ));
    }
    let key_file = KeyFile::read(path)?;
    let mut keys = key_file
        .items
        .iter()
        .filter(|i| matches!(i, Item::PrivateKey(_) | Item::Pkcs12(_)));
    match (keys.next(), keys.next()) {
        (Some(Item::PrivateKey(k)), None) if k.encryption.is_none() => {}
        (Some(Item::PrivateKey(_)), None) => return Err(refuse(
            "holds an encrypted private key; session keys are never encrypted, so this is not one"
                .into(),
        )),
        _ => {
            return Err(refuse(
                "does not hold exactly one unencrypted private key, so it is not a session key"
                    .into(),
            ))
        }
    }
    let certificate = find_certificate_beside(path)?;
    if let Some((cert_path, cert)) = &certificate {
        if !is_session_certificate(cert) {
            return Err(refuse(format!(
                "the certificate beside it ({}, subject {}) is not an sdctl session certificate, so this may be a custodian's key",
                cert_path.display(),
                cert.subject()
            )));
        }
    }
    wipe(path, meta.len())?;
    Ok(SessionKeyState {
        session_key: path.display().to_string(),
        destroyed: true,
        kept_because: None,
        session_certificate: certificate.map(|(p, _)| p.display().to_string()),
    })
}

/// Overwrites `len` bytes of `path` with zeros, fsyncs, unlinks, fsyncs the directory.
fn wipe(path: &Path, len: u64) -> Result<(), DomainError> {
    let failed = |source: std::io::Error| {
        DomainError::File(FileError::Write {
            path: path.to_owned(),
            source,
        })
    };
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(failed)?;
    let zeros = [0u8; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n]).map_err(failed)?;
        left -= n as u64;
    }
    file.sync_all().map_err(failed)?;
    drop(file);
    fs::remove_file(path).map_err(failed)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(failed)
}

/// After a successful command with a session: destroys the session key unless `keep`.
/// Never fails: a key that could not be destroyed is reported with the reason.
pub fn finish_session(session_key: &Path, keep: bool) -> SessionKeyState {
    let certificate = find_certificate_beside(session_key)
        .ok()
        .flatten()
        .map(|(p, _)| p.display().to_string());
    let kept = |because: String| SessionKeyState {
        session_key: session_key.display().to_string(),
        destroyed: false,
        kept_because: Some(because),
        session_certificate: certificate.clone(),
    };
    if keep {
        return kept("kept on request (--keep-session)".into());
    }
    destroy_session_key(session_key)
        .unwrap_or_else(|e| kept(format!("could not be destroyed: {e}")))
}

/// Adds to a failure of a command that used `session_key` that the key is still there and
/// how to destroy it (unless the file is gone, or the note is already there).
pub fn note_session_kept(error: crate::Error, session_key: &Path) -> crate::Error {
    let noted = matches!(
        error,
        crate::Error::Domain(DomainError::SessionKeyKept { .. })
    );
    // Only a key file that is there can have been kept (not a directory or a dangling link).
    let is_file = fs::metadata(session_key).is_ok_and(|m| m.is_file());
    if noted || !is_file {
        return error;
    }
    crate::Error::Domain(DomainError::SessionKeyKept {
        session_key: session_key.to_owned(),
        error: Box::new(error),
    })
}

#[cfg(test)]
#[path = "destroy_tests.rs"]
mod tests;
