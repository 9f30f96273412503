//! Unit tests of `gf32`.

use super::*;

const ALL: std::ops::Range<u8> = 0..32;

/// Multiplication the slow way: schoolbook product, then long division by the polynomial.
fn reference_mul(a: u8, b: u8) -> u8 {
    let mut r: u16 = 0;
    for i in 0..5 {
        if b >> i & 1 == 1 {
            r ^= u16::from(a) << i;
        }
    }
    for i in (5..10).rev() {
        if r >> i & 1 == 1 {
            r ^= POLYNOMIAL << (i - 5);
        }
    }
    r as u8
}

#[test]
fn multiplication_matches_the_reference() {
    for a in ALL {
        for b in ALL {
            assert_eq!(mul(a, b), reference_mul(a, b), "{a} * {b}");
        }
    }
}

#[test]
fn field_axioms_hold() {
    for a in ALL {
        assert_eq!(add(a, 0), a);
        assert_eq!(add(a, a), 0);
        assert_eq!(mul(a, 1), a);
        assert_eq!(mul(a, 0), 0);
        for b in ALL {
            assert_eq!(mul(a, b), mul(b, a));
            assert_eq!(add(a, b), add(b, a));
            for c in ALL {
                assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
                assert_eq!(mul(a, add(b, c)), add(mul(a, b), mul(a, c)));
            }
        }
    }
}

#[test]
fn every_nonzero_element_has_an_inverse() {
    assert_eq!(inv(0), 0);
    assert_eq!(div(5, 0), None);
    for a in 1..32 {
        assert_eq!(mul(a, inv(a)), 1, "a = {a}");
        assert_eq!(ALL.filter(|&b| mul(a, b) == 1).count(), 1, "a = {a}");
        for b in ALL {
            assert_eq!(div(mul(b, a), a), Some(b));
        }
    }
}

#[test]
fn alpha_has_order_31_and_generates_the_group() {
    assert_eq!(exp(0), 1);
    assert_eq!(exp(ORDER), 1);
    assert_eq!(pow(ALPHA, 31), 1);
    for i in 1..ORDER {
        assert_ne!(exp(i), 1, "alpha^{i}");
    }
    let mut seen = [false; SIZE];
    for i in 0..ORDER {
        let a = exp(i);
        assert!(!seen[usize::from(a)], "alpha^{i} repeats");
        seen[usize::from(a)] = true;
        assert_eq!(log(a), Some(i));
        assert_eq!(exp(i + ORDER), a);
    }
    assert!(!seen[0]);
    assert_eq!(log(0), None);
}

#[test]
fn pow_matches_repeated_multiplication() {
    for a in ALL {
        let mut expected = 1;
        for n in 0..70 {
            assert_eq!(pow(a, n), expected, "{a}^{n}");
            expected = mul(expected, a);
        }
    }
}

#[test]
fn check_symbols_make_codewords_and_single_errors_are_located() {
    let mut seed = 7u32;
    for len in 0..=29 {
        for _ in 0..20 {
            let mut word: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8 & 31
                })
                .collect();
            let checks = check_symbols(word.iter().copied());
            word.extend_from_slice(&checks);
            assert_eq!(syndromes(word.iter().copied()), (0, 0), "len {len}");
            assert_eq!(locate((0, 0), word.len()), None);
            for p in 0..word.len() {
                for e in 1..32 {
                    let mut bad = word.clone();
                    bad[p] ^= e;
                    let s = syndromes(bad.iter().copied());
                    assert_eq!(locate(s, bad.len()), Some((p, e)), "len {len} p {p} e {e}");
                }
            }
        }
    }
}

#[test]
fn double_errors_are_detected() {
    let mut word = vec![
        3u8, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6,
    ];
    let checks = check_symbols(word.iter().copied());
    word.extend_from_slice(&checks);
    for p in 0..word.len() {
        for q in p + 1..word.len() {
            for e in 1..32 {
                for f in [1u8, 7, 30] {
                    let mut bad = word.clone();
                    bad[p] ^= e;
                    bad[q] ^= f;
                    assert_ne!(syndromes(bad.iter().copied()), (0, 0), "{p} {q} {e} {f}");
                }
            }
        }
    }
}
