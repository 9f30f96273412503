//! Key operations: `POST /keys/{name}[/{version}]/{encrypt|decrypt|sign|verify|wrapkey|unwrapkey}`.
//! The version must be enabled, within its `nbf`/`exp` and allow the operation in its
//! `key_ops`; the caller needs the operation's data action at `/keys/{name}`. The
//! cryptography itself is [`key_crypto::operate`], through OpenSSL.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

use super::bundle::private_key;
use super::model::KeyVersion;
use super::{find_version, require_active};
use crate::emulator::app::App;
use crate::emulator::http::ApiError;
use crate::emulator::key_crypto::{self, Material, Operation};

/// The operation a path segment names (case-insensitively, as the service routes).
pub fn operation(segment: &str) -> Option<Operation> {
    Some(match segment.to_ascii_lowercase().as_str() {
        "encrypt" => Operation::Encrypt,
        "decrypt" => Operation::Decrypt,
        "sign" => Operation::Sign,
        "verify" => Operation::Verify,
        "wrapkey" => Operation::WrapKey,
        "unwrapkey" => Operation::UnwrapKey,
        _ => return None,
    })
}

/// The data action of an operation.
fn data_action(op: Operation) -> &'static str {
    match op {
        Operation::Encrypt => "keys/encrypt/action",
        Operation::Decrypt => "keys/decrypt/action",
        Operation::Sign => "keys/sign/action",
        Operation::Verify => "keys/verify/action",
        Operation::WrapKey => "keys/wrap/action",
        Operation::UnwrapKey => "keys/unwrap/action",
    }
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "Forbidden", message)
}

/// Refuses `op` on `v` when it is disabled, outside `nbf`/`exp`, or not in `key_ops`.
pub fn check_usable(v: &KeyVersion, op: Operation, now: u64) -> Result<(), ApiError> {
    let name = op.name();
    if !v.attributes.enabled {
        return Err(forbidden(format!(
            "Operation {name} is not allowed on a disabled key."
        )));
    }
    if v.attributes.nbf.is_some_and(|nbf| now < nbf) {
        return Err(forbidden(format!(
            "Operation {name} is not allowed: the key is not valid yet (nbf)."
        )));
    }
    if v.attributes.exp.is_some_and(|exp| now >= exp) {
        return Err(forbidden(format!(
            "Operation {name} is not allowed: the key has expired (exp)."
        )));
    }
    if !v.key_ops.iter().any(|o| o == name) {
        return Err(forbidden(format!(
            "Operation {name} is not permitted by this key's key_ops ({}).",
            v.key_ops.join(", ")
        )));
    }
    Ok(())
}

/// Runs operation `segment` with version `version` (the current one when `None`) of `name`.
pub async fn run(
    app: Arc<App>,
    hsm: String,
    name: String,
    version: Option<String>,
    segment: String,
    headers: HeaderMap,
    body: Value,
) -> Result<Json<Value>, ApiError> {
    let op = operation(&segment)
        .ok_or_else(|| ApiError::not_found(format!("'{segment}' is not a key operation")))?;
    let (_, h) = app.authorize(&headers, &hsm, &format!("/keys/{name}"), data_action(op))?;
    require_active(&h)?;
    let v = find_version(&h, &name, version.as_deref())?;
    check_usable(v, op, crate::emulator::identity::now())?;
    let kid = format!("{}/keys/{name}/{}", app.hsm_url(&hsm), v.version);
    let answer = if v.kty == "oct-HSM" {
        let key = Zeroizing::new(
            STANDARD
                .decode(&v.material)
                .map_err(|e| ApiError::internal(format!("stored key unreadable: {e}")))?,
        );
        key_crypto::operate(Material::Symmetric(&key), op, &kid, &body)?
    } else {
        let key = private_key(v)?;
        key_crypto::operate(Material::Asymmetric(&key), op, &kid, &body)?
    };
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::keys::model::KeyAttributes;

    fn version(enabled: bool, nbf: Option<u64>, exp: Option<u64>, ops: &[&str]) -> KeyVersion {
        KeyVersion {
            version: "v".into(),
            kty: "oct-HSM".into(),
            size: 256,
            crv: None,
            material: String::new(),
            attributes: KeyAttributes {
                enabled,
                nbf,
                exp,
                created: 0,
                updated: 0,
            },
            tags: Default::default(),
            key_ops: ops.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_enabled_current_permitted_versions_are_usable() {
        let now = 1000;
        assert!(check_usable(&version(true, None, None, &["sign"]), Operation::Sign, now).is_ok());
        assert!(check_usable(
            &version(true, Some(999), Some(1001), &["sign"]),
            Operation::Sign,
            now
        )
        .is_ok());
        for (what, v) in [
            ("disabled", version(false, None, None, &["sign"])),
            ("not yet valid", version(true, Some(1001), None, &["sign"])),
            ("expired", version(true, None, Some(1000), &["sign"])),
            ("not in key_ops", version(true, None, None, &["verify"])),
        ] {
            let e = check_usable(&v, Operation::Sign, now).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{what}");
        }
    }

    #[test]
    fn operations_are_named_as_the_service_routes_them() {
        assert_eq!(operation("wrapkey"), Some(Operation::WrapKey));
        assert_eq!(operation("unwrapKey"), Some(Operation::UnwrapKey));
        assert_eq!(operation("export"), None);
    }
}
