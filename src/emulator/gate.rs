//! The data plane's gate, run before routing reads a body, as the service does: the bearer
//! token is checked first (any route, any method: 401 with the challenge), then
//! `api-version` (required; 7.2 to 7.6). The `Azure-AsyncOperation` URLs of the answers
//! carry the caller's `api-version`, so a poller following them is let through.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::app::App;
use super::http::ApiError;
use super::identity::HSM_AUDIENCE;

/// The data-plane `api-version`s the emulator accepts.
pub const API_VERSIONS: [&str; 6] = ["7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"];

/// Whether `path` is on an HSM's data plane.
pub fn is_data_plane(path: &str) -> bool {
    path.starts_with("/hsm/")
}

/// The `api-version` of a query string, if any (the first one).
fn api_version(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some(("api-version", value)) => Some(value),
            None if pair == "api-version" => Some(""),
            _ => None,
        })
}

/// Checks the `api-version` of a data-plane query: present and one of [`API_VERSIONS`].
pub fn check_api_version(query: Option<&str>) -> Result<&str, ApiError> {
    match api_version(query) {
        None | Some("") => Err(ApiError::bad_parameter(
            "The api-version query parameter is missing: every request must name an api-version (for example ?api-version=7.4).",
        )),
        Some(v) if API_VERSIONS.contains(&v) => Ok(v),
        Some(v) => Err(ApiError::bad_parameter(format!(
            "The specified version ({v}) is not recognized. Consider using the latest supported version ({}).",
            API_VERSIONS[API_VERSIONS.len() - 1]
        ))),
    }
}

/// Middleware: authenticates data-plane requests and checks their `api-version` before
/// the route reads anything else; other requests pass untouched.
pub async fn gate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if !is_data_plane(request.uri().path()) {
        return next.run(request).await;
    }
    if let Err(e) = app.authenticate(request.headers(), &[HSM_AUDIENCE]) {
        return e.into_response();
    }
    let version = match check_api_version(request.uri().query()) {
        Ok(v) => v.to_owned(),
        Err(e) => return e.into_response(),
    };
    let mut response = next.run(request).await;
    let status_url = response
        .headers()
        .get("azure-asyncoperation")
        .and_then(|v| v.to_str().ok())
        .filter(|u| !u.contains("api-version="))
        .map(|u| {
            let separator = if u.contains('?') { '&' } else { '?' };
            format!("{u}{separator}api-version={version}")
        });
    if let Some(value) = status_url.and_then(|u| HeaderValue::from_str(&u).ok()) {
        response.headers_mut().insert("azure-asyncoperation", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_required_and_checked() {
        assert_eq!(check_api_version(Some("api-version=7.4")).ok(), Some("7.4"));
        assert_eq!(
            check_api_version(Some("x=1&api-version=7.6")).ok(),
            Some("7.6")
        );
        for bad in [
            None,
            Some(""),
            Some("api-version="),
            Some("api-version"),
            Some("apiversion=7.4"),
        ] {
            let e = check_api_version(bad)
                .err()
                .map(|e| (e.status.as_u16(), e.code));
            assert_eq!(e, Some((400, "BadParameter".to_owned())), "{bad:?}");
        }
        let e = check_api_version(Some("api-version=7.1"))
            .err()
            .map(|e| e.message);
        assert!(e.is_some_and(|m| m.contains("(7.1) is not recognized")));
    }
}
