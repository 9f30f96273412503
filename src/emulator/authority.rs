//! The emulator's Entra-ID-shaped authority, as MSAL-based credentials walk it: instance
//! discovery (`GET /common/discovery/instance`), the tenant's OpenID discovery document
//! (`GET /{tenant}/v2.0/.well-known/openid-configuration`), its signing keys
//! (`GET /{tenant}/discovery/v2.0/keys`) and the client-credentials token endpoint
//! (`POST /{tenant}/oauth2/v2.0/token`), whose refusals carry Entra ID's AADSTS codes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::json;

use super::app::App;
use super::http::oauth_error;
use super::identity;
use crate::primitives::base64url;

/// The `kid` of the token-signing key in the key set.
const SIGNING_KEY_ID: &str = "sdctl-emulator";

/// The authority's routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/common/discovery/instance", get(instance_discovery))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(signing_keys))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
}

/// Whether `path` is one of the authority's (its errors take Entra ID's OAuth shape).
pub fn is_authority_path(path: &str) -> bool {
    path.starts_with("/common/discovery/")
        || path.contains("/oauth2/")
        || path.contains("/.well-known/")
        || path.contains("/discovery/v2.0/")
}

fn unknown_tenant(tenant: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
async fn openid_configuration(State(app): State<Arc<App>>, Path(tenant): Path<String>) -> Response {
    if tenant != app.tenant {
        return unknown_tenant(&tenant);
    }
    let base = format!("{}/{tenant}", app.url);
    Json(json!({
        "issuer": format!("{base}/v2.0"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "request_uri_parameter_supported": false,
        "tenant_region_scope": null,
        "cloud_instance_name": "sdctl-emulator",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`: the token-signing public key as a JWK set.
async fn signing_keys(State(app): State<Arc<App>>, Path(tenant): Path<String>) -> Response {
    if tenant != app.tenant {
        return unknown_tenant(&tenant);
    }
    let Ok(rsa) = app.signing_key.rsa() else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            "the signing key is not an RSA key",
        );
    };
    Json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": SIGNING_KEY_ID,
        "n": base64url::encode(&rsa.n().to_vec()),
        "e": base64url::encode(&rsa.e().to_vec()),
    }]}))
    .into_response()
}

/// `GET /common/discovery/instance?authorization_endpoint=...`: this authority is its own
/// (only) instance; another host's authorization endpoint is an unknown instance.
async fn instance_discovery(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let endpoint = query
        .get("authorization_endpoint")
        .map(String::as_str)
        .unwrap_or("");
    let tenant = endpoint
        .strip_prefix(app.url.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split('/').next())
        .filter(|t| !t.is_empty());
    let Some(tenant) = tenant else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_instance",
            50049,
            &format!("Unknown or invalid instance: '{endpoint}' is not served by this authority."),
        );
    };
    let host = app
        .url
        .strip_prefix("https://")
        .unwrap_or(app.url.as_str())
        .to_owned();
    Json(json!({
        "tenant_discovery_endpoint":
            format!("{}/{tenant}/v2.0/.well-known/openid-configuration", app.url),
        "api-version": query.get("api-version").cloned().unwrap_or_else(|| "1.1".into()),
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }))
    .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`, client-credentials grant. Checked in the order Entra
/// ID checks: tenant, grant type, client, secret, scope.
async fn token(
    State(app): State<Arc<App>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    if tenant != app.tenant {
        return oauth_error(bad, "invalid_request", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
    }
    for parameter in ["grant_type", "client_id", "scope"] {
        if form.get(parameter).is_none_or(|v| v.is_empty()) {
            return oauth_error(
                bad,
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{parameter}'."),
            );
        }
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            bad,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{}'; this authority supports client_credentials only.",
                field("grant_type")
            ),
        );
    }
    let client_id = field("client_id");
    let principal = app
        .lock()
        .all_principals()
        .find(|p| p.client_id == client_id)
        .cloned();
    let Some(principal) = principal else {
        return oauth_error(bad, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."));
    };
    let Some(secret) = form.get("client_secret") else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
        );
    };
    let secret_ok = secret.len() == principal.client_secret.len()
        && openssl::memcmp::eq(secret.as_bytes(), principal.client_secret.as_bytes());
    if !secret_ok {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."));
    }
    let scope = field("scope");
    if !scope.split_whitespace().any(|s| s.ends_with("/.default")) {
        return oauth_error(bad, "invalid_scope", 70011, &format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid: client credential flows must ask for a resource's /.default scope."));
    }
    let Some(audience) = identity::audience_of_scope(scope) else {
        let resource = scope
            .split_whitespace()
            .find(|s| s.ends_with("/.default"))
            .map(|s| s.trim_end_matches("/.default"))
            .unwrap_or(scope);
        return oauth_error(bad, "invalid_resource", 500011, &format!("The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."));
    };
    match identity::issue(
        &app.signing_key,
        &app.tenant,
        &principal,
        audience,
        identity::now(),
        identity::TOKEN_LIFETIME,
    ) {
        Ok(access_token) => Json(json!({
            "token_type": "Bearer",
            "expires_in": identity::TOKEN_LIFETIME,
            "ext_expires_in": identity::TOKEN_LIFETIME,
            "access_token": access_token,
        }))
        .into_response(),
        Err(e) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", 50000, &e),
    }
}
