//! Unit tests of `pem`.

use super::*;
use proptest::prelude::*;

#[test]
fn bag_attributes_and_headers() {
    let text = "Bag Attributes\n    localKeyID: 01 02\nsubject=/CN=x\n\
        -----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00FF\n\n\
        AAEC\nAw==\n-----END RSA PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\r\nBAU=\r\n-----END CERTIFICATE-----\r\n";
    let blocks = parse_all(text.as_bytes()).unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].header("dek-info"), Some("AES-256-CBC,00FF"));
    assert_eq!(&*blocks[0].der, &[0, 1, 2, 3]);
    assert_eq!(&*blocks[1].der, &[4, 5]);
    let again = parse_all(blocks[0].to_pem().as_bytes()).unwrap();
    assert_eq!(again[0].headers, blocks[0].headers);
}

#[test]
fn truncation_is_reported() {
    let err = parse_all(b"-----BEGIN PRIVATE KEY-----\nAAEC\n").unwrap_err();
    assert_eq!(err, PemError::Truncated("PRIVATE KEY".into()));
    let err = parse_all(b"-----BEGIN A-----\nAAEC\n-----END B-----\n").unwrap_err();
    assert!(matches!(err, PemError::LabelMismatch { .. }));
    let err = parse_all(b"-----BEGIN A-----\nAA!C\n-----END A-----\n").unwrap_err();
    assert!(matches!(err, PemError::Base64 { line: 2, .. }));
}

proptest! {
    #[test]
    fn encode_parse_round_trip(der in proptest::collection::vec(any::<u8>(), 1..400)) {
        let text = encode("CERTIFICATE", &der);
        let blocks = parse_all(text.as_bytes()).unwrap();
        prop_assert_eq!(blocks.len(), 1);
        prop_assert_eq!(&*blocks[0].der, &der);
    }

    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_all(&data);
        let mut framed = b"-----BEGIN X-----\n".to_vec();
        framed.extend_from_slice(&data);
        let _ = parse_all(&framed);
    }
}
