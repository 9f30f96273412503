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

/// A 2048-bit odd modulus: 0xC0 then 254 bytes of 0x5A, ending in 0x01.
fn modulus(bytes: usize, last: u8) -> Vec<u8> {
    let mut n = vec![0xc0];
    n.extend(std::iter::repeat_n(0x5a, bytes - 2));
    n.push(last);
    n
}

#[test]
fn weak_rsa_keys_are_refused() {
    let good = modulus(256, 0x01);
    let e65537 = [1u8, 0, 1];
    assert_eq!(check_rsa_public_key(&good, &e65537), Ok(()));
    // Leading zeros (DER INTEGER sign byte) do not change the sizes.
    let mut padded = vec![0u8];
    padded.extend_from_slice(&good);
    assert_eq!(check_rsa_public_key(&padded, &[0, 1, 0, 1]), Ok(()));
    assert_eq!(
        check_rsa_public_key(&good, &[0xff, 0xff, 0xff, 0xff]),
        Ok(())
    );
    let table: [(Vec<u8>, Vec<u8>, WeakRsaKey); 12] = [
        (
            good.clone(),
            vec![1],
            WeakRsaKey::ExponentTooSmall { exponent: 1 },
        ),
        (
            good.clone(),
            vec![3],
            WeakRsaKey::ExponentTooSmall { exponent: 3 },
        ),
        (
            good.clone(),
            vec![0xff, 0xff],
            WeakRsaKey::ExponentTooSmall { exponent: 65535 },
        ),
        (
            good.clone(),
            vec![],
            WeakRsaKey::ExponentEven { exponent: 0 },
        ),
        (
            good.clone(),
            vec![1, 0, 0],
            WeakRsaKey::ExponentEven { exponent: 65536 },
        ),
        (
            good.clone(),
            vec![1, 0, 2],
            WeakRsaKey::ExponentEven { exponent: 65538 },
        ),
        (
            good.clone(),
            vec![1, 0, 0, 0, 1],
            WeakRsaKey::ExponentTooLarge { bits: 33 },
        ),
        (
            good.clone(),
            good.clone(),
            WeakRsaKey::ExponentTooLarge { bits: 2048 },
        ),
        (modulus(256, 0x02), e65537.to_vec(), WeakRsaKey::ModulusEven),
        (
            modulus(128, 0x01),
            e65537.to_vec(),
            WeakRsaKey::ModulusTooSmall { bits: 1024 },
        ),
        (
            vec![],
            e65537.to_vec(),
            WeakRsaKey::ModulusTooSmall { bits: 0 },
        ),
        (
            modulus(2049, 0x01),
            e65537.to_vec(),
            WeakRsaKey::ModulusTooLarge { bits: 16392 },
        ),
    ];
    for (n, e, want) in table {
        assert_eq!(
            check_rsa_public_key(&n, &e),
            Err(want.clone()),
            "e = {e:02x?}"
        );
        // The same verdict through the parsed key, with the reason in words.
        let reason = PublicKey::rsa(&n, &e).encryption_problem().unwrap();
        assert_eq!(reason, want.to_string());
    }
    // One bit short of 2048 is too small; 2^16 + 1 is the smallest exponent that passes.
    let short = modulus(256, 0x01)
        .iter()
        .enumerate()
        .map(|(i, &b)| if i == 0 { 0x7f } else { b })
        .collect::<Vec<_>>();
    assert_eq!(
        check_rsa_public_key(&short, &e65537),
        Err(WeakRsaKey::ModulusTooSmall { bits: 2047 })
    );
    assert!(PublicKey::rsa(&good, &e65537)
        .encryption_problem()
        .is_none());
    assert!(PublicKey::rsa(&good, &e65537).check_if_rsa().is_ok());
    let ec = PublicKey::Other {
        name: "EC P-256".into(),
        spki: vec![],
    };
    assert!(ec.check_if_rsa().is_ok());
    assert!(ec.encryption_problem().unwrap().contains("must be RSA"));
}
