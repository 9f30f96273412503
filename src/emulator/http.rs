//! HTTP error shapes: Key Vault's `{"error": {"code", "message", "innererror"}}`, the 401
//! challenge Managed HSM sends, and Entra ID's OAuth error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer of the data plane or ARM.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The error code (`Unauthorized`, `Forbidden`, `BadParameter`, ...).
    pub code: String,
    /// The message.
    pub message: String,
    /// For 401: the `WWW-Authenticate` challenge.
    pub challenge: Option<String>,
    /// For 429/503: seconds in `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            challenge: None,
            retry_after: None,
        }
    }

    /// 400 BadParameter.
    pub fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// 404 NotFound.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    /// 409 Conflict.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }

    /// 500 InternalServerError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            message,
        )
    }

    /// 401 with Managed HSM's challenge naming the emulator's authority for `tenant`.
    pub fn unauthorized(authority: &str, tenant: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message);
        e.challenge = Some(format!(
            "Bearer authorization=\"{authority}/{tenant}\", resource=\"{}\"",
            super::identity::HSM_AUDIENCE
        ));
        e
    }

    /// 403 Forbidden for a missing data action.
    pub fn forbidden(action: &str, principal: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "Operation not allowed: caller {principal} does not have permission to perform data action '{action}'"
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({
            "error": {"code": self.code, "message": self.message, "innererror": null}
        }));
        let mut response = (self.status, body).into_response();
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Entra ID's token-endpoint error: `error`, `error_description` starting with
/// `AADSTS{code}:` and ending with the trace, correlation and time lines, `error_codes`,
/// `timestamp`, `trace_id` and `correlation_id`.
pub fn oauth_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace_id = super::server::uuid();
    let correlation_id = super::server::uuid();
    let timestamp = crate::keys::generate::now_rfc3339().replacen('T', " ", 1);
    let described = format!(
        "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
    );
    (
        status,
        Json(json!({
            "error": error,
            "error_description": described,
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        })),
    )
        .into_response()
}
