use std::fs;

use super::*;

#[test]
fn private_keys_are_found_by_marker_and_by_extension_but_certificates_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    fs::create_dir_all(&nested).unwrap();
    fs::write(
        nested.join("alice.pem"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n",
    )
    .unwrap();
    fs::write(dir.path().join("bob.p12"), [0x30, 0x82]).unwrap();
    fs::write(
        dir.path().join("carol.cer"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n",
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), "no keys here").unwrap();
    let found = find_private_keys(&[dir.path().to_owned()]);
    assert_eq!(
        found,
        vec![dir.path().join("a/b/alice.pem"), dir.path().join("bob.p12")]
    );
}

#[test]
fn only_our_temporary_names_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        ".alice.key.0123456789abcdef.tmp",
        ".x.tmp",
        "alice.key",
        ".state.json.zz23456789abcdef.tmp",
    ] {
        fs::write(dir.path().join(name), "x").unwrap();
    }
    let removed = remove_stale_temporaries(&[dir.path().to_owned()]);
    assert_eq!(
        removed,
        vec![dir.path().join(".alice.key.0123456789abcdef.tmp")]
    );
    assert!(dir.path().join("alice.key").exists());
    assert!(dir.path().join(".x.tmp").exists());
}

#[test]
fn interface_flags_are_read() {
    assert!(is_loopback_flag("0x9"));
    assert!(!is_loopback_flag("0x1003"));
    assert!(has_up_flag("0x1003"));
    assert!(!has_up_flag("0x1002"));
}
