//! Unit tests of `base64url`.

use super::*;
use proptest::prelude::*;

#[test]
fn known_answers() {
    assert_eq!(encode(b""), "");
    assert_eq!(encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(decode("-_8=").unwrap(), vec![0xfb, 0xff]);
    assert!(decode("+/8").is_none());
}

proptest! {
    #[test]
    fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = encode(&data);
        prop_assert!(!text.contains('='));
        prop_assert_eq!(decode(&text).unwrap(), data);
    }
}
