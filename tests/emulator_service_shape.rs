//! The emulator's HTTP answers shaped as the service's: the bearer token checked before any
//! body is read (the SDKs' first, token-less request gets the challenge on every route and
//! method), every error in Key Vault's JSON shape, `api-version` required and checked,
//! trailing slashes and key versions routed; and the authority as MSAL walks it (instance
//! and OpenID discovery) with Entra ID's AADSTS error codes.

#![cfg(feature = "online")]

mod common;

use common::emulator::{download_request, TestEmulator};
use common::Fixture;
use reqwest::blocking::Response;
use serde_json::{json, Value};

const HSM: &str = "https://managedhsm.azure.net";
const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";

fn content_type(r: &Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Asserts `r` is a Key Vault error: `status`, JSON, `{"error": {"code": code, "message"}}`.
fn assert_kv_error(r: Response, status: u16, code: &str, what: &str) -> Value {
    assert_eq!(r.status(), status, "{what}");
    assert!(
        content_type(&r).starts_with("application/json"),
        "{what}: {}",
        content_type(&r)
    );
    let body: Value = r.json().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    body
}

fn tenant(e: &TestEmulator) -> String {
    e.info()["tenant_id"].as_str().unwrap().to_owned()
}

#[test]
fn unauthenticated_requests_get_the_challenge_before_any_body_is_read() {
    let e = TestEmulator::start(&["alpha"]);
    let alpha = e.hsm("alpha");
    let challenge = format!(
        "Bearer authorization=\"{}/{}\", resource=\"{HSM}\"",
        e.url,
        tenant(&e)
    );
    let assignment = format!("{alpha}/providers/Microsoft.Authorization/roleAssignments/x");
    let cases: Vec<(&str, String)> = vec![
        ("POST", format!("{alpha}/securitydomain/download")),
        ("GET", format!("{alpha}/securitydomain/upload")),
        ("POST", format!("{alpha}/securitydomain/upload")),
        ("PUT", assignment.clone()),
        ("DELETE", assignment),
        ("POST", format!("{alpha}/keys/k1/create")),
        ("GET", format!("{alpha}/keys/k1/")),
        ("POST", format!("{alpha}/backup")),
        ("PUT", format!("{alpha}/restore")),
        // No such route, and a method the route does not serve: still the challenge.
        ("GET", format!("{alpha}/no/such/route")),
        ("DELETE", format!("{alpha}/securitydomain/download")),
    ];
    let raw = &e.client.raw;
    for (method, url) in &cases {
        let method: reqwest::Method = method.parse().unwrap();
        let with_version = common::emulator::with_api_version(url);
        let requests = [
            // The SDKs' first request: JSON content type, empty body.
            raw.request(method.clone(), &with_version)
                .header("content-type", "application/json"),
            raw.request(method.clone(), &with_version)
                .header("content-type", "application/json")
                .body("{\"not\": \"valid for this route\""),
            raw.request(method.clone(), &with_version)
                .json(&json!({"value": "x"})),
            // Authentication comes before the api-version check.
            raw.request(method.clone(), url.as_str()),
            raw.request(method.clone(), &with_version)
                .bearer_auth("not-a-token")
                .header("content-type", "application/json"),
        ];
        for (i, request) in requests.into_iter().enumerate() {
            let what = format!("{method} {url} (request {i})");
            let r = request.send().unwrap();
            assert_eq!(
                r.headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some(challenge.as_str()),
                "{what}"
            );
            assert_kv_error(r, 401, "Unauthorized", &what);
        }
    }
}

#[test]
fn every_error_has_key_vaults_json_shape() {
    let e = TestEmulator::start(&["alpha"]);
    let alpha = e.hsm("alpha");
    let token = e.admin_token();

    // 400: a body that is not JSON, and JSON of the wrong shape.
    let r = e
        .client
        .post(format!("{alpha}/securitydomain/download"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_kv_error(r, 400, "BadParameter", "bad JSON");
    let r = e
        .client
        .post(format!("{alpha}/securitydomain/download"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .send()
        .unwrap();
    assert_kv_error(r, 400, "BadParameter", "empty body");

    // 403: a valid token of a principal holding no role.
    let nobody = e.mint("00000000-1111-2222-3333-444444444444", HSM, 0);
    let r = e
        .get(&format!("{alpha}/securitydomain/upload"), &nobody)
        .send()
        .unwrap();
    assert_kv_error(r, 403, "Forbidden", "no role");

    // 404: an unknown route, on the data plane and off it.
    for url in [
        format!("{alpha}/no/such/route"),
        format!("{}/nothing", e.url),
    ] {
        let r = e.get(&url, &token).send().unwrap();
        assert_kv_error(r, 404, "NotFound", &url);
    }

    // 405: a method the route does not serve.
    let r = e
        .client
        .delete(format!("{alpha}/securitydomain/download"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    let body = assert_kv_error(r, 405, "MethodNotAllowed", "DELETE download");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("DELETE"));

    // 409: a key operation on an HSM that is not activated.
    e.grant_crypto_user("alpha");
    let r = e
        .post(
            &format!("{alpha}/keys/k1/create"),
            &token,
            &json!({"kty": "RSA-HSM", "key_size": 2048}),
        )
        .send()
        .unwrap();
    assert_kv_error(r, 409, "HsmNotActivated", "create on a new HSM");
}

#[test]
fn api_version_is_required_and_checked() {
    let e = TestEmulator::start(&["alpha"]);
    let token = e.admin_token();
    let list = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions",
        e.hsm("alpha")
    );
    let raw = &e.client.raw;
    let r = raw.get(&list).bearer_auth(&token).send().unwrap();
    let body = assert_kv_error(r, 400, "BadParameter", "missing");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("api-version"));
    for bad in ["7.1", "7.7", "2023-07-01", "2025-07-02", ""] {
        let r = raw
            .get(format!("{list}?api-version={bad}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_kv_error(r, 400, "BadParameter", bad);
    }
    for good in ["7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"] {
        let r = raw
            .get(format!("{list}?api-version={good}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{good}");
    }
}

#[test]
fn trailing_slashes_and_key_versions_are_routed() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let alpha = e.hsm("alpha");
    let token = e.admin_token();
    let body = download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2);
    let r = e
        .post(&format!("{alpha}/securitydomain/download"), &token, &body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    // The status URL the service hands out carries the api-version of the request.
    let status_url = r.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(status_url.ends_with("?api-version=7.4"), "{status_url}");
    assert_eq!(
        e.wait(&format!("{alpha}/securitydomain/download/pending/"), &token)["status"],
        "Success"
    );
    let grant = json!({"properties": {"scope": "/keys", "principalId": e.admin_oid(),
        "roleDefinitionId": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{CRYPTO_USER}")}});
    let r = e
        .client
        .put(format!(
            "{alpha}/keys/providers/Microsoft.Authorization/roleAssignments/cu"
        ))
        .bearer_auth(&token)
        .json(&grant)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let created = e.create_key("alpha", "k1");
    let kid = created["key"]["kid"].as_str().unwrap().to_owned();
    let version = kid.rsplit('/').next().unwrap().to_owned();
    assert_eq!(kid, format!("{alpha}/keys/k1/{version}"));

    // `KeyClient.get_key` asks for `/keys/NAME/`; ids name `/keys/NAME/VERSION`.
    for url in [
        format!("{alpha}/keys/k1/"),
        format!("{alpha}/keys/k1"),
        format!("{alpha}/keys/k1/{version}"),
        format!("{alpha}/keys/k1/{version}/"),
    ] {
        let r = e.get(&url, &token).send().unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(
            r.json::<Value>().unwrap()["key"]["kid"],
            kid.as_str(),
            "{url}"
        );
    }
    let r = e.get(&format!("{alpha}/keys/"), &token).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().unwrap()["value"].as_array().map(Vec::len),
        Some(1)
    );
    for url in [format!("{alpha}/keys/k1/1"), format!("{alpha}/keys/k2/")] {
        let r = e.get(&url, &token).send().unwrap();
        assert_kv_error(r, 404, "KeyNotFound", &url);
    }
}

/// A token request's case: name, form (without `grant_type`), status, `error`, AADSTS code.
type TokenCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str, u64);

/// Asserts `r` is an Entra ID token-endpoint error with `status`, `error` and `code`.
fn assert_aadsts(r: Response, status: u16, error: &str, code: u64, what: &str) {
    assert_eq!(r.status(), status, "{what}");
    assert!(content_type(&r).starts_with("application/json"), "{what}");
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"], error, "{what}: {body}");
    assert_eq!(body["error_codes"], json!([code]), "{what}: {body}");
    let description = body["error_description"].as_str().unwrap_or("");
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{what}: {description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        let value = body[field].as_str().unwrap_or("");
        assert!(!value.is_empty(), "{what}: {field}");
        assert!(
            description.contains(value),
            "{what}: {field} in the description"
        );
    }
}

#[test]
fn the_authority_serves_discovery_and_aadsts_errors() {
    let e = TestEmulator::start(&["alpha"]);
    let tenant = tenant(&e);
    let raw = &e.client.raw;

    // What MSAL reads first: the tenant's OpenID configuration.
    let r = raw
        .get(format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            e.url
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let config: Value = r.json().unwrap();
    assert_eq!(config["token_endpoint"], e.info()["token_url"]);
    assert_eq!(
        config["authorization_endpoint"],
        format!("{}/{tenant}/oauth2/v2.0/authorize", e.url).as_str()
    );
    let keys: Value = raw
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(keys["keys"][0]["kty"], "RSA");
    let r = raw
        .get(format!(
            "{}/not-a-tenant/v2.0/.well-known/openid-configuration",
            e.url
        ))
        .send()
        .unwrap();
    assert_aadsts(r, 400, "invalid_tenant", 90002, "discovery, unknown tenant");

    // Instance discovery, for clients told to ask this authority.
    let authorize = format!("{}/{tenant}/oauth2/v2.0/authorize", e.url);
    let r = raw
        .get(
            reqwest::Url::parse_with_params(
                &format!("{}/common/discovery/instance", e.url),
                &[
                    ("api-version", "1.1"),
                    ("authorization_endpoint", &authorize),
                ],
            )
            .unwrap(),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().unwrap()["tenant_discovery_endpoint"],
        format!("{}/{tenant}/v2.0/.well-known/openid-configuration", e.url).as_str()
    );
    let r = raw
        .get(
            reqwest::Url::parse_with_params(
                &format!("{}/common/discovery/instance", e.url),
                &[(
                    "authorization_endpoint",
                    "https://login.example/t/oauth2/v2.0/authorize",
                )],
            )
            .unwrap(),
        )
        .send()
        .unwrap();
    assert_aadsts(r, 400, "invalid_instance", 50049, "another instance");

    // The token endpoint's refusals.
    let c = e.credentials();
    let (id, secret) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    let scope = "https://managedhsm.azure.net/.default";
    let token_url = |t: &str| format!("{}/{t}/oauth2/v2.0/token", e.url);
    let cases: [TokenCase; 7] = [
        (
            "unknown tenant",
            vec![
                ("client_id", id),
                ("client_secret", secret),
                ("scope", scope),
            ],
            400,
            "invalid_request",
            90002,
        ),
        (
            "unknown client",
            vec![
                ("client_id", "no-such-app"),
                ("client_secret", secret),
                ("scope", scope),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            "wrong secret",
            vec![
                ("client_id", id),
                ("client_secret", "wrong"),
                ("scope", scope),
            ],
            401,
            "invalid_client",
            7000215,
        ),
        (
            "no secret",
            vec![("client_id", id), ("scope", scope)],
            401,
            "invalid_client",
            7000216,
        ),
        (
            "scope without /.default",
            vec![
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "https://managedhsm.azure.net"),
            ],
            400,
            "invalid_scope",
            70011,
        ),
        (
            "unknown resource",
            vec![
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "https://vault.azure.net/.default"),
            ],
            400,
            "invalid_resource",
            500011,
        ),
        (
            "no scope",
            vec![("client_id", id), ("client_secret", secret)],
            400,
            "invalid_request",
            900144,
        ),
    ];
    for (what, mut form, status, error, code) in cases {
        form.push(("grant_type", "client_credentials"));
        let t = if what == "unknown tenant" {
            "not-a-tenant"
        } else {
            tenant.as_str()
        };
        let r = raw.post(token_url(t)).form(&form).send().unwrap();
        assert_aadsts(r, status, error, code, what);
    }
    let r = raw
        .post(token_url(&tenant))
        .form(&[
            ("grant_type", "password"),
            ("client_id", id),
            ("scope", scope),
        ])
        .send()
        .unwrap();
    assert_aadsts(r, 400, "unsupported_grant_type", 70003, "password grant");
    // A body that is not a form: still Entra ID's error shape.
    let r = raw
        .post(token_url(&tenant))
        .json(&json!({"client_id": id}))
        .send()
        .unwrap();
    assert!(r.status().is_client_error());
    assert!(content_type(&r).starts_with("application/json"));
    assert!(r.json::<Value>().unwrap()["error_description"]
        .as_str()
        .is_some_and(|d| d.starts_with("AADSTS")));
    // And the right answer is a token.
    let r = raw
        .post(token_url(&tenant))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().unwrap()["access_token"].is_string());
}
