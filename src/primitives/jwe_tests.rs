//! Unit tests of `jwe`.

use super::*;
use openssl::rsa::Rsa;
use proptest::prelude::*;
use std::sync::OnceLock;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 7518 Appendix B.3: AES_256_CBC_HMAC_SHA_512.
#[test]
fn rfc7518_b3_known_answer() {
    let key = unhex(
        "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
         20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f",
    );
    let plaintext = unhex(
        "41 20 63 69 70 68 65 72 20 73 79 73 74 65 6d 20 6d 75 73 74 20 6e 6f 74 20 62 65 20 72 65 71 75
         69 72 65 64 20 74 6f 20 62 65 20 73 65 63 72 65 74 2c 20 61 6e 64 20 69 74 20 6d 75 73 74 20 62
         65 20 61 62 6c 65 20 74 6f 20 66 61 6c 6c 20 69 6e 74 6f 20 74 68 65 20 68 61 6e 64 73 20 6f 66
         20 74 68 65 20 65 6e 65 6d 79 20 77 69 74 68 6f 75 74 20 69 6e 63 6f 6e 76 65 6e 69 65 6e 63 65",
    );
    let iv = unhex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04");
    let aad = unhex(
        "54 68 65 20 73 65 63 6f 6e 64 20 70 72 69 6e 63 69 70 6c 65 20 6f 66 20 41 75 67 75 73 74 65 20
         4b 65 72 63 6b 68 6f 66 66 73",
    );
    let expected_ct = unhex(
        "4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd 3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd
         82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2 e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b
         36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1 1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3
         a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e 31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b
         be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6",
    );
    let expected_tag = unhex(
        "4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf 2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5",
    );
    let (ct, tag) = cbc_hs512_encrypt(&key, &iv, &aad, &plaintext).unwrap();
    assert_eq!(ct, expected_ct);
    assert_eq!(tag, expected_tag);
    let back = cbc_hs512_decrypt(&key, &iv, &aad, &ct, &tag).unwrap();
    assert_eq!(&*back, &plaintext[..]);
    let mut bad_aad = aad.clone();
    bad_aad[0] ^= 1;
    assert_eq!(
        cbc_hs512_decrypt(&key, &iv, &bad_aad, &ct, &tag),
        Err(JweError::Decryption)
    );
}

fn rsa_key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
}

#[test]
fn parse_refusals() {
    let key = [3u8; 64];
    let good = encrypt_dir(b"hello", &key, Some("tag1")).unwrap();
    let parsed = CompactJwe::parse(&good).unwrap();
    assert_eq!(parsed.kid(), Some("tag1"));
    assert_eq!(&*parsed.decrypt_dir(&key).unwrap(), b"hello");
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        ("a.b.c.d".to_owned(), "4 dot-separated parts"),
        (
            format!("!!.{}", parts[1..].join(".")),
            "header is not base64url",
        ),
        (
            format!("{}.{}", base64url::encode(b"[1]"), parts[1..].join(".")),
            "header is not a JSON object",
        ),
        (
            format!(
                "{}.{}",
                base64url::encode(br#"{"alg":"dir","enc":"A128GCM"}"#),
                parts[1..].join(".")
            ),
            "enc 'A128GCM'",
        ),
        (
            format!(
                "{}.{}",
                base64url::encode(br#"{"alg":"ECDH-ES","enc":"A256CBC-HS512"}"#),
                parts[1..].join(".")
            ),
            "alg 'ECDH-ES'",
        ),
        (
            format!(
                "{}.{}",
                base64url::encode(br#"{"enc":"A256CBC-HS512"}"#),
                parts[1..].join(".")
            ),
            "header has no 'alg'",
        ),
        (
            format!("{}.{}.AAAA.{}.{}", parts[0], parts[1], parts[3], parts[4]),
            "IV is 3 bytes",
        ),
        (
            format!("{}.{}.{}.{}.AAAA", parts[0], parts[1], parts[2], parts[3]),
            "tag is 3 bytes",
        ),
        (
            format!("{}.AAAA.{}.{}.{}", parts[0], parts[2], parts[3], parts[4]),
            "non-empty encrypted key",
        ),
    ];
    for (text, needle) in cases {
        let err = CompactJwe::parse(&text).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: got {err}");
    }
    // Padding on the parts is tolerated.
    let padded: Vec<String> = parts
        .iter()
        .map(|p| {
            let pad = (4 - p.len() % 4) % 4;
            format!("{p}{}", "=".repeat(pad))
        })
        .collect();
    assert_eq!(
        &*CompactJwe::parse(&padded.join("."))
            .unwrap()
            .decrypt_dir(&key)
            .unwrap(),
        b"hello"
    );
}

#[test]
fn rsa_round_trip_and_wrong_key() {
    let key = rsa_key();
    let mut extra = Map::new();
    extra.insert("kid".into(), Value::from("custodian1"));
    let jwe = encrypt_rsa_oaep256(b"share bytes", key, &extra).unwrap();
    let parsed = CompactJwe::parse(&jwe).unwrap();
    assert_eq!(parsed.algorithm(), Algorithm::RsaOaep256);
    assert_eq!(&*parsed.decrypt_rsa(key).unwrap(), b"share bytes");
    let other = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    assert_eq!(parsed.decrypt_rsa(&other), Err(JweError::Decryption));
    assert!(parsed.decrypt_dir(&[0; 64]).is_err());
}

/// A JWE whose content key is wrapped with `padding` (and `digest` for OAEP) under `alg`.
fn legacy_jwe(
    alg: &str,
    padding: Padding,
    digest: Option<MessageDigest>,
    plaintext: &[u8],
) -> String {
    let key = rsa_key();
    let cek = random_bytes(CEK_LEN).unwrap();
    let mut encrypter = Encrypter::new(key).unwrap();
    encrypter.set_rsa_padding(padding).unwrap();
    if let Some(md) = digest {
        encrypter.set_rsa_oaep_md(md).unwrap();
        encrypter.set_rsa_mgf1_md(md).unwrap();
    }
    let mut wrapped = vec![0u8; encrypter.encrypt_len(&cek).unwrap()];
    let n = encrypter.encrypt(&cek, &mut wrapped).unwrap();
    wrapped.truncate(n);
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(alg));
    header.insert("enc".into(), Value::from(ENC_A256CBC_HS512));
    seal(&header, &wrapped, &cek, plaintext).unwrap()
}

#[test]
fn rsa_oaep_sha1_and_rsa1_5_decrypt() {
    for (alg, padding, digest, expected) in [
        (
            "RSA-OAEP",
            Padding::PKCS1_OAEP,
            Some(MessageDigest::sha1()),
            Algorithm::RsaOaep,
        ),
        ("RSA1_5", Padding::PKCS1, None, Algorithm::Rsa1_5),
    ] {
        let jwe = legacy_jwe(alg, padding, digest, b"legacy share");
        let parsed = CompactJwe::parse(&jwe).unwrap();
        assert_eq!(parsed.algorithm(), expected);
        assert_eq!(
            &*parsed.decrypt_rsa(rsa_key()).unwrap(),
            b"legacy share",
            "{alg}"
        );
        // The header names the padding: a key wrapped one way does not open the other.
        let swapped = jwe.replacen(
            &jwe[..jwe.find('.').unwrap()],
            &base64url::encode(
                format!(
                    r#"{{"alg":"{}","enc":"A256CBC-HS512"}}"#,
                    if alg == "RSA1_5" {
                        "RSA-OAEP"
                    } else {
                        "RSA1_5"
                    }
                )
                .as_bytes(),
            ),
            1,
        );
        assert_eq!(
            CompactJwe::parse(&swapped).unwrap().decrypt_rsa(rsa_key()),
            Err(JweError::Decryption),
            "{alg} swapped"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn dir_round_trip(plaintext in proptest::collection::vec(any::<u8>(), 0..300), key in proptest::collection::vec(any::<u8>(), 64)) {
        let jwe = encrypt_dir(&plaintext, &key, Some("t")).unwrap();
        let got = CompactJwe::parse(&jwe).unwrap().decrypt_dir(&key).unwrap();
        prop_assert_eq!(&*got, &plaintext[..]);
    }

    #[test]
    fn any_changed_character_is_refused(plaintext in proptest::collection::vec(any::<u8>(), 1..64), at in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_-]") {
        let key = [9u8; 64];
        let jwe = encrypt_dir(&plaintext, &key, Some("t")).unwrap();
        let i = at.index(jwe.len());
        let original = jwe.as_bytes()[i] as char;
        let r = replacement.chars().next().unwrap();
        prop_assume!(original != '.' && original != r);
        let mut changed = jwe.clone();
        changed.replace_range(i..i + 1, &r.to_string());
        // Strict base64url (non-canonical trailing bits are refused) and a MAC over
        // the header as written: every changed character must be refused.
        let result = CompactJwe::parse(&changed).and_then(|j| j.decrypt_dir(&key));
        prop_assert!(result.is_err(), "accepted a JWE changed at {}", i);
    }

    #[test]
    fn any_changed_byte_is_refused(plaintext in proptest::collection::vec(any::<u8>(), 1..64), part in 0usize..4, at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let key = [5u8; 64];
        let jwe = encrypt_dir(&plaintext, &key, Some("t")).unwrap();
        let mut parts: Vec<Vec<u8>> = jwe.split('.').map(|p| base64url::decode(p).unwrap()).collect();
        // Parts: 0 header, 2 IV, 3 ciphertext, 4 tag (1 is empty for dir).
        let index = [0, 2, 3, 4][part];
        let i = at.index(parts[index].len());
        parts[index][i] ^= flip;
        let text: Vec<String> = parts.iter().map(|p| base64url::encode(p)).collect();
        let result = CompactJwe::parse(&text.join(".")).and_then(|j| j.decrypt_dir(&key));
        prop_assert!(result.is_err());
    }

    #[test]
    fn parse_never_panics(text in "[A-Za-z0-9_.=-]{0,200}") {
        let _ = CompactJwe::parse(&text);
    }
}
