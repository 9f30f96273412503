//! Unit tests of the compact (QR) payload.

use super::*;
use crate::shares::text::test_support::share;

#[test]
fn compact_payload() {
    let data = share();
    let compact = to_compact(&data);
    assert!(compact.starts_with(COMPACT_PREFIX));
    assert_eq!(compact.len(), COMPACT_PREFIX.len() + 224);
    let qr_alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    assert!(compact.chars().all(|c| qr_alphanumeric.contains(c)));
    assert_eq!(*to_compact(&[]), COMPACT_PREFIX);
    assert!(from_compact(COMPACT_PREFIX).unwrap().is_empty());

    assert!(looks_compact(&compact));
    assert!(looks_compact("  \n sdctl-share:00"));
    assert!(!looks_compact("01: ABCDE"));
    assert!(!looks_compact("SDCTL-SHAR"));
    assert!(!looks_compact("SDCTL-SHAR\u{e9}"));

    // Whitespace, case and aliases.
    let (prefix, body) = compact.split_at(COMPACT_PREFIX.len());
    let mut loose = format!(" {}\n", prefix.to_lowercase());
    for (i, c) in body.chars().enumerate() {
        loose.push(if i % 2 == 0 {
            c.to_ascii_lowercase()
        } else {
            c
        });
        if i % 7 == 0 {
            loose.push_str(" \n\t");
        }
    }
    assert_eq!(*from_compact(&loose.replace('0', "o")).unwrap(), data);

    // A bad character is named by position; wrong prefix; wrong length; wrong padding.
    let bad = format!("{prefix}AB!{}", &body[3..]);
    let err = from_compact(&bad).unwrap_err();
    assert!(err.contains("character 15: '!'"), "{err}");
    assert!(from_compact("SDCTL-SHAPE:00")
        .unwrap_err()
        .contains("does not start"));
    assert!(from_compact("SDCTL")
        .unwrap_err()
        .contains("does not start"));
    assert!(from_compact(&compact[..compact.len() - 2])
        .unwrap_err()
        .contains("missing or extra"));
    let padding = from_compact(&format!("{COMPACT_PREFIX}01")).unwrap_err();
    assert!(padding.contains("character 14"), "{padding}");
    assert_eq!(*from_compact(&format!("{COMPACT_PREFIX}04")).unwrap(), [1]);
}
