//! Unit tests of `sp800_108`.

use super::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn design_known_answer() {
    let out = derive(&[0x41; 32], b"label", b"context", 256).unwrap();
    assert_eq!(
        hex(&out),
        "f0ca51f6308791404bf68b56024ee7c64d6c737716f81d47e1e68b5c4e399575"
    );
}

#[test]
fn longer_outputs_extend_shorter_ones_only_with_the_same_length() {
    // L is part of every block's input, so a 512-bit output is not a prefix extension
    // of the 256-bit one.
    let short = derive(&[7; 32], b"tag", b"", 256).unwrap();
    let long = derive(&[7; 32], b"tag", b"", 512).unwrap();
    assert_eq!(long.len(), 64);
    assert_ne!(&long[..32], &short[..]);
    assert!(derive(&[7; 32], b"tag", b"", 12).is_err());
}
