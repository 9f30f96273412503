//! The binary share record (format version 1), all integers big endian:
//!
//! ```text
//! offset  size  field
//!      0     4  magic "SDSS"
//!      4     1  format version (1)
//!      5    16  set id: random, the same in every share of one split
//!     21     1  index: the share's x-coordinate, 1..=N
//!     22     1  threshold K (2..=N)
//!     23     1  number of shares N (2..=255)
//!     24    32  commitment: SHA-256 over the set's parameters, a random nonce and the secret
//!     56     4  payload length L (32 + the secret's length)
//!     60     L  payload: the share's GF(256) values of nonce || secret
//!   60+L    16  checksum: the first 16 bytes of SHA-256 of everything before it
//! ```
//! The checksum catches a damaged file and names it; the commitment catches a wrong
//! reconstruction (a share altered with its checksum recomputed, shares of a forged set).

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The first four bytes of every binary share.
pub const MAGIC: &[u8; 4] = b"SDSS";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 60;
/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 16;
/// Bytes of the random nonce shared with the secret (it keeps the commitment hiding).
pub const NONCE_LEN: usize = 32;
/// The largest secret a share may carry.
pub const MAX_SECRET_LEN: usize = 16 * 1024 * 1024;
/// The largest binary share (header, payload, checksum).
pub const MAX_SHARE_LEN: usize = HEADER_LEN + NONCE_LEN + MAX_SECRET_LEN + CHECKSUM_LEN;

/// The random identifier of one split; every share of the split carries it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetId(pub [u8; 16]);

impl SetId {
    /// The first 8 hex digits, as shown to people.
    pub fn short(&self) -> String {
        crate::domain::model::hex(&self.0[..4])
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::domain::model::hex(&self.0))
    }
}

impl fmt::Debug for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetId({self})")
    }
}

/// One share of a secret.
#[derive(Clone)]
pub struct Share {
    /// The split this share belongs to.
    pub set_id: SetId,
    /// The share's x-coordinate, 1..=`count`.
    pub index: u8,
    /// How many shares rebuild the secret (K).
    pub threshold: u8,
    /// How many shares were made (N).
    pub count: u8,
    /// SHA-256 commitment to the secret (see [`commitment`]).
    pub commitment: [u8; 32],
    /// The share's values of nonce || secret; secret material.
    pub payload: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("set_id", &self.set_id)
            .field("index", &self.index)
            .field("threshold", &self.threshold)
            .field("count", &self.count)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// The commitment of a set: SHA-256 of a domain-separation label, the set id, K, N, the
/// nonce and the secret. Without `K` shares the nonce is unknown, so the commitment says
/// nothing about even a guessable secret.
pub fn commitment(set_id: &SetId, threshold: u8, count: u8, nonce_and_secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"sdctl share commitment v1\0");
    h.update(set_id.0);
    h.update([threshold, count]);
    h.update((nonce_and_secret.len() as u64).to_be_bytes());
    h.update(nonce_and_secret);
    h.finalize().into()
}

impl Share {
    /// The secret's length (the payload less the nonce).
    pub fn secret_len(&self) -> usize {
        self.payload.len().saturating_sub(NONCE_LEN)
    }

    /// The binary record, checksum included.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            HEADER_LEN + self.payload.len() + CHECKSUM_LEN,
        ));
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.set_id.0);
        out.extend_from_slice(&[self.index, self.threshold, self.count]);
        out.extend_from_slice(&self.commitment);
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        let sum = checksum(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Parses a binary record; the error says what is wrong (the caller names the file).
    pub fn decode(bytes: &[u8]) -> Result<Share, String> {
        if bytes.len() < 5 || &bytes[..4] != MAGIC {
            return Err("is not an sdctl share (no \"SDSS\" magic)".into());
        }
        if bytes[4] != VERSION {
            return Err(format!(
                "is share format version {}; this sdctl reads version {VERSION} (use a newer sdctl)",
                bytes[4]
            ));
        }
        if bytes.len() < HEADER_LEN + NONCE_LEN + CHECKSUM_LEN {
            return Err(format!(
                "is {} bytes, shorter than the smallest share ({}): the file is truncated",
                bytes.len(),
                HEADER_LEN + NONCE_LEN + CHECKSUM_LEN
            ));
        }
        let declared = u32::from_be_bytes([bytes[56], bytes[57], bytes[58], bytes[59]]) as usize;
        let actual = bytes.len() - HEADER_LEN - CHECKSUM_LEN;
        if declared != actual {
            return Err(format!(
                "declares a {declared}-byte payload but holds {actual} bytes: the file is truncated or has bytes appended"
            ));
        }
        let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(body).as_slice() != sum {
            return Err("checksum mismatch: the share is damaged (restore it from its paper or sealed copy)".into());
        }
        let mut set_id = [0u8; 16];
        set_id.copy_from_slice(&bytes[5..21]);
        let (index, threshold, count) = (bytes[21], bytes[22], bytes[23]);
        check_parameters(threshold, count).map_err(|e| format!("has {e}"))?;
        if index == 0 || index > count {
            return Err(format!("has index {index}, outside 1..={count}"));
        }
        if declared < NONCE_LEN {
            return Err(format!(
                "has a {declared}-byte payload, shorter than its nonce"
            ));
        }
        let mut commitment = [0u8; 32];
        commitment.copy_from_slice(&bytes[24..56]);
        Ok(Share {
            set_id: SetId(set_id),
            index,
            threshold,
            count,
            commitment,
            payload: Zeroizing::new(body[HEADER_LEN..].to_vec()),
        })
    }
}

/// Checks a threshold and share count: 2 <= K <= N <= 255.
pub fn check_parameters(threshold: u8, count: u8) -> Result<(), String> {
    if threshold < 2 {
        return Err(format!(
            "threshold {threshold}; it must be at least 2 (a threshold of 1 is a copy, not a share)"
        ));
    }
    if count < threshold {
        return Err(format!(
            "{count} shares for a threshold of {threshold}; the threshold cannot exceed the number of shares"
        ));
    }
    Ok(())
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
