//! Step 3, on the ceremony machine: the exports opened with the session key, checked
//! against the security domain and combined; then the drill or the restore blob.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::export::check_decodes;
use super::{enc_key_sha256, ShareClaim, CLAIM_HEADER, CONTENT_TYPE};
use crate::domain::exchange::ExchangeKey;
use crate::domain::model::{KeySplit, SdFile};
use crate::domain::restore_blob::{self, RestoreBlob};
use crate::domain::unlock::{combine_shares, KeyMatch, MatchedBy, OpenShare, Unlocked};
use crate::domain::verify::{self, VerifyReport};
use crate::domain::DomainError;
use crate::files;
use crate::keys::{Certificate, WrappingKey};
use crate::primitives::jwe::{Algorithm, CompactJwe};

/// Largest share export file accepted.
pub const MAX_EXPORT_FILE: u64 = 1024 * 1024;

/// A share export read from its file: a well-formed compact JWE of content type
/// [`CONTENT_TYPE`], `RSA-OAEP-256`; not yet opened.
pub struct ExportFile {
    /// Where it was read from.
    pub path: PathBuf,
    jwe: CompactJwe,
}

impl ExportFile {
    /// Reads and parses a share export (bad input, exit 2, when it is not one).
    pub fn read(path: &Path) -> Result<Self, DomainError> {
        let bytes = files::read_bounded(path, MAX_EXPORT_FILE, "a share export")?;
        Self::parse(path, &bytes)
    }

    /// Parses the bytes of a share export; `path` names it in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, DomainError> {
        let invalid = |detail: String| DomainError::ExportInvalid {
            path: path.to_owned(),
            detail,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| invalid("not text; a share export is a compact JWE".into()))?;
        if text.trim().is_empty() {
            return Err(invalid(
                "file is empty; expected a share export ('sdctl sd share-export')".into(),
            ));
        }
        let jwe =
            CompactJwe::parse(text).map_err(|e| invalid(format!("not a share export: {e}")))?;
        match jwe.header().get("cty").and_then(Value::as_str) {
            Some(CONTENT_TYPE) => {}
            other => {
                return Err(invalid(format!(
                    "not an sdctl share export: content type {}, expected '{CONTENT_TYPE}' (made by 'sdctl sd share-export')",
                    other.map_or("missing".to_owned(), |c| format!("'{c}'"))
                )))
            }
        }
        if jwe.algorithm() != Algorithm::RsaOaep256 {
            return Err(invalid(format!(
                "alg '{}'; share exports are sealed with RSA-OAEP-256",
                jwe.algorithm().name()
            )));
        }
        Ok(ExportFile {
            path: path.to_owned(),
            jwe,
        })
    }

    /// The session certificate thumbprint the export names (`x5t#S256`, unauthenticated
    /// until the export is opened).
    pub fn session_x5t_256(&self) -> Option<&str> {
        self.jwe.header().get("x5t#S256").and_then(Value::as_str)
    }
}

/// The session key's certificate and where it was found; a session key without one is
/// refused (the exports name their session by its certificate).
fn session_certificate(session: &WrappingKey) -> Result<(&Certificate, &Path), DomainError> {
    match (&session.certificate, &session.certificate_path) {
        (Some(cert), Some(path)) => Ok((cert, path)),
        _ => Err(DomainError::Session {
            path: session.key_path.clone(),
            detail: format!(
                "no certificate beside the session key (expected {}); keep session.cer next to session.key",
                session.key_path.with_extension("cer").display()
            ),
        }),
    }
}

/// Opens every export with the `session` key and checks it: sealed to this session,
/// authenticated, naming a share of `file` (location, custodian thumbprint and the
/// share's `enc_key` hash), decoding as a share; no share twice; at least the quorum.
/// The first `required` exports, in the order given, are combined.
pub fn open_exports(
    file: &SdFile,
    session: &WrappingKey,
    exports: &[ExportFile],
) -> Result<Unlocked, DomainError> {
    if !matches!(file.domain.split, KeySplit::Shamir(_)) {
        return Err(DomainError::NeedsVersion2 {
            path: file.path.clone(),
        });
    }
    let (cert, cert_path) = session_certificate(session)?;
    let mut opened: Vec<OpenShare> = Vec::with_capacity(exports.len());
    for export in exports {
        let share = open_export(file, session, cert, cert_path, export)?;
        if let Some(first) = opened
            .iter()
            .find(|o| o.matched.share == share.matched.share)
        {
            return Err(DomainError::DuplicateExport {
                first: first.matched.key.clone(),
                second: share.matched.key.clone(),
                location: share.matched.location.clone(),
            });
        }
        opened.push(share);
    }
    let required = file.domain.required();
    if opened.len() < required {
        return Err(DomainError::TooFewExports {
            path: file.path.clone(),
            given: opened.len(),
            required,
        });
    }
    let chosen: Vec<&OpenShare> = opened.iter().take(required).collect();
    let master_key = combine_shares(&file.path, &chosen)?;
    Ok(Unlocked {
        master_key,
        used: chosen.iter().map(|o| o.matched.clone()).collect(),
        matches: opened.iter().map(|o| o.matched.clone()).collect(),
    })
}

fn open_export(
    file: &SdFile,
    session: &WrappingKey,
    cert: &Certificate,
    cert_path: &Path,
    export: &ExportFile,
) -> Result<OpenShare, DomainError> {
    let expected = cert.x5t_256();
    let found = export.session_x5t_256();
    if found != Some(expected.as_str()) {
        return Err(DomainError::ExportWrongSession {
            path: export.path.clone(),
            session: cert_path.to_owned(),
            found: found.unwrap_or("none").to_owned(),
            expected,
        });
    }
    let plaintext =
        export
            .jwe
            .decrypt_rsa(&session.key)
            .map_err(|_| DomainError::ExportUnopened {
                path: export.path.clone(),
                session_key: session.key_path.clone(),
            })?;
    // From here the header is authenticated: it was the AAD of the tag just checked.
    let claim: ShareClaim = export
        .jwe
        .header()
        .get(CLAIM_HEADER)
        .cloned()
        .ok_or_else(|| format!("its header has no '{CLAIM_HEADER}'"))
        .and_then(|v| serde_json::from_value(v).map_err(|e| format!("'{CLAIM_HEADER}': {e}")))
        .map_err(|detail| DomainError::ExportInvalid {
            path: export.path.clone(),
            detail,
        })?;
    let share = bind_to_domain(file, &export.path, &claim)?;
    let opened = OpenShare {
        matched: KeyMatch {
            key: export.path.clone(),
            share,
            location: claim.location,
            x5t_256: claim.x5t_256,
            matched_by: MatchedBy::SessionExport,
            decryption: Some(session.key.decryption_path()),
        },
        plaintext,
    };
    check_decodes(&opened)?;
    Ok(opened)
}

/// The index of the share of `file` that `claim` names; anything that does not match is
/// an export from another security domain.
fn bind_to_domain(file: &SdFile, path: &Path, claim: &ShareClaim) -> Result<usize, DomainError> {
    let shares = file.domain.shares();
    let origin = claim
        .sd_sha256
        .as_deref()
        .map(|s| format!(" (the export names an SD file with SHA-256 {s})"))
        .unwrap_or_default();
    let foreign = |what: String| DomainError::ForeignExport {
        path: path.to_owned(),
        sd: file.path.clone(),
        detail: format!(
            "{what}{origin}; ask the custodian to export again from this SD file (SHA-256 {})",
            file.sha256
        ),
    };
    let Some(index) = shares.iter().position(|(l, _)| *l == claim.location) else {
        return Err(foreign(format!(
            "it holds {}, which this SD does not have",
            claim.location
        )));
    };
    let share = shares[index].1;
    if share.x5t_256 != claim.x5t_256 {
        return Err(foreign(format!(
            "it holds {} for certificate x5t_256 {}, but this SD's {} is for {}",
            claim.location, claim.x5t_256, claim.location, share.x5t_256
        )));
    }
    if enc_key_sha256(share) != claim.enc_key_sha256 {
        return Err(foreign(format!(
            "the custodian's certificate matches {}, but the share itself is another one (another download for the same custodians)",
            claim.location
        )));
    }
    Ok(index)
}

/// The recovery drill with a distributed quorum: [`open_exports`], then exactly the drill
/// of [`verify::verify_unlocked`].
pub fn verify_exports(
    file: &SdFile,
    session: &WrappingKey,
    exports: &[ExportFile],
) -> Result<VerifyReport, DomainError> {
    let unlocked = open_exports(file, session, exports)?;
    verify::verify_unlocked(file, &unlocked)
}

/// The restore blob with a distributed quorum: [`open_exports`], then exactly what
/// [`restore_blob::build_unlocked`] does with keys.
pub fn restore_blob_from_exports(
    file: &SdFile,
    session: &WrappingKey,
    exports: &[ExportFile],
    exchange: &ExchangeKey,
) -> Result<(RestoreBlob, Unlocked), DomainError> {
    let unlocked = open_exports(file, session, exports)?;
    restore_blob::build_unlocked(file, unlocked, exchange)
}

#[cfg(test)]
#[path = "open_tests.rs"]
mod tests;
