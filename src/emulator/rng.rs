//! `POST /rng`: random bytes from the HSM (`{"count": N}`, 1 to 128, answered as
//! `{"value": base64url}`), data action `Microsoft.KeyVault/managedHsm/rng/action`, on an
//! activated HSM only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use crate::primitives::base64url;

/// The most bytes one request may ask for (the REST spec's `maximum`).
pub const MAX_COUNT: u64 = 128;

/// The random-bytes route.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/hsm/{hsm}/rng", post(random_bytes))
}

/// The `count` of a `GetRandomBytesRequest`: an integer from 1 to [`MAX_COUNT`].
fn count(body: &Value) -> Result<usize, ApiError> {
    match body.get("count").and_then(Value::as_u64) {
        Some(n @ 1..=MAX_COUNT) => {
            usize::try_from(n).map_err(|_| ApiError::internal("count does not fit in memory"))
        }
        _ => Err(ApiError::bad_parameter(format!(
            "'count' must be an integer from 1 to {MAX_COUNT}"
        ))),
    }
}

async fn random_bytes(
    State(app): State<Arc<App>>,
    Path(hsm): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let (_, h) = app.authorize(&headers, &hsm, "/", "rng/action")?;
    super::keys::require_active(&h)?;
    let mut bytes = vec![0u8; count(&body)?];
    openssl::rand::rand_bytes(&mut bytes)
        .map_err(|e| ApiError::internal(format!("the random generator failed: {e}")))?;
    Ok(Json(json!({ "value": base64url::encode(&bytes) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_takes_1_to_128_and_nothing_else() {
        assert_eq!(count(&json!({"count": 1})).ok(), Some(1));
        assert_eq!(count(&json!({"count": 128})).ok(), Some(128));
        for bad in [
            json!({"count": 0}),
            json!({"count": 129}),
            json!({"count": -1}),
            json!({"count": 1.5}),
            json!({"count": "4"}),
            json!({}),
            json!([4]),
        ] {
            let e = count(&bad).err().map(|e| e.code);
            assert_eq!(e.as_deref(), Some("BadParameter"), "{bad}");
        }
    }
}
