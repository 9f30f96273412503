use super::*;

fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(*k, v.parse().unwrap());
    }
    Response {
        url: "https://h/x".into(),
        status,
        headers: map,
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn forbidden_names_the_missing_action() {
    let e = answer(403, &[], r#"{"error":{"code":"Forbidden","message":"Operation not allowed: caller 1 does not have permission to perform data action 'Microsoft.KeyVault/managedHsm/securitydomain/download/action'"}}"#)
        .into_error("https://managedhsm.azure.net");
    match e {
        HsmError::Forbidden { action, .. } => assert_eq!(
            action.as_deref(),
            Some("Microsoft.KeyVault/managedHsm/securitydomain/download/action")
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unauthorized_explains_a_wrong_audience() {
    let e = answer(
        401,
        &[(
            "www-authenticate",
            r#"Bearer authorization="https://login/t", resource="https://managedhsm.azure.net""#,
        )],
        r#"{"error":{"code":"Unauthorized","message":"AKV10022: Invalid audience."}}"#,
    )
    .into_error("https://management.azure.com");
    let text = e.to_string();
    assert!(
        text.contains("wants a token for 'https://managedhsm.azure.net'"),
        "{text}"
    );
    assert!(text.contains("AKV10022"), "{text}");
}

#[test]
fn other_errors_keep_code_and_message_and_survive_non_json() {
    let e = answer(
        409,
        &[],
        r#"{"error":{"code":"Conflict","message":"exists"}}"#,
    )
    .into_error("r");
    assert_eq!(e.to_string(), "https://h/x: HTTP 409 Conflict: exists");
    let e = answer(502, &[], "<html>\n bad gateway</html>").into_error("r");
    assert_eq!(
        e.to_string(),
        "https://h/x: HTTP 502 Error: <html> bad gateway</html>"
    );
    let e = answer(500, &[], "").into_error("r");
    assert!(e.to_string().ends_with("(empty body)"));
}

#[test]
fn challenge_parameters_are_read() {
    let c = r#"Bearer authorization="https://a/t", resource="https://managedhsm.azure.net""#;
    assert_eq!(
        challenge_param(c, "resource").as_deref(),
        Some("https://managedhsm.azure.net")
    );
    assert_eq!(
        challenge_param(c, "authorization").as_deref(),
        Some("https://a/t")
    );
    assert_eq!(challenge_param("Basic x", "resource"), None);
}

/// A CA certificate made by the openssl CLI, as operators make one, in `dir`.
fn openssl_ca(dir: &std::path::Path) -> std::path::PathBuf {
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])
        .current_dir(dir)
        .output()
        .expect("the openssl CLI runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("ca.pem")
}

#[test]
fn ca_files_are_refused_by_name_unless_they_hold_pem_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = openssl_ca(dir.path());
    let pem = std::fs::read(&ca).unwrap();
    assert_eq!(read_ca_certificates(&ca).unwrap(), pem);
    // A bundle of two is fine too.
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, [pem.clone(), pem.clone()].concat()).unwrap();
    assert!(read_ca_certificates(&bundle).is_ok());

    let key = std::fs::read(dir.path().join("ca.key")).unwrap();
    let mut damaged = pem.clone();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 8].copy_from_slice(b"!!!!!!!!");
    for (name, content, expect) in [
        ("empty.pem", &b""[..], "empty"),
        ("blank.pem", b"\n  \n", "empty"),
        ("text.pem", b"not a certificate\n", "no PEM certificate"),
        ("key.pem", &key, "no PEM certificate"),
        ("damaged.pem", &damaged, "not a readable PEM"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let message = read_ca_certificates(&path).unwrap_err().to_string();
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(expect), "{name}: {message}");
        assert!(!message.contains('\n'), "{name}: {message}");
    }
    let missing = dir.path().join("missing.pem");
    let message = read_ca_certificates(&missing).unwrap_err().to_string();
    assert!(message.contains("missing.pem"), "{message}");
}
