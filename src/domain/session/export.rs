//! Step 2, on a custodian's device: their own share, sealed to the session certificate.

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{is_session_certificate, CLAIM_HEADER, CONTENT_TYPE};
use crate::domain::model::{EncShare, KeySplit, SdFile};
use crate::domain::unlock::{self, MatchedBy, OpenShare};
use crate::domain::DomainError;
use crate::keys::{Certificate, WrappingKey};
use crate::primitives::base64url;
use crate::primitives::gf257::Share;
use crate::primitives::jwe;

/// What a share export says about the share it holds: the `sdctl_sd_share` object of its
/// protected header (authenticated with the share).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareClaim {
    /// The share's location in the SD file (`SharedKeys.enc_shares[1]`).
    pub location: String,
    /// The custodian's certificate thumbprint, as that share's `x5t_256` in the SD.
    pub x5t_256: String,
    /// Unpadded base64url SHA-256 of that share's `enc_key` string: binds the export to
    /// this exact security domain.
    pub enc_key_sha256: String,
    /// SHA-256 (hex) of the SD file the custodian exported from (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd_sha256: Option<String>,
}

/// Unpadded base64url SHA-256 of a share's `enc_key` string.
pub fn enc_key_sha256(share: &EncShare) -> String {
    base64url::encode(&Sha256::digest(share.enc_key.as_bytes()))
}

/// What a custodian exported, for them to read back.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The SD file exported from.
    pub sd_file: String,
    /// SHA-256 of the SD file.
    pub sd_sha256: String,
    /// The custodian's key file.
    pub key: String,
    /// The share exported.
    pub location: String,
    /// The custodian's certificate thumbprint (the share's `x5t_256`).
    pub x5t_256: String,
    /// How the key was matched to its share.
    pub matched_by: MatchedBy,
    /// The session certificate sealed to.
    pub session_certificate: String,
    /// Its subject.
    pub session_subject: String,
    /// Its validity end.
    pub session_not_after: String,
    /// Its unpadded base64url SHA-256 (the export's `x5t#S256`).
    pub session_x5t_256: String,
    /// Its SHA-256 fingerprint: compare it with what the ceremony machine read out.
    pub session_sha256_fingerprint: String,
    /// Whether it carries the sdctl session marker.
    pub session_marked: bool,
}

/// A sealed share export and its report.
pub struct ShareExport {
    /// The compact JWE to write to the export file.
    pub jwe: String,
    /// What it holds.
    pub report: ExportReport,
}

/// Checks, before any key is opened, that `file` can be exported from (version 2) and
/// that `session` (read from `session_path`) can be sealed to: a usable RSA key, not
/// expired, and not one of the security domain's own wrapping certificates.
pub fn preflight_export(
    file: &SdFile,
    session: &Certificate,
    session_path: &Path,
) -> Result<(), DomainError> {
    if !matches!(file.domain.split, KeySplit::Shamir(_)) {
        return Err(DomainError::NeedsVersion2 {
            path: file.path.clone(),
        });
    }
    let problem = |detail: String| DomainError::Session {
        path: session_path.to_owned(),
        detail,
    };
    if let Some(reason) = session.public_key().encryption_problem() {
        return Err(problem(reason));
    }
    if session.is_expired(SystemTime::now()) {
        return Err(problem(format!(
            "the session certificate expired on {}; the ceremony machine must make a new session ('sdctl sd session new')",
            session.not_after()
        )));
    }
    let thumbprint = session.x5t_256();
    if let Some((location, _)) = file
        .domain
        .shares()
        .into_iter()
        .find(|(_, s)| s.x5t_256 == thumbprint)
    {
        return Err(problem(format!(
            "is the wrapping certificate of {location} of {}, not a session certificate; export to the session.cer the ceremony machine made",
            file.path.display()
        )));
    }
    Ok(())
}

/// A custodian's export: matches `key` to its share of `file`, decrypts only that share,
/// checks that it decodes as a GF(257) share, and seals it to the `session` certificate
/// (read from `session_path`) as an `RSA-OAEP-256` + `A256CBC-HS512` compact JWE whose
/// protected header carries `cty`, the session's `x5t#S256` and the [`ShareClaim`].
pub fn export_share(
    file: &SdFile,
    key: &WrappingKey,
    session: &Certificate,
    session_path: &Path,
) -> Result<ShareExport, DomainError> {
    preflight_export(file, session, session_path)?;
    let sd = &file.domain;
    let found = unlock::match_keys(&file.path, sd, std::slice::from_ref(key))?
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::NotInDomain {
            key: key.key_path.clone(),
            detail: format!("matches none of the shares of {}", file.path.display()),
        })?;
    let opened = unlock::open_share(sd, key, found.matched, found.opened)?;
    let matched = opened.matched.clone();
    check_decodes(&opened)?;
    let shares = sd.shares();
    let claim = ShareClaim {
        location: matched.location.clone(),
        x5t_256: matched.x5t_256.clone(),
        enc_key_sha256: enc_key_sha256(shares[matched.share].1),
        sd_sha256: Some(file.sha256.clone()),
    };
    let mut header = Map::new();
    header.insert("cty".into(), Value::from(CONTENT_TYPE));
    header.insert("x5t#S256".into(), Value::from(session.x5t_256()));
    header.insert(
        CLAIM_HEADER.into(),
        serde_json::to_value(&claim).map_err(|e| DomainError::Crypto(e.to_string()))?,
    );
    let recipient = session
        .public_key()
        .to_openssl()
        .map_err(|detail| DomainError::Session {
            path: session_path.to_owned(),
            detail,
        })?;
    let jwe = jwe::encrypt_rsa_oaep256(&opened.plaintext, &recipient, &header)
        .map_err(|e| DomainError::Crypto(e.to_string()))?;
    Ok(ShareExport {
        jwe,
        report: ExportReport {
            sd_file: file.path.display().to_string(),
            sd_sha256: file.sha256.clone(),
            key: key.key_path.display().to_string(),
            location: matched.location,
            x5t_256: matched.x5t_256,
            matched_by: matched.matched_by,
            session_certificate: session_path.display().to_string(),
            session_subject: session.subject().to_owned(),
            session_not_after: session.not_after().to_string(),
            session_x5t_256: session.x5t_256(),
            session_sha256_fingerprint: session.sha256_fingerprint(),
            session_marked: is_session_certificate(session),
        },
    })
}

/// Checks that a decrypted share decodes as a GF(257) share (the custodian's export and
/// each export opened on the ceremony machine).
pub(super) fn check_decodes(opened: &OpenShare) -> Result<(), DomainError> {
    Share::decode(&opened.plaintext)
        .map(drop)
        .map_err(|e| DomainError::Share {
            key: opened.matched.key.clone(),
            location: opened.matched.location.clone(),
            detail: format!("decrypted, but is not a valid share: {e}"),
        })
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
