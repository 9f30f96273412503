//! Splitting a secret into shares and combining them, over GF(256) with `blahaj`.
//!
//! Each byte of `nonce || secret` gets its own random polynomial of degree `K - 1`; share
//! `x` holds the polynomial values at `x`. The work goes in 64 KiB chunks so memory stays
//! bounded for large secrets (blahaj keeps one small vector per byte); the arithmetic is
//! the same as one call.

use std::path::PathBuf;

use blahaj::Sharks;
use zeroize::{Zeroize, Zeroizing};

use super::format::{self, SetId, Share, MAX_SECRET_LEN, NONCE_LEN};
use super::ShareError;

/// Bytes handed to blahaj per call.
const CHUNK: usize = 64 * 1024;
/// Most payload bytes that combining may rebuild while looking for the corrupted share
/// among extra shares (a bound on the subset search).
const SEARCH_BUDGET: usize = 256 * 1024 * 1024;

/// Checks a split's threshold and share count (2 <= K <= N <= 255) before any secret is
/// read; [`split`] checks them again.
pub fn check_split(threshold: u8, count: u8) -> Result<(), ShareError> {
    format::check_parameters(threshold, count)
        .map_err(|e| ShareError::Usage(format!("cannot split with {e}")))
}

/// Splits `secret` into `count` shares of which any `threshold` rebuild it.
pub fn split(secret: &[u8], threshold: u8, count: u8) -> Result<Vec<Share>, ShareError> {
    check_split(threshold, count)?;
    if secret.is_empty() {
        return Err(ShareError::Usage(
            "the secret is empty; there is nothing to split".into(),
        ));
    }
    if secret.len() > MAX_SECRET_LEN {
        return Err(ShareError::Usage(format!(
            "the secret is {} bytes; shares carry at most {MAX_SECRET_LEN} bytes (split a key to it instead)",
            secret.len()
        )));
    }
    let set_id = SetId(random::<16>()?);
    let mut data = Zeroizing::new(Vec::with_capacity(NONCE_LEN + secret.len()));
    data.extend_from_slice(&*Zeroizing::new(random::<NONCE_LEN>()?));
    data.extend_from_slice(secret);
    let commitment = format::commitment(&set_id, threshold, count, &data);
    let mut payloads: Vec<Zeroizing<Vec<u8>>> = (0..count)
        .map(|_| Zeroizing::new(Vec::with_capacity(data.len())))
        .collect();
    let sharks = Sharks(threshold);
    for chunk in data.chunks(CHUNK) {
        for (payload, share) in payloads.iter_mut().zip(sharks.dealer(chunk)) {
            let mut bytes = Vec::from(&share);
            payload.extend_from_slice(&bytes[1..]);
            bytes.zeroize();
        }
    }
    Ok(payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| Share {
            set_id,
            index: i as u8 + 1,
            threshold,
            count,
            commitment,
            payload,
        })
        .collect())
}

/// A secret rebuilt from shares and proven against the set's commitment.
pub struct Combined {
    /// The secret.
    pub secret: Zeroizing<Vec<u8>>,
    /// The set the shares belong to.
    pub set_id: SetId,
    /// The set's threshold.
    pub threshold: u8,
    /// The set's number of shares.
    pub count: u8,
    /// Positions (in the slice given) of the shares that rebuilt the secret.
    pub used: Vec<usize>,
    /// Positions of shares that are not consistent with the secret: corrupted or forged,
    /// found because more than the threshold were given. Replace them.
    pub rejected: Vec<usize>,
}

impl std::fmt::Debug for Combined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Combined")
            .field("secret_len", &self.secret.len())
            .field("set_id", &self.set_id)
            .field("used", &self.used)
            .field("rejected", &self.rejected)
            .finish_non_exhaustive()
    }
}

/// Combines shares (each with the file it came from, for messages). Refuses shares of
/// different sets, shares given twice and too few shares; a reconstruction is accepted only
/// if it matches the set's commitment. With more than `K` shares, a corrupted share is
/// found and left out (and reported in [`Combined::rejected`]).
pub fn combine(shares: &[(PathBuf, Share)]) -> Result<Combined, ShareError> {
    let Some((first_path, first)) = shares.first() else {
        return Err(ShareError::Usage("no shares given".into()));
    };
    let set = first.set_id.short();
    for (i, (path, share)) in shares.iter().enumerate().skip(1) {
        if share.set_id != first.set_id {
            return Err(ShareError::MixedSets {
                first: first_path.clone(),
                first_set: set,
                second: path.clone(),
                second_set: share.set_id.short(),
            });
        }
        let field = if share.threshold != first.threshold {
            Some("the threshold")
        } else if share.count != first.count {
            Some("the number of shares")
        } else if share.commitment != first.commitment {
            Some("the commitment")
        } else if share.payload.len() != first.payload.len() {
            Some("the secret's length")
        } else {
            None
        };
        if let Some(field) = field {
            return Err(ShareError::Inconsistent {
                first: first_path.clone(),
                second: path.clone(),
                set,
                field,
            });
        }
        if let Some((earlier, twin)) = shares[..i].iter().find(|(_, s)| s.index == share.index) {
            if twin.payload != share.payload {
                return Err(ShareError::Inconsistent {
                    first: earlier.clone(),
                    second: path.clone(),
                    set,
                    field: "the values of the share index both claim",
                });
            }
            return Err(ShareError::Duplicate {
                first: earlier.clone(),
                second: path.clone(),
                index: share.index,
                set,
            });
        }
    }
    let need = first.threshold as usize;
    if shares.len() < need {
        return Err(ShareError::TooFew {
            have: shares.len(),
            need,
            set,
        });
    }
    let all: Vec<&Share> = shares.iter().map(|(_, s)| s).collect();
    let Some((used, data)) = find_consistent(&all, need)? else {
        let hint = if shares.len() == need {
            "; bring one more share of the set so sdctl can tell which one is wrong".to_owned()
        } else {
            "; no subset of the shares given matches either, so more than one is wrong".to_owned()
        };
        return Err(ShareError::Mismatch {
            set,
            count: shares.len(),
            hint,
        });
    };
    let mut rejected = Vec::new();
    for extra in (0..all.len()).filter(|i| !used.contains(i)) {
        let mut probe: Vec<&Share> = used[1..].iter().map(|&i| all[i]).collect();
        probe.push(all[extra]);
        if !matches_commitment(first, &reconstruct(&probe)?) {
            rejected.push(extra);
        }
    }
    let secret = Zeroizing::new(data[NONCE_LEN..].to_vec());
    Ok(Combined {
        secret,
        set_id: first.set_id,
        threshold: first.threshold,
        count: first.count,
        used,
        rejected,
    })
}

/// The first `need`-subset of `all` (in lexicographic order) whose reconstruction matches
/// the commitment, within [`SEARCH_BUDGET`].
type Found = Option<(Vec<usize>, Zeroizing<Vec<u8>>)>;

fn find_consistent(all: &[&Share], need: usize) -> Result<Found, ShareError> {
    let per_try = all[0].payload.len().max(1);
    let mut budget = SEARCH_BUDGET / per_try;
    let mut subset: Vec<usize> = (0..need).collect();
    loop {
        let chosen: Vec<&Share> = subset.iter().map(|&i| all[i]).collect();
        let data = reconstruct(&chosen)?;
        if matches_commitment(all[0], &data) {
            return Ok(Some((subset, data)));
        }
        budget = budget.saturating_sub(1);
        if budget == 0 || !next_subset(&mut subset, all.len()) {
            return Ok(None);
        }
    }
}

/// Advances `subset` (strictly increasing indices below `n`) to the next combination.
fn next_subset(subset: &mut [usize], n: usize) -> bool {
    let k = subset.len();
    for i in (0..k).rev() {
        if subset[i] < n - k + i {
            subset[i] += 1;
            for j in i + 1..k {
                subset[j] = subset[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

fn matches_commitment(share: &Share, data: &[u8]) -> bool {
    let expected = format::commitment(&share.set_id, share.threshold, share.count, data);
    openssl::memcmp::eq(&expected, &share.commitment)
}

/// Interpolates `nonce || secret` from exactly the shares given (distinct indices).
fn reconstruct(shares: &[&Share]) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    let len = shares[0].payload.len();
    let sharks = Sharks(shares.len() as u8);
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut start = 0;
    while start < len {
        let end = (start + CHUNK).min(len);
        let mut pieces = Vec::with_capacity(shares.len());
        for share in shares {
            let mut bytes = Zeroizing::new(Vec::with_capacity(end - start + 1));
            bytes.push(share.index);
            bytes.extend_from_slice(&share.payload[start..end]);
            let piece = blahaj::Share::try_from(bytes.as_slice())
                .map_err(|e| ShareError::Crypto(format!("blahaj: {e}")))?;
            pieces.push(piece);
        }
        let part = Zeroizing::new(
            sharks
                .recover(&pieces)
                .map_err(|e| ShareError::Crypto(format!("blahaj: {e}")))?,
        );
        out.extend_from_slice(&part);
        start = end;
    }
    Ok(out)
}

fn random<const N: usize>() -> Result<[u8; N], ShareError> {
    let mut out = [0u8; N];
    openssl::rand::rand_bytes(&mut out).map_err(|e| ShareError::Crypto(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
#[path = "scheme_tests.rs"]
mod tests;
