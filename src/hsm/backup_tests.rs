use serde_json::json;

use super::*;
use crate::hsm::keys::{check_key_name, create_body, name_from_kid};

#[test]
fn a_status_answer_parses_with_or_without_its_optional_fields() {
    let job = Job::from_json(&json!({
        "status": "Succeeded", "statusDetails": null, "error": null,
        "startTime": 1700000000, "endTime": 1700000003.7, "jobId": "j-1",
        "azureStorageBlobContainerUri": "https://acct.blob.core.windows.net/c/mhsm-a-20240101120000"
    }));
    assert_eq!(job.job_id, "j-1");
    assert_eq!(job.state(), Some(State::Succeeded));
    assert_eq!(
        (job.start_time, job.end_time),
        (Some(1700000000), Some(1700000003))
    );
    assert_eq!(job.folder_name(), Some("mhsm-a-20240101120000"));
    assert_eq!(job.status_details, None);

    let job = Job::from_json(&json!({"status": "InProgress", "jobId": "j-2", "endTime": null}));
    assert_eq!(job.state(), Some(State::InProgress));
    assert_eq!((job.folder_uri, job.end_time), (None, None));

    let job = Job::from_json(&json!({"status": "Failed", "statusDetails": "details",
        "error": {"code": "BackupRestoreFailed", "message": "different security domain"}}));
    assert_eq!(job.state(), Some(State::Failed));
    assert_eq!(job.failure_message(), "different security domain");
    let job = Job::from_json(&json!({"status": "Failed", "statusDetails": "only details"}));
    assert_eq!(job.failure_message(), "only details");
    assert_eq!(
        Job::from_json(&json!({"status": "Success"})).state(),
        Some(State::Succeeded)
    );
    assert_eq!(Job::from_json(&json!({"status": "Exploded"})).state(), None);
    assert_eq!(Job::from_json(&json!([1, 2])), Job::default());
}

#[test]
fn the_folder_is_the_last_path_segment_of_the_folder_uri() {
    let folder = |uri: &str| {
        Job {
            folder_uri: Some(uri.to_owned()),
            ..Job::default()
        }
        .folder_name()
        .map(str::to_owned)
    };
    assert_eq!(
        folder("file:///tmp/b/mhsm-x-1/").as_deref(),
        Some("mhsm-x-1")
    );
    assert_eq!(
        folder("https://a.blob.core.windows.net/c/mhsm-x-1?sv=1").as_deref(),
        Some("mhsm-x-1")
    );
    assert_eq!(folder("https://a.blob.core.windows.net"), None);
    assert_eq!(folder("nonsense"), None);
    assert_eq!(Job::default().folder_name(), None);
}

#[test]
fn storage_uris_are_blob_containers_or_local_directories_without_a_query() {
    for ok in [
        "https://acct.blob.core.windows.net/backups",
        "file:///tmp/backups",
        "file:///tmp/b/",
    ] {
        assert!(check_storage_uri(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://acct.blob.core.windows.net/c",
        "https://acct.blob.core.windows.net",
        "https:///c",
        "file://host/dir",
        "file:///",
        "/tmp/backups",
        "s3://bucket",
        "",
        "https://u@h/c",
    ] {
        let err = check_storage_uri(bad).unwrap_err();
        assert!(matches!(err, HsmError::Usage(_)), "{bad}: {err:?}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
    // A SAS token pasted into the URI is refused and never repeated in the message.
    let err =
        check_storage_uri("https://a.blob.core.windows.net/c?sv=2020&sig=SECRET").unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains("SECRET") && text.contains("--token-file"),
        "{text}"
    );
}

#[test]
fn folders_job_ids_and_tokens_are_single_safe_words() {
    assert!(check_folder("mhsm-hsm-a-20240101120000").is_ok());
    for bad in ["", "..", "a/b", "mhsm x", "file:///tmp/mhsm-1"] {
        assert!(check_folder(bad).is_err(), "{bad}");
    }
    assert!(job_id_ok("2b7c0a1e-33f2-4e9b-a8e8-000000000000"));
    for bad in ["", "../../keys", "a?b", "a/b"] {
        assert!(!job_id_ok(bad), "{bad}");
    }
    assert!(check_token("sv=2020&sig=abc").is_ok());
    assert!(check_token("").is_err() && check_token("two\nlines").is_err());
    assert_eq!(JobKind::Restore.pending_path("j"), "restore/j/pending");
}

#[test]
fn key_names_types_and_sizes_are_checked_before_anything_is_sent() {
    assert!(check_key_name("app-key-1").is_ok());
    assert!(check_key_name(&"k".repeat(127)).is_ok());
    for bad in ["", "a_b", "a/b", "ключ", &"k".repeat(128)] {
        assert!(check_key_name(bad).is_err(), "{bad}");
    }
    assert_eq!(
        create_body("RSA-HSM", None).unwrap(),
        json!({"kty": "RSA-HSM", "key_size": 2048})
    );
    assert_eq!(
        create_body("oct-HSM", Some(128)).unwrap(),
        json!({"kty": "oct-HSM", "key_size": 128})
    );
    assert_eq!(
        create_body("EC-HSM", Some(384)).unwrap(),
        json!({"kty": "EC-HSM", "crv": "P-384"})
    );
    assert!(create_body("RSA-HSM", Some(1024)).is_err());
    assert!(create_body("RSA", None).is_err());
}

#[test]
fn the_key_name_comes_from_the_kid_with_or_without_a_version() {
    let prefix = "/hsm/keys/keys/";
    assert_eq!(
        name_from_kid("https://127.0.0.1:1/hsm/keys/keys/app/123", prefix).as_deref(),
        Some("app")
    );
    assert_eq!(
        name_from_kid("https://h.managedhsm.azure.net/keys/app", "/keys/").as_deref(),
        Some("app")
    );
    assert_eq!(
        name_from_kid("https://h.managedhsm.azure.net/keys/app/v1", "/other/keys/").as_deref(),
        Some("app")
    );
    assert_eq!(name_from_kid("not a url", prefix), None);
}
