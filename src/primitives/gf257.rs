//! Shamir sharing over the prime field GF(257), as Managed HSM splits the security-domain
//! master key: one share per wrapping key, each an array of little-endian `u16`, one per
//! byte of the secret, each `(x << 9) | y` with `x` the share's coordinate (1..=126) and
//! `y` (0..=256) the value of that byte's polynomial at `x`.
//!
//! Arithmetic uses only multiplication and reduction by the constant 257 (no table lookups
//! or branches on secret values). Coordinates are public; only `y` values are secret.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The field's prime.
pub const PRIME: u32 = 257;
/// Largest share coordinate the encoding allows here.
pub const MAX_X: u16 = 126;
/// Largest number of shares one secret can be split into.
pub const MAX_SHARES: usize = MAX_X as usize;

/// A share could not be made, decoded, or combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The encoded share has an odd length or is empty.
    #[error("share is {0} bytes; a share is a non-empty array of 16-bit values")]
    Length(usize),
    /// A share element has `x` outside 1..=126.
    #[error("share element {index} has x = {x}; x must be 1 to {MAX_X}")]
    BadX {
        /// Element position.
        index: usize,
        /// The coordinate found.
        x: u16,
    },
    /// A share element has `y` above 256.
    #[error("share element {index} has y = {y}; y must be at most 256")]
    BadY {
        /// Element position.
        index: usize,
        /// The value found.
        y: u16,
    },
    /// Elements of one share carry different coordinates.
    #[error("share element {index} has x = {x} but the share's x is {expected}")]
    MixedX {
        /// Element position.
        index: usize,
        /// The coordinate found.
        x: u16,
        /// The coordinate of the first element.
        expected: u16,
    },
    /// Two shares have the same coordinate.
    #[error("two shares have the same x = {0}; each share must come from a different custodian")]
    DuplicateX(u16),
    /// Shares have different lengths.
    #[error("shares have different lengths ({0} and {1}); they do not belong to the same secret")]
    Ragged(usize, usize),
    /// Fewer shares than the quorum.
    #[error("{given} share(s) given but {required} are required")]
    TooFew {
        /// Shares given.
        given: usize,
        /// The quorum.
        required: usize,
    },
    /// A quorum or share count out of range.
    #[error("cannot split into {count} shares with quorum {required}: need 2 <= quorum <= shares <= {MAX_SHARES}")]
    Parameters {
        /// The quorum asked for.
        required: usize,
        /// The number of shares asked for.
        count: usize,
    },
    /// Interpolation gave a value that is not a byte: the shares are inconsistent.
    #[error("the shares do not combine to a valid secret (byte {0} is out of range): a share is corrupt or from another security domain")]
    Inconsistent(usize),
    /// The system random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}

/// One share: its coordinate and one `y` per secret byte. Wiped on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Share {
    x: u16,
    ys: Vec<u16>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Share(x = {}, {} values)", self.x, self.ys.len())
    }
}

impl Share {
    /// The share's coordinate.
    pub fn x(&self) -> u16 {
        self.x
    }

    /// The number of secret bytes the share covers.
    pub fn len(&self) -> usize {
        self.ys.len()
    }

    /// Whether the share covers no bytes (never true for decoded or split shares).
    pub fn is_empty(&self) -> bool {
        self.ys.is_empty()
    }

    /// Encodes as little-endian `u16` values `(x << 9) | y`.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.ys.len() * 2));
        for &y in &self.ys {
            out.extend_from_slice(&((self.x << 9) | y).to_le_bytes());
        }
        out
    }

    /// Decodes and validates an encoded share.
    pub fn decode(bytes: &[u8]) -> Result<Share, ShareError> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
            return Err(ShareError::Length(bytes.len()));
        }
        let mut ys = Vec::with_capacity(bytes.len() / 2);
        let mut share_x = 0;
        for (index, pair) in bytes.chunks_exact(2).enumerate() {
            let value = u16::from_le_bytes([pair[0], pair[1]]);
            let (x, y) = (value >> 9, value & 0x1ff);
            if x == 0 || x > MAX_X {
                ys.zeroize();
                return Err(ShareError::BadX { index, x });
            }
            if y > 256 {
                ys.zeroize();
                return Err(ShareError::BadY { index, y });
            }
            if index == 0 {
                share_x = x;
            } else if x != share_x {
                ys.zeroize();
                return Err(ShareError::MixedX {
                    index,
                    x,
                    expected: share_x,
                });
            }
            ys.push(y);
        }
        Ok(Share { x: share_x, ys })
    }
}

/// Splits `secret` into `count` shares (coordinates 1..=count) of which any `required`
/// rebuild it. Coefficients are uniform over GF(257), drawn from OpenSSL's CSPRNG.
pub fn split(secret: &[u8], required: usize, count: usize) -> Result<Vec<Share>, ShareError> {
    if required < 2 || required > count || count > MAX_SHARES {
        return Err(ShareError::Parameters { required, count });
    }
    let mut shares: Vec<Share> = (1..=count as u16)
        .map(|x| Share {
            x,
            ys: Vec::with_capacity(secret.len()),
        })
        .collect();
    let mut coefficients = Zeroizing::new(vec![0u32; required]);
    let mut random = RandomField::new();
    for &byte in secret {
        coefficients[0] = u32::from(byte);
        for c in coefficients.iter_mut().skip(1) {
            *c = random.next()?;
        }
        for share in shares.iter_mut() {
            // Horner's rule: f(x) = c0 + x (c1 + x (c2 + ...)).
            let x = u32::from(share.x);
            let mut y = 0u32;
            for &c in coefficients.iter().rev() {
                y = (y * x + c) % PRIME;
            }
            share.ys.push(y as u16);
        }
    }
    Ok(shares)
}

/// Rebuilds the secret from shares with distinct coordinates and equal lengths by Lagrange
/// interpolation at 0. Give exactly the quorum: more shares of a consistent set give the
/// same answer, fewer give a wrong one (use [`combine_quorum`] to have that checked).
pub fn combine(shares: &[&Share]) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    let Some(first) = shares.first() else {
        return Err(ShareError::TooFew {
            given: 0,
            required: 1,
        });
    };
    for (i, a) in shares.iter().enumerate() {
        if a.len() != first.len() {
            return Err(ShareError::Ragged(first.len(), a.len()));
        }
        if shares[..i].iter().any(|b| b.x == a.x) {
            return Err(ShareError::DuplicateX(a.x));
        }
    }
    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i). Public values only.
    let basis: Vec<u32> = shares
        .iter()
        .map(|a| {
            let (mut num, mut den) = (1u32, 1u32);
            for b in shares.iter().filter(|b| b.x != a.x) {
                num = num * u32::from(b.x) % PRIME;
                den = den * ((PRIME + u32::from(b.x) - u32::from(a.x)) % PRIME) % PRIME;
            }
            num * inverse(den) % PRIME
        })
        .collect();
    let mut secret = Zeroizing::new(Vec::with_capacity(first.len()));
    let mut bad = None;
    for i in 0..first.len() {
        let mut value = 0u32;
        for (share, l) in shares.iter().zip(&basis) {
            value = (value + u32::from(share.ys[i]) * l) % PRIME;
        }
        if value > 255 && bad.is_none() {
            bad = Some(i);
        }
        secret.push(value as u8);
    }
    match bad {
        Some(i) => Err(ShareError::Inconsistent(i)),
        None => Ok(secret),
    }
}

/// [`combine`] with the quorum checked: exactly `required` shares must be given.
pub fn combine_quorum(
    shares: &[&Share],
    required: usize,
) -> Result<Zeroizing<Vec<u8>>, ShareError> {
    if shares.len() < required {
        return Err(ShareError::TooFew {
            given: shares.len(),
            required,
        });
    }
    combine(&shares[..required])
}

/// a^255 = a^-1 in GF(257) (Fermat), by a fixed sequence of multiplications.
fn inverse(a: u32) -> u32 {
    let mut result = 1u32;
    let mut base = a % PRIME;
    let mut exp = PRIME - 2;
    while exp > 0 {
        if exp & 1 == 1 {
            result = result * base % PRIME;
        }
        base = base * base % PRIME;
        exp >>= 1;
    }
    result
}

/// Uniform GF(257) elements from random 16-bit values by rejection: 65535 = 255 * 257, so
/// values below 65535 reduce uniformly.
struct RandomField {
    buffer: Zeroizing<Vec<u8>>,
    used: usize,
}

impl RandomField {
    fn new() -> Self {
        RandomField {
            buffer: Zeroizing::new(vec![0; 512]),
            used: 512,
        }
    }

    fn next(&mut self) -> Result<u32, ShareError> {
        loop {
            if self.used + 2 > self.buffer.len() {
                openssl::rand::rand_bytes(&mut self.buffer)
                    .map_err(|e| ShareError::Random(e.to_string()))?;
                self.used = 0;
            }
            let v = u16::from_le_bytes([self.buffer[self.used], self.buffer[self.used + 1]]);
            self.used += 2;
            if v < 65535 {
                return Ok(u32::from(v) % PRIME);
            }
        }
    }
}

#[cfg(test)]
#[path = "gf257_tests.rs"]
mod tests;
