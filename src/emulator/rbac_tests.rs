//! Unit tests of `rbac`.

#[test]
fn wildcards() {
    use super::matches;
    assert!(matches(
        "Microsoft.KeyVault/managedHsm/keys/*",
        "microsoft.keyvault/managedhsm/keys/create"
    ));
    assert!(matches("a/*/c", "a/b/c"));
    assert!(!matches("a/*/c", "a/b/d"));
    assert!(matches("exact", "EXACT"));
    assert!(!matches("exact", "exactly"));
}
