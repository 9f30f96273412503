//! The paper forms of a share: the transcribable text form, typed back by hand, and the
//! compact payload of its QR code.
//!
//! Text form (see docs/shares.md), here of the 25 bytes `sdctl paper form example!`:
//!
//! ```text
//! # comment lines, written on top by `to_text`
//!
//! 01: EDJ66 X3C41 R62W3 5E8G6 / RH
//! 02: CVVJD MG6AY 31DNR 6RS91 / FJ
//! ```
//!
//! The share's bytes are written in Crockford base32 (`0-9`, `A-Z` without I, L, O, U),
//! most significant bit first, the last symbol padded with zero bits. Each line carries up
//! to [`LINE_SYMBOLS`] symbols in groups of five, then ` / ` and two check symbols. The
//! check symbols make `[n / 32, n % 32, last, data…, c₀, c₁]` a codeword of the GF(32)
//! Reed–Solomon code of [`gf32`] (`n` the line number, `last` 1 on the final line, neither
//! typed), so a single wrong character on a line is found and named, a line under the wrong
//! number fails, and so does a share whose final lines are missing. Reading ignores case,
//! blank lines, `#` comments and the spacing of the groups, and reads O as 0 and I or L
//! as 1. Whole-share integrity is the binary record's checksum.
//!
//! Here: the text form, its line numbers and the scanning of a typed line. The symbols
//! and their packing are in `symbols`, the compact payload in `compact`, the line check
//! code and the diagnosis of a line that does not check in `diagnose`.
//!
//! [`gf32`]: crate::primitives::gf32

use std::fmt::{self, Write as _};

use zeroize::Zeroizing;

mod compact;
mod diagnose;
mod symbols;

pub use compact::{from_compact, looks_compact, to_compact, COMPACT_PREFIX};
pub use symbols::{symbol_value, ALPHABET};

use diagnose::{check_line, line_checks, Typed};
use symbols::{from_symbols, symbol_char, to_symbols};

/// Data symbols on every line of the text form but the last.
pub const LINE_SYMBOLS: usize = 20;
/// Largest binary share the text form carries (960 lines).
pub const MAX_TEXT_BYTES: usize = 12_000;

/// Data symbols in each space-separated group of a line.
const GROUP: usize = 5;
/// Most share lines a text form may have (line numbers up to three digits).
const MAX_LINES: usize = 999;

/// A typo or malformed line in a share's text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    /// 1-based line in the input.
    pub line: usize,
    /// 1-based character column in that line, when the problem is located.
    pub column: Option<usize>,
    /// What is wrong, and what it probably should be.
    pub detail: String,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.detail),
            None => write!(f, "line {}: {}", self.line, self.detail),
        }
    }
}

impl std::error::Error for TextError {}

/// The text form of `bytes`: each of `comments` as `# ` lines, a blank line, then the
/// numbered, checked lines. Refused above [`MAX_TEXT_BYTES`].
pub fn to_text(bytes: &[u8], comments: &[String]) -> Result<Zeroizing<String>, String> {
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "the share is {} bytes; the text form carries at most {MAX_TEXT_BYTES} bytes: \
             keep this share in the file form",
            bytes.len()
        ));
    }
    let symbols = to_symbols(bytes);
    let mut rows: Vec<&[u8]> = symbols.chunks(LINE_SYMBOLS).collect();
    if rows.is_empty() {
        rows.push(&[]);
    }
    let width = rows.len().to_string().len().max(2);
    let comment_len: usize = comments
        .iter()
        .map(|c| c.len() + 3 * (c.lines().count() + 1))
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(
        comment_len + 1 + rows.len() * (width + 31),
    ));
    for comment in comments {
        for line in comment.split('\n') {
            let line = line.trim_end_matches('\r');
            out.push('#');
            if !line.is_empty() {
                out.push(' ');
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    if !comments.is_empty() {
        out.push('\n');
    }
    for (i, row) in rows.iter().enumerate() {
        let number = i + 1;
        let checks = line_checks(number, number == rows.len(), row);
        let _ = write!(out, "{number:0width$}:");
        for group in row.chunks(GROUP) {
            out.push(' ');
            group.iter().for_each(|&s| out.push(symbol_char(s)));
        }
        out.push_str(" / ");
        checks.iter().for_each(|&s| out.push(symbol_char(s)));
        out.push('\n');
    }
    Ok(out)
}

/// Parses a share's text form; the first problem found is reported with its line and,
/// where it can be located, its column and probable correction. Blank lines, `#` comments,
/// case, the spacing of the groups and a leading byte-order mark do not matter.
pub fn from_text(text: &str) -> Result<Zeroizing<Vec<u8>>, TextError> {
    // Editors on some systems start a file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| {
            let trimmed = line.trim_start();
            !trimmed.is_empty() && !trimmed.starts_with('#')
        })
        .collect();
    if rows.is_empty() {
        return Err(TextError {
            line: text.lines().count().max(1),
            column: None,
            detail: "no share lines found (they look like '01: ABCDE FGHJK MNPQR STVWX / CD')"
                .into(),
        });
    }
    let mut symbols = Zeroizing::new(Vec::with_capacity(rows.len().min(MAX_LINES) * LINE_SYMBOLS));
    let mut last_line = None;
    for (index, &(input_line, line)) in rows.iter().enumerate() {
        let expected = index + 1;
        if expected > MAX_LINES {
            return Err(TextError {
                line: input_line,
                column: None,
                detail: format!("a share's text form has at most {MAX_LINES} lines"),
            });
        }
        let (number, body) = line_number(input_line, line)?;
        if number != expected {
            return Err(order_error(
                input_line,
                number,
                expected,
                &rows[index + 1..],
            ));
        }
        let typed = scan(input_line, line, number, expected == rows.len(), body)?;
        check_line(&typed, symbols.len())?;
        symbols.extend_from_slice(&typed.data);
        last_line = Some(typed);
    }
    match (from_symbols(&symbols), last_line) {
        (Some(bytes), _) => Ok(bytes),
        (None, Some(typed)) => {
            let column = typed.data_cols.last().copied();
            Err(typed.error(
                column,
                "the last character before the ' / ' does not end the share properly (its \
                 unused bits are not zero): a character on this line is probably missing or \
                 wrong"
                    .into(),
            ))
        }
        (None, None) => Err(TextError {
            line: 1,
            column: None,
            detail: "no share lines".into(),
        }),
    }
}

/// The line number before the colon, and the char index where the rest begins.
fn line_number(input_line: usize, line: &str) -> Result<(usize, usize), TextError> {
    let error = |column, detail: String| TextError {
        line: input_line,
        column,
        detail,
    };
    let Some(colon) = line.chars().position(|c| c == ':') else {
        return Err(error(
            None,
            "not a share line: share lines start with their number and a colon ('01: ...'), \
             comments with '#'"
                .into(),
        ));
    };
    let mut number: usize = 0;
    let mut digits = 0;
    for (i, c) in line.chars().take(colon).enumerate() {
        if let Some(d) = c.to_digit(10) {
            digits += 1;
            number = number.saturating_mul(10).saturating_add(d as usize);
        } else if !c.is_whitespace() {
            return Err(error(
                Some(i + 1),
                format!("'{}' in the line number", c.escape_debug()),
            ));
        }
    }
    if digits == 0 {
        return Err(error(
            Some(colon + 1),
            "the line number before the ':' is missing".into(),
        ));
    }
    Ok((number, colon + 1))
}

/// The error for line `found` typed where line `expected` should be; `rest` are the share
/// lines after it.
fn order_error(
    input_line: usize,
    found: usize,
    expected: usize,
    rest: &[(usize, &str)],
) -> TextError {
    let later = rest
        .iter()
        .any(|&(i, line)| line_number(i, line).is_ok_and(|(n, _)| n == expected));
    let detail = if found < expected {
        let why = "lines are repeated or out of order";
        format!("line {found} comes where line {expected} should be: {why}")
    } else if later {
        format!("line {found} comes where line {expected} should be: lines are out of order")
    } else if found == expected + 1 && expected > 1 {
        format!(
            "line {expected} is missing (line {found} comes after line {})",
            expected - 1
        )
    } else if found == expected + 1 {
        format!("line {expected} is missing")
    } else {
        format!(
            "lines {expected} to {} are missing, or lines are out of order",
            found - 1
        )
    };
    TextError {
        line: input_line,
        column: None,
        detail,
    }
}

/// Splits the text after the colon into data and check symbols; refuses any character
/// that is not a symbol, whitespace or the separator.
fn scan<'a>(
    input_line: usize,
    text: &'a str,
    number: usize,
    last: bool,
    body: usize,
) -> Result<Typed<'a>, TextError> {
    // The separator is the last '/' followed by at least two symbols, else the first '/'
    // (so that a symbol typed as '/' is reported where it is).
    let (mut after, mut best, mut first) = (0usize, None, None);
    let total = text.chars().count();
    for (r, c) in text
        .chars()
        .rev()
        .enumerate()
        .take(total.saturating_sub(body))
    {
        let column = total - r;
        if c == '/' {
            if best.is_none() && after >= 2 {
                best = Some(column);
            }
            first = Some(column);
        } else if symbol_value(c).is_some() {
            after += 1;
        }
    }
    let separator = best.or(first);
    let mut typed = Typed {
        input_line,
        text,
        number,
        last,
        data: Zeroizing::new(Vec::with_capacity(LINE_SYMBOLS + 1)),
        data_cols: Vec::new(),
        check: Zeroizing::new(Vec::with_capacity(3)),
        check_cols: Vec::new(),
        slash: separator.unwrap_or(0),
    };
    for (i, c) in text.chars().enumerate().skip(body) {
        let column = i + 1;
        if c.is_whitespace() || Some(column) == separator {
            continue;
        }
        let Some(v) = symbol_value(c) else {
            let hint = match c {
                'U' | 'u' => " (is it 'V'?)",
                _ => " (share characters are the digits and the letters A-Z except U)",
            };
            return Err(typed.error(
                Some(column),
                format!("'{}' is not a share character{hint}", c.escape_debug()),
            ));
        };
        if separator.is_some_and(|s| column > s) {
            typed.check.push(v);
            typed.check_cols.push(column);
        } else {
            typed.data.push(v);
            typed.data_cols.push(column);
        }
    }
    if separator.is_none() {
        return Err(typed.error(
            None,
            "the ' / ' and the two check characters at the end of the line are missing".into(),
        ));
    }
    Ok(typed)
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
