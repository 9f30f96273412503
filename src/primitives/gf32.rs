//! The finite field GF(32) = GF(2)\[x\] / (x⁵ + x² + 1), and the small Reed–Solomon code
//! over it that gives each line of a share's text form its two check characters.
//!
//! An element is a `u8` in 0..=31 whose bit `i` is the coefficient of xⁱ, so the 32
//! elements map one-to-one onto the 32 characters of Crockford base32. Addition (and
//! subtraction) is XOR. α = x (the element 2) generates the multiplicative group, which has
//! order 31.
//!
//! [`mul`] works by shifts and masks, without tables indexed by or branches on its
//! operands, because share symbols are secret; the table of powers of α is indexed by
//! positions only. [`log`] and [`locate`] search; they run when a line fails its check,
//! to name the character that is wrong.
//!
//! The code: a word `w₀ … w_{L-1}` (L ≤ 31) is a codeword when both syndromes
//! `S₁ = Σ wⱼ αʲ` and `S₂ = Σ wⱼ α²ʲ` are zero. [`check_symbols`] appends the two
//! symbols that make a word a codeword. One wrong symbol `e` at position `p` gives
//! `S₁ = e·αᵖ` and `S₂ = e·α²ᵖ`, so `αᵖ = S₂ / S₁` names the position and `S₁ / αᵖ` the
//! error: every single-symbol error is detected and located ([`locate`]), and every
//! two-symbol error is detected (the code has minimum distance 3).

/// Number of elements.
pub const SIZE: usize = 32;
/// Order of the multiplicative group (α³¹ = 1).
pub const ORDER: usize = 31;
/// The reduction polynomial x⁵ + x² + 1.
pub const POLYNOMIAL: u16 = 0b10_0101;
/// The generator α = x.
pub const ALPHA: u8 = 2;

/// `a + b` (also `a - b`).
pub fn add(a: u8, b: u8) -> u8 {
    (a ^ b) & 31
}

/// `a · b`, in constant time.
pub const fn mul(a: u8, b: u8) -> u8 {
    let a = (a & 31) as u16;
    let b = (b & 31) as u16;
    let mut r: u16 = 0;
    let mut i = 0;
    while i < 5 {
        let bit = (b >> i) & 1;
        r ^= (a << i) & bit.wrapping_neg();
        i += 1;
    }
    // Reduce bits 8..=5 with x⁵ = x² + 1.
    let mut i = 9;
    while i > 5 {
        i -= 1;
        let bit = (r >> i) & 1;
        r ^= (POLYNOMIAL << (i - 5)) & bit.wrapping_neg();
    }
    (r & 31) as u8
}

/// αⁱ for i in 0..31 (indexed by positions, which are public).
const EXP: [u8; ORDER] = {
    let mut table = [0u8; ORDER];
    let (mut x, mut i) = (1u8, 0);
    while i < ORDER {
        table[i] = x;
        x = mul(x, ALPHA);
        i += 1;
    }
    table
};

/// `a` to the power `n` (`a⁰ = 1`, also for `a = 0`); the time depends on `n` only.
pub fn pow(a: u8, n: usize) -> u8 {
    let mut result = 1;
    let mut base = a & 31;
    let mut n = n;
    while n > 0 {
        let bit = (n & 1) as u8;
        result = mul(
            result,
            (base & bit.wrapping_neg()) | (1 & !bit.wrapping_neg()),
        );
        base = mul(base, base);
        n >>= 1;
    }
    result
}

/// The multiplicative inverse `a⁻¹ = a³⁰`; zero for zero.
pub fn inv(a: u8) -> u8 {
    pow(a, ORDER - 1)
}

/// `a / b`, or `None` when `b` is zero.
pub fn div(a: u8, b: u8) -> Option<u8> {
    if b & 31 == 0 {
        None
    } else {
        Some(mul(a, inv(b)))
    }
}

/// αⁱ (the exponent is taken modulo 31).
pub fn exp(i: usize) -> u8 {
    EXP[i % ORDER]
}

/// The `i` in 0..31 with αⁱ = `a`, or `None` for zero.
pub fn log(a: u8) -> Option<usize> {
    (0..ORDER).find(|&i| exp(i) == a & 31)
}

/// The syndromes `(S₁, S₂)` of a word; both are zero for a codeword.
pub fn syndromes(word: impl IntoIterator<Item = u8>) -> (u8, u8) {
    let (mut s1, mut s2) = (0, 0);
    for (j, w) in word.into_iter().enumerate() {
        s1 = add(s1, mul(w, exp(j)));
        s2 = add(s2, mul(w, exp(2 * j)));
    }
    (s1, s2)
}

/// The two symbols that, appended to `word`, make it a codeword. The guarantees of the
/// code hold while the word with its check symbols is at most 31 symbols long.
pub fn check_symbols(word: impl IntoIterator<Item = u8>) -> [u8; 2] {
    let (mut p1, mut p2, mut a) = (0, 0, 0);
    for (j, w) in word.into_iter().enumerate() {
        p1 = add(p1, mul(w, exp(j)));
        p2 = add(p2, mul(w, exp(2 * j)));
        a = j + 1;
    }
    // Solve c₀αᵃ + c₁αᵇ = P₁ and c₀α²ᵃ + c₁α²ᵇ = P₂ with b = a + 1 (Cramer's rule; the
    // determinant αᵃ⁺ᵇ(αᵃ + αᵇ) is never zero).
    let b = a + 1;
    let det = add(mul(exp(a), exp(2 * b)), mul(exp(b), exp(2 * a)));
    let det_inv = inv(det);
    let c0 = mul(add(mul(p1, exp(2 * b)), mul(p2, exp(b))), det_inv);
    let c1 = mul(add(mul(p2, exp(a)), mul(p1, exp(2 * a))), det_inv);
    [c0, c1]
}

/// The single error `(position, e)` that explains the syndromes of a word of `len`
/// symbols (the symbol there is the correct one plus `e`), or `None` when no single
/// error does (no error at all, or more than one).
pub fn locate(syndromes: (u8, u8), len: usize) -> Option<(usize, u8)> {
    let (s1, s2) = syndromes;
    let p = log(div(s2, s1)?)?;
    let e = div(s1, exp(p))?;
    (p < len).then_some((p, e))
}

#[cfg(test)]
#[path = "gf32_tests.rs"]
mod tests;
