use super::*;

const ROLES: &str = "providers/Microsoft.Authorization/roleDefinitions";

fn emulator(dir: &Path) -> InProcess {
    InProcess::new(dir, &["hsm-a".to_owned()]).expect("in-process emulator")
}

#[test]
fn answers_like_the_listener_without_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(&dir.path().join("state"));
    let path = "/hsm/hsm-a/securitydomain/upload?api-version=7.4";
    let anonymous = emulator.request("GET", path, false, b"").unwrap();
    assert_eq!(anonymous.status, 401);
    let answer = emulator.request("GET", path, true, b"").unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["key_format"], "jwk");
}

#[test]
fn malformed_bodies_are_client_errors() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(&dir.path().join("state"));
    let path = "/hsm/hsm-a/securitydomain/download?api-version=7.4";
    for body in [
        &b"{"[..],
        b"[]",
        b"{\"certificates\": 5, \"required\": 2}",
        b"\xff\xfe",
    ] {
        let answer = emulator.request("POST", path, true, body).unwrap();
        assert!(
            (400..500).contains(&answer.status),
            "{:?}: {} {}",
            String::from_utf8_lossy(body),
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
}

#[test]
fn state_persists_between_instances() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    drop(emulator(&state));
    // The second instance names no HSM: hsm-a must come from the saved state.
    let again = InProcess::new(&state, &[]).unwrap();
    let answer = again
        .request(
            "GET",
            &format!("/hsm/hsm-a/{ROLES}?api-version=7.4"),
            true,
            b"",
        )
        .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let missing = again
        .request(
            "GET",
            &format!("/hsm/hsm-z/{ROLES}?api-version=7.4"),
            true,
            b"",
        )
        .unwrap();
    assert_eq!(missing.status, 404);
}

#[test]
fn a_request_that_cannot_be_made_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = emulator(&dir.path().join("state"));
    for (method, path) in [("NOT A METHOD", "/hsm/hsm-a/keys"), ("GET", "no path")] {
        let err = emulator.request(method, path, true, b"").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("emulator request: ") && text.contains(path),
            "{text}"
        );
        assert_eq!(err.exit_code(), crate::ExitCode::BadInput);
    }
}
