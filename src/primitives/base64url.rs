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
#[path = "base64url_tests.rs"]
mod tests;
