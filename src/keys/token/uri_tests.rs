use super::*;

#[test]
fn parses_path_and_query() {
    let uri = Pkcs11Uri::parse(
        "pkcs11:token=Alice%20Card;serial=0123;object=sdctl-alice;id=%01%ab;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
    )
    .unwrap();
    assert_eq!(uri.token.as_deref(), Some("Alice Card"));
    assert_eq!(uri.serial.as_deref(), Some("0123"));
    assert_eq!(uri.object.as_deref(), Some("sdctl-alice"));
    assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xab][..]));
    assert_eq!(uri.object_type.as_deref(), Some("private"));
    assert_eq!(
        uri.module_path.as_deref(),
        Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
    );
    assert_eq!(uri.pin_source.as_deref(), Some(Path::new("/run/pin")));
    let again = Pkcs11Uri::parse(&uri.to_string()).unwrap();
    assert_eq!(again, uri);
}

#[test]
fn refuses_pin_value_without_echoing_it() {
    let err = Pkcs11Uri::parse("pkcs11:token=A;object=k?pin-value=123456").unwrap_err();
    assert!(err.detail.contains("pin-value"), "{err}");
    assert!(!err.to_string().contains("123456"), "{err}");
    let err = Pkcs11Uri::parse("pkcs11:token=A;pin-value=987654;object=k").unwrap_err();
    assert!(!err.to_string().contains("987654"), "{err}");
    let err = Pkcs11Uri::parse("PKCS11:token=A?PIN-VALUE=55555").unwrap_err();
    assert!(!err.to_string().contains("55555"), "{err}");
}

#[test]
fn an_escaped_pin_value_name_is_refused_and_redacted() {
    for text in [
        "pkcs11:token=A?pin%2Dvalue=424242",
        "pkcs11:token=A;pin%2dvalue=424242",
    ] {
        let err = Pkcs11Uri::parse(text).unwrap_err();
        assert!(!err.to_string().contains("424242"), "{err}");
    }
}

#[test]
fn detecting_a_uri_never_slices_inside_a_character() {
    for text in ["pkcs11\u{e9}", "pkcs11\u{20ac}x", "\u{e9}", ""] {
        assert!(!is_pkcs11_uri(Path::new(text)));
    }
}

#[test]
fn refuses_malformed_uris() {
    for bad in [
        "pkcs11:token=A;type=pin-value=4711",
        "pkcs11:",
        "pkcs11:object=a;object=b",
        "pkcs11:token=A;bogus=1",
        "pkcs11:token=%4",
        "pkcs11:token=%zz",
        "pkcs11:token=%ff%fe",
        "pkcs11:token=%+1",
        "pkcs11:token=%-1",
        "pkcs11:token",
        "pkcs11:token=A;type=key",
        "pkcs11:token=A;slot-id=x",
        "pkcs11:token=A?pin-source=|/bin/cat",
        "pkcs11:token=A?pin-source=relative.txt",
        "pkcs11:token=A;module-path=/x.so",
        "file:/x",
    ] {
        assert!(Pkcs11Uri::parse(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn vendor_and_unknown_query_attributes_are_tolerated() {
    let uri = Pkcs11Uri::parse("pkcs11:token=A;x-vendor=1?x-foo=bar&unknown=1").unwrap();
    assert_eq!(uri.token.as_deref(), Some("A"));
}

#[test]
fn token_matching_ignores_label_padding() {
    let uri = Pkcs11Uri::parse("pkcs11:token=Alice;serial=42").unwrap();
    assert!(uri.matches_token("Alice                           ", "SoftHSM", "42  ", "m"));
    assert!(!uri.matches_token("Bob", "SoftHSM", "42", "m"));
    assert!(!uri.matches_token("Alice", "SoftHSM", "43", "m"));
}

#[test]
fn detects_uris() {
    assert!(is_pkcs11_uri(Path::new("pkcs11:token=A")));
    assert!(is_pkcs11_uri(Path::new("PKCS11:token=A")));
    assert!(!is_pkcs11_uri(Path::new("./pkcs11:token=A")));
    assert!(!is_pkcs11_uri(Path::new("alice.key")));
}

proptest::proptest! {
    #[test]
    fn never_panics_and_canonical_forms_parse_back(text in "pkcs11:[ -~]{0,80}") {
        if let Ok(uri) = Pkcs11Uri::parse(&text) {
            let canonical = uri.to_string();
            proptest::prop_assert!(!canonical.contains("pin-value="));
            proptest::prop_assert_eq!(Pkcs11Uri::parse(&canonical).unwrap(), uri);
        }
    }

    #[test]
    fn attribute_soup_round_trips(parts in proptest::collection::vec(
        ("(token|object|serial|model|manufacturer|id|type|slot-id|module-path|module-name|pin-source|x-v)",
         "[a-zA-Z0-9%/:. -]{0,12}"), 0..6)) {
        let path: Vec<String> = parts.iter().take(3).map(|(n, v)| format!("{n}={v}")).collect();
        let query: Vec<String> = parts.iter().skip(3).map(|(n, v)| format!("{n}={v}")).collect();
        let text = format!("pkcs11:{}?{}", path.join(";"), query.join("&"));
        if let Ok(uri) = Pkcs11Uri::parse(&text) {
            proptest::prop_assert_eq!(Pkcs11Uri::parse(&uri.to_string()).unwrap(), uri);
        }
    }

    #[test]
    fn canonical_form_round_trips(label in "[ -~]{1,20}", id in proptest::collection::vec(proptest::num::u8::ANY, 0..8)) {
        let uri = Pkcs11Uri { token: Some(label), id: Some(id), ..Default::default() };
        proptest::prop_assert_eq!(Pkcs11Uri::parse(&uri.to_string()).unwrap(), uri);
    }
}
