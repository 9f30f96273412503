//! EC: every curve signs `r || s` that OpenSSL verifies once turned into DER; the curve must
//! match the algorithm, the digest its hash.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use serde_json::json;

use super::{b64, digest, field, ok, refused, KID};
use crate::emulator::key_crypto::{Material, Operation};

fn key(nid: Nid) -> PKey<Private> {
    let group = EcGroup::from_curve_name(nid).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// (algorithm, curve, hash bits, half of the signature in bytes)
const CURVES: [(&str, Nid, usize, usize); 4] = [
    ("ES256", Nid::X9_62_PRIME256V1, 256, 32),
    ("ES256K", Nid::SECP256K1, 256, 32),
    ("ES384", Nid::SECP384R1, 384, 48),
    ("ES512", Nid::SECP521R1, 512, 66),
];

#[test]
fn every_curve_signs_raw_r_s_that_openssl_verifies() {
    for (alg, nid, bits, half) in CURVES {
        let pkey = key(nid);
        let hash = digest(bits, b"message");
        let answer = ok(
            Material::Asymmetric(&pkey),
            Operation::Sign,
            json!({"alg": alg, "value": b64(&hash)}),
        );
        assert_eq!(
            (answer["kid"].as_str(), answer["alg"].as_str()),
            (Some(KID), Some(alg))
        );
        let raw = field(&answer, "value");
        assert_eq!(raw.len(), 2 * half, "{alg}");
        let r = BigNum::from_slice(&raw[..half]).unwrap();
        let s = BigNum::from_slice(&raw[half..]).unwrap();
        let der = EcdsaSig::from_private_components(r, s).unwrap();
        assert!(der.verify(&hash, &pkey.ec_key().unwrap()).unwrap(), "{alg}");

        let verify = |digest: &[u8], signature: &[u8]| {
            ok(
                Material::Asymmetric(&pkey),
                Operation::Verify,
                json!({"alg": alg, "digest": b64(digest), "value": b64(signature)}),
            )
        };
        assert_eq!(verify(&hash, &raw), json!({"value": true}), "{alg}");
        assert_eq!(
            verify(&digest(bits, b"other"), &raw),
            json!({"value": false})
        );
        let mut bent = raw.clone();
        bent[half + 3] ^= 1;
        assert_eq!(verify(&hash, &bent), json!({"value": false}), "{alg}");
        assert_eq!(
            verify(&hash, &raw[..raw.len() - 1]),
            json!({"value": false})
        );
        let der_bytes = EcdsaSig::sign(&hash, &pkey.ec_key().unwrap())
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(
            verify(&hash, &der_bytes),
            json!({"value": false}),
            "DER is not JWS: {alg}"
        );
        assert_eq!(
            verify(&hash, &vec![0; 2 * half]),
            json!({"value": false}),
            "{alg}"
        );
    }
}

#[test]
fn the_curve_must_match_the_algorithm() {
    let p256 = key(Nid::X9_62_PRIME256V1);
    let p384 = key(Nid::SECP384R1);
    let k256 = key(Nid::SECP256K1);
    let cases = [
        (
            &p256,
            "ES384",
            48,
            "ES384 needs a P-384 key; this key is on P-256",
        ),
        (
            &p256,
            "ES256K",
            32,
            "ES256K needs a P-256K key; this key is on P-256",
        ),
        (
            &k256,
            "ES256",
            32,
            "ES256 needs a P-256 key; this key is on P-256K",
        ),
        (
            &p384,
            "ES512",
            64,
            "ES512 needs a P-521 key; this key is on P-384",
        ),
    ];
    for (pkey, alg, len, expected) in cases {
        let message = refused(
            Material::Asymmetric(pkey),
            Operation::Sign,
            json!({"alg": alg, "value": b64(&vec![1; len])}),
        );
        assert_eq!(message, expected);
    }
}

#[test]
fn the_digest_length_must_match_the_hash() {
    for (alg, nid, bits, _) in CURVES {
        let pkey = key(nid);
        for len in [bits / 8 - 1, bits / 8 + 1] {
            let message = refused(
                Material::Asymmetric(&pkey),
                Operation::Sign,
                json!({"alg": alg, "value": b64(&vec![1; len])}),
            );
            assert!(
                message.contains(&format!("the digest is {len} bytes")),
                "{message}"
            );
            refused(
                Material::Asymmetric(&pkey),
                Operation::Verify,
                json!({"alg": alg, "digest": b64(&vec![1; len]), "value": b64(&[1; 64])}),
            );
        }
    }
}

#[test]
fn ec_keys_only_sign_and_verify_with_ecdsa() {
    let pkey = key(Nid::X9_62_PRIME256V1);
    for (op, alg) in [
        (Operation::Encrypt, "ES256"),
        (Operation::Decrypt, "RSA-OAEP"),
        (Operation::WrapKey, "A256KW"),
        (Operation::UnwrapKey, "ES256"),
        (Operation::Sign, "RS256"),
        (Operation::Verify, "PS256"),
        (Operation::Sign, "ES"),
    ] {
        let body = json!({"alg": alg, "value": b64(&[1; 32]), "digest": b64(&[1; 32])});
        let message = refused(Material::Asymmetric(&pkey), op, body);
        assert!(message.contains("with an EC key"), "{message}");
    }
}
