//! Unit tests of `generate`.

use super::*;

#[test]
fn subject_parsing() {
    let s = parse_subject("/O=Contoso Ltd/OU=HSM\\/custodians").unwrap();
    assert_eq!(
        s,
        vec![
            ("O".to_owned(), "Contoso Ltd".to_owned()),
            ("OU".to_owned(), "HSM/custodians".to_owned())
        ]
    );
    assert!(parse_subject("O=x").is_err());
    assert!(parse_subject("/CN=alice").is_err());
    assert!(parse_subject("/O").is_err());
}

#[test]
fn names_are_checked() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(validate_names(&names(&["a", "b", "c"]), 3).is_ok());
    assert!(validate_names(&names(&["a", "b"]), 3).is_err());
    assert!(validate_names(&names(&["a", "A", "c"]), 3).is_err());
    assert!(validate_names(&names(&["a", "../b", "c"]), 3).is_err());
    assert!(validate_names(&names(&["a", ".hidden", "c"]), 3).is_err());
}

#[test]
fn count_and_options_are_checked() {
    let dir = Path::new("/nonexistent");
    let opts = GenerateOptions::default();
    assert!(KeySetRequest::new(dir, 2, None, opts.clone(), false).is_err());
    assert!(KeySetRequest::new(dir, 11, None, opts.clone(), false).is_err());
    let req = KeySetRequest::new(dir, 3, None, opts.clone(), false).unwrap();
    assert_eq!(req.names(), ["custodian1", "custodian2", "custodian3"]);
    let bad_bits = GenerateOptions {
        bits: 1024,
        ..opts.clone()
    };
    assert!(KeySetRequest::new(dir, 3, None, bad_bits, false).is_err());
    let bad_days = GenerateOptions { days: 0, ..opts };
    assert!(KeySetRequest::new(dir, 3, None, bad_days, false).is_err());
}

#[test]
fn generated_key_opens_with_its_passphrase_only() {
    let pass = Passphrase::new("a long test passphrase".into());
    let opts = GenerateOptions {
        bits: 2048,
        days: 10,
        subject: vec![("O".into(), "Contoso".into())],
    };
    let c = generate_custodian("alice", &pass, &opts).unwrap();
    assert_eq!(c.certificate.subject(), "CN=alice,O=Contoso");
    assert_eq!(c.certificate.key_encipherment(), Some(true));
    assert!(c
        .key_pem
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let pkey =
        PKey::private_key_from_pem_passphrase(c.key_pem.as_bytes(), b"a long test passphrase")
            .unwrap();
    let rsa = pkey.rsa().unwrap();
    assert_eq!(
        &super::super::PublicKey::rsa(&rsa.n().to_vec(), &rsa.e().to_vec()),
        c.certificate.public_key()
    );
    assert!(PKey::private_key_from_pem_passphrase(c.key_pem.as_bytes(), b"wrong").is_err());
}
