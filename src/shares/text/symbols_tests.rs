//! Unit tests of the symbol counts.

use super::*;

#[test]
fn symbol_counts() {
    for len in 0..100 {
        assert_eq!(symbol_count(len), (len * 8).div_ceil(5));
        assert!(valid_count(symbol_count(len)));
    }
    let valid: Vec<usize> = (0..16).filter(|&c| valid_count(c)).collect();
    assert_eq!(valid, [0, 2, 4, 5, 7, 8, 10, 12, 13, 15]);
}
