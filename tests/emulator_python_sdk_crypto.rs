//! Microsoft's official `CryptographyClient` (azure-keyvault-keys from PyPI, unpatched)
//! against the emulator for every algorithm it serves: encrypt/decrypt and wrap/unwrap
//! round trips, and signatures that the SDK verifies and that `openssl pkeyutl -verify`
//! verifies too, from the public key the SDK returned (JWK turned into PEM here; EC
//! `r || s` turned into DER).

#![cfg(feature = "online")]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::emulator::TestEmulator;
use common::sdk::{activate, grant, script, CRYPTO_OFFICER, CRYPTO_USER};
use common::Fixture;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::Value;

fn b64(v: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(v.as_str().unwrap().trim_end_matches('='))
        .unwrap()
}

/// The PEM public key of a JWK (RSA or EC).
fn public_pem(jwk: &Value) -> Vec<u8> {
    let bn = |f: &str| BigNum::from_slice(&b64(&jwk[f])).unwrap();
    let key = if jwk["kty"] == "RSA" {
        PKey::from_rsa(Rsa::from_public_components(bn("n"), bn("e")).unwrap()).unwrap()
    } else {
        let nid = match jwk["crv"].as_str().unwrap() {
            "P-256" => Nid::X9_62_PRIME256V1,
            "P-384" => Nid::SECP384R1,
            _ => Nid::SECP521R1,
        };
        let group = EcGroup::from_curve_name(nid).unwrap();
        let ec = EcKey::from_public_key_affine_coordinates(&group, &bn("x"), &bn("y")).unwrap();
        PKey::from_ec_key(ec).unwrap()
    };
    key.public_key_to_pem().unwrap()
}

/// The signature as openssl takes it: RSA as is, EC `r || s` as a DER ECDSA-Sig-Value.
fn openssl_signature(alg: &str, raw: &[u8]) -> Vec<u8> {
    if !alg.starts_with("ES") {
        return raw.to_vec();
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig = EcdsaSig::from_private_components(
        BigNum::from_slice(r).unwrap(),
        BigNum::from_slice(s).unwrap(),
    )
    .unwrap();
    sig.to_der().unwrap()
}

/// Whether `openssl pkeyutl -verify` accepts `sig` over `digest` with the key of `jwk`.
fn openssl_verifies(fx: &Fixture, alg: &str, jwk: &Value, digest: &[u8], sig: &[u8]) -> bool {
    std::fs::write(fx.path("pub.pem"), public_pem(jwk)).unwrap();
    std::fs::write(fx.path("digest.bin"), digest).unwrap();
    std::fs::write(fx.path("sig.bin"), openssl_signature(alg, sig)).unwrap();
    let hash = format!("digest:sha{}", &alg[2..]);
    let mut args = vec!["pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem"];
    args.extend(["-in", "digest.bin", "-sigfile", "sig.bin"]);
    match &alg[..2] {
        "RS" => args.extend(["-pkeyopt", hash.as_str()]),
        "PS" => args.extend([
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            "rsa_pss_saltlen:digest",
            "-pkeyopt",
            hash.as_str(),
        ]),
        _ => {}
    }
    std::process::Command::new("openssl")
        .args(&args)
        .current_dir(fx.dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn cryptography_client_round_trips_and_signatures_that_openssl_verifies() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    activate(&e, &fx, "alpha", "sd.json");
    grant(&e, "alpha", CRYPTO_USER);
    grant(&e, "alpha", CRYPTO_OFFICER);
    let r = script(&e, &fx, "alpha", "crypto.py", &[]).ok();

    let roundtrips = r["roundtrips"].as_array().unwrap();
    let mut algs: Vec<&str> = roundtrips
        .iter()
        .map(|t| t["alg"].as_str().unwrap())
        .collect();
    algs.sort();
    let mut want = vec![
        "RSA1_5",
        "RSA-OAEP",
        "RSA-OAEP-256",
        "RSA1_5",
        "RSA-OAEP",
        "RSA-OAEP-256",
    ];
    for bits in ["128", "192", "256"] {
        for mode in ["GCM", "CBC", "CBCPAD", "KW"] {
            want.push(Box::leak(format!("A{bits}{mode}").into_boxed_str()));
        }
    }
    want.sort();
    assert_eq!(algs, want, "{r}");
    for t in roundtrips {
        assert_eq!(t["ok"], true, "{t}");
        if t["alg"].as_str().unwrap().ends_with("GCM") {
            assert_eq!(
                (t["iv_len"].as_u64(), t["tag_len"].as_u64()),
                (Some(12), Some(16)),
                "{t}"
            );
        }
        if t["alg"].as_str().unwrap().contains("CBC") {
            assert_eq!(t["iv_echoed"], true, "{t}");
        }
    }

    let signatures = r["signatures"].as_array().unwrap();
    let names: Vec<&str> = signatures
        .iter()
        .map(|s| s["alg"].as_str().unwrap())
        .collect();
    let all = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
    ];
    assert_eq!(names, all, "{r}");
    for s in signatures {
        let alg = s["alg"].as_str().unwrap();
        assert_eq!(s["valid"], true, "{s}");
        assert_eq!(s["valid_for_other_digest"], false, "{s}");
        let (digest, sig) = (b64(&s["digest"]), b64(&s["signature"]));
        assert!(
            openssl_verifies(&fx, alg, &s["jwk"], &digest, &sig),
            "openssl refused {s}"
        );
        // Try to get past openssl: a changed byte of the signature, or another digest.
        let mut bent = sig.clone();
        let last = bent.len() - 1;
        bent[last] ^= 1;
        assert!(
            !openssl_verifies(&fx, alg, &s["jwk"], &digest, &bent),
            "{alg}: bent signature verified"
        );
        let mut other = digest.clone();
        other[0] ^= 1;
        assert!(
            !openssl_verifies(&fx, alg, &s["jwk"], &other, &sig),
            "{alg}: other digest verified"
        );
    }
}
