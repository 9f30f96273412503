//! Every error in the service's shape: an error answer that is not JSON (axum's own
//! rejections — bad JSON, a missing content type —, an unknown route, a method a route does
//! not serve) is rewritten into Key Vault's `{"error": {"code", "message"}}` (or, on the
//! authority's routes, Entra ID's OAuth error), `Content-Type: application/json`. Also the
//! data plane's trailing slashes, which the service ignores (`GET /keys/NAME/`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::authority::is_authority_path;
use super::gate::is_data_plane;
use super::http::{oauth_error, ApiError};

/// The most of a non-JSON error body kept as the message.
const MAX_MESSAGE: usize = 4096;

/// The answer to a route nobody serves.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "The requested URL '{}' does not match any operation of this service.",
        uri.path()
    ))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Key Vault's error code for a status the handlers did not describe themselves.
fn code_of(status: StatusCode) -> String {
    match status {
        StatusCode::BAD_REQUEST => "BadParameter".to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("Error")
            .replace([' ', '-'], ""),
    }
}

/// Middleware: rewrites an error answer without a JSON body into the service's error shape
/// (a 422 of axum's JSON extractor becomes the service's 400).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let message = match (status, text.is_empty()) {
        (_, false) => text,
        (StatusCode::METHOD_NOT_ALLOWED, true) => {
            format!("The HTTP method '{method}' is not supported on '{path}'.")
        }
        (StatusCode::NOT_FOUND, true) => {
            format!("The requested URL '{path}' does not match any operation of this service.")
        }
        (_, true) => format!("The request to '{path}' failed."),
    };
    let shaped = if is_authority_path(&path) {
        oauth_error(status, "invalid_request", 900144, &message)
    } else {
        ApiError::new(status, &code_of(status), message).into_response()
    };
    let (shaped_parts, shaped_body) = shaped.into_parts();
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        shaped_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    Response::from_parts(parts, Body::new(shaped_body))
}

/// Request mapping, before routing: a data-plane path's trailing slash is dropped
/// (`/keys/NAME/` is `/keys/NAME`), as the service routes it.
pub async fn trim_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if !is_data_plane(path) || !path.ends_with('/') {
        return request;
    }
    let trimmed = path.trim_end_matches('/');
    let rebuilt = match request.uri().query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_owned(),
    };
    if let Ok(uri) = rebuilt.parse::<Uri>() {
        *request.uri_mut() = uri;
    }
    request
}
