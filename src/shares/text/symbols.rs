//! The Crockford base32 symbols of the paper forms, and the packing of bytes into them
//! (most significant bit first, the last symbol padded with zero bits).

use zeroize::{Zeroize, Zeroizing};

/// The 32 symbols, by value.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The value of a typed symbol: case-insensitive, with O for 0 and I, L for 1.
pub fn symbol_value(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    match c {
        'O' => Some(0),
        'I' | 'L' => Some(1),
        _ => {
            ALPHABET.iter().zip(0u8..).fold(
                None,
                |found, (&a, v)| if char::from(a) == c { Some(v) } else { found },
            )
        }
    }
}

/// The character written for symbol value `v` (its low five bits).
pub(super) fn symbol_char(v: u8) -> char {
    char::from(ALPHABET[usize::from(v & 31)])
}

/// Number of symbols that encode `len` bytes.
fn symbol_count(len: usize) -> usize {
    len / 5 * 8 + (len % 5 * 8).div_ceil(5)
}

/// Whether `count` symbols encode a whole number of bytes.
pub(super) fn valid_count(count: usize) -> bool {
    symbol_count(count / 8 * 5 + count % 8 * 5 / 8) == count
}

/// The symbol values of `bytes`, the last one padded with zero bits.
pub(super) fn to_symbols(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(symbol_count(bytes.len())));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    acc.zeroize();
    out
}

/// The bytes of `symbols`, or `None` when the unused bits of the last symbol are not zero
/// (callers check the count with [`valid_count`] first).
pub(super) fn from_symbols(symbols: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(symbols.len() * 5 / 8));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &s in symbols {
        acc = (acc << 5) | u32::from(s & 31);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let clean = acc == 0;
    acc.zeroize();
    clean.then_some(out)
}

#[cfg(test)]
#[path = "symbols_tests.rs"]
mod tests;
