//! Offline custodian or quorum rotation: rebuild the master key with a quorum of the old
//! custodians' keys, split it again to new certificates with a new quorum, keep `EncData`
//! unchanged, and write a version 2 file (a version 1 file is upgraded). Before anything
//! is returned, the new file is parsed back and its new shares are proven to rebuild the
//! same master key.

use serde::Serialize;
use serde_json::Map;

use super::data;
use super::hsm::share_master_key_checked;
use super::model::{KeySplit, SdFile, SecurityDomain};
use super::unlock::{self, KeyMatch};
use super::DomainError;
use crate::keys::{Certificate, WrappingKey};

/// What a rotation did.
#[derive(Clone, Debug, Serialize)]
pub struct RewrapReport {
    /// The old file.
    pub old_sd_file: String,
    /// SHA-256 of the old file.
    pub old_sd_sha256: String,
    /// Old version.
    pub old_version: u32,
    /// Old quorum.
    pub old_required: usize,
    /// The old custodians' keys used.
    pub custodians_used: Vec<KeyMatch>,
    /// New quorum.
    pub new_required: usize,
    /// New wrapping certificates' thumbprints, in share order.
    pub new_x5t_256: Vec<String>,
    /// Number of data carried over unchanged.
    pub data: usize,
}

/// Re-splits the master key of `file` (opened with `keys`) to `new_certs` with quorum
/// `new_required`. Returns the new domain (not yet written) and a report.
pub fn rewrap(
    file: &SdFile,
    keys: &[WrappingKey],
    new_certs: &[Certificate],
    new_required: usize,
) -> Result<(SecurityDomain, RewrapReport), DomainError> {
    for cert in new_certs {
        if let Some(reason) = cert.public_key().encryption_problem() {
            return Err(DomainError::Usage(format!(
                "new certificate {}: {reason}",
                cert.subject()
            )));
        }
    }
    let sd = &file.domain;
    let unlocked = unlock::unlock(&file.path, sd, keys)?;
    // Never carry a damaged domain forward: every datum must authenticate first.
    data::open_all(&file.path, &sd.enc_data, &unlocked.master_key)?;
    let shared = share_master_key_checked(&unlocked.master_key, new_certs, new_required)?;
    let new = SecurityDomain {
        version: 2,
        enc_data: sd.enc_data.clone(),
        split: KeySplit::Shamir(shared),
        other: Map::new(),
    };
    // Round trip: what will be written parses back to the same thing.
    let json = new.to_json()?;
    let (back, _) =
        SecurityDomain::from_json(json.as_bytes()).map_err(|detail| DomainError::Integrity {
            path: file.path.clone(),
            detail: format!("the rewrapped domain does not parse back: {detail}"),
        })?;
    let thumbprints: Vec<String> = new_certs.iter().map(Certificate::x5t_256).collect();
    let round_trips = back.required() == new_required
        && back
            .shares()
            .iter()
            .map(|(_, s)| s.x5t_256.clone())
            .collect::<Vec<_>>()
            == thumbprints
        && serde_json::to_value(&back.enc_data).ok() == serde_json::to_value(&sd.enc_data).ok();
    if !round_trips {
        return Err(DomainError::Integrity {
            path: file.path.clone(),
            detail: "the rewrapped domain does not round-trip".into(),
        });
    }
    let report = RewrapReport {
        old_sd_file: file.path.display().to_string(),
        old_sd_sha256: file.sha256.clone(),
        old_version: sd.version,
        old_required: sd.required(),
        custodians_used: unlocked.used,
        new_required,
        new_x5t_256: thumbprints,
        data: sd.enc_data.data.len(),
    };
    Ok((back, report))
}
