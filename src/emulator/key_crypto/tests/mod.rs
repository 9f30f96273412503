//! Unit tests of the key operations: helpers, and the request body's checks.

mod aes;
mod ec;
mod rsa;

use std::sync::OnceLock;

use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use serde_json::{json, Value};

use super::{operate, Material, Operation};
use crate::emulator::http::ApiError;
use crate::primitives::base64url;

/// The key id the tests pass and expect back.
const KID: &str = "https://127.0.0.1:8443/keys/test/0123456789abcdef";

/// One RSA 2048 key for every test (generation is slow).
fn rsa_key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
}

fn b64(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

/// The bytes of base64url field `name` of an answer.
fn field(answer: &Value, name: &str) -> Vec<u8> {
    let text = answer[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {answer}"));
    base64url::decode(text).unwrap()
}

/// Runs an operation that must succeed.
fn ok(material: Material<'_>, op: Operation, body: Value) -> Value {
    match operate(material, op, KID, &body) {
        Ok(answer) => answer,
        Err(e) => panic!("{op:?} {body}: {} {}", e.code, e.message),
    }
}

/// Runs an operation that must be refused with 400 BadParameter; the message.
fn refused(material: Material<'_>, op: Operation, body: Value) -> String {
    let e: ApiError = match operate(material, op, KID, &body) {
        Ok(answer) => panic!("{op:?} {body} was answered: {answer}"),
        Err(e) => e,
    };
    assert_eq!(
        (e.status.as_u16(), e.code.as_str()),
        (400, "BadParameter"),
        "{}",
        e.message
    );
    e.message
}

/// A SHA-2 digest of `data` for a `bits`-bit hash.
fn digest(bits: usize, data: &[u8]) -> Vec<u8> {
    let md = match bits {
        256 => openssl::hash::MessageDigest::sha256(),
        384 => openssl::hash::MessageDigest::sha384(),
        _ => openssl::hash::MessageDigest::sha512(),
    };
    openssl::hash::hash(md, data).unwrap().to_vec()
}

#[test]
fn malformed_bodies_are_refused_with_400() {
    let key = Material::Symmetric(&[7u8; 32]);
    let cases = [
        (json!("A256GCM"), "JSON object"),
        (json!({"value": b64(b"x")}), "'alg' is required"),
        (json!({"alg": "", "value": b64(b"x")}), "'alg' is required"),
        (json!({"alg": 5, "value": b64(b"x")}), "'alg' is required"),
        (json!({"alg": "A256GCM"}), "'value' is required"),
        (
            json!({"alg": "A256GCM", "value": ""}),
            "'value' is required",
        ),
        (
            json!({"alg": "A256GCM", "value": null}),
            "'value' is required",
        ),
        (
            json!({"alg": "A256GCM", "value": "!!!!"}),
            "'value' is not valid base64url",
        ),
        (
            json!({"alg": "A256GCM", "value": "ab+/"}),
            "'value' is not valid base64url",
        ),
        (
            json!({"alg": "A256GCM", "value": 12}),
            "'value' must be a base64url string",
        ),
        (
            json!({"alg": "A256GCM", "value": "YQ", "aad": "*"}),
            "'aad' is not valid base64url",
        ),
        (
            json!({"alg": "A256GCM", "value": "YQ", "aad": []}),
            "'aad' must be a base64url string",
        ),
    ];
    for (body, needle) in cases {
        let message = refused(key, Operation::Encrypt, body.clone());
        assert!(message.contains(needle), "{body}: {message}");
    }
    let verify = json!({"alg": "RS256", "value": b64(&[1; 256])});
    let message = refused(Material::Asymmetric(rsa_key()), Operation::Verify, verify);
    assert!(message.contains("'digest' is required"), "{message}");
}

#[test]
fn padded_base64url_is_accepted_and_answers_are_unpadded() {
    let key = [9u8; 16];
    let padded = json!({"alg": "A128GCM", "value": "YQ==", "aad": "YWI="});
    let answer = ok(Material::Symmetric(&key), Operation::Encrypt, padded);
    for name in ["value", "iv", "tag", "aad"] {
        let text = answer[name].as_str().unwrap();
        assert!(!text.contains('='), "{name}: {text}");
    }
    assert_eq!(field(&answer, "aad"), b"ab");
    let back = json!({"alg": "A128GCM", "value": answer["value"], "iv": answer["iv"],
        "tag": answer["tag"], "aad": "YWI="});
    assert_eq!(
        field(
            &ok(Material::Symmetric(&key), Operation::Decrypt, back),
            "value"
        ),
        b"a"
    );
}

#[test]
fn an_unusable_asymmetric_key_is_an_internal_error() {
    let ed = PKey::generate_ed25519().unwrap();
    let body = json!({"alg": "EdDSA", "value": b64(&[0; 32])});
    let e = operate(Material::Asymmetric(&ed), Operation::Sign, KID, &body).unwrap_err();
    assert_eq!(e.status.as_u16(), 500);
    let e = operate(
        Material::Symmetric(&[0; 15]),
        Operation::Encrypt,
        KID,
        &body,
    )
    .unwrap_err();
    assert_eq!(e.status.as_u16(), 500);
}

const ALGORITHMS: [&str; 24] = [
    "RSA1_5",
    "RSA-OAEP",
    "RSA-OAEP-256",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES256K",
    "ES384",
    "ES512",
    "A128GCM",
    "A256GCM",
    "A192CBC",
    "A256CBC",
    "A128CBCPAD",
    "A256CBCPAD",
    "A128KW",
    "A256KW",
    "CKM_AES_KEY_WRAP",
    "CKM_AES_KEY_WRAP_PAD",
    "Ä256GCM",
];

fn p256() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| {
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1);
        PKey::from_ec_key(openssl::ec::EcKey::generate(&group.unwrap()).unwrap()).unwrap()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
    /// Whatever the body, an operation answers or refuses (400, or 500 for an unusable
    /// key); it never panics.
    #[test]
    fn any_body_is_answered_or_refused_never_a_panic(
        op in 0usize..6,
        key in 0usize..4,
        alg in 0usize..ALGORITHMS.len(),
        value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        iv in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)),
        tag in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)),
        aad in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)),
        digest_len in 0usize..70,
    ) {
        let ops = [Operation::Encrypt, Operation::Decrypt, Operation::Sign, Operation::Verify,
            Operation::WrapKey, Operation::UnwrapKey];
        let aes16 = [5u8; 16];
        let aes32 = [6u8; 32];
        let material = match key {
            0 => Material::Asymmetric(rsa_key()),
            1 => Material::Asymmetric(p256()),
            2 => Material::Symmetric(&aes16),
            _ => Material::Symmetric(&aes32),
        };
        let encode = |b: &Option<Vec<u8>>| b.as_ref().map(|b| b64(b));
        let body = json!({"alg": ALGORITHMS[alg], "value": b64(&value), "iv": encode(&iv),
            "tag": encode(&tag), "aad": encode(&aad), "digest": b64(&vec![7; digest_len])});
        if let Err(e) = operate(material, ops[op], KID, &body) {
            proptest::prop_assert!(matches!(e.status.as_u16(), 400 | 500), "{} {}", e.status, e.message);
        }
    }
}
