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

use std::fmt::{self, Write as _};

use zeroize::{Zeroize, Zeroizing};

use crate::primitives::gf32;

/// The 32 symbols, by value.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Data symbols on every line of the text form but the last.
pub const LINE_SYMBOLS: usize = 20;
/// Largest binary share the text form carries (960 lines).
pub const MAX_TEXT_BYTES: usize = 12_000;
/// The start of the compact (QR) payload.
pub const COMPACT_PREFIX: &str = "SDCTL-SHARE:";

const GROUP: usize = 5;
const MAX_LINES: usize = 999;
/// Implicit symbols (line number, last-line flag) before a line's data in its codeword.
const IMPLICIT: usize = 3;

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

/// The value of a typed symbol: case-insensitive, with O for 0 and I, L for 1.
pub fn symbol_value(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    match c {
        'O' => Some(0),
        'I' | 'L' => Some(1),
        _ => {
            ALPHABET.iter().zip(0u8..).fold(
                None,
                |found, (&a, v)| if char::from(a) == c { Some(v) } else { found },
            )
        }
    }
}

fn symbol_char(v: u8) -> char {
    char::from(ALPHABET[usize::from(v & 31)])
}

/// Number of symbols that encode `len` bytes.
fn symbol_count(len: usize) -> usize {
    len / 5 * 8 + (len % 5 * 8).div_ceil(5)
}

/// Whether `count` symbols encode a whole number of bytes.
fn valid_count(count: usize) -> bool {
    symbol_count(count / 8 * 5 + count % 8 * 5 / 8) == count
}

fn to_symbols(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(symbol_count(bytes.len())));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    acc.zeroize();
    out
}

/// The bytes of `symbols`, or `None` when the unused bits of the last symbol are not zero
/// (callers check the count with [`valid_count`] first).
fn from_symbols(symbols: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(symbols.len() * 5 / 8));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &s in symbols {
        acc = (acc << 5) | u32::from(s & 31);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let clean = acc == 0;
    acc.zeroize();
    clean.then_some(out)
}

fn implicit(number: usize, last: bool) -> [u8; IMPLICIT] {
    [
        ((number >> 5) & 31) as u8,
        (number & 31) as u8,
        u8::from(last),
    ]
}

fn line_checks(number: usize, last: bool, data: &[u8]) -> [u8; 2] {
    gf32::check_symbols(
        implicit(number, last)
            .into_iter()
            .chain(data.iter().copied()),
    )
}

fn line_syndromes(number: usize, last: bool, data: &[u8], check: &[u8]) -> (u8, u8) {
    let word = implicit(number, last).into_iter();
    gf32::syndromes(
        word.chain(data.iter().copied())
            .chain(check.iter().copied()),
    )
}

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

/// One line of the text form as typed: its symbol values and their columns.
struct Typed<'a> {
    input_line: usize,
    text: &'a str,
    number: usize,
    last: bool,
    data: Zeroizing<Vec<u8>>,
    data_cols: Vec<usize>,
    check: Zeroizing<Vec<u8>>,
    check_cols: Vec<usize>,
    /// Column of the ` / ` separator.
    slash: usize,
}

impl Typed<'_> {
    fn error(&self, column: Option<usize>, detail: String) -> TextError {
        TextError {
            line: self.input_line,
            column,
            detail,
        }
    }

    /// The character typed at `column`, for messages.
    fn char_at(&self, column: usize) -> char {
        self.text.chars().nth(column.wrapping_sub(1)).unwrap_or('?')
    }
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

/// Checks a line's symbol counts and its check code; `before` symbols precede it.
fn check_line(typed: &Typed<'_>, before: usize) -> Result<(), TextError> {
    let (k, m) = (typed.data.len(), typed.check.len());
    let count_ok = |k: usize| match typed.last {
        true => k <= LINE_SYMBOLS && valid_count(before + k),
        false => k == LINE_SYMBOLS,
    };
    if count_ok(k) && m == 2 {
        let syndromes = line_syndromes(typed.number, typed.last, &typed.data, &typed.check);
        if syndromes == (0, 0) {
            return Ok(());
        }
        if let Some((p, e)) = gf32::locate(syndromes, IMPLICIT + k + 2) {
            return Err(substitution(typed, p, e));
        }
    }
    let short = !typed.last && k < LINE_SYMBOLS && m == 2;
    if short && line_syndromes(typed.number, true, &typed.data, &typed.check) == (0, 0) {
        return Err(typed.error(
            None,
            "this is the last line of the share, but more lines follow it".into(),
        ));
    }
    if let Some(edit) = single_edit(typed, &count_ok) {
        return Err(edit_error(typed, edit));
    }
    let count = |n: usize| match n {
        1 => "1 character is".to_string(),
        n => format!("{n} characters are"),
    };
    let detail = if !count_ok(k) {
        match (typed.last, k.cmp(&LINE_SYMBOLS)) {
            (false, std::cmp::Ordering::Less) => format!(
                "{} missing before the ' / ' (every line but the last has {LINE_SYMBOLS})",
                count(LINE_SYMBOLS - k)
            ),
            (_, std::cmp::Ordering::Greater) => format!(
                "{} too many before the ' / ' (a line has at most {LINE_SYMBOLS})",
                count(k - LINE_SYMBOLS)
            ),
            _ => "a character before the ' / ' is missing or extra (the share cannot end \
                  after this many characters)"
                .into(),
        }
    } else if m != 2 {
        format!("there are {m} check characters after the ' / '; there should be 2")
    } else {
        "this line does not check and more than one character seems wrong: compare the whole \
         line with the paper"
            .into()
    };
    Err(typed.error(None, detail))
}

/// The error for a single wrong symbol at codeword position `p` (off by `e`).
fn substitution(typed: &Typed<'_>, p: usize, e: u8) -> TextError {
    if p < 2 {
        return typed.error(
            None,
            format!(
                "these characters belong to another line of the share, not line {}: lines are \
                 out of order or were copied under the wrong number",
                typed.number
            ),
        );
    }
    if p == 2 {
        let detail = if typed.last {
            "this is not the last line of the share: the lines after it are missing".into()
        } else {
            "this is the last line of the share, but more lines follow it".into()
        };
        return typed.error(None, detail);
    }
    let i = p - IMPLICIT;
    let (value, column) = match (typed.data.get(i), typed.data_cols.get(i)) {
        (Some(&v), Some(&c)) => (v, c),
        _ => {
            let j = i - typed.data.len();
            (
                typed.check.get(j).copied().unwrap_or(0),
                typed.check_cols.get(j).copied().unwrap_or(0),
            )
        }
    };
    typed.error(
        Some(column),
        format!(
            "'{}' does not check; it is probably '{}'",
            typed.char_at(column).escape_debug(),
            symbol_char(gf32::add(value, e))
        ),
    )
}

/// A one-character edit of a line: delete the symbol at `index` of the data or check
/// symbols, or insert `insert` before it.
#[derive(Clone, Copy)]
struct Edit {
    in_check: bool,
    index: usize,
    insert: Option<u8>,
}

/// The line's data and check symbols after `edit`.
fn apply(typed: &Typed<'_>, edit: Edit) -> (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>) {
    let copy = |part: &[u8]| {
        let mut copy = Zeroizing::new(Vec::with_capacity(part.len() + 1));
        copy.extend_from_slice(part);
        copy
    };
    let (mut data, mut check) = (copy(&typed.data), copy(&typed.check));
    let part = if edit.in_check { &mut check } else { &mut data };
    match edit.insert {
        Some(v) => part.insert(edit.index, v),
        None => {
            part.remove(edit.index);
        }
    }
    (data, check)
}

/// The one-character insertion or deletion that makes the line check, when exactly one
/// result does.
fn single_edit(typed: &Typed<'_>, count_ok: &dyn Fn(usize) -> bool) -> Option<Edit> {
    let (k, m) = (typed.data.len(), typed.check.len());
    if k > LINE_SYMBOLS + 1 || m > 3 {
        return None;
    }
    // The edits that make the line check, each with the data and check symbols it gives.
    type Candidate = (Edit, Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);
    let mut found: Vec<Candidate> = Vec::new();
    for (in_check, len) in [(false, k), (true, m)] {
        let delete = (0..len).map(|index| Edit {
            in_check,
            index,
            insert: None,
        });
        let insert = (0..=len).flat_map(|index| {
            (0..32).map(move |v| Edit {
                in_check,
                index,
                insert: Some(v),
            })
        });
        for edit in delete.chain(insert) {
            let (data, check) = apply(typed, edit);
            let checks = count_ok(data.len())
                && check.len() == 2
                && line_syndromes(typed.number, typed.last, &data, &check) == (0, 0);
            if checks && !found.iter().any(|(_, d, c)| **d == *data && **c == *check) {
                found.push((edit, data, check));
            }
        }
    }
    match found.as_slice() {
        [(edit, _, _)] => Some(*edit),
        _ => None,
    }
}

/// The error naming the character that seems extra or missing.
fn edit_error(typed: &Typed<'_>, edit: Edit) -> TextError {
    let cols = if edit.in_check {
        &typed.check_cols
    } else {
        &typed.data_cols
    };
    let column = cols.get(edit.index).copied();
    let typed_char = |column| typed.char_at(column).escape_debug();
    let (column, detail) = match (edit.insert.map(symbol_char), column) {
        (None, column) => {
            let column = column.unwrap_or(0);
            let detail = format!(
                "'{}' seems extra: the line checks without it",
                typed_char(column)
            );
            (column, detail)
        }
        (Some(v), Some(column)) => {
            let c = typed_char(column);
            (
                column,
                format!("a character seems missing before '{c}'; it is probably '{v}'"),
            )
        }
        (Some(v), None) if !edit.in_check => {
            let detail =
                format!("a character seems missing before the ' / '; it is probably '{v}'");
            (typed.slash, detail)
        }
        (Some(v), None) => {
            let detail =
                format!("a check character seems missing at the end; it is probably '{v}'");
            (typed.text.chars().count() + 1, detail)
        }
    };
    typed.error(Some(column), detail)
}

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
#[path = "text_tests.rs"]
mod tests;
