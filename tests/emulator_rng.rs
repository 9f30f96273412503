//! `POST /rng` over HTTPS: random bytes for a caller holding `rng/action`, the count's
//! bounds (1 to 128), 401 without a token, 403 without the data action, 409 on an HSM
//! that is not activated.

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use serde_json::{json, Value};

const RNG_ROLE: &str = "6a5d3c1b-0f1e-4d2c-9b8a-7f6e5d4c3b2a";

/// Gives the administrator, on `hsm`, a custom role at `/` holding only `rng/action`.
fn grant_rng(e: &TestEmulator, hsm: &str) {
    let base = e.hsm(hsm);
    let token = e.admin_token();
    let definition = json!({"properties": {"roleName": "Random bytes", "type": "CustomRole",
        "assignableScopes": ["/"], "permissions": [{"actions": [], "notActions": [],
        "dataActions": ["Microsoft.KeyVault/managedHsm/rng/action"], "notDataActions": []}]}});
    let url = format!("{base}/providers/Microsoft.Authorization/roleDefinitions/{RNG_ROLE}");
    let r = e
        .client
        .put(url)
        .bearer_auth(&token)
        .json(&definition)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let assignment = json!({"properties": {"scope": "/", "principalId": e.admin_oid(),
        "roleDefinitionId": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{RNG_ROLE}")}});
    let url = format!("{base}/providers/Microsoft.Authorization/roleAssignments/rng-user");
    let r = e
        .client
        .put(url)
        .bearer_auth(&token)
        .json(&assignment)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// `POST /rng` with `body` as the administrator: status and JSON body.
fn rng(e: &TestEmulator, hsm: &str, body: &Value) -> (u16, Value) {
    let r = e
        .post(&format!("{}/rng", e.hsm(hsm)), &e.admin_token(), body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

fn bytes(answer: &Value) -> Vec<u8> {
    let text = answer["value"].as_str().unwrap();
    assert!(
        !text.contains('=') && !text.contains('+') && !text.contains('/'),
        "{text}"
    );
    sdctl::primitives::base64url::decode(text).unwrap()
}

#[test]
fn random_bytes_need_the_data_action_and_respect_the_count() {
    let e = TestEmulator::start(&["alpha"]);
    e.activate("alpha");

    let (status, refused) = rng(&e, "alpha", &json!({"count": 16}));
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "Forbidden");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Microsoft.KeyVault/managedHsm/rng/action"),
        "{message}"
    );

    let anonymous = e
        .client
        .post(format!("{}/rng", e.hsm("alpha")))
        .json(&json!({"count": 4}))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    grant_rng(&e, "alpha");
    for count in [1, 32, 128] {
        let (status, answer) = rng(&e, "alpha", &json!({"count": count}));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(bytes(&answer).len(), count);
        assert_eq!(answer.as_object().map(|o| o.len()), Some(1), "{answer}");
    }
    let draws: Vec<Vec<u8>> = (0..3)
        .map(|_| bytes(&rng(&e, "alpha", &json!({"count": 32})).1))
        .collect();
    assert!(draws[0] != draws[1] && draws[1] != draws[2] && draws[0] != draws[2]);
    assert!(draws.iter().all(|d| d.iter().any(|&b| b != 0)));

    for bad in [
        json!({"count": 0}),
        json!({"count": 129}),
        json!({"count": -4}),
        json!({"count": "8"}),
        json!({"count": 2.5}),
        json!({}),
    ] {
        let (status, answer) = rng(&e, "alpha", &bad);
        assert_eq!(status, 400, "{bad}: {answer}");
        assert_eq!(answer["error"]["code"], "BadParameter", "{bad}");
    }
}

#[test]
fn an_hsm_that_is_not_activated_gives_no_random_bytes() {
    let e = TestEmulator::start(&["beta"]);
    grant_rng(&e, "beta");
    let (status, answer) = rng(&e, "beta", &json!({"count": 8}));
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "HsmNotActivated");
    e.activate("beta");
    let (status, answer) = rng(&e, "beta", &json!({"count": 8}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(bytes(&answer).len(), 8);
}
