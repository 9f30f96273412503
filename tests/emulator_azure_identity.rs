//! The official Azure SDK for Rust credential (`azure_identity::ClientSecretCredential`),
//! pointed at the emulator as its authority host, obtains tokens the data plane accepts.

#![cfg(feature = "online")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, HttpClient, RetryOptions, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use common::emulator::TestEmulator;

fn credential(e: &TestEmulator, secret: &str) -> Arc<ClientSecretCredential> {
    let pem = std::fs::read(e.dir.join("ca.pem")).unwrap();
    let certs = reqwest::Certificate::from_pem_bundle(&pem).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only(certs)
        .connect_timeout(Duration::from_secs(20))
        .read_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut custom = CustomConfiguration::default();
    custom.authority_host = e.url.clone();
    let client_options = ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
        transport: Some(Transport::new(Arc::new(client) as Arc<dyn HttpClient>)),
        retry: RetryOptions::none(),
        ..Default::default()
    };
    let c = e.credentials();
    ClientSecretCredential::new(
        c["tenant_id"].as_str().unwrap(),
        c["client_id"].as_str().unwrap().to_owned(),
        Secret::new(secret.to_owned()),
        Some(ClientSecretCredentialOptions { client_options }),
    )
    .unwrap()
}

#[test]
fn client_secret_credential_obtains_tokens_from_the_emulator() {
    // reqwest 0.13 without a built-in provider uses the process default: ring, as ours.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let e = TestEmulator::start(&["alpha"]);
    let secret = e.credentials()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = runtime.block_on(async {
        credential(&e, &secret)
            .get_token(&["https://managedhsm.azure.net/.default"], None)
            .await
            .unwrap()
            .token
            .secret()
            .to_owned()
    });
    // The data plane accepts it: no download yet is a 404, not a 401.
    let r = e
        .get(
            &format!("{}/securitydomain/download/pending", e.hsm("alpha")),
            &token,
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    // A wrong secret is refused by the emulator, and the SDK reports it.
    let refused = runtime.block_on(async {
        credential(&e, "not the secret")
            .get_token(&["https://managedhsm.azure.net/.default"], None)
            .await
    });
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("AADSTS7000215") || message.contains("invalid_client"),
        "{message}"
    );
}
