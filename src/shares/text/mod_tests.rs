//! Unit tests of the text form: layout, round trips, what reading tolerates, and line
//! order and structure errors.

use super::test_support::{bytes, comments, data_lines, edit_line, replace_char, share};
use super::*;
use proptest::prelude::*;

#[test]
fn round_trip_lengths_0_to_300_and_large() {
    let lengths = (0..=300).chain([1000, 4099, 9999, MAX_TEXT_BYTES]);
    for len in lengths {
        let data = bytes(len, len as u64);
        let text = to_text(&data, &[]).unwrap();
        assert_eq!(*from_text(&text).unwrap(), data, "len {len}");
        let with_comments = to_text(&data, &comments()).unwrap();
        assert_eq!(*from_text(&with_comments).unwrap(), data, "len {len}");
        assert_eq!(
            *from_compact(&to_compact(&data)).unwrap(),
            data,
            "len {len}"
        );
        assert!(text.lines().count() <= 999);
    }
}

#[test]
fn too_long_is_refused_with_a_pointer_to_the_file_form() {
    let err = to_text(&vec![0; MAX_TEXT_BYTES + 1], &[]).unwrap_err();
    assert!(err.contains("12001") && err.contains("file form"), "{err}");
}

#[test]
fn layout_is_numbered_grouped_and_checked() {
    let text = to_text(&share(), &comments()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# sdctl share 2 of 3, set 1a2b3c4d, threshold 2");
    assert_eq!(
        lines[1],
        "# Type every line; spaces and case do not matter."
    );
    assert_eq!(lines[2], "# Lines starting with # are ignored.");
    assert_eq!(lines[3], "");
    // 140 bytes = 224 symbols = 11 full lines and one of 4.
    assert_eq!(lines.len(), 4 + 12);
    for (i, line) in lines[4..].iter().enumerate() {
        let (number, rest) = line.split_once(": ").unwrap();
        assert_eq!(number, format!("{:02}", i + 1));
        let (data, check) = rest.split_once(" / ").unwrap();
        let groups: Vec<&str> = data.split(' ').collect();
        let want = if i < 11 { vec![5, 5, 5, 5] } else { vec![4] };
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            want,
            "{line}"
        );
        assert_eq!(check.len(), 2);
        assert!(rest
            .chars()
            .all(|c| c == ' ' || c == '/' || ALPHABET.contains(&(c as u8))));
    }
    // Three-digit numbers from line 100 on; an empty share is one line with no data.
    let long = to_text(&bytes(2000, 1), &[]).unwrap();
    assert!(
        long.starts_with("001: ") && long.contains("\n160: "),
        "{}",
        &long[..40]
    );
    let empty = to_text(&[], &[]).unwrap();
    assert_eq!(empty.len(), "01: / XX\n".len());
    assert!(from_text(&empty).unwrap().is_empty());
}

/// The example in docs/shares.md.
#[test]
fn documented_example() {
    let text = to_text(b"sdctl paper form example!", &[]).unwrap();
    assert_eq!(
        *text, "01: EDJ66 X3C41 R62W3 5E8G6 / RH\n02: CVVJD MG6AY 31DNR 6RS91 / FJ\n",
        "update docs/shares.md"
    );
}

#[test]
fn comments_blank_lines_and_indentation_are_ignored() {
    let text = to_text(&share(), &comments()).unwrap();
    let mut noisy = String::from("\n   # a note\n\n");
    for (i, line) in text.lines().enumerate() {
        noisy.push_str(&format!("  {line}  \r\n"));
        if i % 3 == 0 {
            noisy.push_str("\t# checked by Alice\n\n");
        }
    }
    assert_eq!(*from_text(&noisy).unwrap(), share());
}

#[test]
fn case_and_aliases_are_tolerated() {
    let text = to_text(&share(), &[]).unwrap();
    assert!(text.contains('0') && text.contains('1'));
    let mut typed = String::new();
    for (i, line) in text.lines().enumerate() {
        let (number, rest) = line.split_once(':').unwrap();
        let rest = rest.to_lowercase();
        let rest = if i % 2 == 0 {
            rest.replace('0', "O").replace('1', "l")
        } else {
            rest.replace('0', "o").replace('1', "I")
        };
        typed.push_str(&format!("{number}:{rest}\n"));
    }
    assert_eq!(*from_text(&typed).unwrap(), share());
}

#[test]
fn group_spacing_is_tolerated() {
    let text = to_text(&share(), &[]).unwrap();
    let squeezed: String = text.lines().map(|l| l.replace(' ', "") + "\n").collect();
    assert!(squeezed.starts_with("01:") && !squeezed.contains(' '));
    assert_eq!(*from_text(&squeezed).unwrap(), share());
    let spread: String = text
        .lines()
        .map(|l| {
            let (n, rest) = l.split_once(':').unwrap();
            let rest: String = rest
                .chars()
                .filter(|c| *c != ' ')
                .flat_map(|c| [c, ' '])
                .collect();
            format!("{n} :\t{rest}\n")
        })
        .collect();
    assert_eq!(*from_text(&spread).unwrap(), share());
    // Leading zeros of line numbers do not matter.
    let padded: String = text.lines().map(|l| format!("00{l}\n")).collect();
    assert_eq!(*from_text(&padded).unwrap(), share());
    // A byte-order mark at the start.
    assert_eq!(*from_text(&format!("\u{feff}{}", *text)).unwrap(), share());
}

#[test]
fn error_display_names_line_and_column() {
    let text = to_text(&share(), &[]).unwrap();
    let typed = edit_line(&text, 2, |l| replace_char(l, 14, Some('!')));
    let err = from_text(&typed).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("line 3, column 14: {}", err.detail)
    );
    let err = TextError {
        line: 7,
        column: None,
        detail: "x".into(),
    };
    assert_eq!(err.to_string(), "line 7: x");
}

#[test]
fn swapped_lines_are_reported_as_out_of_order() {
    let text = to_text(&share(), &comments()).unwrap();
    let rows = data_lines(&text);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(rows[2], rows[3]);
    let err = from_text(&lines.join("\n")).unwrap_err();
    assert_eq!(err.line, rows[2] + 1, "{err}");
    assert!(
        err.detail.contains("line 4 comes where line 3") && err.detail.contains("out of order")
    );
}

#[test]
fn a_missing_line_is_named() {
    let text = to_text(&share(), &comments()).unwrap();
    let rows = data_lines(&text);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(rows[4]);
    let err = from_text(&lines.join("\n")).unwrap_err();
    assert_eq!((err.line, err.column), (rows[4] + 1, None), "{err}");
    assert_eq!(err.detail, "line 5 is missing (line 6 comes after line 4)");
    // The first line, and two lines in a row.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(rows[0]);
    assert_eq!(
        from_text(&lines.join("\n")).unwrap_err().detail,
        "line 1 is missing"
    );
    let mut lines: Vec<&str> = text.lines().collect();
    lines.drain(rows[5]..=rows[6]);
    let err = from_text(&lines.join("\n")).unwrap_err();
    assert!(err.detail.contains("lines 6 to 7 are missing"), "{err}");
    // A line given twice.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(rows[2], lines[rows[1]]);
    let err = from_text(&lines.join("\n")).unwrap_err();
    assert!(err.detail.contains("repeated"), "{err}");
}

#[test]
fn structural_errors() {
    let text = to_text(&share(), &[]).unwrap();
    let first = |t: &str| from_text(t).unwrap_err();
    let no_slash = edit_line(&text, 0, |l| l.replace('/', ""));
    assert!(
        first(&no_slash).detail.contains("' / '"),
        "{}",
        first(&no_slash)
    );
    let no_number = edit_line(&text, 1, |l| l.replacen("02:", ":", 1));
    assert_eq!(first(&no_number).line, 2);
    assert!(first(&no_number).detail.contains("line number"));
    let no_colon = edit_line(&text, 1, |l| l.replacen("02:", "02 ", 1));
    assert_eq!(first(&no_colon).line, 2);
    let letter = edit_line(&text, 1, |l| l.replacen("02:", "0Z:", 1));
    assert_eq!((first(&letter).line, first(&letter).column), (2, Some(2)));
    let two_missing = edit_line(&text, 1, |l| {
        replace_char(&replace_char(l, 6, None), 6, None)
    });
    assert_eq!(first(&two_missing).line, 2);
    assert!(
        first(&two_missing)
            .detail
            .contains("2 characters are missing"),
        "{}",
        first(&two_missing)
    );
    assert_eq!(first("").line, 1);
    assert!(first("# only a comment\n\n")
        .detail
        .contains("no share lines"));
}

#[test]
fn garbage_does_not_panic() {
    let long_line = format!("01: {} / 00", "A".repeat(1 << 20));
    let many_lines: String = (1..=2000).map(|n| format!("{n:04}: 0000 / 00\n")).collect();
    let inputs = [
        "",
        "\n\n\n",
        "01:",
        "01: /",
        "01: / /",
        "//: ::",
        "99999999999999999999999999999: ABCDE / 00",
        "01: ÄÖÜ / 00",
        "01: 🦀🦀 / 0🦀",
        "١: 00000 / 00",
        "01: \0\0 / 00",
        "\u{feff}01: ABCDE / 00",
        "01: ABCDE FGHJK MNPQR STVWX Y / 00",
        long_line.as_str(),
        many_lines.as_str(),
    ];
    for input in inputs {
        assert!(from_text(input).is_err(), "{input:.40}");
        let _ = from_compact(input);
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}", mix in "[0-9A-Za-z :/#\n]{0,300}") {
        let _ = from_text(&text);
        let _ = from_text(&mix);
        let _ = from_compact(&text);
        let _ = looks_compact(&text);
    }

    #[test]
    fn edited_share_text_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        edits in proptest::collection::vec((any::<usize>(), any::<char>(), 0..3u8), 1..4),
    ) {
        let text = to_text(&data, &[]).unwrap();
        prop_assert_eq!(&*from_text(&text).unwrap(), &data);
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c, kind) in edits {
            let at = at % (chars.len() + 1);
            match kind {
                0 => chars.insert(at, c),
                1 if at < chars.len() => { chars.remove(at); }
                _ if at < chars.len() => chars[at] = c,
                _ => {}
            }
        }
        let _ = from_text(&chars.into_iter().collect::<String>());
    }
}
