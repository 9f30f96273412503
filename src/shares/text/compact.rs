//! The compact payload of a share's QR code: [`COMPACT_PREFIX`] and the share's bytes as
//! one run of symbols.

use zeroize::Zeroizing;

use super::symbols::{from_symbols, symbol_char, symbol_value, to_symbols, valid_count};

/// The start of the compact (QR) payload.
pub const COMPACT_PREFIX: &str = "SDCTL-SHARE:";

/// The compact payload of a QR code: [`COMPACT_PREFIX`] and the bytes in Crockford base32,
/// uppercase, without padding or spaces (all in the QR alphanumeric set).
pub fn to_compact(bytes: &[u8]) -> Zeroizing<String> {
    let symbols = to_symbols(bytes);
    let mut out = Zeroizing::new(String::with_capacity(COMPACT_PREFIX.len() + symbols.len()));
    out.push_str(COMPACT_PREFIX);
    symbols.iter().for_each(|&s| out.push(symbol_char(s)));
    out
}

/// Whether `text` is a compact payload (starts with [`COMPACT_PREFIX`], any case, after
/// leading whitespace).
pub fn looks_compact(text: &str) -> bool {
    let text = text.trim_start();
    text.get(..COMPACT_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(COMPACT_PREFIX))
}

/// Parses a compact payload, ignoring whitespace and case; errors name the 1-based
/// character position of a bad character.
pub fn from_compact(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut prefix = COMPACT_PREFIX.chars();
    let mut symbols = Zeroizing::new(Vec::with_capacity(text.len()));
    let mut last = None;
    for (i, c) in text.chars().enumerate() {
        if c.is_whitespace() {
            continue;
        }
        if let Some(expected) = prefix.next() {
            if !c.eq_ignore_ascii_case(&expected) {
                return Err(format!(
                    "not a compact share: it does not start with {COMPACT_PREFIX}"
                ));
            }
            continue;
        }
        let Some(v) = symbol_value(c) else {
            return Err(format!(
                "character {}: '{}' is not a share character",
                i + 1,
                c.escape_debug()
            ));
        };
        symbols.push(v);
        last = Some(i + 1);
    }
    if prefix.next().is_some() {
        return Err(format!(
            "not a compact share: it does not start with {COMPACT_PREFIX}"
        ));
    }
    if !valid_count(symbols.len()) {
        return Err(format!(
            "the compact share has {} characters after {COMPACT_PREFIX}; no share has that \
             many: a character is missing or extra",
            symbols.len()
        ));
    }
    from_symbols(&symbols).ok_or_else(|| {
        format!(
            "character {}: the last character does not end the share properly (its unused bits \
             are not zero)",
            last.unwrap_or(0)
        )
    })
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
