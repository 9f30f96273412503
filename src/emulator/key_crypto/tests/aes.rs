//! AES: GCM, CBC, CBCPAD and key wrap round trip for every key size; the answers a real
//! Managed HSM gave (recorded by the Azure SDK for Python's tests) are reproduced; wrong
//! sizes, IVs, tags and tampering are refused.

use serde_json::{json, Value};

use super::{b64, field, ok, refused, KID};
use crate::emulator::key_crypto::{Material, Operation};
use crate::primitives::base64url;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The key, IV and plaintext of the SDK's recorded `test_symmetric_encrypt_and_decrypt`.
fn recorded() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let key = hex("e27ed0c84512bbd55b6af434d237c11feba311870f80f2c2e3364260f31c82c8");
    let iv = hex("89b8adbfb07345e3598932a09c517441");
    let plaintext = b"5063e6aaa845f150200547944fd199679c98ed6f99da0a0b2dafeaf1f4684496fd532c1c229968cb9dee44957fcef7ccef59ceda0b362e56bcd78fd3faee5781c623c0bb22b35beabde0664fd30e0e824aba3dd1b0afffc4a3d955ede20cf6a854d52cfd".to_vec();
    (key, iv, plaintext)
}

/// The ciphertext the service answered for A256CBC and A256CBCPAD (they share all
/// blocks but the last).
const RECORDED_CBC_PREFIX: &str = "LMKuK63LOzPyZzk-GMl79Lciw-LNxXt5H9zA7ZTgfpIHvM5_XY9h8q0ils-y85LvB-Bj8jx7KmDAacxkXIXxrdhHz7c5URCoOh0HrwXW7QqBVnWarK4D04X_2KG2otO0DFTFfuVcs3flnFUF2bAEujPb3SA5FHlBLPhDge4elcbWn3XXtJVOzCian2Z3O04xyI_QAZp8Ds4K4XSHtU_P238YWRvcNc399qEYptrlWjHNxxFxxAC4Hc44pAGus3cC";

#[test]
fn cbc_reproduces_the_services_recorded_answers() {
    let (key, iv, plaintext) = recorded();
    let material = Material::Symmetric(&key);
    for (alg, last) in [
        ("A256CBC", "JfUmfl8S8IDlUyQKOpqmtA"),
        ("A256CBCPAD", "iqWw_oS3hdD48u_EhIUSvg"),
    ] {
        let answer = ok(
            material,
            Operation::Encrypt,
            json!({"alg": alg, "value": b64(&plaintext), "iv": b64(&iv), "aad": "dGVzdA"}),
        );
        assert_eq!(
            answer["value"],
            format!("{RECORDED_CBC_PREFIX}{last}"),
            "{alg}"
        );
        assert_eq!(answer["iv"], "ibitv7BzReNZiTKgnFF0QQ");
        assert_eq!(
            (answer["kid"].as_str(), answer["alg"].as_str()),
            (Some(KID), Some(alg))
        );
        assert!(
            answer.get("tag").is_none() && answer.get("aad").is_none(),
            "{answer}"
        );
        let plain = ok(
            material,
            Operation::Decrypt,
            json!({"alg": alg, "value": answer["value"], "iv": answer["iv"]}),
        );
        let mut expected = plaintext.clone();
        if alg == "A256CBC" {
            // The service zero-pads A*CBC plaintexts to whole blocks (200 → 208 bytes).
            expected.extend([0u8; 8]);
        }
        assert_eq!(field(&plain, "value"), expected, "{alg}");
    }
}

/// GCM test case 2 of McGrew and Viega's GCM specification: a zero key, IV and block.
#[test]
fn gcm_decrypts_the_published_test_vector() {
    let key = [0u8; 16];
    let body = json!({"alg": "A128GCM", "value": b64(&hex("0388dace60b6a392f328c2b971b2fe78")),
        "iv": b64(&[0; 12]), "tag": b64(&hex("ab6e47d42cec13bdf53a67b21257bddf"))});
    let answer = ok(Material::Symmetric(&key), Operation::Decrypt, body.clone());
    assert_eq!(field(&answer, "value"), [0u8; 16]);
    assert_eq!(
        answer.as_object().map(|o| o.len()),
        Some(3),
        "kid, alg, value: {answer}"
    );
    let mut with_aad = body.clone();
    with_aad["aad"] = json!("dGVzdA");
    let message = refused(Material::Symmetric(&key), Operation::Decrypt, with_aad);
    assert!(message.contains("decryption failed"), "{message}");
    for (name, changed) in [
        ("tag", hex("ab6e47d42cec13bdf53a67b21257bdde")),
        ("iv", vec![1; 12]),
        ("value", hex("0388dace60b6a392f328c2b971b2fe79")),
    ] {
        let mut bent = body.clone();
        bent[name] = json!(b64(&changed));
        let message = refused(Material::Symmetric(&key), Operation::Decrypt, bent);
        assert!(message.contains("decryption failed"), "{name}: {message}");
    }
}

#[test]
fn gcm_round_trips_with_an_iv_the_hsm_makes() {
    for (alg, len) in [("A128GCM", 16), ("A192GCM", 24), ("A256GCM", 32)] {
        let key = vec![0x42u8; len];
        let material = Material::Symmetric(&key);
        let encrypt = |aad: Option<&str>| {
            let mut body = json!({"alg": alg, "value": b64(b"plain text")});
            if let Some(aad) = aad {
                body["aad"] = json!(aad);
            }
            ok(material, Operation::Encrypt, body)
        };
        let first = encrypt(Some("YWFk"));
        let second = encrypt(None);
        assert_eq!(field(&first, "iv").len(), 12);
        assert_eq!(field(&first, "tag").len(), 16);
        assert_eq!(field(&first, "aad"), b"aad");
        assert!(second.get("aad").is_none());
        assert_ne!(first["iv"], second["iv"], "a fresh IV each time");
        for (answer, aad) in [(&first, json!("YWFk")), (&second, Value::Null)] {
            let plain = ok(
                material,
                Operation::Decrypt,
                json!({"alg": alg, "value": answer["value"],
                "iv": answer["iv"], "tag": answer["tag"], "aad": aad}),
            );
            assert_eq!(field(&plain, "value"), b"plain text", "{alg}");
        }
        let back = |iv: Value, tag: Value| {
            refused(
                material,
                Operation::Decrypt,
                json!({"alg": alg, "value": first["value"], "iv": iv, "tag": tag, "aad": "YWFk"}),
            )
        };
        assert!(back(Value::Null, first["tag"].clone()).contains("'iv' is required"));
        assert!(back(first["iv"].clone(), Value::Null).contains("'tag' is required"));
        assert!(back(json!(b64(&[0; 16])), first["tag"].clone()).contains("'iv' is 16 bytes"));
        let short_tag = b64(&field(&first, "tag")[..12]);
        assert!(back(first["iv"].clone(), json!(short_tag)).contains("'tag' is 12 bytes"));
        let message = refused(
            material,
            Operation::Encrypt,
            json!({"alg": alg, "value": b64(b"x"), "iv": b64(&[0; 12])}),
        );
        assert!(message.contains("the HSM makes the IV"), "{message}");
    }
}

#[test]
fn cbc_round_trips_and_makes_an_iv_when_none_is_sent() {
    for size in ["128", "192", "256"] {
        let key = vec![0x17u8; size.parse::<usize>().unwrap() / 8];
        let material = Material::Symmetric(&key);
        for alg in [format!("A{size}CBC"), format!("A{size}CBCPAD")] {
            let data = b"sixteen bytes!!!and five";
            let answer = ok(
                material,
                Operation::Encrypt,
                json!({"alg": alg, "value": b64(data)}),
            );
            let iv = field(&answer, "iv");
            assert_eq!(iv.len(), 16);
            assert_eq!(field(&answer, "value").len(), 32, "{alg}");
            let plain = field(
                &ok(
                    material,
                    Operation::Decrypt,
                    json!({"alg": alg, "value": answer["value"], "iv": answer["iv"]}),
                ),
                "value",
            );
            assert_eq!(&plain[..data.len()], data);
            let expected_len = if alg.ends_with("PAD") { data.len() } else { 32 };
            assert_eq!(plain.len(), expected_len, "{alg}");
            let other = ok(
                material,
                Operation::Encrypt,
                json!({"alg": alg, "value": b64(data)}),
            );
            assert_ne!(other["iv"], answer["iv"]);
        }
    }
}

#[test]
fn cbc_refuses_bad_ivs_lengths_and_padding() {
    let key = [3u8; 32];
    let material = Material::Symmetric(&key);
    let message = refused(
        material,
        Operation::Encrypt,
        json!({"alg": "A256CBC", "value": b64(b"x"), "iv": b64(&[0; 12])}),
    );
    assert!(
        message.contains("'iv' is 12 bytes; it must be 16"),
        "{message}"
    );
    let message = refused(
        material,
        Operation::Decrypt,
        json!({"alg": "A256CBCPAD", "value": b64(&[0; 32])}),
    );
    assert!(message.contains("'iv' is required"), "{message}");
    let message = refused(
        material,
        Operation::Decrypt,
        json!({"alg": "A256CBC", "value": b64(&[0; 33]), "iv": b64(&[0; 16])}),
    );
    assert!(message.contains("whole 16-byte blocks"), "{message}");
    // A block that decrypts to a last byte 0 is never valid PKCS#7 padding.
    let raw = ok(
        material,
        Operation::Encrypt,
        json!({"alg": "A256CBC", "value": b64(&[0; 16]), "iv": b64(&[0; 16])}),
    );
    let message = refused(
        material,
        Operation::Decrypt,
        json!({"alg": "A256CBCPAD", "value": raw["value"], "iv": raw["iv"]}),
    );
    assert!(message.contains("padding"), "{message}");
}

#[test]
fn key_wrap_round_trips_for_every_size() {
    for (alg, len) in [
        ("A128KW", 16),
        ("A192KW", 24),
        ("A256KW", 32),
        ("CKM_AES_KEY_WRAP", 24),
    ] {
        let key = vec![0x5au8; len];
        let material = Material::Symmetric(&key);
        let secret = [0x11u8; 32];
        let answer = ok(
            material,
            Operation::WrapKey,
            json!({"alg": alg, "value": b64(&secret)}),
        );
        assert_eq!(
            (answer["kid"].as_str(), answer["alg"].as_str()),
            (Some(KID), Some(alg))
        );
        let wrapped = field(&answer, "value");
        assert_eq!(wrapped.len(), 40);
        let back = ok(
            material,
            Operation::UnwrapKey,
            json!({"alg": alg, "value": b64(&wrapped)}),
        );
        assert_eq!(field(&back, "value"), secret);
        let mut bent = wrapped.clone();
        bent[20] ^= 4;
        let message = refused(
            material,
            Operation::UnwrapKey,
            json!({"alg": alg, "value": b64(&bent)}),
        );
        assert!(message.contains("integrity check"), "{message}");
        for bad in [&secret[..15], &secret[..20], &secret[..8]] {
            refused(
                material,
                Operation::WrapKey,
                json!({"alg": alg, "value": b64(bad)}),
            );
        }
        for bad in [&wrapped[..16], &wrapped[..39]] {
            refused(
                material,
                Operation::UnwrapKey,
                json!({"alg": alg, "value": b64(bad)}),
            );
        }
    }
}

#[test]
fn key_wrap_with_padding_takes_any_length() {
    let key = [0x21u8; 32];
    let material = Material::Symmetric(&key);
    for len in [1, 7, 20, 33] {
        let secret = vec![0x33u8; len];
        let answer = ok(
            material,
            Operation::WrapKey,
            json!({"alg": "CKM_AES_KEY_WRAP_PAD", "value": b64(&secret)}),
        );
        let wrapped = field(&answer, "value");
        assert_eq!(wrapped.len(), len.div_ceil(8) * 8 + 8);
        let back = ok(
            material,
            Operation::UnwrapKey,
            json!({"alg": "CKM_AES_KEY_WRAP_PAD", "value": b64(&wrapped)}),
        );
        assert_eq!(field(&back, "value"), secret);
        // A failed unwrap makes OpenSSL wipe as many bytes as the input has (16 here for
        // the one-block case): the output buffer must be large enough for that.
        let mut bent = wrapped.clone();
        bent[0] ^= 1;
        let message = refused(
            material,
            Operation::UnwrapKey,
            json!({"alg": "CKM_AES_KEY_WRAP_PAD", "value": b64(&bent)}),
        );
        assert!(message.contains("integrity check"), "{message}");
    }
}

#[test]
fn the_key_size_must_match_the_algorithm() {
    let key = [1u8; 16];
    for (op, alg) in [
        (Operation::Encrypt, "A256GCM"),
        (Operation::Encrypt, "A192CBC"),
        (Operation::Decrypt, "A256CBCPAD"),
        (Operation::WrapKey, "A256KW"),
        (Operation::UnwrapKey, "A192KW"),
    ] {
        let body = json!({"alg": alg, "value": b64(&[0; 32]), "iv": b64(&[0; 16])});
        let message = refused(Material::Symmetric(&key), op, body);
        assert!(
            message.contains("this key has 128 bits"),
            "{alg}: {message}"
        );
    }
}

#[test]
fn aes_keys_refuse_other_operations_and_algorithms() {
    let key = [1u8; 32];
    for (op, alg) in [
        (Operation::Encrypt, "A256KW"),
        (Operation::Decrypt, "CKM_AES_KEY_WRAP"),
        (Operation::WrapKey, "A256GCM"),
        (Operation::UnwrapKey, "A256CBCPAD"),
        (Operation::Sign, "A256GCM"),
        (Operation::Verify, "HS256"),
        (Operation::Encrypt, "RSA-OAEP"),
        (Operation::Encrypt, "A256CTR"),
        (Operation::Encrypt, "B256GCM"),
        (Operation::Encrypt, "A2"),
    ] {
        let body = json!({"alg": alg, "value": b64(&[0; 32]), "digest": b64(&[0; 32])});
        let message = refused(Material::Symmetric(&key), op, body);
        assert!(message.contains("with an AES key"), "{alg}: {message}");
    }
}

#[test]
fn answers_are_base64url_of_the_bytes() {
    let key = [8u8; 16];
    let answer = ok(
        Material::Symmetric(&key),
        Operation::WrapKey,
        json!({"alg": "A128KW", "value": b64(&[0xfb; 16])}),
    );
    let text = answer["value"].as_str().unwrap();
    assert!(
        text.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{text}"
    );
    assert_eq!(base64url::decode(text).map(|b| b.len()), Some(24));
}
