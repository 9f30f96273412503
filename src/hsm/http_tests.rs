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
