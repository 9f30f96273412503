//! Unit tests of `gf257`.

use super::*;
use proptest::prelude::*;

#[test]
fn inverse_is_correct() {
    for a in 1..PRIME {
        assert_eq!(a * inverse(a) % PRIME, 1, "a = {a}");
    }
}

#[test]
fn decode_refusals() {
    assert_eq!(Share::decode(&[]), Err(ShareError::Length(0)));
    assert_eq!(Share::decode(&[1, 2, 3]), Err(ShareError::Length(3)));
    // x = 0
    assert!(matches!(
        Share::decode(&[5, 0]),
        Err(ShareError::BadX { x: 0, .. })
    ));
    // x = 127
    let v = (127u16 << 9) | 1;
    assert!(matches!(
        Share::decode(&v.to_le_bytes()),
        Err(ShareError::BadX { x: 127, .. })
    ));
    // y = 257
    let v = (1u16 << 9) | 257;
    assert!(matches!(
        Share::decode(&v.to_le_bytes()),
        Err(ShareError::BadY { y: 257, .. })
    ));
    // mixed x
    let mut b = ((1u16 << 9) | 3).to_le_bytes().to_vec();
    b.extend_from_slice(&((2u16 << 9) | 3).to_le_bytes());
    assert!(matches!(
        Share::decode(&b),
        Err(ShareError::MixedX { index: 1, .. })
    ));
}

#[test]
fn combine_refusals() {
    let shares = split(b"secret", 2, 3).unwrap();
    let short = Share {
        x: 9,
        ys: vec![1, 2],
    };
    assert!(matches!(
        combine(&[&shares[0], &short]),
        Err(ShareError::Ragged(6, 2))
    ));
    assert_eq!(
        combine(&[&shares[0], &shares[0]]),
        Err(ShareError::DuplicateX(1))
    );
    assert_eq!(
        combine_quorum(&[&shares[0]], 2),
        Err(ShareError::TooFew {
            given: 1,
            required: 2
        })
    );
    assert!(split(b"x", 1, 3).is_err());
    assert!(split(b"x", 4, 3).is_err());
    assert!(split(b"x", 2, 127).is_err());
}

#[test]
fn known_small_example() {
    // f(x) = 7 + 3x over GF(257): shares (1, 10) and (2, 13) rebuild 7.
    let a = Share { x: 1, ys: vec![10] };
    let b = Share { x: 2, ys: vec![13] };
    assert_eq!(&*combine(&[&a, &b]).unwrap(), &[7]);
    // y = 256 is a legal share value: f(x) = 255 + x at x = 1.
    let c = Share {
        x: 1,
        ys: vec![256],
    };
    let d = Share { x: 2, ys: vec![0] };
    assert_eq!(&*combine(&[&c, &d]).unwrap(), &[255]);
    // Encoding: (x << 9) | y, little endian.
    assert_eq!(&*c.encode(), &[0x00, 0x03]);
    assert_eq!(Share::decode(&[0x00, 0x03]).unwrap(), c);
}

proptest! {
    #[test]
    fn any_quorum_subset_in_any_order_rebuilds(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        (required, count) in (2usize..=10).prop_flat_map(|n| (2..=n, Just(n))),
        order in any::<prop::sample::Index>(),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 10),
    ) {
        let shares = split(&secret, required, count).unwrap();
        for s in &shares {
            prop_assert_eq!(Share::decode(&s.encode()).unwrap(), s.clone());
        }
        // A random subset of size `required` in a random order.
        let mut pool: Vec<&Share> = shares.iter().collect();
        let mut chosen = Vec::new();
        for p in picks.iter().take(required) {
            chosen.push(pool.remove(p.index(pool.len())));
        }
        let rotate = order.index(chosen.len());
        chosen.rotate_left(rotate);
        prop_assert_eq!(&*combine(&chosen).unwrap(), &secret[..]);
    }

    #[test]
    fn every_subset_of_a_small_split_rebuilds(secret in proptest::collection::vec(any::<u8>(), 1..16)) {
        let shares = split(&secret, 3, 5).unwrap();
        for a in 0..5 { for b in 0..5 { for c in 0..5 {
            if a != b && b != c && a != c {
                let got = combine(&[&shares[a], &shares[b], &shares[c]]).unwrap();
                prop_assert_eq!(&*got, &secret[..]);
            }
        }}}
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Share::decode(&bytes);
    }
}
