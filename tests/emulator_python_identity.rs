//! The official Python credential (`azure.identity.ClientSecretCredential`, azure-identity
//! from PyPI, pinned in tests/interop/requirements.txt) signs in against the emulator's
//! authority with nothing but the emulator's CA trusted (and instance discovery off, which
//! would ask login.microsoftonline.com): it reads the OpenID discovery document, then the
//! token endpoint; the token works on the data plane, and a wrong secret is refused with
//! Entra ID's AADSTS code.

#![cfg(feature = "online")]

mod common;

use std::process::{Command, Output, Stdio};

use common::emulator::TestEmulator;
use common::interop::{repo_file, venv};
use common::Fixture;
use serde_json::Value;

fn sign_in(e: &TestEmulator, fx: &Fixture, tenant: &str, secret: &str, scope: &str) -> Output {
    let secret_file = fx.path("secret");
    std::fs::write(&secret_file, secret).unwrap();
    let c = e.credentials();
    Command::new(venv().join("bin/python"))
        .arg(repo_file("tests/interop/identity_check.py"))
        .args(["--authority", &e.url, "--tenant", tenant])
        .args(["--client-id", c["client_id"].as_str().unwrap()])
        .arg("--secret-file")
        .arg(&secret_file)
        .args(["--scope", scope])
        .env("REQUESTS_CA_BUNDLE", e.dir.join("ca.pem"))
        .env_remove("SSL_CERT_FILE")
        .env_remove("AZURE_AUTHORITY_HOST")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn client_secret_credential_signs_in_through_the_emulators_authority() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    let c = e.credentials();
    let tenant = c["tenant_id"].as_str().unwrap();
    let secret = c["client_secret"].as_str().unwrap();
    let scope = "https://managedhsm.azure.net/.default";

    let out = sign_in(&e, &fx, tenant, secret, scope);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = answer["access_token"].as_str().unwrap();
    // The token is the data plane's: the role definitions of alpha are listed with it.
    let r = e
        .get(
            &format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions",
                e.hsm("alpha")
            ),
            token,
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let refused = sign_in(&e, &fx, tenant, "not-the-secret", scope);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("AADSTS7000215:"), "{message}");

    let unknown = sign_in(&e, &fx, tenant, secret, "https://vault.azure.net/.default");
    assert_eq!(unknown.status.code(), Some(1));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("AADSTS500011:"), "{message}");
}
