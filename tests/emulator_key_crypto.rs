//! The emulator's key operations (`sdctl::emulator::key_crypto::operate`) checked against
//! the openssl command line, not against our own code: keys made by `openssl genpkey`,
//! signatures checked by `openssl pkeyutl -verify` (and openssl's signatures checked by
//! the emulator), RSA ciphertexts made and opened by `openssl pkeyutl`, AES-CBC and the
//! counter mode inside AES-GCM compared with `openssl enc`, and AES key wrap with the test
//! vectors of RFC 3394 and RFC 5649.

#![cfg(feature = "online")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::Fixture;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{PKey, Private};
use sdctl::emulator::key_crypto::{operate, Material, Operation};
use sdctl::primitives::base64url;
use serde_json::{json, Value};

const KID: &str = "https://127.0.0.1:1/keys/interop/00";

fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

/// Runs an operation that must succeed; the answer.
fn run(material: Material<'_>, op: Operation, body: Value) -> Value {
    operate(material, op, KID, &body)
        .unwrap_or_else(|e| panic!("{op:?} {body}: {} {}", e.code, e.message))
}

/// The bytes of the answer's `value`.
fn value(answer: &Value) -> Vec<u8> {
    base64url::decode(answer["value"].as_str().unwrap()).unwrap()
}

/// Whether `openssl ARGS` in `dir` succeeds (for checks that must be able to fail).
fn openssl_ok(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed")
        .success()
}

/// A key made by `openssl genpkey ARGS` as NAME.pem (and its public half NAME.pub), loaded.
fn genpkey(fx: &Fixture, name: &str, args: &[&str]) -> PKey<Private> {
    let key = format!("{name}.pem");
    let mut all = vec!["genpkey", "-out", &key];
    all.extend_from_slice(args);
    fx.openssl(&all);
    fx.openssl(&[
        "pkey",
        "-in",
        &key,
        "-pubout",
        "-out",
        &format!("{name}.pub"),
    ]);
    PKey::private_key_from_pem(&std::fs::read(fx.path(&key)).unwrap()).unwrap()
}

/// `openssl dgst -BITS -binary` of `message`, written as `digest.bin`; the digest.
fn openssl_digest(fx: &Fixture, bits: usize, message: &[u8]) -> Vec<u8> {
    std::fs::write(fx.path("message.bin"), message).unwrap();
    let sha = format!("-sha{bits}");
    fx.openssl(&["dgst", &sha, "-binary", "-out", "digest.bin", "message.bin"]);
    std::fs::read(fx.path("digest.bin")).unwrap()
}

#[test]
fn rsa_signatures_interoperate_with_openssl_pkeyutl() {
    let fx = Fixture::new();
    let key = genpkey(
        &fx,
        "rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    for (alg, bits) in [
        ("RS256", 256),
        ("RS384", 384),
        ("RS512", 512),
        ("PS256", 256),
        ("PS384", 384),
        ("PS512", 512),
    ] {
        let digest = openssl_digest(&fx, bits, b"signed by the emulator");
        let answer = run(
            Material::Asymmetric(&key),
            Operation::Sign,
            json!({"alg": alg, "value": b64(&digest)}),
        );
        let signature = value(&answer);
        std::fs::write(fx.path("sig.bin"), &signature).unwrap();
        let md = format!("digest:sha{bits}");
        let salt = format!("rsa_pss_saltlen:{}", bits / 8);
        let mgf1 = format!("rsa_mgf1_md:sha{bits}");
        let mut options = vec!["-pkeyopt", md.as_str()];
        if alg.starts_with("PS") {
            options.extend([
                "-pkeyopt",
                "rsa_padding_mode:pss",
                "-pkeyopt",
                &salt,
                "-pkeyopt",
                &mgf1,
            ]);
        }
        let verify = |sig: &str| {
            let mut args = vec![
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "rsa.pub",
                "-in",
                "digest.bin",
                "-sigfile",
                sig,
            ];
            args.extend(options.iter().copied());
            openssl_ok(fx.path("").as_path(), &args)
        };
        assert!(verify("sig.bin"), "openssl rejects our {alg}");
        let mut bent = signature.clone();
        bent[0] ^= 1;
        std::fs::write(fx.path("bent.bin"), &bent).unwrap();
        assert!(
            !verify("bent.bin"),
            "openssl accepts a changed {alg} signature"
        );

        let mut args = vec![
            "pkeyutl",
            "-sign",
            "-inkey",
            "rsa.pem",
            "-in",
            "digest.bin",
            "-out",
            "theirs.bin",
        ];
        args.extend(options.iter().copied());
        fx.openssl(&args);
        let theirs = std::fs::read(fx.path("theirs.bin")).unwrap();
        let checked = run(
            Material::Asymmetric(&key),
            Operation::Verify,
            json!({"alg": alg, "digest": b64(&digest), "value": b64(&theirs)}),
        );
        assert_eq!(
            checked,
            json!({"value": true}),
            "{alg}: openssl's signature"
        );
        let other = openssl_digest(&fx, bits, b"something else");
        let checked = run(
            Material::Asymmetric(&key),
            Operation::Verify,
            json!({"alg": alg, "digest": b64(&other), "value": b64(&theirs)}),
        );
        assert_eq!(checked, json!({"value": false}), "{alg}: another digest");
    }
}

#[test]
fn ec_signatures_interoperate_with_openssl_pkeyutl() {
    let fx = Fixture::new();
    for (alg, curve, bits, half) in [
        ("ES256", "P-256", 256, 32),
        ("ES384", "P-384", 384, 48),
        ("ES512", "P-521", 512, 66),
    ] {
        let paramgen = format!("ec_paramgen_curve:{curve}");
        let key = genpkey(&fx, "ec", &["-algorithm", "EC", "-pkeyopt", &paramgen]);
        let digest = openssl_digest(&fx, bits, b"signed on a curve");
        let raw = value(&run(
            Material::Asymmetric(&key),
            Operation::Sign,
            json!({"alg": alg, "value": b64(&digest)}),
        ));
        assert_eq!(raw.len(), 2 * half, "{alg} is r || s");
        let der = |raw: &[u8]| {
            let r = BigNum::from_slice(&raw[..half]).unwrap();
            let s = BigNum::from_slice(&raw[half..]).unwrap();
            EcdsaSig::from_private_components(r, s)
                .unwrap()
                .to_der()
                .unwrap()
        };
        std::fs::write(fx.path("sig.der"), der(&raw)).unwrap();
        let verify = |sig: &str| {
            openssl_ok(
                fx.path("").as_path(),
                &[
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    "ec.pub",
                    "-in",
                    "digest.bin",
                    "-sigfile",
                    sig,
                ],
            )
        };
        assert!(verify("sig.der"), "openssl rejects our {alg}");
        let mut bent = raw.clone();
        bent[half + 1] ^= 1;
        std::fs::write(fx.path("bent.der"), der(&bent)).unwrap();
        assert!(
            !verify("bent.der"),
            "openssl accepts a changed {alg} signature"
        );

        fx.openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            "ec.pem",
            "-in",
            "digest.bin",
            "-out",
            "theirs.der",
        ]);
        let theirs = EcdsaSig::from_der(&std::fs::read(fx.path("theirs.der")).unwrap()).unwrap();
        let width = i32::try_from(half).unwrap();
        let mut jws = theirs.r().to_vec_padded(width).unwrap();
        jws.extend(theirs.s().to_vec_padded(width).unwrap());
        let checked = run(
            Material::Asymmetric(&key),
            Operation::Verify,
            json!({"alg": alg, "digest": b64(&digest), "value": b64(&jws)}),
        );
        assert_eq!(
            checked,
            json!({"value": true}),
            "{alg}: openssl's signature"
        );
        jws[3] ^= 0x10;
        let checked = run(
            Material::Asymmetric(&key),
            Operation::Verify,
            json!({"alg": alg, "digest": b64(&digest), "value": b64(&jws)}),
        );
        assert_eq!(
            checked,
            json!({"value": false}),
            "{alg}: a changed signature"
        );
    }
}

#[test]
fn rsa_ciphertexts_interoperate_with_openssl_pkeyutl() {
    let fx = Fixture::new();
    let key = genpkey(
        &fx,
        "rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let secret = b"thirty-two bytes of key material";
    std::fs::write(fx.path("secret.bin"), secret).unwrap();
    let schemes: [(&str, &[&str]); 3] = [
        (
            "RSA-OAEP-256",
            &[
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                "rsa_oaep_md:sha256",
                "-pkeyopt",
                "rsa_mgf1_md:sha256",
            ],
        ),
        ("RSA-OAEP", &["-pkeyopt", "rsa_padding_mode:oaep"]),
        ("RSA1_5", &["-pkeyopt", "rsa_padding_mode:pkcs1"]),
    ];
    for (alg, options) in schemes {
        let mut args = vec![
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            "rsa.pub",
            "-in",
            "secret.bin",
            "-out",
            "sealed.bin",
        ];
        args.extend_from_slice(options);
        fx.openssl(&args);
        let sealed = std::fs::read(fx.path("sealed.bin")).unwrap();
        for op in [Operation::Decrypt, Operation::UnwrapKey] {
            let opened = run(
                Material::Asymmetric(&key),
                op,
                json!({"alg": alg, "value": b64(&sealed)}),
            );
            assert_eq!(
                value(&opened),
                secret,
                "{alg} {op:?} of openssl's ciphertext"
            );
        }

        let ours = value(&run(
            Material::Asymmetric(&key),
            Operation::WrapKey,
            json!({"alg": alg, "value": b64(secret)}),
        ));
        std::fs::write(fx.path("ours.bin"), &ours).unwrap();
        let mut args = vec![
            "pkeyutl",
            "-decrypt",
            "-inkey",
            "rsa.pem",
            "-in",
            "ours.bin",
            "-out",
            "opened.bin",
        ];
        args.extend_from_slice(options);
        fx.openssl(&args);
        assert_eq!(
            std::fs::read(fx.path("opened.bin")).unwrap(),
            secret,
            "openssl opens our {alg}"
        );
    }
    // A ciphertext for RSA-OAEP-256 does not open as RSA-OAEP (SHA-1): the hash matters.
    let oaep256 = [
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        "rsa.pub",
        "-in",
        "secret.bin",
        "-out",
        "s256.bin",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
    ];
    fx.openssl(&oaep256);
    let sealed = std::fs::read(fx.path("s256.bin")).unwrap();
    let e = operate(
        Material::Asymmetric(&key),
        Operation::Decrypt,
        KID,
        &json!({"alg": "RSA-OAEP", "value": b64(&sealed)}),
    )
    .unwrap_err();
    assert_eq!((e.status.as_u16(), e.code.as_str()), (400, "BadParameter"));
}

#[test]
fn aes_cbc_matches_openssl_enc() {
    let fx = Fixture::new();
    let plain = b"forty-eight bytes: three whole AES blocks, exact";
    assert_eq!(plain.len(), 48);
    std::fs::write(fx.path("plain.bin"), plain).unwrap();
    let iv = hex("000102030405060708090a0b0c0d0e0f");
    for bits in [128, 192, 256] {
        let key: Vec<u8> = (0..bits / 8).map(|i| (i * 7 + 3) as u8).collect();
        let cipher = format!("-aes-{bits}-cbc");
        for (alg, pad) in [
            (format!("A{bits}CBCPAD"), true),
            (format!("A{bits}CBC"), false),
        ] {
            let (key_hex, iv_hex) = (to_hex(&key), to_hex(&iv));
            let mut args = vec![
                "enc",
                cipher.as_str(),
                "-K",
                &key_hex,
                "-iv",
                &iv_hex,
                "-in",
                "plain.bin",
                "-out",
                "cbc.bin",
            ];
            if !pad {
                args.push("-nopad");
            }
            fx.openssl(&args);
            let theirs = std::fs::read(fx.path("cbc.bin")).unwrap();
            let ours = run(
                Material::Symmetric(&key),
                Operation::Encrypt,
                json!({"alg": alg, "value": b64(plain), "iv": b64(&iv)}),
            );
            assert_eq!(value(&ours), theirs, "{alg}");
            let opened = run(
                Material::Symmetric(&key),
                Operation::Decrypt,
                json!({"alg": alg, "value": b64(&theirs), "iv": b64(&iv)}),
            );
            assert_eq!(value(&opened), plain, "{alg} opens openssl's ciphertext");
        }
    }
}

#[test]
fn aes_gcm_encrypts_with_the_standard_counter_mode() {
    // GCM encrypts with AES-CTR from the counter IV || 00000002; openssl enc has no GCM but
    // has CTR, so the ciphertext (not the tag) can be checked against it.
    let fx = Fixture::new();
    let plain = b"GCM's ciphertext is counter mode from the second counter block";
    std::fs::write(fx.path("plain.bin"), plain).unwrap();
    for bits in [128, 192, 256] {
        let key: Vec<u8> = (0..bits / 8).map(|i| (255 - i) as u8).collect();
        let answer = run(
            Material::Symmetric(&key),
            Operation::Encrypt,
            json!({"alg": format!("A{bits}GCM"), "value": b64(plain)}),
        );
        let iv = base64url::decode(answer["iv"].as_str().unwrap()).unwrap();
        let counter = format!("{}00000002", to_hex(&iv));
        let cipher = format!("-aes-{bits}-ctr");
        fx.openssl(&[
            "enc",
            &cipher,
            "-K",
            &to_hex(&key),
            "-iv",
            &counter,
            "-in",
            "plain.bin",
            "-out",
            "ctr.bin",
        ]);
        assert_eq!(
            value(&answer),
            std::fs::read(fx.path("ctr.bin")).unwrap(),
            "A{bits}GCM"
        );
    }
}

#[test]
fn aes_key_wrap_matches_rfc_3394_and_rfc_5649() {
    // RFC 3394 section 4: (KEK, key data, wrapped).
    let kw = [
        (
            "A128KW",
            "000102030405060708090A0B0C0D0E0F",
            "00112233445566778899AABBCCDDEEFF",
            "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5",
        ),
        (
            "A192KW",
            "000102030405060708090A0B0C0D0E0F1011121314151617",
            "00112233445566778899AABBCCDDEEFF",
            "96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D",
        ),
        (
            "A256KW",
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            "00112233445566778899AABBCCDDEEFF",
            "64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7",
        ),
        (
            "A256KW",
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
            "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21",
        ),
        (
            "CKM_AES_KEY_WRAP",
            "000102030405060708090A0B0C0D0E0F",
            "00112233445566778899AABBCCDDEEFF",
            "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5",
        ),
        // RFC 5649 section 6.
        (
            "CKM_AES_KEY_WRAP_PAD",
            "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
            "c37b7e6492584340bed12207808941155068f738",
            "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
        ),
        (
            "CKM_AES_KEY_WRAP_PAD",
            "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
            "466f7250617369",
            "afbeb0f07dfbf5419200f2ccb50bb24f",
        ),
    ];
    for (alg, kek, data, wrapped) in kw {
        let (kek, data, wrapped) = (hex(kek), hex(data), hex(wrapped));
        let ours = run(
            Material::Symmetric(&kek),
            Operation::WrapKey,
            json!({"alg": alg, "value": b64(&data)}),
        );
        assert_eq!(value(&ours), wrapped, "{alg} wraps as the RFC says");
        let back = run(
            Material::Symmetric(&kek),
            Operation::UnwrapKey,
            json!({"alg": alg, "value": b64(&wrapped)}),
        );
        assert_eq!(value(&back), data, "{alg} unwraps the RFC's vector");
        let mut bent = wrapped.clone();
        bent[0] ^= 1;
        let e = operate(
            Material::Symmetric(&kek),
            Operation::UnwrapKey,
            KID,
            &json!({"alg": alg, "value": b64(&bent)}),
        )
        .unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (400, "BadParameter"),
            "{alg}"
        );
    }
}
