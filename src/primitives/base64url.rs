//! Base64url (RFC 4648 §5) as JOSE and the security-domain file use it: unpadded on output,
//! padding tolerated on input.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Encodes `data` as unpadded base64url.
pub fn encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url with or without `=` padding; `None` when the text is not base64url.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert!(decode("+/8").is_none());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = encode(&data);
            prop_assert!(!text.contains('='));
            prop_assert_eq!(decode(&text).unwrap(), data);
        }
    }
}
