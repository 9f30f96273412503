//! Unit tests of `identity`.

use super::*;
use openssl::rsa::Rsa;

#[test]
fn issue_and_verify() {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let other = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let p = Principal {
        client_id: "app".into(),
        client_secret: "s".into(),
        object_id: "oid-1".into(),
    };
    let t = issue(&key, "tenant", &p, HSM_AUDIENCE, 1000, 3600).unwrap();
    let c = verify(&key, &t, "tenant", &[HSM_AUDIENCE], 1001).unwrap();
    assert_eq!(c.oid, "oid-1");
    assert_eq!(
        verify(&other, &t, "tenant", &[HSM_AUDIENCE], 1001).unwrap_err(),
        TokenError::Signature
    );
    assert!(matches!(
        verify(&key, &t, "tenant", &[ARM_AUDIENCE], 1001),
        Err(TokenError::Audience(_))
    ));
    assert_eq!(
        verify(&key, &t, "tenant", &[HSM_AUDIENCE], 4600).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(
        verify(&key, &t, "other", &[HSM_AUDIENCE], 1001).unwrap_err(),
        TokenError::Tenant
    );
    assert_eq!(
        verify(&key, "a.b", "tenant", &[HSM_AUDIENCE], 1001).unwrap_err(),
        TokenError::Malformed
    );
    assert_eq!(
        audience_of_scope("https://managedhsm.azure.net/.default"),
        Some(HSM_AUDIENCE)
    );
    assert_eq!(audience_of_scope("https://vault.azure.net/.default"), None);
}
