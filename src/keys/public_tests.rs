//! Unit tests of `public`.

use super::*;

#[test]
fn bit_lengths() {
    assert_eq!(bit_length(&[0, 0x80, 0]), 16);
    assert_eq!(bit_length(&[0x01]), 1);
    assert_eq!(bit_length(&[]), 0);
    let key = PublicKey::rsa(&[0, 0xc0, 1, 2], &[0, 1, 0, 1]);
    assert_eq!(key.info().bits, Some(24));
    assert_eq!(key, PublicKey::rsa(&[0xc0, 1, 2], &[1, 0, 1]));
}

#[test]
fn usability() {
    let rsa = |bits| KeyInfo {
        algorithm: "RSA".into(),
        bits: Some(bits),
    };
    assert!(rsa(2048).unusable_reason().is_none());
    assert!(rsa(1024).unusable_reason().unwrap().contains("1024 bits"));
    let ec = KeyInfo {
        algorithm: "EC P-256".into(),
        bits: None,
    };
    assert!(ec.unusable_reason().unwrap().contains("must be RSA"));
}
