//! RSA: every algorithm round trips, checked against OpenSSL set up independently; wrong
//! algorithms, digest lengths and ciphertexts are refused.

use openssl::md::Md;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;
use serde_json::json;

use super::{b64, digest, field, ok, refused, rsa_key, KID};
use crate::emulator::key_crypto::{Material, Operation};

fn key() -> Material<'static> {
    Material::Asymmetric(rsa_key())
}

const ENCRYPTIONS: [&str; 3] = ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"];
const SIGNATURES: [(&str, usize); 6] = [
    ("RS256", 256),
    ("RS384", 384),
    ("RS512", 512),
    ("PS256", 256),
    ("PS384", 384),
    ("PS512", 512),
];

#[test]
fn every_encryption_algorithm_round_trips_for_encrypt_and_wrap() {
    let secret = b"a 32-byte key to wrap, or text!!";
    for alg in ENCRYPTIONS {
        for (there, back) in [
            (Operation::Encrypt, Operation::Decrypt),
            (Operation::WrapKey, Operation::UnwrapKey),
        ] {
            let answer = ok(key(), there, json!({"alg": alg, "value": b64(secret)}));
            assert_eq!(answer["kid"], KID);
            assert_eq!(answer["alg"], alg);
            let sealed = field(&answer, "value");
            assert_eq!(sealed.len(), 256, "{alg}");
            let plain = ok(key(), back, json!({"alg": alg, "value": b64(&sealed)}));
            assert_eq!(field(&plain, "value"), secret, "{alg} {there:?}");
        }
    }
}

#[test]
fn oaep_256_uses_sha256_for_oaep_and_mgf1() {
    let answer = ok(
        key(),
        Operation::Encrypt,
        json!({"alg": "RSA-OAEP-256", "value": b64(b"hello")}),
    );
    let sealed = field(&answer, "value");
    let open = |md: &'static openssl::md::MdRef, mgf1: &'static openssl::md::MdRef| {
        let mut ctx = PkeyCtx::new(rsa_key()).unwrap();
        ctx.decrypt_init().unwrap();
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        ctx.set_rsa_oaep_md(md).unwrap();
        ctx.set_rsa_mgf1_md(mgf1).unwrap();
        let mut out = Vec::new();
        ctx.decrypt_to_vec(&sealed, &mut out).ok().map(|_| out)
    };
    assert_eq!(
        open(Md::sha256(), Md::sha256()).as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(open(Md::sha256(), Md::sha1()), None);
    assert_eq!(open(Md::sha1(), Md::sha1()), None);
    let message = refused(
        key(),
        Operation::Decrypt,
        json!({"alg": "RSA-OAEP", "value": b64(&sealed)}),
    );
    assert!(message.contains("decryption failed"), "{message}");
}

#[test]
fn tampered_short_and_oversized_inputs_are_refused() {
    let answer = ok(
        key(),
        Operation::Encrypt,
        json!({"alg": "RSA-OAEP", "value": b64(b"x")}),
    );
    let mut sealed = field(&answer, "value");
    sealed[100] ^= 1;
    refused(
        key(),
        Operation::Decrypt,
        json!({"alg": "RSA-OAEP", "value": b64(&sealed)}),
    );
    let message = refused(
        key(),
        Operation::UnwrapKey,
        json!({"alg": "RSA-OAEP", "value": b64(&sealed[1..])}),
    );
    assert!(message.contains("255 bytes"), "{message}");
    // OAEP with SHA-1 carries at most 256 - 2 * 20 - 2 = 214 bytes in a 2048-bit key.
    ok(
        key(),
        Operation::Encrypt,
        json!({"alg": "RSA-OAEP", "value": b64(&[1; 214])}),
    );
    let message = refused(
        key(),
        Operation::Encrypt,
        json!({"alg": "RSA-OAEP", "value": b64(&[1; 215])}),
    );
    assert!(message.contains("too long"), "{message}");
}

/// Verifies `signature` of `digest` with OpenSSL set up here: PKCS#1 v1.5 or PSS with the
/// salt as long as the digest.
fn openssl_verifies(alg: &str, bits: usize, digest: &[u8], signature: &[u8]) -> bool {
    let md = match bits {
        256 => Md::sha256(),
        384 => Md::sha384(),
        _ => Md::sha512(),
    };
    let mut ctx = PkeyCtx::new(rsa_key()).unwrap();
    ctx.verify_init().unwrap();
    ctx.set_signature_md(md).unwrap();
    if alg.starts_with("PS") {
        ctx.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(bits as i32 / 8))
            .unwrap();
        ctx.set_rsa_mgf1_md(md).unwrap();
    } else {
        ctx.set_rsa_padding(Padding::PKCS1).unwrap();
    }
    ctx.verify(digest, signature).unwrap_or(false)
}

#[test]
fn every_signature_algorithm_signs_and_verifies() {
    for (alg, bits) in SIGNATURES {
        let hash = digest(bits, b"the message");
        let answer = ok(
            key(),
            Operation::Sign,
            json!({"alg": alg, "value": b64(&hash)}),
        );
        assert_eq!(
            (answer["kid"].as_str(), answer["alg"].as_str()),
            (Some(KID), Some(alg))
        );
        let signature = field(&answer, "value");
        assert_eq!(signature.len(), 256);
        assert!(openssl_verifies(alg, bits, &hash, &signature), "{alg}");
        let verify = |digest: &[u8], signature: &[u8]| {
            ok(
                key(),
                Operation::Verify,
                json!({"alg": alg, "digest": b64(digest), "value": b64(signature)}),
            )
        };
        assert_eq!(verify(&hash, &signature), json!({"value": true}), "{alg}");
        let other = digest(bits, b"another message");
        assert_eq!(verify(&other, &signature), json!({"value": false}), "{alg}");
        let mut bent = signature.clone();
        bent[10] ^= 0x80;
        assert_eq!(verify(&hash, &bent), json!({"value": false}), "{alg}");
        assert_eq!(
            verify(&hash, &signature[1..]),
            json!({"value": false}),
            "{alg}"
        );
    }
}

#[test]
fn pkcs1_signatures_are_deterministic_and_pss_ones_are_salted() {
    let hash = digest(256, b"m");
    let sign = |alg: &str| {
        field(
            &ok(
                key(),
                Operation::Sign,
                json!({"alg": alg, "value": b64(&hash)}),
            ),
            "value",
        )
    };
    assert_eq!(sign("RS256"), sign("RS256"));
    assert_ne!(sign("PS256"), sign("PS256"));
}

#[test]
fn a_digest_of_the_wrong_length_is_refused() {
    for (alg, bits) in SIGNATURES {
        for len in [bits / 8 - 1, bits / 8 + 1, 20] {
            let message = refused(
                key(),
                Operation::Sign,
                json!({"alg": alg, "value": b64(&vec![1; len])}),
            );
            assert!(message.contains(&format!("{len} bytes")), "{message}");
            refused(
                key(),
                Operation::Verify,
                json!({"alg": alg, "digest": b64(&vec![1; len]), "value": b64(&[1; 256])}),
            );
        }
    }
}

#[test]
fn algorithms_of_other_kinds_are_refused() {
    let cases = [
        (Operation::Encrypt, "RS256"),
        (Operation::Encrypt, "A256GCM"),
        (Operation::WrapKey, "A256KW"),
        (Operation::Decrypt, "RSA-OAEP-384"),
        (Operation::Sign, "RSA-OAEP"),
        (Operation::Sign, "ES256"),
        (Operation::Sign, "RS1024"),
        (Operation::Sign, "R"),
        (Operation::Verify, "HS256"),
    ];
    for (op, alg) in cases {
        let body = json!({"alg": alg, "value": b64(&[1; 32]), "digest": b64(&[1; 32])});
        let message = refused(key(), op, body);
        assert!(
            message.contains(&format!("'{alg}' is not valid")),
            "{message}"
        );
    }
}

#[test]
fn larger_keys_sign_and_encrypt_at_their_size() {
    for bits in [3072u32, 4096] {
        let pkey =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(bits).unwrap()).unwrap();
        let material = Material::Asymmetric(&pkey);
        let bytes = bits as usize / 8;
        let hash = digest(512, b"big");
        let signature = field(
            &ok(
                material,
                Operation::Sign,
                json!({"alg": "PS512", "value": b64(&hash)}),
            ),
            "value",
        );
        assert_eq!(signature.len(), bytes);
        let verified = ok(
            material,
            Operation::Verify,
            json!({"alg": "PS512", "digest": b64(&hash), "value": b64(&signature)}),
        );
        assert_eq!(verified, json!({"value": true}));
        let sealed = field(
            &ok(
                material,
                Operation::WrapKey,
                json!({"alg": "RSA-OAEP-256", "value": b64(&[9; 32])}),
            ),
            "value",
        );
        assert_eq!(sealed.len(), bytes);
        let opened = ok(
            material,
            Operation::UnwrapKey,
            json!({"alg": "RSA-OAEP-256", "value": b64(&sealed)}),
        );
        assert_eq!(field(&opened, "value"), [9; 32]);
        let other_size = ok(
            key(),
            Operation::Verify,
            json!({"alg": "PS512", "digest": b64(&hash), "value": b64(&signature)}),
        );
        assert_eq!(
            other_size,
            json!({"value": false}),
            "another key's signature"
        );
    }
}
