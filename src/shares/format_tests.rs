use super::*;
use crate::shares::scheme::split;

fn sample(len: usize) -> Share {
    let secret: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    split(&secret, 3, 5).expect("split")[1].clone()
}

#[test]
fn encode_then_decode_gives_the_same_share() {
    for len in [1, 32, 1000] {
        let share = sample(len);
        let bytes = share.encode();
        assert_eq!(bytes.len(), HEADER_LEN + NONCE_LEN + len + CHECKSUM_LEN);
        let back = Share::decode(&bytes).expect("decode");
        assert_eq!(back.set_id, share.set_id);
        assert_eq!(
            (back.index, back.threshold, back.count),
            (share.index, 3, 5)
        );
        assert_eq!(back.commitment, share.commitment);
        assert_eq!(back.payload, share.payload);
        assert_eq!(back.secret_len(), len);
    }
}

#[test]
fn every_changed_byte_of_an_encoded_share_is_detected() {
    let bytes = sample(40).encode();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.to_vec();
            damaged[i] ^= flip;
            assert!(
                Share::decode(&damaged).is_err(),
                "byte {i} xor {flip:#x} went unnoticed"
            );
        }
    }
}

#[test]
fn truncated_or_extended_records_are_refused_with_a_reason() {
    let bytes = sample(40).encode();
    for cut in [0, 3, 5, 59, 60, bytes.len() - 1] {
        let err = Share::decode(&bytes[..cut]).expect_err("truncated");
        assert!(
            err.contains("truncated") || err.contains("magic"),
            "{cut}: {err}"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(Share::decode(&longer)
        .expect_err("appended")
        .contains("appended"));
}

/// Rewrites a header byte and recomputes the checksum, as a forger would.
fn forged(share: &Share, offset: usize, value: u8) -> Vec<u8> {
    let mut bytes = share.encode().to_vec();
    bytes[offset] = value;
    let body = bytes.len() - CHECKSUM_LEN;
    let sum = checksum(&bytes[..body]);
    bytes[body..].copy_from_slice(&sum);
    bytes
}

#[test]
fn impossible_parameters_are_refused_even_with_a_good_checksum() {
    let share = sample(8);
    let cases = [
        (4, 2, "version 2"),
        (21, 0, "index 0"),
        (21, 6, "index 6"),
        (22, 1, "threshold 1"),
        (22, 6, "5 shares for a threshold of 6"),
    ];
    for (offset, value, needle) in cases {
        let err = Share::decode(&forged(&share, offset, value)).expect_err(needle);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn parameters_are_checked() {
    assert!(check_parameters(2, 2).is_ok());
    assert!(check_parameters(255, 255).is_ok());
    assert!(check_parameters(1, 3)
        .expect_err("1")
        .contains("at least 2"));
    assert!(check_parameters(4, 3)
        .expect_err("4>3")
        .contains("cannot exceed"));
}

#[test]
fn debug_output_never_shows_the_payload() {
    let share = sample(16);
    let shown = format!("{share:?}");
    assert!(shown.contains("payload_len: 48"), "{shown}");
    assert!(!shown.contains("payload:"), "{shown}");
}

#[test]
fn set_ids_show_short_and_long() {
    let id = SetId([0xab; 16]);
    assert_eq!(id.short(), "abababab");
    assert_eq!(id.to_string().len(), 32);
}
