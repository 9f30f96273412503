use super::*;

#[test]
fn version_and_variant_bits_are_set() {
    assert_eq!(v4([0; 16]), "00000000-0000-4000-8000-000000000000");
    assert_eq!(v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    let a = random_v4().unwrap_or_default();
    assert_eq!(a.len(), 36);
    assert_ne!(a, random_v4().unwrap_or_default());
}
