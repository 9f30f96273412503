//! The recovery drill: open the domain with a quorum of custodian keys, rebuild the master
//! key, and authenticate every datum. With `each_custodian`, every key's share is opened on
//! its own and every quorum-sized window of a rotation over the keys must rebuild the same
//! master key, so a custodian whose key or share is broken is found before a disaster.

use serde::Serialize;

use super::data;
use super::model::{KeySplit, SdFile};
use super::unlock::{self, combine_shares, KeyMatch, OpenShare, Unlocked};
use super::DomainError;
use crate::keys::WrappingKey;

/// One datum as verified.
#[derive(Clone, Debug, Serialize)]
pub struct DatumReport {
    /// Its tag.
    pub tag: String,
    /// Plaintext size in bytes (0 when it did not authenticate).
    pub bytes: usize,
    /// Whether it decrypted and authenticated with the rebuilt master key.
    pub ok: bool,
    /// Why not, if it did not.
    pub error: Option<String>,
}

/// One custodian's own share, opened alone (`--each-custodian`).
#[derive(Clone, Debug, Serialize)]
pub struct CustodianProof {
    /// The key file.
    pub key: String,
    /// The share it opens.
    pub location: String,
    /// Whether the share decrypted and decoded.
    pub ok: bool,
    /// What failed, if anything.
    pub error: Option<String>,
}

/// One quorum-sized combination of the rotation (`--each-custodian`).
#[derive(Clone, Debug, Serialize)]
pub struct Combination {
    /// The key files combined.
    pub keys: Vec<String>,
    /// Whether they rebuilt the same master key.
    pub ok: bool,
    /// What failed, if anything.
    pub error: Option<String>,
}

/// The drill's result.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// The SD file.
    pub sd_file: String,
    /// SHA-256 of the SD file's bytes.
    pub sd_sha256: String,
    /// SD version.
    pub version: u32,
    /// The quorum M.
    pub required: usize,
    /// The number of wrapping keys N.
    pub shares: usize,
    /// The keys whose shares rebuilt the master key.
    pub custodians_used: Vec<KeyMatch>,
    /// Every key (or share export) given, with its share.
    pub keys: Vec<KeyMatch>,
    /// Length of the master key.
    pub master_key_bytes: usize,
    /// Every datum, authenticated.
    pub data: Vec<DatumReport>,
    /// Per-custodian proofs, with `each_custodian`.
    pub each_custodian: Option<Vec<CustodianProof>>,
    /// The rotation's combinations, with `each_custodian`.
    pub combinations: Option<Vec<Combination>>,
    /// True only if everything verified.
    pub verified: bool,
}

impl VerifyReport {
    /// The first finding of a drill that did not verify, for a one-line message.
    pub fn first_failure(&self) -> Option<String> {
        let datum = self.data.iter().find_map(|d| d.error.clone());
        let share = || {
            self.each_custodian.iter().flatten().find_map(|p| {
                p.error
                    .as_ref()
                    .map(|e| format!("the share of {} does not open: {e}", p.key))
            })
        };
        let combination = || {
            self.combinations.iter().flatten().find(|c| !c.ok).map(|c| {
                format!(
                    "the quorum {} fails: {}",
                    c.keys.join(" + "),
                    c.error.as_deref().unwrap_or("no reason given")
                )
            })
        };
        datum.or_else(share).or_else(combination)
    }
}

/// Runs the drill. Any failure of the quorum path is an error; with `each_custodian`,
/// individual failures are reported in the result (and `verified` is false).
pub fn verify(
    file: &SdFile,
    keys: &[WrappingKey],
    each_custodian: bool,
) -> Result<VerifyReport, DomainError> {
    let unlocked = unlock::unlock(&file.path, &file.domain, keys)?;
    let mut report = verify_unlocked(file, &unlocked)?;
    if each_custodian {
        let (proofs, combinations) = prove_each(file, keys, &unlocked.master_key)?;
        report.verified &= proofs.iter().all(|p| p.ok) && combinations.iter().all(|c| c.ok);
        report.each_custodian = Some(proofs);
        report.combinations = Some(combinations);
    }
    Ok(report)
}

/// The drill once the master key is rebuilt, however its shares were opened (custodian
/// keys, or share exports of a distributed quorum): every datum is decrypted and
/// authenticated, and the report names the shares used. A datum that does not authenticate
/// while others do is a finding of the drill (`verified` false, exit 1): the quorum worked,
/// the domain is damaged. When none authenticates the master key is wrong: an integrity
/// error (exit 3), as when the shares do not combine. A datum that is not a JWE at all is
/// bad input.
pub fn verify_unlocked(file: &SdFile, unlocked: &Unlocked) -> Result<VerifyReport, DomainError> {
    let sd = &file.domain;
    let mut data = Vec::with_capacity(sd.enc_data.data.len());
    for (datum, opened) in sd.enc_data.data.iter().zip(data::open_each(
        &file.path,
        &sd.enc_data,
        &unlocked.master_key,
    )) {
        data.push(match opened {
            Ok(open) => DatumReport {
                tag: open.tag.clone(),
                bytes: open.plaintext.len(),
                ok: true,
                error: None,
            },
            Err(DomainError::Integrity { detail, .. }) => DatumReport {
                tag: datum.tag.clone(),
                bytes: 0,
                ok: false,
                error: Some(detail),
            },
            Err(other) => return Err(other),
        });
    }
    if !data.is_empty() && data.iter().all(|d| !d.ok) {
        // Not one datum opens: the master key itself is wrong, not a datum.
        return Err(DomainError::Integrity {
            path: file.path.clone(),
            detail: format!(
                "no datum authenticates with the rebuilt master key: a share is corrupt or from another security domain (first: {})",
                data[0].error.as_deref().unwrap_or("no reason given")
            ),
        });
    }
    let verified = data.iter().all(|d| d.ok);
    Ok(VerifyReport {
        sd_file: file.path.display().to_string(),
        sd_sha256: file.sha256.clone(),
        version: sd.version,
        required: sd.required(),
        shares: match &sd.split {
            KeySplit::Shamir(s) => s.enc_shares.len(),
            KeySplit::Xor(s) => s.keys.len() * 2,
        },
        custodians_used: unlocked.used.clone(),
        keys: unlocked.matches.clone(),
        master_key_bytes: unlocked.master_key.len(),
        data,
        each_custodian: None,
        combinations: None,
        verified,
    })
}

fn prove_each(
    file: &SdFile,
    keys: &[WrappingKey],
    master_key: &[u8],
) -> Result<(Vec<CustodianProof>, Vec<Combination>), DomainError> {
    let sd = &file.domain;
    let matches = unlock::match_keys(&file.path, sd, keys)?;
    let opened = unlock::open_shares(sd, keys, &matches);
    let mut proofs = Vec::new();
    let mut shares: Vec<Option<OpenShare>> = Vec::new();
    for (found, result) in matches.iter().zip(opened) {
        let result = result.and_then(|o| check_share_decodes(file, o));
        proofs.push(CustodianProof {
            key: found.matched.key.display().to_string(),
            location: found.matched.location.clone(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        shares.push(result.ok());
    }
    let required = sd.required();
    let n = shares.len();
    let mut combinations = Vec::new();
    if matches!(sd.split, KeySplit::Shamir(_)) && n >= required {
        for start in 0..n {
            let window: Vec<usize> = (0..required).map(|j| (start + j) % n).collect();
            let names: Vec<String> = window.iter().map(|&i| proofs[i].key.clone()).collect();
            let opened: Option<Vec<&OpenShare>> =
                window.iter().map(|&i| shares[i].as_ref()).collect();
            let (ok, error) = match opened {
                None => (
                    false,
                    Some("a share in this combination did not open".to_owned()),
                ),
                Some(parts) => match combine_shares(&file.path, &parts) {
                    Ok(key) if key.as_slice() == master_key => (true, None),
                    Ok(_) => (false, Some("rebuilt a different master key".to_owned())),
                    Err(e) => (false, Some(e.to_string())),
                },
            };
            combinations.push(Combination {
                keys: names,
                ok,
                error,
            });
            if n == required {
                break;
            }
        }
    }
    Ok((proofs, combinations))
}

fn check_share_decodes(file: &SdFile, opened: OpenShare) -> Result<OpenShare, DomainError> {
    if matches!(file.domain.split, KeySplit::Shamir(_)) {
        crate::primitives::gf257::Share::decode(&opened.plaintext).map_err(|e| {
            DomainError::Share {
                key: opened.matched.key.clone(),
                location: opened.matched.location.clone(),
                detail: format!("decrypted, but is not a valid share: {e}"),
            }
        })?;
    }
    Ok(opened)
}
