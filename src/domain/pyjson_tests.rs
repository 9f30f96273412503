//! Unit tests of `pyjson`.

use serde_json::json;

#[test]
fn python_layout() {
    let v = json!({"a": [1, 2, {"b": "x"}], "c": "\u{e4}\u{1f600}\n\u{1}"});
    assert_eq!(
        super::to_string(&v).unwrap(),
        r#"{"a": [1, 2, {"b": "x"}], "c": "\u00e4\ud83d\ude00\n\u0001"}"#
    );
}
