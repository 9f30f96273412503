//! Full backup and restore as Microsoft's SDK drives them: the backup carries the HSM's
//! contents (keys, roles, settings), a restore folder nested several levels deep as the SDK
//! splits a folder URL, the storage credential required, folder names and symbolic links
//! kept inside the storage location, and selective key restore.

#![cfg(feature = "online")]

mod common;

use common::emulator::TestEmulator;
use common::Fixture;
use serde_json::{json, Value};

const SETTING: &str = "AllowKeyManagementOperationsThroughARM";

/// An activated HSM `alpha` whose administrator also holds Crypto User.
fn activated() -> (TestEmulator, Fixture) {
    let e = TestEmulator::start(&["alpha"]);
    e.activate("alpha");
    e.grant_crypto_user("alpha");
    (e, Fixture::new())
}

/// Starts a long-running request; its status URL, or the error answer.
fn start(e: &TestEmulator, method: &str, url: &str, body: &Value) -> Result<String, (u16, Value)> {
    let request = match method {
        "PUT" => e.client.put(url),
        _ => e.client.post(url),
    };
    let r = request
        .bearer_auth(e.admin_token())
        .json(body)
        .send()
        .unwrap();
    if r.status() != 202 {
        let status = r.status().as_u16();
        return Err((status, r.json().unwrap_or(Value::Null)));
    }
    Ok(r.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned())
}

/// Backs `alpha` up into `dir`; the backup folder's path as written.
fn backup(e: &TestEmulator, dir: &std::path::Path) -> std::path::PathBuf {
    let body = json!({"storageResourceUri": format!("file://{}", dir.display()), "token": "sas"});
    let url = start(e, "POST", &format!("{}/backup", e.hsm("alpha")), &body).unwrap();
    let done = e.wait(&url, &e.admin_token());
    assert_eq!(done["status"], "Succeeded", "{done}");
    let folder = done["azureStorageBlobContainerUri"].as_str().unwrap();
    std::path::PathBuf::from(folder.strip_prefix("file://").unwrap())
}

/// The SDK's split of a folder URL: the first path segment is the container, the rest the
/// folder (`file:///tmp/x/y/mhsm-…` → `file:///tmp` and `x/y/mhsm-…`).
fn sdk_split(folder: &std::path::Path) -> (String, String) {
    let text = folder.display().to_string();
    let rest = text.trim_start_matches('/');
    let (container, inner) = rest.split_once('/').unwrap();
    (format!("file:///{container}"), inner.to_owned())
}

fn setting(e: &TestEmulator) -> Value {
    e.get_json(
        &format!("{}/settings/{SETTING}", e.hsm("alpha")),
        &e.admin_token(),
    )["value"]
        .clone()
}

fn set(e: &TestEmulator, value: &str) {
    let r = e
        .client
        .patch(format!("{}/settings/{SETTING}", e.hsm("alpha")))
        .bearer_auth(e.admin_token())
        .json(&json!({"value": value}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn a_full_restore_from_a_nested_folder_brings_back_keys_and_settings() {
    let (e, fx) = activated();
    let base = e.hsm("alpha");
    let kept = e.create_key("alpha", "kept");
    set(&e, "true");
    let storage = fx.path("storage/deep/er");
    std::fs::create_dir_all(&storage).unwrap();
    let folder = backup(&e, &storage);
    // Changes after the backup: a new key, the setting back to false.
    e.create_key("alpha", "later");
    set(&e, "false");
    let (container, inner) = sdk_split(&folder);
    assert!(inner.matches('/').count() >= 3, "{inner}");
    let body = json!({"sasTokenParameters": {"storageResourceUri": container, "token": "sas"},
        "folderToRestore": inner});
    let url = start(&e, "PUT", &format!("{base}/restore"), &body).unwrap();
    let done = e.wait(&url, &e.admin_token());
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(setting(&e), "true", "settings travel in a backup");
    let got = e.get_json(&format!("{base}/keys/kept"), &e.admin_token());
    assert_eq!(got["key"]["n"], kept["key"]["n"]);
    let later = e
        .get(&format!("{base}/keys/later"), &e.admin_token())
        .send()
        .unwrap();
    assert_eq!(
        later.status(),
        404,
        "a key made after the backup is not in it"
    );
}

#[test]
fn the_storage_credential_is_required() {
    let (e, fx) = activated();
    let base = e.hsm("alpha");
    std::fs::create_dir(fx.path("s")).unwrap();
    let uri = format!("file://{}", fx.path("s").display());
    for body in [
        json!({"storageResourceUri": uri}),
        json!({"storageResourceUri": uri, "token": ""}),
        json!({"storageResourceUri": uri, "useManagedIdentity": false}),
    ] {
        let (status, answer) = start(&e, "POST", &format!("{base}/backup"), &body).unwrap_err();
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("BadParameter")),
            "{body}"
        );
    }
    // The managed identity is accepted instead of a token.
    let body = json!({"storageResourceUri": uri, "useManagedIdentity": true});
    let url = start(&e, "POST", &format!("{base}/backup"), &body).unwrap();
    let done = e.wait(&url, &e.admin_token());
    assert_eq!(done["status"], "Succeeded");
    let folder = done["azureStorageBlobContainerUri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let restore =
        json!({"sasTokenParameters": {"storageResourceUri": uri}, "folderToRestore": folder});
    let (status, _) = start(&e, "PUT", &format!("{base}/restore"), &restore).unwrap_err();
    assert_eq!(status, 400);
}

#[test]
fn restore_folders_stay_inside_the_storage_location() {
    let (e, fx) = activated();
    let base = e.hsm("alpha");
    e.create_key("alpha", "k1");
    std::fs::create_dir_all(fx.path("outside")).unwrap();
    std::fs::create_dir_all(fx.path("store/in")).unwrap();
    // A real backup outside the storage location, reachable only by escaping it.
    let outside = backup(&e, &fx.path("outside"));
    let name = outside.file_name().unwrap().to_str().unwrap().to_owned();
    std::os::unix::fs::symlink(fx.path("outside"), fx.path("store/in/link")).unwrap();
    let uri = format!("file://{}", fx.path("store").display());
    for folder in [
        format!("in/../../outside/{name}"),
        format!("../outside/{name}"),
        outside.display().to_string(),
        format!("in/link/{name}"),
        String::new(),
    ] {
        let body = json!({"sasTokenParameters": {"storageResourceUri": uri, "token": "sas"},
            "folderToRestore": folder});
        let (status, answer) = start(&e, "PUT", &format!("{base}/restore"), &body).unwrap_err();
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("BadParameter")),
            "{folder}"
        );
    }
    // The same backup from inside the storage location restores.
    std::fs::rename(&outside, fx.path("store/in").join(&name)).unwrap();
    let body = json!({"sasTokenParameters": {"storageResourceUri": uri, "token": "sas"},
        "folderToRestore": format!("in/{name}")});
    let url = start(&e, "PUT", &format!("{base}/restore"), &body).unwrap();
    assert_eq!(e.wait(&url, &e.admin_token())["status"], "Succeeded");
}

#[test]
fn selective_key_restore_puts_back_one_key() {
    let (e, fx) = activated();
    let base = e.hsm("alpha");
    let first = e.create_key("alpha", "k1");
    let other = e.create_key("alpha", "k2");
    std::fs::create_dir(fx.path("s")).unwrap();
    let folder = backup(&e, &fx.path("s"));
    // k1 replaced after the backup; k2 replaced too, and must stay replaced.
    let replaced = e.create_key("alpha", "k1");
    assert_ne!(replaced["key"]["n"], first["key"]["n"]);
    let k2_now = e.create_key("alpha", "k2");
    assert_ne!(k2_now["key"]["n"], other["key"]["n"]);
    let (container, inner) = sdk_split(&folder);
    let body = json!({"sasTokenParameters": {"storageResourceUri": container, "token": "sas"},
        "folder": inner});
    let url = start(&e, "PUT", &format!("{base}/keys/k1/restore"), &body).unwrap();
    assert!(url.contains("/restore/"), "{url}");
    let done = e.wait(&url, &e.admin_token());
    assert_eq!(done["status"], "Succeeded", "{done}");
    let k1 = e.get_json(&format!("{base}/keys/k1"), &e.admin_token());
    assert_eq!(k1["key"]["n"], first["key"]["n"]);
    let k2 = e.get_json(&format!("{base}/keys/k2"), &e.admin_token());
    assert_eq!(
        k2["key"]["n"], k2_now["key"]["n"],
        "only the named key is restored"
    );
    // A key the backup does not hold fails the job.
    let url = start(&e, "PUT", &format!("{base}/keys/absent/restore"), &body).unwrap();
    let failed = e.wait(&url, &e.admin_token());
    assert_eq!(failed["status"], "Failed", "{failed}");
    assert_eq!(failed["error"]["code"], "KeyNotFound");
    // And the folder check holds here too.
    let escape = json!({"sasTokenParameters": {"storageResourceUri": container, "token": "sas"},
        "folder": "a/../../x"});
    let (status, _) = start(&e, "PUT", &format!("{base}/keys/k1/restore"), &escape).unwrap_err();
    assert_eq!(status, 400);
}
