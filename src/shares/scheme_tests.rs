use std::path::PathBuf;

use proptest::prelude::*;

use super::*;

fn named(shares: &[Share], order: &[usize]) -> Vec<(PathBuf, Share)> {
    order
        .iter()
        .map(|&i| (PathBuf::from(format!("share-{}", i + 1)), shares[i].clone()))
        .collect()
}

fn secret_of(len: usize, seed: u8) -> Vec<u8> {
    let mut x = seed as u32 | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Secret lengths from 1 byte to 1 MiB, mostly small (the arithmetic is per byte).
fn secret_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 1usize..=64,
        3 => 65usize..=70_000,
        1 => (1usize << 20) - 16..=1usize << 20,
    ]
}

/// (N, K, a permutation of 0..N).
fn parameters() -> impl Strategy<Value = (u8, u8, Vec<usize>)> {
    (2u8..=10).prop_flat_map(|n| {
        (
            Just(n),
            2u8..=n,
            Just((0..n as usize).collect::<Vec<_>>()).prop_shuffle(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any K of N shares, in any order, rebuild the secret; K - 1 fail with TooFew; a
    /// changed byte in any share of the K is caught by the commitment.
    #[test]
    fn any_k_of_n_rebuild_and_fewer_or_altered_fail(
        len in secret_len(),
        seed in any::<u8>(),
        (n, k, order) in parameters(),
        victim in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let secret = secret_of(len, seed);
        let shares = split(&secret, k, n).expect("split");
        prop_assert_eq!(shares.len(), n as usize);
        let chosen = &order[..k as usize];
        let combined = combine(&named(&shares, chosen)).expect("combine");
        prop_assert_eq!(combined.secret.as_slice(), secret.as_slice());
        prop_assert!(combined.rejected.is_empty());

        let too_few = combine(&named(&shares, &chosen[..k as usize - 1]));
        let is_too_few = matches!(too_few, Err(ShareError::TooFew { have, need, .. }) if have == k as usize - 1 && need == k as usize);
        prop_assert!(is_too_few);

        let mut encoded = shares[chosen[0]].encode().to_vec();
        let at = position.index(encoded.len());
        encoded[at] ^= flip;
        prop_assert!(crate::shares::Share::decode(&encoded).is_err());

        let mut altered = named(&shares, chosen);
        let v = victim.index(altered.len());
        let p = position.index(altered[v].1.payload.len());
        altered[v].1.payload[p] ^= flip;
        let is_mismatch = matches!(combine(&altered), Err(ShareError::Mismatch { .. }));
        prop_assert!(is_mismatch);
    }
}

#[test]
fn an_empty_secret_is_refused_and_one_mebibyte_round_trips() {
    let err = split(&[], 5, 10).expect_err("an empty secret");
    assert!(err.to_string().contains("the secret is empty"), "{err}");
    let secret = secret_of(1 << 20, 9);
    let shares = split(&secret, 5, 10).expect("split");
    let combined = combine(&named(&shares, &[9, 2, 7, 0, 4])).expect("combine");
    assert_eq!(combined.secret.as_slice(), secret.as_slice());
}

#[test]
fn shares_of_two_splits_are_refused_as_mixed() {
    let a = split(b"alpha", 2, 3).expect("a");
    let b = split(b"alpha", 2, 3).expect("b");
    let mut given = named(&a, &[0]);
    given.push((PathBuf::from("other"), b[1].clone()));
    let err = combine(&given).expect_err("mixed");
    assert!(matches!(err, ShareError::MixedSets { .. }), "{err}");
    assert!(err.to_string().contains("different share sets"), "{err}");
}

#[test]
fn the_same_share_twice_is_refused_as_a_duplicate() {
    let shares = split(b"secret", 2, 3).expect("split");
    let err = combine(&named(&shares, &[1, 1])).expect_err("dup");
    assert!(
        matches!(err, ShareError::Duplicate { index: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("give each share once"), "{err}");
}

#[test]
fn a_share_whose_header_disagrees_is_named() {
    let shares = split(b"secret", 2, 3).expect("split");
    let mut given = named(&shares, &[0, 1]);
    given[1].1.threshold = 3;
    let err = combine(&given).expect_err("disagree");
    assert!(
        err.to_string().contains("disagree on the threshold"),
        "{err}"
    );
    let mut given = named(&shares, &[0, 1]);
    given[1].1.commitment[0] ^= 1;
    assert!(combine(&given)
        .expect_err("commitment")
        .to_string()
        .contains("the commitment"));
    let mut given = named(&shares, &[0, 1, 2]);
    given[2].1.index = 1;
    assert!(combine(&given)
        .expect_err("same index, other values")
        .to_string()
        .contains("both claim"));
}

#[test]
fn with_extra_shares_a_corrupted_one_is_found_and_left_out() {
    let secret = secret_of(300, 4);
    let shares = split(&secret, 3, 6).expect("split");
    for bad in 0..5 {
        let mut given = named(&shares, &[0, 1, 2, 3, 4]);
        given[bad].1.payload[7] ^= 0x40;
        let combined = combine(&given).expect("combine around the bad share");
        assert_eq!(combined.secret.as_slice(), secret.as_slice());
        assert_eq!(combined.rejected, vec![bad], "bad share {bad}");
        assert!(!combined.used.contains(&bad));
    }
}

#[test]
fn exactly_k_with_one_bad_asks_for_one_more() {
    let shares = split(b"secret", 3, 5).expect("split");
    let mut given = named(&shares, &[0, 1, 2]);
    given[1].1.payload[0] ^= 1;
    let err = combine(&given).expect_err("mismatch");
    assert!(err.to_string().contains("bring one more share"), "{err}");
    assert_eq!(err.exit_code(), crate::exit_code::ExitCode::Crypto);
}

#[test]
fn two_bad_among_k_plus_one_is_a_mismatch() {
    let shares = split(b"secret", 3, 5).expect("split");
    let mut given = named(&shares, &[0, 1, 2, 3]);
    given[0].1.payload[0] ^= 1;
    given[3].1.payload[0] ^= 1;
    let err = combine(&given).expect_err("mismatch");
    assert!(err.to_string().contains("more than one is wrong"), "{err}");
}

#[test]
fn bad_parameters_and_empty_input_are_usage_errors() {
    for (k, n) in [(1, 3), (4, 3), (0, 0)] {
        let err = split(b"x", k, n).expect_err("parameters");
        assert!(matches!(err, ShareError::Usage(_)), "{err}");
    }
    assert!(matches!(combine(&[]), Err(ShareError::Usage(_))));
    let huge = vec![0u8; MAX_SECRET_LEN + 1];
    assert!(split(&huge, 2, 2)
        .expect_err("too large")
        .to_string()
        .contains("at most"));
}

#[test]
fn every_split_is_a_new_set_with_fresh_randomness() {
    let a = split(b"same secret", 2, 2).expect("a");
    let b = split(b"same secret", 2, 2).expect("b");
    assert_ne!(a[0].set_id, b[0].set_id);
    assert_ne!(a[0].commitment, b[0].commitment);
    assert_ne!(a[0].payload, b[0].payload);
}

#[test]
fn next_subset_walks_every_combination_once() {
    let mut subset = vec![0, 1];
    let mut seen = vec![subset.clone()];
    while next_subset(&mut subset, 4) {
        seen.push(subset.clone());
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.last(), Some(&vec![2, 3]));
}
