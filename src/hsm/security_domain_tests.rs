use serde_json::json;

use super::*;

#[test]
fn the_security_domain_is_the_value_of_the_download_answer() {
    assert_eq!(
        sd_text(&json!({"value": "{\"version\":2}"})).as_deref(),
        Some("{\"version\":2}")
    );
    assert_eq!(
        sd_text(&json!({"value": {"version": 2}})).as_deref(),
        Some("{\"version\":2}")
    );
    assert_eq!(sd_text(&json!({"status": "InProgress"})), None);
    assert_eq!(sd_text(&json!({"value": 7})), None);
}

#[test]
fn an_unwritable_output_falls_back_and_names_where_the_copy_went() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone").join("sd.json");
    let unusable = dir.path().join("also-gone");
    let err = save_security_domain(&missing, b"{}", false, &[unusable, dir.path().to_owned()])
        .unwrap_err();
    let HsmError::AfterDownload { file, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file.parent(), Some(dir.path()));
    assert_eq!(std::fs::read(file).unwrap(), b"{}");
    assert!(
        source.to_string().contains("sd.json: cannot write"),
        "{source}"
    );
    assert!(err
        .to_string()
        .contains("the security domain the HSM sent is saved in"));
    // With nowhere to go, the first failure is the error.
    let err = save_security_domain(&missing, b"{}", false, &[]).unwrap_err();
    assert!(matches!(err, HsmError::File(_)), "{err:?}");
}

#[test]
fn a_restore_blob_is_told_apart_from_a_security_domain_and_from_junk() {
    let err = parse_restore_blob(Path::new("x.json"), b"[1, 2]")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.json: not a restore blob"), "{err}");
    assert_eq!(err.lines().count(), 1);
}
