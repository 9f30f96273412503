//! Signing in, through the CLI against the emulator: no usable token, a token for the wrong
//! audience, one the HSM refuses, a service principal with a wrong or a right secret, and a
//! principal without the data action. Each failure is one line on stderr that says what to
//! do, the documented exit code, and the JSON envelope with `status: "error"`.

#![cfg(feature = "online")]

mod common;

use common::online::{assert_error_envelope, download_args, Online, HSM_AUDIENCE};
use common::Run;

const DOWNLOAD_ACTION: &str = "Microsoft.KeyVault/managedHsm/securitydomain/download/action";

/// Scripts a fault on every route so that any request the command sends is visible.
fn trap_requests(online: &Online) {
    online.fault("*", "500", 1);
}

/// Nothing reached the HSM (or the token endpoint) since [`trap_requests`].
fn assert_nothing_sent(online: &Online) {
    assert_eq!(
        online.faults_left(),
        vec![("*".to_owned(), "500".to_owned(), 1)],
        "a request was sent"
    );
}

/// `hsm download` of a 2-of-3 domain from alpha into `sd.json` with `token_file`, JSON out.
fn download_as(online: &Online, token_file: &str) -> Run {
    online.download_as("alpha", token_file, "sd.json", &["--output", "json"])
}

/// `hsm status` of alpha signed in as a service principal through `env`.
fn status_as_service_principal(online: &Online, env: &[(String, String)]) -> Run {
    online.hsm_signed_in("alpha", &["status", "--output", "json"], env)
}

#[test]
fn no_token_in_the_file_is_bad_input_naming_the_file() {
    let online = Online::start(&["alpha"]);
    trap_requests(&online);
    for (name, content) in [("empty.token", ""), ("blank.token", "  \n\t\n")] {
        online.token_file(name, content);
        let run = online.hsm_as("alpha", name, &["status", "--output", "json"]);
        run.assert_error(2, &online.fx.path(name).display().to_string());
        assert!(
            run.stderr
                .contains("file is empty; expected an access token"),
            "{}",
            run.stderr
        );
        assert_error_envelope(&run, 2);
    }
    assert_nothing_sent(&online);
}

#[test]
fn expired_token_is_refused_before_it_is_sent() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    // Issued three hours ago with a one-hour lifetime.
    online.minted_token("old.token", &online.emu.admin_oid(), HSM_AUDIENCE, 3 * 3600);
    trap_requests(&online);
    let before = online.fx.listing(".");
    let run = download_as(&online, "old.token");
    run.assert_error(2, "old.token: the token expired ");
    assert!(
        run.stderr
            .contains("get a new one with 'az account get-access-token --resource https://managedhsm.azure.net'"),
        "{}",
        run.stderr
    );
    assert_error_envelope(&run, 2);
    assert_nothing_sent(&online);
    assert_eq!(online.fx.listing("."), before, "no security domain file");
}

#[test]
fn token_the_hsm_refuses_is_one_line_with_a_hint() {
    let online = Online::start(&["alpha"]);
    // Opaque (not a JWT): the client cannot judge it and sends it.
    online.token_file("opaque.token", "not-a-jwt-but-one-well-formed-line");
    // A JWT for the right audience, unexpired, but not signed by the HSM's tenant.
    let good = online.emu.admin_token();
    let parts: Vec<&str> = good.trim().split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        sdctl::primitives::base64url::encode(&[7u8; 256])
    );
    online.token_file("forged.token", &forged);
    for name in ["opaque.token", "forged.token"] {
        let run = online.hsm_as("alpha", name, &["status", "--output", "json"]);
        run.assert_error(4, "the HSM refused the access token (401)");
        assert!(
            run.stderr.contains("sign in again")
                && run.stderr.contains(&format!("'{HSM_AUDIENCE}'")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains(&format!("{}/securitydomain/", online.emu.hsm("alpha"))),
            "names the URL: {}",
            run.stderr
        );
        assert_error_envelope(&run, 4);
    }
}

#[test]
fn wrong_audience_is_refused_before_it_is_sent() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    online.minted_token(
        "arm.token",
        &online.emu.admin_oid(),
        "https://management.azure.com",
        0,
    );
    trap_requests(&online);
    let before = online.fx.listing(".");
    for words in [
        &["status", "--output", "json"][..],
        &["wait", "--target", "download", "--output", "json"],
    ] {
        let run = online.hsm_as("alpha", "arm.token", words);
        run.assert_error(
            2,
            "the token is for audience 'https://management.azure.com'",
        );
        assert!(
            run.stderr.contains("arm.token: ")
                && run.stderr.contains(
                    "'az account get-access-token --resource https://managedhsm.azure.net'"
                ),
            "{}",
            run.stderr
        );
        assert_error_envelope(&run, 2);
    }
    let run = download_as(&online, "arm.token");
    run.assert_error(
        2,
        "the token is for audience 'https://management.azure.com'",
    );
    assert_error_envelope(&run, 2);
    assert_nothing_sent(&online);
    assert_eq!(online.fx.listing("."), before, "no security domain file");
}

#[test]
fn service_principal_with_a_wrong_secret_is_one_line() {
    let online = Online::start(&["alpha"]);
    let env = online.service_principal_env(Some("not-the-secret"));
    let run = status_as_service_principal(&online, &env);
    assert_eq!(run.code, 4, "{}", run.stderr);
    run.assert_error(
        4,
        "cannot get an access token for https://managedhsm.azure.net",
    );
    assert!(
        run.stderr.contains("AADSTS7000215") || run.stderr.contains("Invalid client secret"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("environment: client secret of "),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("not-the-secret"),
        "the secret is never printed"
    );
    assert_error_envelope(&run, 4);

    // The same on a download: reported as it is, not as an answer lost on the way back.
    online.custodians();
    let before = online.fx.listing(".");
    let run = online.hsm_signed_in("alpha", &download_args("sd.json", &[]), &env);
    run.assert_error(
        4,
        "cannot get an access token for https://managedhsm.azure.net",
    );
    assert!(run.stderr.contains("AADSTS7000215"), "{}", run.stderr);
    assert!(!run.stderr.contains("did not start"), "{}", run.stderr);
    assert_eq!(online.fx.listing("."), before, "no security domain file");
}

#[test]
fn service_principal_with_the_right_secret_signs_in() {
    let online = Online::start(&["alpha"]);
    let env = online.service_principal_env(None);
    let client_id = env
        .iter()
        .find(|(k, _)| k == "AZURE_CLIENT_ID")
        .map(|(_, v)| v.clone())
        .unwrap();
    let run = status_as_service_principal(&online, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let envelope = run.json();
    assert_eq!(envelope["status"], "ok", "{envelope}");
    assert_eq!(
        envelope["result"]["credential"],
        format!("environment: client secret of {client_id}")
    );
    assert_eq!(envelope["result"]["activation"], "NotActivated");
}

#[test]
fn missing_role_names_the_data_action_and_leaves_no_file() {
    let online = Online::start(&["alpha"]);
    online.custodians();
    // A principal of the HSM's tenant with no role assignment at all.
    online.token_for("nobody.token", "3f6b8f59-0000-4000-8000-00000000abcd");
    let before = online.fx.listing(".");
    let run = download_as(&online, "nobody.token");
    run.assert_error(4, "permission denied (403)");
    let line = run.stderr.lines().next().unwrap();
    assert!(line.contains(DOWNLOAD_ACTION), "{line}");
    assert!(
        line.contains(&format!(
            "ask an HSM administrator for a role holding '{DOWNLOAD_ACTION}'"
        )) && line.contains("sdctl hsm role check"),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "{}/securitydomain/download",
            online.emu.hsm("alpha")
        )),
        "{line}"
    );
    assert_error_envelope(&run, 4);
    assert_eq!(online.fx.listing("."), before, "no security domain file");
    // The HSM did not act: still not activated.
    let run = online.hsm("alpha", &["status", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["result"]["activation"], "NotActivated");
}
