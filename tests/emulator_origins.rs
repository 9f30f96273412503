//! Each emulated HSM at the root of its own origin (`https://127.0.0.1:PORT`), as the
//! official SDKs expect a Managed HSM: what each listener answers, the ids and status URLs
//! the emulator hands out, HSMs kept apart, and `emulator.json` naming every origin.

#![cfg(feature = "online")]

mod common;

use common::emulator::{download_request, TestEmulator};
use common::Fixture;
use serde_json::{json, Value};

const ARM: &str = "https://management.azure.com";
const ASSIGNMENTS: &str = "providers/Microsoft.Authorization/roleAssignments";

/// Asserts that `url` is the root of a loopback https origin: scheme, host, port, no path.
fn assert_origin(url: &str) {
    let parsed = reqwest::Url::parse(url).unwrap();
    assert_eq!(parsed.scheme(), "https", "{url}");
    assert_eq!(parsed.host_str(), Some("127.0.0.1"), "{url}");
    assert!(parsed.port().is_some(), "{url}");
    assert_eq!(parsed.path(), "/", "{url}");
    assert!(
        !url.ends_with('/'),
        "a base URL without a trailing slash: {url}"
    );
}

fn status(e: &TestEmulator, url: &str) -> u16 {
    e.get(url, &e.admin_token())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn emulator_json_maps_each_hsm_to_its_own_origin_which_serves_only_its_data_plane() {
    let e = TestEmulator::start(&["hsm-a", "hsm-b"]);
    let info = e.info();
    let hsms = info["hsms"].as_object().unwrap();
    assert_eq!(hsms.len(), 2, "{info}");
    let (a, b) = (e.hsm("hsm-a"), e.hsm("hsm-b"));
    for url in [&a, &b] {
        assert_origin(url);
    }
    // Three listeners: the main one and one per HSM.
    assert_ne!(a, b);
    assert!(![&a, &b].contains(&&e.url));
    // The data plane at each origin's root.
    assert_eq!(status(&e, &format!("{a}/{ASSIGNMENTS}")), 200);
    assert_eq!(status(&e, &format!("{b}/{ASSIGNMENTS}")), 200);
    // The old `/hsm/NAME` prefix is gone, from the main listener and from the origins.
    assert_eq!(
        status(&e, &format!("{}/hsm/hsm-a/{ASSIGNMENTS}", e.url)),
        404
    );
    assert_eq!(status(&e, &format!("{a}/hsm/hsm-a/{ASSIGNMENTS}")), 404);
    assert_eq!(status(&e, &format!("{}/{ASSIGNMENTS}", e.url)), 404);
    // The token endpoint, Resource Manager and the fault API stay on the main listener.
    let tenant = info["tenant_id"].as_str().unwrap();
    let form = [("grant_type", "client_credentials")];
    for base in [&a, &b] {
        let token = format!("{base}/{tenant}/oauth2/v2.0/token");
        // An HSM's origin authenticates before it routes: no token, the challenge.
        let r = e.client.post(&token).form(&form).send().unwrap();
        assert_eq!(r.status(), 401, "{token}");
        let arm = format!("{base}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sdctl-emulator/providers/Microsoft.KeyVault/managedHSMs/hsm-a");
        assert_eq!(status(&e, &arm), 404, "{arm}");
        assert_eq!(status(&e, &format!("{base}/_emulator/faults")), 404);
    }
    let token = format!("{}/{tenant}/oauth2/v2.0/token", e.url);
    let r = e.client.post(&token).form(&form).send().unwrap();
    assert_eq!(
        r.status(),
        400,
        "the main listener still answers for the token endpoint"
    );
    assert_eq!(info["token_url"], token.as_str());
    assert_eq!(info["authority_host"], e.url.as_str());
}

#[test]
fn ids_and_status_urls_carry_the_hsms_origin() {
    let e = TestEmulator::start(&["hsm-a", "hsm-b"]);
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let token = e.admin_token();
    let (a, b) = (e.hsm("hsm-a"), e.hsm("hsm-b"));

    // Security domain download: its status URL.
    let r = e
        .post(
            &format!("{a}/securitydomain/download"),
            &token,
            &download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let pending = r.headers()["azure-asyncoperation"].to_str().unwrap();
    // (The status URL carries the request's api-version, as the service's do.)
    assert_eq!(
        pending.split('?').next(),
        Some(format!("{a}/securitydomain/download/pending").as_str())
    );
    assert_eq!(e.wait(pending, &token)["status"], "Success");

    // A key's id, as created and as listed: https://127.0.0.1:PORT/keys/NAME/VERSION.
    e.grant_crypto_user("hsm-a");
    let key = e.create_key("hsm-a", "app-key");
    let kid = key["key"]["kid"].as_str().unwrap();
    let version = kid
        .strip_prefix(&format!("{a}/keys/app-key/"))
        .unwrap_or_else(|| panic!("{kid} is not {a}/keys/app-key/VERSION"));
    assert!(!version.is_empty() && !version.contains('/'), "{kid}");
    let listed = e.get_json(&format!("{a}/keys"), &token);
    assert_eq!(
        listed["value"][0]["kid"],
        format!("{a}/keys/app-key").as_str()
    );
    assert_eq!(status(&e, &format!("{a}/keys/app-key")), 200);

    // The transfer key of the other HSM: its id is on that HSM's origin.
    let transfer = e.get_json(&format!("{b}/securitydomain/upload"), &token);
    let transfer_kid = transfer["transfer_key"]
        .as_str()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .map(|jwk| jwk["kid"].as_str().unwrap_or_default().to_owned())
        .unwrap();
    assert!(
        transfer_kid.starts_with(&format!("{b}/keys/transferkey/")),
        "{transfer_kid}"
    );

    // A full backup: its status URL, polled where it points.
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
    let job = started.json::<Value>().unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        status_url.split('?').next(),
        Some(format!("{a}/backup/{job}/pending").as_str())
    );
    let done = e.wait(&status_url, &token);
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert!(done["azureStorageBlobContainerUri"]
        .as_str()
        .unwrap()
        .starts_with(&storage));

    // No id anywhere says /hsm/.
    for id in [pending, kid, &transfer_kid, &status_url] {
        assert!(!id.contains("/hsm/"), "{id}");
    }
}

#[test]
fn two_hsms_keep_their_state_apart_and_one_made_at_run_time_gets_its_own_origin() {
    let e = TestEmulator::start(&["hsm-a", "hsm-b"]);
    let token = e.admin_token();
    let (a, b) = (e.hsm("hsm-a"), e.hsm("hsm-b"));
    e.grant_crypto_user("hsm-a");
    assert_eq!(status(&e, &format!("{a}/{ASSIGNMENTS}/crypto-user")), 200);
    assert_eq!(status(&e, &format!("{b}/{ASSIGNMENTS}/crypto-user")), 404);
    // Activating hsm-a leaves hsm-b as it was.
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let body = download_request(fx.dir.path(), &["a.cer", "b.cer", "c.cer"], 2);
    let r = e
        .post(&format!("{a}/securitydomain/download"), &token, &body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    let pending = "securitydomain/download/pending";
    assert_eq!(
        e.wait(&format!("{a}/{pending}"), &token)["status"],
        "Success"
    );
    assert_eq!(status(&e, &format!("{b}/{pending}")), 404);

    // Provisioned through Resource Manager while running: a new origin, listed at once.
    let c = e.credentials();
    let arm_token = e.mint(c["object_id"].as_str().unwrap(), ARM, 0);
    let url = format!("{}/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.KeyVault/managedHSMs/gamma?api-version=2023-07-01", e.url);
    let body = json!({"location": "local", "sku": {"family": "B", "name": "Standard_B1"},
        "properties": {"tenantId": c["tenant_id"], "initialAdminObjectIds": [c["object_id"]]}});
    let r = e
        .client
        .put(&url)
        .bearer_auth(&arm_token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let uri = r.json::<Value>().unwrap()["properties"]["hsmUri"]
        .as_str()
        .unwrap()
        .to_owned();
    let gamma = e.hsm("gamma");
    assert_origin(&gamma);
    assert_eq!(uri, format!("{gamma}/"));
    assert!(![&a, &b, &e.url].contains(&&gamma));
    assert_eq!(status(&e, &format!("{gamma}/{ASSIGNMENTS}")), 200);
    assert_eq!(e.info()["hsms"].as_object().unwrap().len(), 3);
}

#[test]
fn on_ipv6_loopback_every_origin_is_on_that_address() {
    let fx = Fixture::new();
    let dir = fx.path("state");
    let e = TestEmulator::start_configured(&dir, &["hsm-a"], |c| {
        c.listen = "[::1]:0".parse().unwrap();
    });
    let a = e.hsm("hsm-a");
    assert!(e.url.starts_with("https://[::1]:"), "{}", e.url);
    assert!(a.starts_with("https://[::1]:") && a != e.url, "{a}");
    // The one certificate covers ::1 on every port.
    assert_eq!(status(&e, &format!("{a}/{ASSIGNMENTS}")), 200);
}

#[test]
fn the_subscription_list_needs_a_resource_manager_token() {
    let e = TestEmulator::start(&["hsm-a"]);
    let c = e.credentials();
    let oid = c["object_id"].as_str().unwrap();
    let url = format!("{}/subscriptions?api-version=2022-12-01", e.url);
    let list = |token: Option<String>| {
        let r = e.client.raw.get(&url);
        let r = match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        };
        r.send().unwrap()
    };
    let r = list(Some(e.mint(oid, ARM, 0)));
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    let subs = body["value"].as_array().unwrap();
    assert_eq!(subs.len(), 1, "{body}");
    assert_eq!(
        subs[0]["subscriptionId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(subs[0]["tenantId"], c["tenant_id"]);
    // Getting past the check: no token, a data-plane token, an expired ARM token.
    assert_eq!(list(None).status(), 401);
    assert_eq!(list(Some(e.admin_token())).status(), 401);
    assert_eq!(list(Some(e.mint(oid, ARM, 7200))).status(), 401);
}
