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

#[test]
fn failed_is_a_kind_for_the_operations_status_routes_only() {
    let f = parse_spec("download/pending=failed:2,upload/pending=failed").unwrap();
    assert_eq!(
        f,
        [
            Fault {
                route: "download/pending".into(),
                kind: "failed".into(),
                remaining: 2
            },
            Fault {
                route: "upload/pending".into(),
                kind: "failed".into(),
                remaining: 1
            },
        ]
    );
    // A route whose answer is not an operation status, or any route at all, is refused.
    for route in ["download", "upload", "backup", "restore", "token", "*"] {
        let e = parse_spec(&format!("{route}=failed")).unwrap_err();
        assert!(
            e.contains("'failed' applies to the operations' status routes only")
                && e.contains(&format!("not '{route}'")),
            "{route}: {e}"
        );
    }
    // The list of kinds in the refusal of an unknown kind names it.
    let e = parse_spec("upload/pending=fail").unwrap_err();
    assert!(e.contains("inprogress, failed, drop"), "{e}");
}

/// A `failed` fault answers one status read with Failed and leaves the operation alone: the
/// next read shows the HSM's real state again.
#[test]
fn failed_answers_the_status_read_with_failed_once() {
    use crate::emulator::InProcess;
    let dir = tempfile::tempdir().unwrap();
    let emulator = InProcess::new(&dir.path().join("state"), &["hsm-a".to_owned()]).unwrap();
    let json = |a: &crate::emulator::Answer| -> serde_json::Value {
        serde_json::from_slice(&a.body).unwrap()
    };
    let refused = emulator
        .request(
            "POST",
            "/_emulator/faults",
            true,
            br#"{"route": "download", "kind": "failed", "remaining": 1}"#,
        )
        .unwrap();
    assert_eq!(refused.status, 400);
    assert!(
        json(&refused)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("status routes only"),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    let set = emulator
        .request(
            "POST",
            "/_emulator/faults",
            true,
            br#"{"route": "upload/pending", "kind": "failed", "remaining": 1}"#,
        )
        .unwrap();
    assert_eq!(set.status, 201, "{}", String::from_utf8_lossy(&set.body));
    let pending = "/hsm/hsm-a/securitydomain/upload/pending?api-version=7.4";
    // Another route is not touched by it.
    let other = emulator
        .request(
            "GET",
            "/hsm/hsm-a/securitydomain/download/pending?api-version=7.4",
            true,
            b"",
        )
        .unwrap();
    assert_eq!(other.status, 404);
    let faulted = emulator.request("GET", pending, true, b"").unwrap();
    assert_eq!(faulted.status, 200);
    assert_eq!(
        json(&faulted),
        serde_json::json!({"status": "Failed", "status_details": "injected fault: the operation failed"})
    );
    // Used up: no upload was ever started on this HSM, as before the fault.
    let real = emulator.request("GET", pending, true, b"").unwrap();
    assert_eq!(real.status, 404, "{}", String::from_utf8_lossy(&real.body));
    let left = emulator
        .request("GET", "/_emulator/faults", true, b"")
        .unwrap();
    assert_eq!(json(&left)["faults"], serde_json::json!([]));
}
