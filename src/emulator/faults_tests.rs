//! Unit tests of `faults`.

use super::*;

#[test]
fn spec_and_classification() {
    let f = parse_spec("download=429:2, upload/pending=inprogress,*=latency-50:3").unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].remaining, 2);
    assert_eq!(f[1].remaining, 1);
    assert!(parse_spec("nowhere=500")
        .unwrap_err()
        .contains("unknown fault route"));
    assert!(parse_spec("keys=teapot")
        .unwrap_err()
        .contains("unknown fault kind"));
    assert!(parse_spec("keys").is_err());
    assert_eq!(
        classify(&Method::POST, "/hsm/a/securitydomain/download"),
        "download"
    );
    assert_eq!(
        classify(&Method::GET, "/hsm/a/securitydomain/upload"),
        "transferkey"
    );
    assert_eq!(
        classify(&Method::POST, "/hsm/a/securitydomain/upload"),
        "upload"
    );
    assert_eq!(classify(&Method::GET, "/hsm/a/keys/k1"), "keys");
    assert_eq!(
        classify(
            &Method::GET,
            "/hsm/a/keys/providers/Microsoft.Authorization/roleAssignments"
        ),
        "roles"
    );
    assert_eq!(classify(&Method::POST, "/t/oauth2/v2.0/token"), "token");
    let table = Faults::new(f);
    assert_eq!(table.take("download").as_deref(), Some("429"));
    assert_eq!(table.take("download").as_deref(), Some("429"));
    assert_eq!(table.take("download").as_deref(), Some("latency-50"));
}
