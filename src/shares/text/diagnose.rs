//! A line's check code, and locating the typo on a line that does not check: a wrong
//! character (from the syndromes), an extra or a missing one (by trying every
//! one-character edit), or a line in the wrong place.

use zeroize::Zeroizing;

use super::symbols::{symbol_char, valid_count};
use super::{TextError, LINE_SYMBOLS};
use crate::primitives::gf32;

/// Implicit symbols (line number, last-line flag) before a line's data in its codeword.
const IMPLICIT: usize = 3;

/// The implicit symbols of line `number`: the number in two symbols, then the last-line
/// flag.
fn implicit(number: usize, last: bool) -> [u8; IMPLICIT] {
    [
        ((number >> 5) & 31) as u8,
        (number & 31) as u8,
        u8::from(last),
    ]
}

/// The two check symbols of line `number` carrying `data`.
pub(super) fn line_checks(number: usize, last: bool, data: &[u8]) -> [u8; 2] {
    gf32::check_symbols(
        implicit(number, last)
            .into_iter()
            .chain(data.iter().copied()),
    )
}

/// The syndromes of line `number` as typed; `(0, 0)` when it checks.
fn line_syndromes(number: usize, last: bool, data: &[u8], check: &[u8]) -> (u8, u8) {
    let word = implicit(number, last).into_iter();
    gf32::syndromes(
        word.chain(data.iter().copied())
            .chain(check.iter().copied()),
    )
}

/// One line of the text form as typed: its symbol values and their columns.
pub(super) struct Typed<'a> {
    /// 1-based line in the input.
    pub(super) input_line: usize,
    /// The whole line as typed.
    pub(super) text: &'a str,
    /// The line number typed before the colon.
    pub(super) number: usize,
    /// Whether this is the share's final line.
    pub(super) last: bool,
    /// The data symbols, before the separator.
    pub(super) data: Zeroizing<Vec<u8>>,
    /// 1-based columns of the data symbols.
    pub(super) data_cols: Vec<usize>,
    /// The check symbols, after the separator.
    pub(super) check: Zeroizing<Vec<u8>>,
    /// 1-based columns of the check symbols.
    pub(super) check_cols: Vec<usize>,
    /// Column of the ` / ` separator.
    pub(super) slash: usize,
}

impl Typed<'_> {
    /// An error on this line, at `column` when known.
    pub(super) fn error(&self, column: Option<usize>, detail: String) -> TextError {
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

/// Checks a line's symbol counts and its check code; `before` symbols precede it.
pub(super) fn check_line(typed: &Typed<'_>, before: usize) -> Result<(), TextError> {
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
    /// Whether the edit is among the check symbols rather than the data.
    in_check: bool,
    /// Index of the symbol deleted, or inserted before.
    index: usize,
    /// The symbol inserted; `None` for a deletion.
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

#[cfg(test)]
#[path = "diagnose_tests.rs"]
mod tests;
