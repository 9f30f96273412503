//! The parts of create and update bodies: `attributes` (`enabled`, `nbf`, `exp`,
//! `exportable`), `tags` and `key_ops`, each checked as the service checks it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::emulator::http::ApiError;

/// The most tags a key version may carry.
pub const MAX_TAGS: usize = 15;

/// Every operation name `key_ops` may list (the six cryptographic ones first).
pub const KEY_OPS: [&str; 8] = [
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
];

/// Attribute changes asked for; `None` leaves a field as it is (or unset on create).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AttributeChange {
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `nbf` (`Some(None)`: cleared by an explicit null).
    pub nbf: Option<Option<u64>>,
    /// `exp` (`Some(None)`: cleared by an explicit null).
    pub exp: Option<Option<u64>>,
}

fn object<'a>(body: &'a Value, field: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(ApiError::bad_parameter(format!(
            "'{field}' must be an object"
        ))),
    }
}

fn time(attrs: &Map<String, Value>, field: &str) -> Result<Option<Option<u64>>, ApiError> {
    match attrs.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => v.as_u64().map(|t| Some(Some(t))).ok_or_else(|| {
            ApiError::bad_parameter(format!(
                "attributes.{field} must be a time in seconds since 1970-01-01 (UTC)"
            ))
        }),
    }
}

/// The `attributes` of a body. `exportable: true` is refused: an exportable key needs a
/// release policy, which the emulator does not serve.
pub fn attributes(body: &Value) -> Result<AttributeChange, ApiError> {
    let Some(attrs) = object(body, "attributes")? else {
        return Ok(AttributeChange::default());
    };
    let enabled = match attrs.get("enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "attributes.enabled must be true or false",
            ))
        }
    };
    if attrs.get("exportable") == Some(&Value::Bool(true)) {
        return Err(ApiError::bad_parameter(
            "exportable keys need a release policy, which this emulator does not serve",
        ));
    }
    let change = AttributeChange {
        enabled,
        nbf: time(attrs, "nbf")?,
        exp: time(attrs, "exp")?,
    };
    if let (Some(Some(nbf)), Some(Some(exp))) = (change.nbf, change.exp) {
        if exp <= nbf {
            return Err(ApiError::bad_parameter(
                "attributes.exp must be later than attributes.nbf",
            ));
        }
    }
    Ok(change)
}

/// The `tags` of a body (`None` when absent): string values, at most [`MAX_TAGS`].
pub fn tags(body: &Value) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let Some(tags) = object(body, "tags")? else {
        return Ok(None);
    };
    if tags.len() > MAX_TAGS {
        return Err(ApiError::bad_parameter(format!(
            "a key may carry at most {MAX_TAGS} tags; {} were given",
            tags.len()
        )));
    }
    tags.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(ApiError::bad_parameter(format!(
                "tag '{k}' must be a string"
            ))),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The `key_ops` of a body (`None` when absent): names from [`KEY_OPS`], each once.
pub fn key_ops(body: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let ops = match body.get("key_ops") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(ops)) => ops,
        Some(_) => return Err(ApiError::bad_parameter("'key_ops' must be a list")),
    };
    let mut out: Vec<String> = Vec::new();
    for op in ops {
        let name = op.as_str().filter(|n| KEY_OPS.contains(n)).ok_or_else(|| {
            ApiError::bad_parameter(format!(
                "key_ops: {op} is not one of {}",
                KEY_OPS.join(", ")
            ))
        })?;
        if !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_are_read_and_checked() {
        let c =
            attributes(&json!({"attributes": {"enabled": false, "nbf": 10, "exp": null}})).unwrap();
        assert_eq!(c.enabled, Some(false));
        assert_eq!(c.nbf, Some(Some(10)));
        assert_eq!(c.exp, Some(None));
        assert_eq!(attributes(&json!({})).unwrap(), AttributeChange::default());
        for bad in [
            json!({"attributes": {"enabled": "yes"}}),
            json!({"attributes": {"exp": -1}}),
            json!({"attributes": {"nbf": "soon"}}),
            json!({"attributes": {"nbf": 20, "exp": 10}}),
            json!({"attributes": {"exportable": true}}),
            json!({"attributes": []}),
        ] {
            assert!(attributes(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_strings_and_at_most_fifteen() {
        let fifteen: Map<String, Value> = (0..15).map(|i| (format!("t{i}"), json!("v"))).collect();
        assert_eq!(tags(&json!({"tags": fifteen})).unwrap().unwrap().len(), 15);
        let sixteen: Map<String, Value> = (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
        assert!(tags(&json!({"tags": sixteen})).is_err());
        assert!(tags(&json!({"tags": {"a": 1}})).is_err());
        assert_eq!(tags(&json!({})).unwrap(), None);
    }

    #[test]
    fn key_ops_are_known_names_kept_once() {
        assert_eq!(
            key_ops(&json!({"key_ops": ["sign", "verify", "sign"]})).unwrap(),
            Some(vec!["sign".to_owned(), "verify".to_owned()])
        );
        assert!(key_ops(&json!({"key_ops": ["sign", "fly"]})).is_err());
        assert!(key_ops(&json!({"key_ops": "sign"})).is_err());
        assert_eq!(key_ops(&json!({"key_ops": null})).unwrap(), None);
    }
}
