//! Reading (never verifying) the claims of a JWT access token: which principal it names
//! (`oid`), its audience and expiry, to give clear messages before a call is refused.

use serde_json::Value;

use crate::primitives::base64url;

/// The payload claims of `token`, if it is a JWT.
pub fn claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64url::decode(payload)?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// The object id (`oid`) of the principal a token was issued to.
pub fn object_id(token: &str) -> Option<String> {
    claims(token)?
        .get("oid")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
