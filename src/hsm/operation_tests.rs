use serde_json::json;

use super::*;

#[test]
fn statuses_of_every_service_version_parse() {
    let s = parse_status(&json!({"status": "Success", "status_details": "done"})).unwrap();
    assert_eq!(
        (s.state, s.status_details.as_str()),
        (State::Succeeded, "done")
    );
    let s = parse_status(&json!({"status": "Succeeded"})).unwrap();
    assert_eq!(s.state, State::Succeeded);
    let s = parse_status(&json!({"status": "InProgress", "status_details": null})).unwrap();
    assert_eq!(
        (s.state, s.status_details.as_str()),
        (State::InProgress, "")
    );
    let s = parse_status(&json!({"status": "Failed", "statusDetails": "bad blob"})).unwrap();
    assert_eq!(
        (s.state, s.status_details.as_str()),
        (State::Failed, "bad blob")
    );
    assert!(parse_status(&json!({"status": "Exploded"})).is_err());
    assert!(parse_status(&json!({"state": "Success"})).is_err());
}

#[test]
fn operations_name_their_paths() {
    assert_eq!(
        Operation::Download.pending_path(),
        "securitydomain/download/pending"
    );
    assert_eq!(
        Operation::Upload.pending_path(),
        "securitydomain/upload/pending"
    );
}
