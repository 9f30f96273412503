//! Unit tests of locating a typo: every wrong, dropped or inserted character, and lines
//! in the wrong place or missing at the end.

use super::*;
use crate::shares::text::test_support::{
    comments, data_lines, edit_line, replace_char, share, symbol_columns,
};
use crate::shares::text::{from_text, symbol_value, to_text, ALPHABET};

/// THE typo test: every typed symbol of every line of a realistic share, replaced by each
/// of the 31 other symbols and by every printable ASCII character that is not a symbol,
/// is reported at its line and column (and a replaced symbol's true value is suggested).
#[test]
fn every_single_typo_is_located() {
    let share = share();
    let text = to_text(&share, &comments()).unwrap();
    assert_eq!(*from_text(&text).unwrap(), share);
    let not_symbols: Vec<char> = (0x21u8..0x7f)
        .map(char::from)
        .filter(|&c| symbol_value(c).is_none())
        .collect();
    assert!(not_symbols.contains(&'U') && not_symbols.contains(&'u') && not_symbols.len() == 34);
    let (mut substitutions, mut others) = (0, 0);
    for (index, line) in text.lines().enumerate() {
        for column in symbol_columns(line) {
            let original = line.chars().nth(column - 1).unwrap();
            for replacement in ALPHABET
                .iter()
                .map(|&a| char::from(a))
                .chain(not_symbols.clone())
            {
                if replacement == original {
                    continue;
                }
                let typed = edit_line(&text, index, |l| replace_char(l, column, Some(replacement)));
                let err = from_text(&typed).unwrap_err();
                assert_eq!(
                    (err.line, err.column),
                    (index + 1, Some(column)),
                    "'{original}' -> '{replacement}': {err}"
                );
                if symbol_value(replacement).is_some() {
                    let want =
                        format!("'{replacement}' does not check; it is probably '{original}'");
                    assert_eq!(err.detail, want);
                    substitutions += 1;
                } else {
                    assert!(err.detail.contains("not a share character"), "{err}");
                    others += 1;
                }
            }
        }
    }
    // 11 lines of 22 symbols and one of 6, each with 31 symbols and 34 non-symbols.
    assert_eq!((substitutions, others), (248 * 31, 248 * 34));
}

#[test]
fn a_line_copied_under_the_wrong_number_fails() {
    let text = to_text(&share(), &[]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let body = |l: &str| l.split_once(':').unwrap().1.to_string();
    let mut typed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    typed[2] = format!("03:{}", body(lines[3]));
    typed[3] = format!("04:{}", body(lines[2]));
    let err = from_text(&typed.join("\n")).unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert!(err.detail.contains("belong to another line"), "{err}");
}

#[test]
fn missing_final_lines_and_extra_lines_are_caught() {
    let text = to_text(&share(), &[]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for keep in 1..lines.len() {
        let err = from_text(&lines[..keep].join("\n")).unwrap_err();
        assert_eq!(err.line, keep, "{err}");
        assert!(err.detail.contains("lines after it are missing"), "{err}");
    }
    // A line 13 after the real last line.
    let extra = [0u8, 0, 0, 0];
    let checks = line_checks(13, true, &extra);
    let line13 = format!(
        "13: 0000 / {}{}",
        symbol_char(checks[0]),
        symbol_char(checks[1])
    );
    let err = from_text(&format!("{}{line13}\n", *text)).unwrap_err();
    assert_eq!(err.line, 12, "{err}");
    assert!(err.detail.contains("more lines follow"), "{err}");
}

#[test]
fn a_dropped_character_names_its_line() {
    let text = to_text(&share(), &comments()).unwrap();
    let rows = data_lines(&text);
    let (mut cases, mut located) = (0, 0);
    for &index in &rows {
        let line = text.lines().nth(index).unwrap();
        for column in symbol_columns(line) {
            let typed = edit_line(&text, index, |l| replace_char(l, column, None));
            let err = from_text(&typed).unwrap_err();
            assert_eq!(err.line, index + 1, "{err}");
            cases += 1;
            if err.detail.contains("missing before") {
                located += 1;
            }
        }
    }
    assert_eq!(cases, 248);
    // A unique explanation is found for about half; the rest say a character is missing.
    assert!(located > 60, "{located}");
}

#[test]
fn an_inserted_character_names_its_line_and_usually_its_column() {
    let text = to_text(&share(), &comments()).unwrap();
    let rows = data_lines(&text);
    let (mut cases, mut located) = (0, 0);
    for &index in &rows {
        let line = text.lines().nth(index).unwrap();
        for column in symbol_columns(line) {
            for extra in ['0', 'K', 'Z'] {
                let typed = edit_line(&text, index, |l| {
                    let mut chars: Vec<char> = l.chars().collect();
                    chars.insert(column - 1, extra);
                    chars.into_iter().collect()
                });
                let err = from_text(&typed).unwrap_err();
                assert_eq!(err.line, index + 1, "{err}");
                cases += 1;
                if err.detail.contains("seems extra") {
                    assert!(err.column.is_some());
                    located += 1;
                }
            }
        }
    }
    assert!(located * 10 > cases * 9, "{located} of {cases}");
}
