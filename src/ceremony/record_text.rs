//! How the record writes values: facts as text, and every digest (a SHA-256 in hex, or a
//! certificate fingerprint in `AB:CD:…` form) in the spoken notation, lowercase hex in
//! groups of four, wherever it appears, summaries included.

use serde_json::Value as Json;

use super::{Part, Value};
use crate::ceremony::ui::spoken;

/// A fact as text: strings as they are, numbers and booleans written out, lists of those
/// joined with ", "; anything else is not shown.
pub(super) fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .filter(|i| !i.is_array())
                .filter_map(text)
                .collect();
            Some(items.join(", "))
        }
        _ => None,
    }
}

/// The lowercase hex of a digest written as 64 hex digits, or as 32 colon-separated hex
/// pairs (a certificate fingerprint); `None` for anything else.
pub(super) fn digest_hex(word: &str) -> Option<String> {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if word.len() == 64 && hex(word) {
        return Some(word.to_ascii_lowercase());
    }
    let pairs: Vec<&str> = word.split(':').collect();
    if pairs.len() == 32 && pairs.iter().all(|p| p.len() == 2 && hex(p)) {
        return Some(pairs.concat().to_ascii_lowercase());
    }
    None
}

/// Plain text, no digest picked out.
pub(super) fn plain(s: &str) -> Value {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![Part::Text(s.to_owned())]
    }
}

/// Text with every digest in it (a word, give or take surrounding punctuation) in the
/// spoken notation; whitespace is folded to single spaces.
pub(super) fn parts(s: &str) -> Value {
    let mut out: Value = Vec::new();
    let push_text = |out: &mut Value, t: &str| {
        if t.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(Part::Text(last)) => last.push_str(t),
            _ => out.push(Part::Text(t.to_owned())),
        }
    };
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            push_text(&mut out, " ");
        }
        let core = word
            .trim_start_matches(['(', '[', '"', '\''])
            .trim_end_matches([',', '.', ';', ')', ']', '"', '\'']);
        match digest_hex(core) {
            Some(hex) if !core.is_empty() => {
                let start = word.len() - word.trim_start_matches(['(', '[', '"', '\'']).len();
                push_text(&mut out, &word[..start]);
                out.push(Part::Digest(spoken(&hex)));
                push_text(&mut out, &word[start + core.len()..]);
            }
            _ => push_text(&mut out, word),
        }
    }
    out
}

/// The value as one string (digests in their spoken notation).
#[cfg(test)]
pub(super) fn flat(v: &Value) -> String {
    v.iter()
        .map(|p| match p {
            Part::Text(t) | Part::Digest(t) | Part::Token(t) => t.as_str(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_take_the_spoken_notation_wherever_they_are() {
        let hex = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let fp = "3F:9A:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:01";
        let v = parts(&format!("bundle ({hex}), fingerprint {fp}.\nend"));
        assert_eq!(
            v,
            vec![
                Part::Text("bundle (".into()),
                Part::Digest(spoken(&hex.to_ascii_lowercase())),
                Part::Text("), fingerprint ".into()),
                Part::Digest(
                    "3f9a 1122 3344 5566 7788 99aa bbcc ddee ff00 1122 3344 5566 7788 99aa bbcc dd01"
                        .into()
                ),
                Part::Text(". end".into()),
            ]
        );
        // One hex digit short, a pair of three, a non-hex letter: left as written.
        for odd in [
            &hex[1..],
            &fp.replacen("3F", "3F0", 1),
            &hex.replacen('9', "g", 1),
        ] {
            assert_eq!(flat(&parts(odd)), *odd);
        }
    }

    #[test]
    fn facts_read_as_text() {
        assert_eq!(
            text(&serde_json::json!(["eth0", "wlan0"])).unwrap(),
            "eth0, wlan0"
        );
        assert_eq!(text(&serde_json::json!(3)).unwrap(), "3");
        assert_eq!(text(&serde_json::json!({"a": 1})), None);
        assert_eq!(
            text(&serde_json::json!([[1], {"a": 1}, true])).unwrap(),
            "true"
        );
    }
}
