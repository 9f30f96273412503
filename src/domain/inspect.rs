//! `sd inspect`: what a security-domain file holds, without any private key: version,
//! quorum, each share's thumbprint and which local certificate or key it belongs to, the
//! data's tags and sizes.

use std::path::PathBuf;

use serde::Serialize;

use super::model::{KeySplit, SdFile};
use super::DomainError;
use crate::keys::{find_certificate_beside, KeyFile};
use crate::primitives::jwe::CompactJwe;

/// One share of the file.
#[derive(Clone, Debug, Serialize)]
pub struct ShareInfo {
    /// Location in the file.
    pub location: String,
    /// The certificate thumbprint it is encrypted to.
    pub x5t_256: String,
    /// The JWE `alg`.
    pub alg: String,
    /// The local certificate or key file whose certificate has that thumbprint.
    pub local_file: Option<String>,
}

/// One datum of the file.
#[derive(Clone, Debug, Serialize)]
pub struct DatumInfo {
    /// Its tag.
    pub tag: String,
    /// The JWE `alg` (always `dir`).
    pub alg: String,
    /// Ciphertext size in bytes.
    pub ciphertext_bytes: usize,
}

/// What `sd inspect` reports.
#[derive(Clone, Debug, Serialize)]
pub struct SdInspection {
    /// The file.
    pub sd_file: String,
    /// SHA-256 of its bytes.
    pub sd_sha256: String,
    /// Whether it was wrapped in `{"value": "..."}`.
    pub wrapped: bool,
    /// 1 or 2.
    pub version: u32,
    /// `shamir_share` or `xor_split`.
    pub key_algorithm: String,
    /// The quorum M (v1: both halves of a pair).
    pub required: usize,
    /// The number of shares N.
    pub shares_total: usize,
    /// `sp108_kdf`.
    pub kdf: String,
    /// Each share.
    pub shares: Vec<ShareInfo>,
    /// Each datum.
    pub data: Vec<DatumInfo>,
    /// Local files given that match no share.
    pub unmatched_files: Vec<String>,
}

/// Inspects `file`; `local` certificates or keys are matched to shares by thumbprint.
pub fn inspect(file: &SdFile, local: &[PathBuf]) -> Result<SdInspection, DomainError> {
    let sd = &file.domain;
    let mut thumbprints = Vec::new();
    for path in local {
        let parsed = KeyFile::read(path)?;
        let mut certs: Vec<String> = parsed.certificates().map(|c| c.x5t_256()).collect();
        if certs.is_empty() {
            if let Some((_, cert)) = find_certificate_beside(path)? {
                certs.push(cert.x5t_256());
            }
        }
        thumbprints.push((path.display().to_string(), certs));
    }
    let mut used = vec![false; thumbprints.len()];
    let shares = sd
        .shares()
        .into_iter()
        .map(|(location, share)| {
            let local_file = thumbprints
                .iter()
                .position(|(_, t)| t.contains(&share.x5t_256))
                .map(|i| {
                    used[i] = true;
                    thumbprints[i].0.clone()
                });
            ShareInfo {
                location,
                x5t_256: share.x5t_256.clone(),
                alg: alg_of(&share.enc_key),
                local_file,
            }
        })
        .collect::<Vec<_>>();
    let (key_algorithm, shares_total) = match &sd.split {
        KeySplit::Shamir(s) => (s.key_algorithm.clone(), s.enc_shares.len()),
        KeySplit::Xor(s) => (s.key_algorithm.clone(), s.keys.len() * 2),
    };
    Ok(SdInspection {
        sd_file: file.path.display().to_string(),
        sd_sha256: file.sha256.clone(),
        wrapped: file.wrapped,
        version: sd.version,
        key_algorithm,
        required: sd.required(),
        shares_total,
        kdf: sd.enc_data.kdf.clone(),
        shares,
        data: sd
            .enc_data
            .data
            .iter()
            .map(|d| {
                let jwe = CompactJwe::parse(&d.compact_jwe).ok();
                DatumInfo {
                    tag: d.tag.clone(),
                    alg: jwe
                        .as_ref()
                        .map(|j| j.algorithm().name().to_owned())
                        .unwrap_or_default(),
                    ciphertext_bytes: jwe.map(|j| j.ciphertext_len()).unwrap_or(0),
                }
            })
            .collect(),
        unmatched_files: thumbprints
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|((p, _), _)| p.clone())
            .collect(),
    })
}

fn alg_of(compact: &str) -> String {
    CompactJwe::parse(compact)
        .map(|j| j.algorithm().name().to_owned())
        .unwrap_or_default()
}
