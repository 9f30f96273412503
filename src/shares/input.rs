//! Reading a share file in any of its forms: the binary record, the text form typed back
//! from paper, the compact QR payload, or sealed to a custodian (opened with their key).

use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use super::format::{Share, MAGIC, MAX_SHARE_LEN};
use super::scheme::{check_count, MAX_TOTAL_PAYLOAD};
use super::{sealed, text, ShareError};
use crate::files::read_bounded_nonempty;
use crate::keys::WrappingKey;

/// The form a share file was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// The binary record (`.share`).
    Binary,
    /// The transcribable text form (`.txt`).
    Text,
    /// The compact payload of a QR code, as a scanner gives it.
    Compact,
    /// Sealed to a custodian's certificate (`.jwe`).
    Sealed,
}

/// A share read from a file.
#[derive(Debug)]
pub struct ReadShare {
    /// The file.
    pub path: PathBuf,
    /// The share.
    pub share: Share,
    /// The form it was in.
    pub form: Form,
    /// For a sealed share, the key file that opened it.
    pub opened_with: Option<PathBuf>,
    /// A sealed share opened by trial decryption with a key whose certificate is not the
    /// one it was sealed to (a renewed certificate): worth a warning.
    pub trial_despite_certificate: bool,
}

/// The largest share file accepted (a sealed share of the largest secret, base64url).
pub const MAX_FILE_LEN: u64 = (MAX_SHARE_LEN as u64) * 2 + 64 * 1024;

/// Reads the share in `path`; `keys` open sealed shares (may be empty otherwise).
pub fn read_share(path: &Path, keys: &[WrappingKey]) -> Result<ReadShare, ShareError> {
    let bytes = Zeroizing::new(read_bounded_nonempty(path, MAX_FILE_LEN, "a share")?);
    let malformed = |detail: String| ShareError::Malformed {
        path: path.to_owned(),
        detail,
    };
    let done = |share, form, opened_with| ReadShare {
        path: path.to_owned(),
        share,
        form,
        opened_with,
        trial_despite_certificate: false,
    };
    if bytes.starts_with(MAGIC) {
        let share = Share::decode(&bytes).map_err(malformed)?;
        return Ok(done(share, Form::Binary, None));
    }
    let Ok(content) = std::str::from_utf8(&bytes) else {
        return Err(malformed(
            "is neither a binary share nor text (a share's text form, QR payload or sealed JWE)"
                .into(),
        ));
    };
    if sealed::looks_sealed(content) {
        let (share, key, despite) = sealed::open(path, content, keys)?;
        let mut read = done(share, Form::Sealed, Some(key));
        read.trial_despite_certificate = despite;
        return Ok(read);
    }
    let (record, form) = if text::looks_compact(content) {
        let record = text::from_compact(content)
            .map_err(|e| malformed(format!("is not a valid QR share payload: {e}")))?;
        (record, Form::Compact)
    } else {
        let record = text::from_text(content).map_err(|e| ShareError::Typo {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        (record, Form::Text)
    };
    let share = Share::decode(&record).map_err(|e| {
        malformed(format!(
            "every line checks, but the share it spells {e}; compare the lines with the paper copy"
        ))
    })?;
    Ok(done(share, form, None))
}

/// Reads every share file (sealed ones opened with `keys`) and combines them. More than
/// [`MAX_SHARES`](super::scheme::MAX_SHARES) files are refused before any is read; shares
/// carrying more than [`MAX_TOTAL_PAYLOAD`] bytes together are refused at the file that
/// goes over.
pub fn combine_files(
    paths: &[PathBuf],
    keys: &[WrappingKey],
) -> Result<(Vec<ReadShare>, super::Combined), ShareError> {
    let read = read_all(paths, keys, MAX_TOTAL_PAYLOAD)?;
    let named: Vec<(PathBuf, Share)> = read
        .iter()
        .map(|r| (r.path.clone(), r.share.clone()))
        .collect();
    let combined = super::combine(&named)?;
    Ok((read, combined))
}

/// Reads the share files of one combine: at most [`MAX_SHARES`](super::scheme::MAX_SHARES)
/// of them, carrying at most `cap` payload bytes together.
fn read_all(
    paths: &[PathBuf],
    keys: &[WrappingKey],
    cap: usize,
) -> Result<Vec<ReadShare>, ShareError> {
    check_count(paths.len())?;
    let mut read = Vec::with_capacity(paths.len());
    let mut total = 0usize;
    for path in paths {
        let share = read_share(path, keys)?;
        total = total.saturating_add(share.share.payload.len());
        if total > cap {
            return Err(ShareError::Usage(format!(
                "{}: brings the shares given to more than {cap} bytes together; a combine \
                 takes at most that much (give exactly the threshold's number of shares)",
                path.display()
            )));
        }
        read.push(share);
    }
    Ok(read)
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
