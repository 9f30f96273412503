//! Sample shares and line edits shared by the text-form unit tests.

use super::ALPHABET;

/// Deterministic pseudo-random bytes.
pub(super) fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A realistic share: the binary header's magic and version, then 135 random bytes.
pub(super) fn share() -> Vec<u8> {
    let mut share = b"SDSS\x01".to_vec();
    share.extend(bytes(135, 42));
    share
}

/// The comments written above a share's lines, one of them on two lines.
pub(super) fn comments() -> Vec<String> {
    vec![
        "sdctl share 2 of 3, set 1a2b3c4d, threshold 2".into(),
        "Type every line; spaces and case do not matter.\nLines starting with # are ignored."
            .into(),
    ]
}

/// 1-based columns of the typed symbols (data and check) of a share line; none for others.
pub(super) fn symbol_columns(line: &str) -> Vec<usize> {
    let Some(colon) = line.chars().position(|c| c == ':') else {
        return Vec::new();
    };
    line.chars()
        .enumerate()
        .skip(colon + 1)
        .filter(|&(_, c)| ALPHABET.contains(&(c as u8)) && c.is_ascii())
        .map(|(i, _)| i + 1)
        .collect()
}

/// `text` with line `line` (0-based) replaced by `f` of it.
pub(super) fn edit_line(text: &str, line: usize, f: impl Fn(&str) -> String) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[line] = f(&lines[line]);
    lines.join("\n")
}

/// `line` with the character at 1-based `column` replaced by `with` (None: removed).
pub(super) fn replace_char(line: &str, column: usize, with: Option<char>) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    match with {
        Some(c) => chars[column - 1] = c,
        None => {
            chars.remove(column - 1);
        }
    }
    chars.into_iter().collect()
}

/// 0-based indices of the share lines in `text`.
pub(super) fn data_lines(text: &str) -> Vec<usize> {
    let lines = text.lines().enumerate();
    lines
        .filter(|(_, l)| !symbol_columns(l).is_empty())
        .map(|(i, _)| i)
        .collect()
}
