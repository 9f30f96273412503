//! PKCS#11 URIs (RFC 7512), as custodians type them and as ceremony files carry them:
//! parsing never panics, a parsed URI's canonical form parses back to the same URI, and no
//! `pin-value` is ever accepted or echoed.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sdctl::keys::token::{is_pkcs11_uri, Pkcs11Uri};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_pkcs11_uri(Path::new(text));
    match Pkcs11Uri::parse(text) {
        Ok(uri) => {
            let canonical = uri.to_string();
            assert!(!canonical.to_ascii_lowercase().contains("pin-value="));
            let again = Pkcs11Uri::parse(&canonical).expect("the canonical form parses");
            assert_eq!(again, uri);
        }
        Err(e) => {
            let message = e.to_string();
            if let Some(pos) = text.to_ascii_lowercase().find("pin-value=") {
                let value: String = text[pos + 10..]
                    .chars()
                    .take_while(|c| !matches!(c, '&' | ';' | '?'))
                    .collect();
                if value.len() >= 4 {
                    assert!(
                        !message.contains(&format!("pin-value={value}")),
                        "{message}"
                    );
                }
            }
        }
    }
});
