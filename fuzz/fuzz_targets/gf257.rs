//! GF(257) shares (the HSM's format): decode any bytes, combine any set, and check that a
//! split of the input combines back from any quorum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdctl::primitives::gf257::{combine, combine_quorum, split, Share};

fuzz_target!(|data: &[u8]| {
    let shares: Vec<Share> = data
        .split(|&b| b == 0xff)
        .take(12)
        .filter_map(|part| Share::decode(part).ok())
        .collect();
    for share in &shares {
        let encoded = share.encode();
        let again = Share::decode(&encoded).expect("decoding an encoded share");
        assert_eq!(&again.encode()[..], &encoded[..]);
    }
    let refs: Vec<&Share> = shares.iter().collect();
    let _ = combine(&refs);
    let _ = combine_quorum(&refs, usize::from(data.first().copied().unwrap_or(0)));

    if data.len() < 3 {
        return;
    }
    let required = 1 + usize::from(data[0] % 10);
    let count = required + usize::from(data[1] % 4);
    let secret = &data[2..data.len().min(2 + 1024)];
    let Ok(split) = split(secret, required, count) else {
        return;
    };
    let chosen: Vec<&Share> = split.iter().rev().take(required).collect();
    let combined = combine(&chosen).expect("combining a quorum of a fresh split");
    assert_eq!(&combined[..], secret);
});
