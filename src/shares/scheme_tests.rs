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

#[test]
fn work_estimate_counts_every_subset_and_probe() {
    let len = 100;
    let exact = work_estimate(5, 5, len);
    assert_eq!(
        exact,
        Work {
            tries: 1,
            operations: 25 * 100
        }
    );
    // C(4, 3) subsets, then one probe of the extra share.
    assert_eq!(work_estimate(4, 3, len).tries, 4 + 1);
    assert_eq!(work_estimate(6, 3, len).tries, 20 + 3);
    assert_eq!(work_estimate(6, 3, len).operations, 23 * 9 * 100);
    assert_eq!(work_estimate(129, 128, len).tries, 129 + 1);
    // C(255, 128) is about 2^251: the estimate saturates, far over the budget.
    let forged = work_estimate(255, 128, NONCE_LEN + 16);
    assert_eq!(forged.tries, u128::MAX);
    assert!(forged.operations > WORK_BUDGET);
    assert_eq!(binomial(66, 64), 2145);
    assert_eq!(binomial(10, 0), 1);
    assert_eq!(binomial(3, 4), 0);
}

/// Every share's payload changed, each byte by its own pseudo-random amount (the same
/// change to two shares can cancel out in an interpolation): each share still parses (a
/// forger recomputes the checksum), none fits the set.
fn forge_all(given: &mut [(PathBuf, Share)]) {
    for (_, share) in given.iter_mut() {
        let mut x = (u32::from(share.index) << 8) | 0x9d;
        for byte in share.payload.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *byte ^= (x as u8) | 1;
        }
    }
}

#[test]
fn forged_255_shares_at_128_are_refused_before_any_reconstruction() {
    let shares = split(&secret_of(16, 3), 128, 255).expect("split");
    let all: Vec<usize> = (0..255).collect();
    let mut given = named(&shares, &all);
    forge_all(&mut given);
    let mut tries = 0;
    let err = combine_counting(&given, &mut tries).expect_err("refused");
    assert!(
        matches!(
            err,
            ShareError::TooMuchWork {
                have: 255,
                need: 128,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(tries, 0, "refused before the first reconstruction");
    assert_eq!(err.exit_code(), crate::exit_code::ExitCode::BadInput);
    let message = err.to_string();
    assert!(message.contains("give exactly 128 shares"), "{message}");
    // The same forged shares, exactly K of them: one reconstruction, caught by the commitment.
    let mut tries = 0;
    let err = combine_counting(&given[..128], &mut tries).expect_err("mismatch");
    assert!(matches!(err, ShareError::Mismatch { .. }), "{err}");
    assert_eq!(tries, 1);
}

#[test]
fn the_search_among_extra_shares_does_at_most_its_estimate() {
    // K + 1 = 129 shares, the first forged: every subset but the last holds it, so the
    // search is its worst case (129 subsets, then the probe of the forged one).
    let secret = secret_of(16, 5);
    let shares = split(&secret, 128, 130).expect("split");
    let order: Vec<usize> = (0..129).collect();
    let mut given = named(&shares, &order);
    forge_all(&mut given[..1]);
    let bound = work_estimate(129, 128, NONCE_LEN + 16);
    assert!(bound.operations <= WORK_BUDGET);
    let combined = combine(&given).expect("combine around the forged share");
    assert_eq!(combined.secret.as_slice(), secret.as_slice());
    assert_eq!(combined.rejected, vec![0]);
    assert_eq!(combined.tries as u128, bound.tries);

    // Four of six forged at K = 3: every one of the C(6, 3) subsets is tried, no more.
    let shares = split(&secret, 3, 6).expect("split");
    let mut given = named(&shares, &[0, 1, 2, 3, 4, 5]);
    forge_all(&mut given[1..5]);
    let mut tries = 0;
    let err = combine_counting(&given, &mut tries).expect_err("mismatch");
    assert!(err.to_string().contains("more than one is wrong"), "{err}");
    assert_eq!(tries, 20);
    assert!((tries as u128) <= work_estimate(6, 3, NONCE_LEN + 16).tries);
}

#[test]
fn the_work_budget_is_a_sharp_line() {
    // At K = 64 with 66 shares the search costs 2147 × 64² operations per payload byte:
    // a 488-byte payload is just under the budget, 489 just over.
    let per_byte = work_estimate(66, 64, 1).operations;
    assert!(per_byte * 488 <= WORK_BUDGET && per_byte * 489 > WORK_BUDGET);
    let under = split(&secret_of(488 - NONCE_LEN, 1), 64, 66).expect("split");
    let all: Vec<usize> = (0..66).collect();
    let combined = combine(&named(&under, &all)).expect("under the budget");
    assert_eq!(combined.tries, 3, "the first subset fits; two probes");
    let over = split(&secret_of(489 - NONCE_LEN, 1), 64, 66).expect("split");
    let mut tries = 0;
    let err = combine_counting(&named(&over, &all), &mut tries).expect_err("over");
    assert!(matches!(err, ShareError::TooMuchWork { .. }), "{err}");
    assert_eq!(tries, 0);
    // One share fewer is a small search again; exactly K is never refused for work.
    assert!(combine(&named(&over, &all[..65])).is_ok());
    assert_eq!(
        combine(&named(&over, &all[..64])).expect("exactly K").tries,
        1
    );
}

#[test]
fn more_than_255_shares_are_refused_before_anything_else() {
    let shares = split(b"secret", 2, 3).expect("split");
    let given: Vec<(PathBuf, Share)> = (0..256)
        .map(|i| named(&shares, &[i % 3])[0].clone())
        .collect();
    let err = combine(&given).expect_err("too many");
    assert!(matches!(err, ShareError::Usage(_)), "{err}");
    assert!(err.to_string().contains("at most 255"), "{err}");
    // 255 of them get as far as the duplicate check.
    let err = combine(&given[..255]).expect_err("duplicates");
    assert!(matches!(err, ShareError::Duplicate { .. }), "{err}");
}
