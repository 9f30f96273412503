use openssl::pkey::PKey;
use openssl::rsa::Rsa;

use super::*;
use crate::domain::hsm::make_security_domain;
use crate::keys::generate::{self_signed_certificate, GenerateOptions};

fn certs(n: usize) -> Vec<(String, Certificate)> {
    let options = GenerateOptions {
        bits: 2048,
        days: 30,
        subject: Vec::new(),
    };
    (0..n)
        .map(|i| {
            let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
            let name = format!("custodian{i}");
            let cert = self_signed_certificate(&name, &key, &options).unwrap();
            (name, cert)
        })
        .collect()
}

fn domain_for(certs: &[(String, Certificate)], quorum: usize) -> SecurityDomain {
    let plain: Vec<Certificate> = certs.iter().map(|(_, c)| c.clone()).collect();
    make_security_domain(&plain, quorum, &[("blob".into(), vec![7; 40])]).unwrap()
}

#[test]
fn the_request_carries_one_jwk_per_certificate() {
    let c = certs(3);
    let body = certificate_info(&c, 2).unwrap();
    assert_eq!(body["required"], 2);
    let jwks = body["certificates"].as_array().unwrap();
    assert_eq!(jwks.len(), 3);
    assert_eq!(jwks[1]["kid"], "custodian1");
    assert_eq!(jwks[1]["x5t#S256"], c[1].1.x5t_256());
    assert_eq!(
        jwks[1]["key_ops"],
        serde_json::json!(["verify", "encrypt", "wrapKey"])
    );
    assert!(certificate_info(&c, 4).is_err());
    assert!(certificate_info(&c, 1).is_err());
    assert!(certificate_info(&c[..2], 2).is_err());
}

#[test]
fn a_matching_domain_passes_and_every_mismatch_is_named() {
    let c = certs(4);
    let good = domain_for(&c[..3], 2);
    let check = check_downloaded(&good, &c[..3], 2);
    assert!(check.passed, "{:?}", check.problems);
    assert_eq!((check.shares, check.required, check.data), (3, 2, 1));

    let wrong_quorum = check_downloaded(&good, &c[..3], 3);
    assert!(!wrong_quorum.passed);
    assert!(wrong_quorum.problems[0].contains("quorum is 2 but 3"));

    // The HSM wrapped to a certificate that was not asked for.
    let swapped = vec![c[0].clone(), c[1].clone(), c[3].clone()];
    let check = check_downloaded(&good, &swapped, 2);
    assert!(!check.passed);
    let text = check.problems.join("\n");
    assert!(text.contains("custodian3"), "{text}");
    assert!(text.contains("none of the given certificates"), "{text}");

    let missing = check_downloaded(&good, &c, 2);
    assert!(missing
        .problems
        .iter()
        .any(|p| p.contains("3 shares for 4")));
}

#[test]
fn transfer_keys_come_as_objects_or_json_strings() {
    use crate::domain::exchange::transfer_key_jwk;
    let jwk = serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    let object = serde_json::json!({"key_format": "jwk", "transfer_key": jwk});
    let string = serde_json::json!({"key_format": "jwk", "transfer_key": jwk.to_string()});
    assert_eq!(transfer_key_jwk(&object).unwrap(), Some(jwk.clone()));
    assert_eq!(transfer_key_jwk(&string).unwrap(), Some(jwk));
    assert_eq!(
        transfer_key_jwk(&serde_json::json!({"kty": "RSA"})).unwrap(),
        None
    );
    for bad in [
        serde_json::json!({"transfer_key": "not json"}),
        serde_json::json!({"transfer_key": "[1]"}),
        serde_json::json!({"transfer_key": 5}),
    ] {
        assert!(transfer_key_jwk(&bad).is_err(), "{bad}");
    }
}
