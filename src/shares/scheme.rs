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
/// Most GF(256) operations (see [`work_estimate`]) that combining may spend looking for a
/// corrupted share among extra shares: about 15 s of blahaj's arithmetic on the development
/// machine (1.4·10^8 operations took 0.45 s of CPU). A search that could cost more is
/// refused before it starts.
pub const WORK_BUDGET: u128 = 1 << 32;
/// Most shares one combine takes: a set has at most 255 (the x-coordinates of GF(256)).
pub const MAX_SHARES: usize = 255;
/// Most payload bytes the shares of one combine may carry together (they are all held in
/// memory at once): the shares of the largest secret at a threshold of 16.
pub const MAX_TOTAL_PAYLOAD: usize = 16 * (NONCE_LEN + MAX_SECRET_LEN);

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

/// The worst-case cost of combining `given` shares of a set of threshold `threshold`
/// whose payload is `payload_len` bytes (nonce and secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Work {
    /// Reconstructions: 1 for exactly `K` shares; with extra shares, every `K`-subset
    /// (C(given, K)) and then one probe per extra share. Saturates at `u128::MAX`.
    pub tries: u128,
    /// GF(256) operations: `tries × K² × payload_len` (blahaj's interpolation recomputes
    /// the Lagrange basis for every byte). Saturates at `u128::MAX`.
    pub operations: u128,
}

/// The worst-case [`Work`] of combining `given` shares of threshold `threshold` with
/// `payload_len`-byte payloads. [`combine`] refuses extra shares whose search would cost
/// more than [`WORK_BUDGET`] operations, before any reconstruction.
pub fn work_estimate(given: usize, threshold: usize, payload_len: usize) -> Work {
    let tries = if given <= threshold {
        1
    } else {
        binomial(given, threshold).saturating_add((given - threshold) as u128)
    };
    let k = threshold as u128;
    let operations = tries
        .saturating_mul(k * k)
        .saturating_mul(payload_len.max(1) as u128);
    Work { tries, operations }
}

/// C(n, k), saturating at `u128::MAX`.
fn binomial(n: usize, k: usize) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        // c * (n - i) is divisible by i + 1: c is C(n, i), and C(n, i+1) is an integer.
        match c.checked_mul((n - i) as u128) {
            Some(m) => c = m / (i as u128 + 1),
            None => return u128::MAX,
        }
    }
    c
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
    /// Reconstructions done (at most [`Work::tries`] of [`work_estimate`]).
    pub tries: usize,
}

impl std::fmt::Debug for Combined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Combined")
            .field("secret_len", &self.secret.len())
            .field("set_id", &self.set_id)
            .field("used", &self.used)
            .field("rejected", &self.rejected)
            .field("tries", &self.tries)
            .finish_non_exhaustive()
    }
}

/// Combines shares (each with the file it came from, for messages). Refuses shares of
/// different sets, shares given twice and too few shares; a reconstruction is accepted only
/// if it matches the set's commitment. With more than `K` shares, a corrupted share is
/// found and left out (and reported in [`Combined::rejected`]), unless that search could
/// cost more than [`WORK_BUDGET`]: then [`ShareError::TooMuchWork`], before any
/// reconstruction. More than [`MAX_SHARES`] shares are refused at once.
pub fn combine(shares: &[(PathBuf, Share)]) -> Result<Combined, ShareError> {
    let mut tries = 0;
    combine_counting(shares, &mut tries)
}

/// [`combine`], counting in `tries` every reconstruction done (also when it fails).
fn combine_counting(
    shares: &[(PathBuf, Share)],
    tries: &mut usize,
) -> Result<Combined, ShareError> {
    let Some((first_path, first)) = shares.first() else {
        return Err(ShareError::Usage("no shares given".into()));
    };
    check_count(shares.len())?;
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
    let work = work_estimate(shares.len(), need, first.payload.len());
    if shares.len() > need && work.operations > WORK_BUDGET {
        return Err(ShareError::TooMuchWork {
            have: shares.len(),
            need,
            set,
        });
    }
    let all: Vec<&Share> = shares.iter().map(|(_, s)| s).collect();
    let Some((used, data)) = find_consistent(&all, need, tries)? else {
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
        if !matches_commitment(first, &reconstruct(&probe, tries)?) {
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
        tries: *tries,
    })
}

/// Refuses more than [`MAX_SHARES`] shares (before any is read, when given the number of
/// files).
pub fn check_count(given: usize) -> Result<(), ShareError> {
    if given > MAX_SHARES {
        return Err(ShareError::Usage(format!(
            "{given} shares given; a set has at most {MAX_SHARES} shares and a combine takes at most that many"
        )));
    }
    Ok(())
}

/// The `need`-subset found by [`find_consistent`] and the data it rebuilds.
type Found = Option<(Vec<usize>, Zeroizing<Vec<u8>>)>;

/// The first `need`-subset of `all` (in lexicographic order) whose reconstruction matches
/// the commitment; every subset at worst (the caller has bounded that by [`work_estimate`]).
fn find_consistent(all: &[&Share], need: usize, tries: &mut usize) -> Result<Found, ShareError> {
    let mut subset: Vec<usize> = (0..need).collect();
    loop {
        let chosen: Vec<&Share> = subset.iter().map(|&i| all[i]).collect();
        let data = reconstruct(&chosen, tries)?;
        if matches_commitment(all[0], &data) {
            return Ok(Some((subset, data)));
        }
        if !next_subset(&mut subset, all.len()) {
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

/// Interpolates `nonce || secret` from exactly the shares given (distinct indices), and
/// counts the try.
fn reconstruct(shares: &[&Share], tries: &mut usize) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    *tries += 1;
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
