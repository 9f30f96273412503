//! The emulator at the HTTP level, with a plain HTTPS client: identity, authentication and
//! authorisation failures, provisioning, the security-domain routes, RBAC; its security
//! domains checked by `sdctl sd verify`, and recovered onto a second HSM.

#![cfg(feature = "online")]

mod common;

use common::emulator::{download_request, jwk, TestEmulator};
use common::Fixture;
use serde_json::{json, Value};

const HSM: &str = "https://managedhsm.azure.net";
const ARM: &str = "https://management.azure.com";

fn token_request(
    e: &TestEmulator,
    tenant: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> reqwest::blocking::Response {
    e.client
        .post(format!("{}/{tenant}/oauth2/v2.0/token", e.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .unwrap()
}

#[test]
fn files_and_token_endpoint() {
    let e = TestEmulator::start(&["alpha"]);
    let info = e.info();
    assert_eq!(info["url"], e.url.as_str());
    assert_eq!(info["hsms"]["alpha"], e.hsm("alpha").as_str());
    for f in [
        "admin-credentials.json",
        "admin.token",
        "state.json",
        "ca.key",
    ] {
        assert_eq!(common::mode_of(&e.dir.join(f)), 0o600, "{f}");
    }
    let c = e.credentials();
    let (tenant, id, secret) = (
        c["tenant_id"].as_str().unwrap(),
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    let ok = token_request(
        &e,
        tenant,
        id,
        secret,
        "https://managedhsm.azure.net/.default",
    );
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    // The token works on the data plane: no download yet is a 404, not a 401.
    let r = e
        .get(
            &format!("{}/securitydomain/download/pending", e.hsm("alpha")),
            token,
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);

    let cases = [
        (
            tenant,
            id,
            "wrong-secret",
            "https://managedhsm.azure.net/.default",
            401,
            "invalid_client",
        ),
        (
            "other-tenant",
            id,
            secret,
            "https://managedhsm.azure.net/.default",
            400,
            "invalid_request",
        ),
        (
            tenant,
            "unknown-app",
            secret,
            "https://managedhsm.azure.net/.default",
            400,
            "unauthorized_client",
        ),
        (
            tenant,
            id,
            secret,
            "https://vault.azure.net/.default",
            400,
            "invalid_resource",
        ),
    ];
    for (t, i, s, scope, status, error) in cases {
        let r = token_request(&e, t, i, s, scope);
        assert_eq!(r.status(), status, "{error}");
        assert_eq!(r.json::<Value>().unwrap()["error"], error);
    }
}

#[test]
fn authentication_and_authorisation_failures() {
    let e = TestEmulator::start(&["alpha"]);
    let url = format!("{}/securitydomain/download/pending", e.hsm("alpha"));
    let no_token = e.client.get(&url).send().unwrap();
    assert_eq!(no_token.status(), 401);
    let challenge = no_token.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let tenant = e.info()["tenant_id"].as_str().unwrap().to_owned();
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization=\"{}/{tenant}\", resource=\"{HSM}\"",
            e.url
        )
    );
    assert_eq!(
        no_token.json::<Value>().unwrap()["error"]["code"],
        "Unauthorized"
    );

    let admin = e.credentials()["object_id"].as_str().unwrap().to_owned();
    let forged = {
        let t = e.admin_token();
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[2] = sdctl::primitives::base64url::encode(&[7u8; 256]);
        parts.join(".")
    };
    let cases = [
        ("garbage".to_owned(), "malformed"),
        (forged, "signature is invalid"),
        (e.mint(&admin, ARM, 0), "audience"),
        (e.mint(&admin, HSM, 7200), "expired"),
    ];
    for (token, needle) in cases {
        let r = e.get(&url, &token).send().unwrap();
        assert_eq!(r.status(), 401, "{needle}");
        assert!(r.headers().contains_key("www-authenticate"));
        let body: Value = r.json().unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{body}"
        );
    }
    // A valid token of a principal with no role: 403 with a Key Vault error body.
    let r = e
        .get(
            &url,
            &e.mint("00000000-1111-2222-3333-444444444444", HSM, 0),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "Forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Microsoft.KeyVault/managedHsm/securitydomain/download/read"));
}

#[test]
fn arm_provisioning() {
    let e = TestEmulator::start(&[]);
    let c = e.credentials();
    let token = e.mint(c["object_id"].as_str().unwrap(), ARM, 0);
    let url = format!("{}/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.KeyVault/managedHSMs/gamma?api-version=2023-07-01", e.url);
    let body = json!({"location": "local", "sku": {"family": "B", "name": "Standard_B1"},
        "properties": {"tenantId": c["tenant_id"], "initialAdminObjectIds": [c["object_id"]]}});
    let r = e
        .client
        .put(&url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert_eq!(v["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        v["properties"]["securityDomainProperties"]["activationStatus"],
        "NotActivated"
    );
    assert_eq!(v["properties"]["hsmUri"], format!("{}/", e.hsm("gamma")));
    assert_eq!(
        e.client
            .put(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        e.client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
    let mut wrong = body.clone();
    wrong["properties"]["tenantId"] = json!("another-tenant");
    let other = url.replace("gamma", "delta");
    assert_eq!(
        e.client
            .put(&other)
            .bearer_auth(&token)
            .json(&wrong)
            .send()
            .unwrap()
            .status(),
        400
    );
    let missing = e.client.get(&other).bearer_auth(&token).send().unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().unwrap()["error"]["code"],
        "ResourceNotFound"
    );
    assert_eq!(e.client.get(&url).send().unwrap().status(), 401);
}

/// Custodians a..d and a 1024-bit one, made with openssl.
fn custodians() -> Fixture {
    let fx = Fixture::new();
    for n in ["a", "b", "c", "d"] {
        fx.openssl_custodian(n, 2048);
    }
    fx.openssl_custodian("small", 1024);
    fx
}

fn request(fx: &Fixture, certs: &[&str], required: usize) -> Value {
    download_request(fx.dir.path(), certs, required)
}

#[test]
fn download_validates_the_certificate_info_object() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = custodians();
    let token = e.admin_token();
    let url = format!("{}/securitydomain/download", e.hsm("alpha"));
    let mut inconsistent = request(&fx, &["a.cer", "b.cer", "c.cer"], 2);
    inconsistent["certificates"][1]["n"] = jwk(&fx.path("d.cer"))["n"].clone();
    let mut thumb = request(&fx, &["a.cer", "b.cer", "c.cer"], 2);
    thumb["certificates"][2]["x5t#S256"] = json!("AAAA");
    let mut no_x5c = request(&fx, &["a.cer", "b.cer", "c.cer"], 2);
    no_x5c["certificates"][0]
        .as_object_mut()
        .unwrap()
        .remove("x5c");
    let cases = [
        (
            request(&fx, &["a.cer", "b.cer"], 2),
            "2 certificates given; 3 to 10 are required",
        ),
        (
            request(&fx, &["a.cer", "b.cer", "c.cer"], 1),
            "'required' is 1",
        ),
        (
            request(&fx, &["a.cer", "b.cer", "c.cer"], 4),
            "'required' is 4",
        ),
        (
            request(&fx, &["a.cer", "b.cer", "small.cer"], 2),
            "certificates[2]: RSA keys of at least 2048 bits",
        ),
        (
            request(&fx, &["a.cer", "b.cer", "a.cer"], 2),
            "carries the same key",
        ),
        (
            inconsistent,
            "certificates[1]: n/e do not match the certificate in x5c",
        ),
        (thumb, "certificates[2]: x5t#S256 does not match"),
        (no_x5c, "certificates[0]: x5c[0] must hold the certificate"),
    ];
    for (body, needle) in cases {
        let r = e.post(&url, &token, &body).send().unwrap();
        assert_eq!(r.status(), 400, "{needle}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["error"]["code"], "BadParameter");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    // Nothing was activated by the refused requests.
    assert_eq!(
        e.get(&format!("{url}/pending"), &token)
            .send()
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn activate_then_recover_onto_a_second_hsm() {
    let e = TestEmulator::start(&["alpha", "beta", "gamma"]);
    let fx = custodians();
    let token = e.admin_token();
    let alpha = e.hsm("alpha");
    let r = e
        .post(
            &format!("{alpha}/securitydomain/download"),
            &token,
            &request(&fx, &["a.cer", "b.cer", "c.cer"], 2),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.headers()["azure-asyncoperation"],
        format!("{alpha}/securitydomain/download/pending?api-version=7.4").as_str()
    );
    assert_eq!(r.headers()["retry-after"], "1");
    let sd = r.json::<Value>().unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(fx.path("sd.json"), &sd).unwrap();
    let first: Value = e.get_json(&format!("{alpha}/securitydomain/download/pending"), &token);
    assert_eq!(first["status"], "InProgress");
    assert_eq!(
        e.wait(&format!("{alpha}/securitydomain/download/pending"), &token)["status"],
        "Success"
    );
    assert_eq!(
        fx.run("sd verify --sd-file sd.json --sd-wrapping-keys a.key c.key")
            .code,
        0
    );
    // A second download on the active HSM: a fresh SD (other custodians) for the same state.
    download_sd(
        &e,
        &fx,
        "alpha",
        &["b.cer", "c.cer", "d.cer"],
        3,
        "sd2.json",
    );
    let state = |name: &str, keys: &[&str]| {
        let file = sdctl::domain::SdFile::read(&fx.path(name)).unwrap();
        let keys: Vec<_> = keys
            .iter()
            .map(|k| {
                sdctl::keys::load_wrapping_key(
                    &fx.path(k),
                    0,
                    &sdctl::passphrase::PassphraseSource::Unavailable,
                )
                .unwrap()
            })
            .collect();
        let u = sdctl::domain::unlock::unlock(&file.path, &file.domain, &keys).unwrap();
        sdctl::domain::data::open_all(&file.path, &file.domain.enc_data, &u.master_key)
            .unwrap()
            .into_iter()
            .map(|d| (d.tag, d.plaintext.to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        state("sd.json", &["a.key", "b.key"]),
        state("sd2.json", &["b.key", "c.key", "d.key"])
    );

    // gamma: a restore blob for somebody else's exchange key fails with a precise reason.
    let gamma = e.hsm("gamma");
    let t: Value = e.get_json(&format!("{gamma}/securitydomain/upload"), &token);
    assert!(
        t["transfer_key"].is_string(),
        "the service sends transfer_key as a JSON string"
    );
    fx.openssl_custodian("stranger", 2048);
    assert_eq!(fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key stranger.cer --sd-wrapping-keys a.key b.key --sd-file-restore-blob wrong.json").code, 0);
    let body = json!({"value": std::fs::read_to_string(fx.path("wrong.json")).unwrap()});
    let r = e
        .post(&format!("{gamma}/securitydomain/upload"), &token, &body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let failed = e.wait(&format!("{gamma}/securitydomain/upload/pending"), &token);
    assert_eq!(failed["status"], "Failed");
    assert!(
        failed["status_details"]
            .as_str()
            .unwrap()
            .contains("is not the thumbprint of this HSM's transfer key"),
        "{failed}"
    );

    // beta: transfer key, restore blob offline, upload, Success, Active.
    let beta = e.hsm("beta");
    let transfer = e
        .get(&format!("{beta}/securitydomain/upload"), &token)
        .send()
        .unwrap()
        .text()
        .unwrap();
    std::fs::write(fx.path("transfer.json"), transfer).unwrap();
    let run = fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key transfer.json --sd-wrapping-keys b.key c.key --sd-file-restore-blob blob.json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = json!({"value": std::fs::read_to_string(fx.path("blob.json")).unwrap()});
    let r = e
        .post(&format!("{beta}/securitydomain/upload"), &token, &body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.headers()["azure-asyncoperation"],
        format!("{beta}/securitydomain/upload/pending?api-version=7.4").as_str()
    );
    assert_eq!(r.json::<Value>().unwrap()["status"], "InProgress");
    assert_eq!(
        e.wait(&format!("{beta}/securitydomain/upload/pending"), &token)["status"],
        "Success"
    );
    // Beta now holds alpha's state: a download from beta opens to the same data.
    download_sd(
        &e,
        &fx,
        "beta",
        &["a.cer", "b.cer", "c.cer"],
        2,
        "sd-beta.json",
    );
    assert_eq!(
        state("sd-beta.json", &["a.key", "c.key"]),
        state("sd.json", &["a.key", "b.key"])
    );
    // An active HSM gives no transfer key and takes no upload.
    assert_eq!(
        e.get(&format!("{beta}/securitydomain/upload"), &token)
            .send()
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        e.post(&format!("{beta}/securitydomain/upload"), &token, &body)
            .send()
            .unwrap()
            .status(),
        400
    );
}

#[test]
fn custom_role_for_security_domain_officers() {
    let e = TestEmulator::start(&["alpha"]);
    let fx = custodians();
    let admin = e.admin_token();
    let alpha = e.hsm("alpha");
    let role = "11111111-2222-3333-4444-555555555555";
    let definition = json!({"properties": {"roleName": "SD officer", "type": "CustomRole", "description": "security domain only",
        "assignableScopes": ["/"], "permissions": [{"actions": [], "notActions": [], "dataActions": [
            "Microsoft.KeyVault/managedHsm/securitydomain/download/action",
            "Microsoft.KeyVault/managedHsm/securitydomain/download/read"], "notDataActions": []}]}});
    let r = e
        .client
        .put(format!(
            "{alpha}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        ))
        .bearer_auth(&admin)
        .json(&definition)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().unwrap();
    assert_eq!(
        v["id"],
        format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{role}")
            .as_str()
    );
    assert_eq!(v["type"], "Microsoft.Authorization/roleDefinitions");
    let officer = "99999999-8888-7777-6666-555555555555";
    let assignment =
        json!({"properties": {"scope": "/", "roleDefinitionId": v["id"], "principalId": officer}});
    let r = e
        .client
        .put(format!(
            "{alpha}/providers/Microsoft.Authorization/roleAssignments/a-1"
        ))
        .bearer_auth(&admin)
        .json(&assignment)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = e.mint(officer, HSM, 0);
    let r = e
        .post(
            &format!("{alpha}/securitydomain/download"),
            &token,
            &request(&fx, &["a.cer", "b.cer", "c.cer"], 2),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    // Not a role administrator, not an uploader.
    let r = e
        .client
        .put(format!(
            "{alpha}/providers/Microsoft.Authorization/roleAssignments/a-2"
        ))
        .bearer_auth(&token)
        .json(&assignment)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        e.get(&format!("{alpha}/securitydomain/upload/pending"), &token)
            .send()
            .unwrap()
            .status(),
        403
    );
    // Built-in roles are listed and cannot be changed; an assigned custom role cannot go.
    let list: Value = e.get_json(
        &format!("{alpha}/providers/Microsoft.Authorization/roleDefinitions"),
        &admin,
    );
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["properties"]["roleName"].as_str())
        .collect();
    assert!(
        names.contains(&"Managed HSM Administrator") && names.contains(&"SD officer"),
        "{names:?}"
    );
    let builtin = e.client.put(format!("{alpha}/providers/Microsoft.Authorization/roleDefinitions/a290e904-7015-4bba-90c8-60543313cdb4")).bearer_auth(&admin).json(&definition).send().unwrap();
    assert_eq!(builtin.status(), 403);
    let del = e
        .client
        .delete(format!(
            "{alpha}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        ))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(del.status(), 409);
}

/// Downloads a security domain of `hsm` for `certs` with `required`; saves it as `out`.
fn download_sd(
    e: &TestEmulator,
    fx: &Fixture,
    hsm: &str,
    certs: &[&str],
    required: usize,
    out: &str,
) {
    let url = format!("{}/securitydomain/download", e.hsm(hsm));
    let r = e
        .post(&url, &e.admin_token(), &request(fx, certs, required))
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let sd = r.json::<Value>().unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(fx.path(out), sd).unwrap();
}

/// Activates `hsm` for custodians a, b, c (quorum 2), saving its security domain as `sd_out`.
fn activate(e: &TestEmulator, fx: &Fixture, hsm: &str, sd_out: &str) {
    download_sd(e, fx, hsm, &["a.cer", "b.cer", "c.cer"], 2, sd_out);
    let pending = format!("{}/securitydomain/download/pending", e.hsm(hsm));
    assert_eq!(e.wait(&pending, &e.admin_token())["status"], "Success");
}

/// Recovers `hsm` from the security domain in `sd_file`: transfer key, restore blob made
/// offline with custodians a and c, upload, Success.
fn recover(e: &TestEmulator, fx: &Fixture, sd_file: &str, hsm: &str) {
    let token = e.admin_token();
    let base = e.hsm(hsm);
    std::fs::write(
        fx.path("transfer.json"),
        e.get(&format!("{base}/securitydomain/upload"), &token)
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    let run = fx.run(&format!("sd restore-blob --sd-file {sd_file} --sd-exchange-key transfer.json --sd-wrapping-keys a.key c.key --sd-file-restore-blob blob.json --force"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let upload = json!({"value": std::fs::read_to_string(fx.path("blob.json")).unwrap()});
    assert_eq!(
        e.post(&format!("{base}/securitydomain/upload"), &token, &upload)
            .send()
            .unwrap()
            .status(),
        202
    );
    assert_eq!(
        e.wait(&format!("{base}/securitydomain/upload/pending"), &token)["status"],
        "Success"
    );
}

#[test]
fn recovery_end_to_end_with_key_backup() {
    let e = TestEmulator::start(&["hsm-a", "hsm-b", "hsm-c"]);
    let fx = custodians();
    let token = e.admin_token();
    for h in ["hsm-a", "hsm-b", "hsm-c"] {
        e.grant_crypto_user(h);
    }
    // Before activation every key operation is refused.
    let early = e
        .post(
            &format!("{}/keys/k1/create", e.hsm("hsm-a")),
            &token,
            &json!({"kty": "RSA-HSM", "key_size": 2048}),
        )
        .send()
        .unwrap();
    assert_eq!(early.status(), 409);
    assert_eq!(
        early.json::<Value>().unwrap()["error"]["code"],
        "HsmNotActivated"
    );

    activate(&e, &fx, "hsm-a", "sd-a.json");
    let a = e.hsm("hsm-a");
    let created = e.create_key("hsm-a", "app-key");
    assert_eq!(created["key"]["kty"], "RSA-HSM");
    let aes: Value = e.post_json(
        &format!("{a}/keys/aes-key/create"),
        &token,
        &json!({"kty": "oct-HSM", "key_size": 256}),
    );
    assert_eq!(aes["key"]["kty"], "oct-HSM");
    let listed: Value = e.get_json(&format!("{a}/keys"), &token);
    assert_eq!(listed["value"].as_array().unwrap().len(), 2);
    let backup = e.backup_key("hsm-a", "app-key");

    // Recovery: transfer key from B, restore blob offline, upload, Success.
    recover(&e, &fx, "sd-a.json", "hsm-b");
    let b = e.hsm("hsm-b");

    // B restores A's key: same public key.
    let restored = e.restore_key("hsm-b", &backup);
    assert_eq!(restored.status(), 200);
    let restored: Value = restored.json().unwrap();
    assert_eq!(restored["key"]["n"], created["key"]["n"]);
    let got: Value = e.get_json(&format!("{b}/keys/app-key"), &token);
    assert_eq!(got["key"]["n"], created["key"]["n"]);

    // C, activated with its own security domain, refuses A's backup.
    activate(&e, &fx, "hsm-c", "sd-c.json");
    let refused = e.restore_key("hsm-c", &backup);
    assert_eq!(refused.status(), 400);
    assert!(refused.json::<Value>().unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("different security domain"));
}

#[test]
fn faults_are_scripted_per_route_with_counts() {
    let e = TestEmulator::start(&["alpha"]);
    let token = e.admin_token();
    let admin_url = format!("{}/_emulator/faults", e.url);
    let add = |route: &str, kind: &str, n: u32| {
        let r = e
            .post(
                &admin_url,
                &token,
                &json!({"route": route, "kind": kind, "remaining": n}),
            )
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{route}={kind}");
    };
    let pending = format!("{}/securitydomain/download/pending", e.hsm("alpha"));
    add("download/pending", "429", 2);
    add("download/pending", "503", 1);
    for expected in [429, 429, 503] {
        let r = e.get(&pending, &token).send().unwrap();
        assert_eq!(r.status(), expected);
        assert_eq!(r.headers()["retry-after"], "1");
    }
    assert_eq!(
        e.get(&pending, &token).send().unwrap().status(),
        404,
        "faults used up"
    );

    add("upload/pending", "inprogress", 1);
    let v: Value = e.get_json(
        &format!("{}/securitydomain/upload/pending", e.hsm("alpha")),
        &token,
    );
    assert_eq!(v["status"], "InProgress");

    add("keys", "drop", 1);
    let dropped = e.get(&format!("{}/keys", e.hsm("alpha")), &token).send();
    assert!(
        dropped.is_err(),
        "the connection should be dropped without an answer"
    );
    add("arm", "500", 1);
    let arm = format!("{}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sdctl-emulator/providers/Microsoft.KeyVault/managedHSMs/alpha", e.url);
    let r = e.get(&arm, &token).send().unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.json::<Value>().unwrap()["error"]["code"],
        "InternalServerError"
    );
    assert_eq!(e.get(&arm, &token).send().unwrap().status(), 200);

    add("*", "latency-100", 2);
    let listed: Value = e.get_json(&admin_url, &token);
    assert_eq!(listed["faults"][0]["remaining"], 2);
    assert_eq!(
        e.client
            .delete(&admin_url)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        204
    );
    let listed: Value = e.get_json(&admin_url, &token);
    assert_eq!(listed["faults"].as_array().unwrap().len(), 0);

    // Only the administrator scripts faults, and nonsense is refused.
    let other = e.mint("00000000-1111-2222-3333-444444444444", HSM, 0);
    assert_eq!(
        e.post(
            &admin_url,
            &other,
            &json!({"route": "keys", "kind": "500", "remaining": 1})
        )
        .send()
        .unwrap()
        .status(),
        403
    );
    let bad = e
        .post(
            &admin_url,
            &token,
            &json!({"route": "keys", "kind": "teapot", "remaining": 1}),
        )
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[test]
fn full_backup_restores_only_on_the_same_security_domain() {
    let e = TestEmulator::start(&["hsm-a", "hsm-b", "hsm-c"]);
    let fx = custodians();
    let token = e.admin_token();
    for h in ["hsm-a", "hsm-b", "hsm-c"] {
        e.grant_crypto_user(h);
    }
    activate(&e, &fx, "hsm-a", "sd-a.json");
    let a = e.hsm("hsm-a");
    let key: Value = e.post_json(
        &format!("{a}/keys/payroll/create"),
        &token,
        &json!({"kty": "RSA-HSM", "key_size": 3072}),
    );
    std::fs::create_dir(fx.path("storage")).unwrap();
    let storage = format!("file://{}", fx.path("storage").display());
    let started = e
        .post(
            &format!("{a}/backup"),
            &token,
            &json!({"storageResourceUri": storage, "token": "unused"}),
        )
        .send()
        .unwrap();
    assert_eq!(started.status(), 202);
    let status_url = started.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    let done = e.wait(&status_url, &token);
    assert_eq!(done["status"], "Succeeded", "{done}");
    let folder_uri = done["azureStorageBlobContainerUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let folder = folder_uri.rsplit('/').next().unwrap().to_owned();
    assert!(fx
        .path("storage")
        .join(&folder)
        .join("backup.json")
        .exists());

    recover(&e, &fx, "sd-a.json", "hsm-b");
    let b = e.hsm("hsm-b");
    let restore = json!({"sasTokenParameters": {"storageResourceUri": storage, "token": "unused"}, "folderToRestore": folder});
    let started = e
        .client
        .put(format!("{b}/restore"))
        .bearer_auth(&token)
        .json(&restore)
        .send()
        .unwrap();
    assert_eq!(started.status(), 202);
    let status_url = started.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(e.wait(&status_url, &token)["status"], "Succeeded");
    let got: Value = e.get_json(&format!("{b}/keys/payroll"), &token);
    assert_eq!(got["key"]["n"], key["key"]["n"]);

    // An HSM with its own security domain cannot restore it.
    activate(&e, &fx, "hsm-c", "sd-c.json");
    let c = e.hsm("hsm-c");
    let started = e
        .client
        .put(format!("{c}/restore"))
        .bearer_auth(&token)
        .json(&restore)
        .send()
        .unwrap();
    let status_url = started.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    let failed = e.wait(&status_url, &token);
    assert_eq!(failed["status"], "Failed");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("different security domain"),
        "{failed}"
    );
    // Bad storage locations are refused up front.
    let bad = e
        .post(
            &format!("{a}/backup"),
            &token,
            &json!({"storageResourceUri": "https://account.blob.core.windows.net/c"}),
        )
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    let escape =
        json!({"sasTokenParameters": {"storageResourceUri": storage}, "folderToRestore": "../etc"});
    assert_eq!(
        e.client
            .put(format!("{b}/restore"))
            .bearer_auth(&token)
            .json(&escape)
            .send()
            .unwrap()
            .status(),
        400
    );
}
