use std::collections::HashMap;
use std::io::Write;

use super::*;
use crate::primitives::base64url;

fn jwt(claims: serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        base64url::encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        base64url::encode(claims.to_string().as_bytes())
    )
}

fn token_file(content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(content.as_bytes()).unwrap();
    (dir, path)
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

const HSM: &str = "https://managedhsm.azure.net";

#[test]
fn token_files_take_a_bare_token_a_bearer_line_or_az_json() {
    let good = jwt(serde_json::json!({"aud": HSM, "exp": jwt::now() + 600, "oid": "o1"}));
    for content in [
        format!("{good}\n"),
        format!("Bearer {good}"),
        format!(r#"{{"accessToken": "{good}", "expiresOn": "2030-01-01", "tokenType": "Bearer"}}"#),
    ] {
        let (_d, path) = token_file(&content);
        let c = Credentials::from_token_file(&path).unwrap();
        assert_eq!(block(c.token(HSM)).unwrap().as_str(), good);
    }
}

#[test]
fn bad_token_files_are_named_and_explained() {
    for (content, expected) in [
        ("", "file is empty; expected an access token"),
        ("a b\nc", "does not hold one access token"),
        ("{\"token\": 1}", "without 'accessToken'"),
        ("{oops", "is not valid JSON"),
    ] {
        let (_d, path) = token_file(content);
        let err = Credentials::from_token_file(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(expected), "{content:?}: {err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}

#[test]
fn a_token_for_another_audience_or_expired_is_refused_before_it_is_sent() {
    let arm =
        jwt(serde_json::json!({"aud": "https://management.azure.com", "exp": jwt::now() + 600}));
    let (_d, path) = token_file(&arm);
    let err = block(Credentials::from_token_file(&path).unwrap().token(HSM))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("is for audience 'https://management.azure.com'"),
        "{err}"
    );
    assert!(
        err.contains("--resource https://managedhsm.azure.net"),
        "{err}"
    );

    let old = jwt(serde_json::json!({"aud": HSM, "exp": jwt::now() - 60}));
    let (_d, path) = token_file(&old);
    let err = block(Credentials::from_token_file(&path).unwrap().token(HSM))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expired"), "{err}");

    // An opaque token is passed through for the service to judge.
    let (_d, path) = token_file("opaque-token-value");
    assert!(block(Credentials::from_token_file(&path).unwrap().token(HSM)).is_ok());
}

#[test]
fn auto_picks_the_first_configured_source() {
    let table = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let options = CredentialOptions {
        authority_host: Some("https://127.0.0.1:1".into()),
        ..Default::default()
    };
    let sp = table(&[
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_CLIENT_ID", "client"),
        ("AZURE_CLIENT_SECRET", "secret"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent"),
    ]);
    let c = Credentials::resolve(&options, &|k| sp.get(k).cloned()).unwrap();
    assert_eq!(c.description, "environment: client secret of client");

    let none = table(&[]);
    let c = Credentials::resolve(&options, &|k| none.get(k).cloned()).unwrap();
    assert_eq!(c.description, "Azure CLI login");

    let explicit = CredentialOptions {
        kind: CredentialKind::Environment,
        ..options.clone()
    };
    let err = Credentials::resolve(&explicit, &|k| none.get(k).cloned())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("AZURE_TENANT_ID"), "{err}");
}

#[test]
fn jwt_claims_are_read_without_trusting_them() {
    let t = jwt(serde_json::json!({"oid": "abc"}));
    assert_eq!(jwt::object_id(&t).as_deref(), Some("abc"));
    assert!(jwt::claims("not-a-jwt").is_none());
    assert!(jwt::claims("a.b.c.d").is_none());
}

#[test]
fn a_pem_client_certificate_becomes_pkcs12_and_bad_ones_are_named() {
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let options = crate::keys::generate::GenerateOptions {
        bits: 2048,
        days: 1,
        subject: Vec::new(),
    };
    let cert = crate::keys::generate::self_signed_certificate("app", &key, &options).unwrap();
    let key_pem = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let cert_pem = cert.to_pem();

    let (_d, both) = token_file(&format!("{key_pem}{cert_pem}"));
    let der = client_certificate_pkcs12(&both, None).unwrap();
    let parsed = openssl::pkcs12::Pkcs12::from_der(&der)
        .unwrap()
        .parse2("")
        .unwrap();
    assert!(parsed.pkey.is_some() && parsed.cert.is_some());
    // A PKCS#12 file is passed through untouched.
    let (_d, pfx) = token_file("");
    std::fs::write(&pfx, &*der).unwrap();
    assert_eq!(*client_certificate_pkcs12(&pfx, None).unwrap(), *der);

    let (_d, cert_only) = token_file(&cert_pem);
    let err = client_certificate_pkcs12(&cert_only, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no usable private key"), "{err}");
    let (_d, key_only) = token_file(&key_pem);
    let err = client_certificate_pkcs12(&key_only, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no certificate"), "{err}");
    assert!(err.contains(&key_only.display().to_string()), "{err}");
}
