use super::*;

fn client_for(url: &str, allowed: &[&str]) -> HsmClient {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.token");
    std::fs::write(&path, "opaque-test-token").unwrap();
    let credentials = Credentials::from_token_file(&path).unwrap();
    let allowed: Vec<String> = allowed.iter().map(|h| h.to_string()).collect();
    let scope = HostScope::new(&allowed, super::super::host_scope::AllowVia::Flag).unwrap();
    HsmClient::new(
        Endpoint::from_url(url).unwrap(),
        scope,
        Arc::new(credentials),
        None,
    )
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_client_is_not_made_for_a_host_outside_the_scope() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.token");
    std::fs::write(&path, "opaque-test-token").unwrap();
    let credentials = Arc::new(Credentials::from_token_file(&path).unwrap());
    let e = HsmClient::new(
        Endpoint::from_url("https://attacker.example/hsm/x").unwrap(),
        HostScope::strict(),
        credentials,
        None,
    )
    .err()
    .unwrap();
    assert!(matches!(e, HsmError::HostNotInScope { .. }), "{e:?}");
}

#[test]
fn connect_refuses_the_host_before_reading_the_token_file() {
    // The token file does not exist: reading it would fail with a file error instead.
    let options = CredentialOptions {
        access_token_file: Some("/nonexistent/sdctl-test/t.token".into()),
        ..Default::default()
    };
    let e = HsmClient::connect(
        Endpoint::from_url("https://attacker.example/").unwrap(),
        HostScope::strict(),
        &options,
        &|_| None,
    )
    .err()
    .unwrap();
    assert!(matches!(e, HsmError::HostNotInScope { .. }), "{e:?}");
}

#[test]
fn every_request_is_checked_before_a_token_is_attached() {
    let client = client_for("https://127.0.0.1:1/hsm/alpha", &[]);
    let rt = runtime();
    for url in [
        "https://attacker.example/hsm/alpha",
        "https://127.0.0.1:1@attacker.example/",
        "http://127.0.0.1:1/hsm/alpha",
    ] {
        let e = rt
            .block_on(client.send(
                Method::GET,
                Url::parse(url).unwrap(),
                None,
                Idempotency::Repeatable,
                None,
            ))
            .unwrap_err();
        assert!(matches!(e, HsmError::HostNotInScope { .. }), "{url}: {e:?}");
    }
    // A Resource Manager token only to Resource Manager (or loopback).
    let e = rt
        .block_on(client.send_for(
            Cloud::AzureCloud.resource_manager(),
            Method::GET,
            Url::parse("https://contoso.managedhsm.azure.net/").unwrap(),
            None,
            Idempotency::Repeatable,
            None,
        ))
        .unwrap_err();
    assert!(e.to_string().contains("Resource Manager"), "{e}");
    // A token for an audience the client does not know is never fetched.
    let e = rt
        .block_on(client.send_for(
            "https://storage.azure.com",
            Method::GET,
            Url::parse("https://127.0.0.1:1/").unwrap(),
            None,
            Idempotency::Repeatable,
            None,
        ))
        .unwrap_err();
    assert!(matches!(e, HsmError::Usage(_)), "{e:?}");
}

#[test]
fn an_allowed_host_is_the_only_extra_one() {
    let client = client_for("https://hsm.internal.example/", &["hsm.internal.example"]);
    let rt = runtime();
    let e = rt
        .block_on(client.send(
            Method::GET,
            Url::parse("https://other.internal.example/").unwrap(),
            None,
            Idempotency::Repeatable,
            None,
        ))
        .unwrap_err();
    assert!(matches!(e, HsmError::HostNotInScope { .. }), "{e:?}");
}
