//! Opening a security domain with custodian keys: each key is matched to its share by the
//! thumbprint of its certificate (beside the key, or inside the PKCS#12), or, without a
//! certificate, by trial decryption (the JWE's MAC decides). Every key given must belong to
//! the domain; exactly `required` distinct shares are combined.

use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use super::model::{EncShare, KeySplit, SecurityDomain};
use super::DomainError;
use crate::keys::WrappingKey;
use crate::parallel;
use crate::primitives::gf257::{self, Share};
use crate::primitives::jwe::CompactJwe;

/// How a key was matched to its share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The certificate's SHA-256 thumbprint equals the share's `x5t_256`.
    Thumbprint,
    /// No certificate: the key decrypted the share (authenticated by the JWE's MAC).
    TrialDecryption,
    /// The key's certificate matches no share's `x5t_256` (a certificate renewed with the
    /// same key pair, or a thumbprint computed differently by another tool), but the key
    /// decrypted this share (authenticated by the JWE's MAC). Worth a warning.
    TrialDecryptionThumbprintMismatch,
    /// The share came from a custodian's share export, opened with the ceremony session's
    /// key (`KeyMatch::key` is the export file).
    SessionExport,
}

/// A key (or a share export) matched to a share of the domain.
#[derive(Clone, Debug, Serialize)]
pub struct KeyMatch {
    /// The key file (or the share export file, with [`MatchedBy::SessionExport`]).
    pub key: PathBuf,
    /// Index into [`SecurityDomain::shares`].
    pub share: usize,
    /// The share's location in the file (`SharedKeys.enc_shares[2]`).
    pub location: String,
    /// The share's `x5t_256`.
    pub x5t_256: String,
    /// How it was matched.
    pub matched_by: MatchedBy,
    /// How the share was decrypted (`file`, `token-oaep`, `token-raw+host-oaep`, ...),
    /// once it has been.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<&'static str>,
}

impl KeyMatch {
    /// The warning owed when the key was matched by trial decryption although it came with
    /// a certificate, naming the key, the domain and the share it opened.
    pub fn mismatch_warning(&self, sd_file: &Path) -> Option<String> {
        (self.matched_by == MatchedBy::TrialDecryptionThumbprintMismatch).then(|| {
            thumbprint_mismatch_warning(
                &self.key.display().to_string(),
                sd_file,
                &self.location,
                &self.x5t_256,
            )
        })
    }
}

/// The warning about `key`, whose certificate's thumbprint matches no share of `sd_file`,
/// having opened the share at `location` (`x5t_256`) by trial decryption.
pub fn thumbprint_mismatch_warning(
    key: &str,
    sd_file: &Path,
    location: &str,
    x5t_256: &str,
) -> String {
    format!(
        "{key}: its certificate's thumbprint matches no share of {}; it opened {location} (x5t_256 {x5t_256}) by trial decryption (the share's MAC proves the key). Was the certificate renewed? Keep the certificate the security domain was made for with the key",
        sd_file.display()
    )
}

/// A decrypted share.
pub struct OpenShare {
    /// Which key opened which share.
    pub matched: KeyMatch,
    /// The decrypted bytes.
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// The result of opening a domain: the master key and the shares used.
pub struct Unlocked {
    /// The rebuilt master key.
    pub master_key: Zeroizing<Vec<u8>>,
    /// The keys whose shares were combined, in order.
    pub used: Vec<KeyMatch>,
    /// Every key given, matched to its share.
    pub matches: Vec<KeyMatch>,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Unlocked({}-byte master key from {} share(s))",
            self.master_key.len(),
            self.used.len()
        )
    }
}

/// A key matched to its share, with the share's plaintext when matching already
/// decrypted it (trial decryption).
pub struct MatchedShare {
    /// Which key belongs to which share.
    pub matched: KeyMatch,
    /// The decrypted share, if matching decrypted it.
    pub opened: Option<Zeroizing<Vec<u8>>>,
    /// Index of the key in the slice given to [`match_keys`].
    pub key_index: usize,
}

/// Matches every key to its share; a key that belongs to no share, or two keys for one
/// share, is an error. Shares opened during trial matching are returned decrypted.
pub fn match_keys(
    path: &Path,
    sd: &SecurityDomain,
    keys: &[WrappingKey],
) -> Result<Vec<MatchedShare>, DomainError> {
    let shares = sd.shares();
    let mut found: Vec<MatchedShare> = Vec::new();
    for (key_index, key) in keys.iter().enumerate() {
        let (indices, matched_by, opened) = match &key.certificate {
            Some(cert) => {
                let thumbprint = cert.x5t_256();
                let indices: Vec<usize> = (0..shares.len())
                    .filter(|&i| shares[i].1.x5t_256 == thumbprint)
                    .collect();
                if indices.is_empty() {
                    // A renewed certificate (same key pair) or a differently computed
                    // thumbprint: the key may still open a share; the MAC decides.
                    let (i, plaintext) = trial_match(&shares, key).ok_or_else(|| {
                        DomainError::NotInDomain {
                            key: key.key_path.clone(),
                            detail: format!(
                                "its certificate (x5t_256 {thumbprint}) is not one of the wrapping keys of {}, and the key opens none of its shares",
                                path.display()
                            ),
                        }
                    })?;
                    (
                        vec![i],
                        MatchedBy::TrialDecryptionThumbprintMismatch,
                        Some(plaintext),
                    )
                } else {
                    (indices, MatchedBy::Thumbprint, None)
                }
            }
            None => {
                let (i, plaintext) = trial_match(&shares, key).ok_or_else(|| {
                    DomainError::NotInDomain {
                        key: key.key_path.clone(),
                        detail: format!(
                            "opens none of the shares of {} (no certificate beside it, so every share was tried)",
                            path.display()
                        ),
                    }
                })?;
                (vec![i], MatchedBy::TrialDecryption, Some(plaintext))
            }
        };
        // Version 1 repeats a custodian across pairs; version 2 has one share per key.
        let single = matches!(sd.split, KeySplit::Shamir(_));
        for (n, &i) in indices.iter().enumerate() {
            if let Some(previous) = found.iter().find(|f| f.matched.share == i) {
                return Err(DomainError::DuplicateKey {
                    first: previous.matched.key.clone(),
                    second: key.key_path.clone(),
                    location: shares[i].0.clone(),
                });
            }
            let matched = KeyMatch {
                key: key.key_path.clone(),
                share: i,
                location: shares[i].0.clone(),
                x5t_256: shares[i].1.x5t_256.clone(),
                matched_by,
                decryption: opened.as_ref().map(|_| key.key.decryption_path()),
            };
            let opened = if n == 0 { opened.clone() } else { None };
            found.push(MatchedShare {
                matched,
                opened,
                key_index,
            });
            if single {
                break;
            }
        }
    }
    Ok(found)
}

fn trial_match(
    shares: &[(String, &EncShare)],
    key: &WrappingKey,
) -> Option<(usize, Zeroizing<Vec<u8>>)> {
    shares.iter().enumerate().find_map(|(i, (_, share))| {
        let jwe = CompactJwe::parse(&share.enc_key).ok()?;
        jwe.decrypt_rsa(&key.key).ok().map(|p| (i, p))
    })
}

/// Decrypts the share `matched` with `key` (unless already decrypted).
pub fn open_share(
    sd: &SecurityDomain,
    key: &WrappingKey,
    matched: KeyMatch,
    already: Option<Zeroizing<Vec<u8>>>,
) -> Result<OpenShare, DomainError> {
    let mut matched = matched;
    if let Some(plaintext) = already {
        return Ok(OpenShare { matched, plaintext });
    }
    let shares = sd.shares();
    let share = shares[matched.share].1;
    let fail = |detail: String| DomainError::Share {
        key: key.key_path.clone(),
        location: matched.location.clone(),
        detail,
    };
    let jwe = CompactJwe::parse(&share.enc_key).map_err(|e| fail(e.to_string()))?;
    let plaintext = jwe.decrypt_rsa(&key.key).map_err(|e| {
        fail(format!(
            "{e} (the certificate matches, so the share was altered or the key is damaged)"
        ))
    })?;
    matched.decryption = Some(key.key.decryption_path());
    Ok(OpenShare { matched, plaintext })
}

/// Decrypts the shares of `matched` (each with its key); the results are in the order of
/// `matched`. With key files, on every core: an RSA-3072 private operation takes about
/// 2 ms with OpenSSL 3.0, more than a thread costs it (its own DRBG; the operation itself
/// takes no shared lock), so three shares on two cores take two operations' time
/// (measured in docs/benchmarks.md). A key on a PKCS#11 token is used from one thread
/// only: with any token key, every share is opened in order.
pub fn open_shares(
    sd: &SecurityDomain,
    keys: &[WrappingKey],
    matched: &[MatchedShare],
) -> Vec<Result<OpenShare, DomainError>> {
    let on_token = matched
        .iter()
        .any(|m| keys[m.key_index].key.token().is_some());
    let threads = if on_token {
        1
    } else {
        parallel::default_threads()
    };
    let open = |_, m: &MatchedShare| {
        open_share(sd, &keys[m.key_index], m.matched.clone(), m.opened.clone())
    };
    parallel::map(matched, threads, open, &|_| {})
}

/// Opens the domain with `keys`: every key must belong to it; the first `required`
/// matched shares are decrypted and combined (v2), or the first pair whose two halves are
/// held is XORed (v1).
pub fn unlock(
    path: &Path,
    sd: &SecurityDomain,
    keys: &[WrappingKey],
) -> Result<Unlocked, DomainError> {
    let matches = match_keys(path, sd, keys)?;
    let all: Vec<KeyMatch> = matches.iter().map(|f| f.matched.clone()).collect();
    match &sd.split {
        KeySplit::Shamir(shared) => {
            let required = shared.required;
            if matches.len() < required {
                return Err(DomainError::TooFewKeys {
                    path: path.to_owned(),
                    opened: matches.len(),
                    required,
                });
            }
            let chosen: Vec<MatchedShare> = matches.into_iter().take(required).collect();
            let opened = open_shares(sd, keys, &chosen)
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            let master_key = combine_shares(path, &opened.iter().collect::<Vec<_>>())?;
            Ok(Unlocked {
                master_key,
                used: opened.into_iter().map(|o| o.matched).collect(),
                matches: all,
            })
        }
        KeySplit::Xor(split) => {
            for pair in 0..split.keys.len() {
                let halves: Vec<&MatchedShare> = matches
                    .iter()
                    .filter(|f| f.matched.share / 2 == pair)
                    .collect();
                if halves.len() != 2 {
                    continue;
                }
                let mut opened = Vec::new();
                for half in halves {
                    let key = &keys[half.key_index];
                    opened.push(open_share(
                        sd,
                        key,
                        half.matched.clone(),
                        half.opened.clone(),
                    )?);
                }
                let (a, b) = (&opened[0].plaintext, &opened[1].plaintext);
                if a.len() != b.len() {
                    return Err(DomainError::Integrity {
                        path: path.to_owned(),
                        detail: format!("SplitKeys.keys[{pair}]: the two halves differ in length"),
                    });
                }
                let master_key =
                    Zeroizing::new(a.iter().zip(b.iter()).map(|(x, y)| x ^ y).collect());
                return Ok(Unlocked {
                    master_key,
                    used: opened.into_iter().map(|o| o.matched).collect(),
                    matches: all,
                });
            }
            Err(DomainError::NoCompletePair {
                path: path.to_owned(),
                halves: matches.len(),
            })
        }
    }
}

/// Decodes the opened shares and combines them (exactly as many as given).
pub fn combine_shares(
    path: &Path,
    opened: &[&OpenShare],
) -> Result<Zeroizing<Vec<u8>>, DomainError> {
    let mut shares = Vec::new();
    for o in opened {
        let share = Share::decode(&o.plaintext).map_err(|e| DomainError::Share {
            key: o.matched.key.clone(),
            location: o.matched.location.clone(),
            detail: format!("decrypted, but is not a valid share: {e}"),
        })?;
        shares.push(share);
    }
    let refs: Vec<&Share> = shares.iter().collect();
    gf257::combine(&refs).map_err(|e| DomainError::Integrity {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}
