use serde_json::Map;

use super::*;
use crate::domain::model::{SecurityDomain, SplitKeys, SplitPair};
use crate::domain::session::open_exports;
use crate::domain::session::test_support::{code, custodians, domain, export, sd_file, session};
use crate::exit_code::ExitCode;

#[test]
fn a_version_1_security_domain_is_refused() {
    let v2 = domain("v2.json");
    let shares = v2.domain.shares();
    let half = |i: usize| shares[i].1.clone();
    let v1 = SecurityDomain {
        version: 1,
        enc_data: v2.domain.enc_data.clone(),
        split: KeySplit::Xor(SplitKeys {
            key_algorithm: crate::domain::model::XOR_SPLIT.into(),
            keys: vec![SplitPair {
                key1: half(0),
                key2: half(1),
                other: Map::new(),
            }],
            other: Map::new(),
        }),
        other: Map::new(),
    };
    let v1 = sd_file("v1.json", v1);
    let s = session();
    let e = export_share(&v1, &custodians()[0], &s.cert, &s.cert_path)
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(
        e.to_string()
            .starts_with("v1.json: a version 1 (xor_split)"),
        "{e}"
    );
    assert!(e.to_string().contains("--sd-wrapping-keys"), "{e}");
    let exports = [export(&v2, 0, &s), export(&v2, 1, &s)];
    let e = open_exports(&v1, &s.key, &exports).unwrap_err();
    assert!(matches!(e, DomainError::NeedsVersion2 { .. }), "{e}");
}

#[test]
fn export_refuses_a_custodian_certificate_and_a_share_that_is_not_one() {
    let sd = domain("sd.json");
    let custodian = &custodians()[0];
    let own = custodian.certificate.clone().unwrap();
    let e = export_share(&sd, custodian, &own, Path::new("custodian0.cer"))
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::BadInput);
    assert!(e.to_string().contains("not a session certificate"), "{e}");

    // A share that decrypts but is not a GF(257) share is never exported.
    let mut broken = sd.domain.clone();
    if let KeySplit::Shamir(shared) = &mut broken.split {
        let public = own.public_key().to_openssl().unwrap();
        shared.enc_shares[0].enc_key =
            jwe::encrypt_rsa_oaep256(&[0, 0, 0], &public, &Map::new()).unwrap();
    }
    let broken = sd_file("broken.json", broken);
    let s = session();
    let e = export_share(&broken, custodian, &s.cert, &s.cert_path)
        .err()
        .unwrap();
    assert_eq!(code(&e), ExitCode::Crypto);
    assert!(e.to_string().contains("is not a valid share"), "{e}");
}
