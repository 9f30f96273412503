//! Faults on demand, so client tests can script a bad day: per route, a count of requests
//! answered with 429 (Retry-After), 500 or 503, delayed, held `InProgress`, reported
//! `Failed`, or dropped without an answer. Set at start with `--faults ROUTE=KIND[:COUNT],...`
//! or at run time through `POST /_emulator/faults` (administrator token); `GET` lists what
//! remains, `DELETE` clears.
//!
//! Routes: `token`, `arm`, `download`, `download/pending`, `transferkey`, `upload`,
//! `upload/pending`, `keys`, `roles`, `backup`, `restore`, or `*` for any.
//! Kinds: `429`, `500`, `503`, `latency-MS` (e.g. `latency-1500`), `inprogress` (pending
//! routes answer InProgress), `failed` (only on `download/pending` and `upload/pending`:
//! the status read answers `{"status": "Failed", "status_details": "injected fault: the
//! operation failed"}` without looking at the operation, which is left as it is), `drop`
//! (the connection is closed without a response, before the request is handled),
//! `drop-after` (the request is handled, then the connection is closed: the service acted
//! but its answer is lost).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::app::App;
use super::http::ApiError;
use super::identity::HSM_AUDIENCE;

const ROUTES: [&str; 12] = [
    "token",
    "arm",
    "download",
    "download/pending",
    "transferkey",
    "upload",
    "upload/pending",
    "keys",
    "roles",
    "backup",
    "restore",
    "*",
];

/// One scripted fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The route it applies to (see the module docs), or `*`.
    pub route: String,
    /// What happens (see the module docs).
    pub kind: String,
    /// How many more requests get it.
    pub remaining: u32,
}

/// The routes a `failed` fault may be set on: the security-domain operations' status reads
/// (the backup and restore jobs' status reads share their routes with the starts, and
/// answer in another shape).
const FAILED_ROUTES: [&str; 2] = ["download/pending", "upload/pending"];

/// Marks a response whose connection must be dropped instead of answered.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

impl Fault {
    fn validate(&self) -> Result<(), String> {
        if !ROUTES.contains(&self.route.as_str()) {
            return Err(format!(
                "unknown fault route '{}' (one of {})",
                self.route,
                ROUTES.join(", ")
            ));
        }
        let ok = matches!(
            self.kind.as_str(),
            "429" | "500" | "503" | "inprogress" | "failed" | "drop" | "drop-after"
        ) || self
            .kind
            .strip_prefix("latency-")
            .is_some_and(|ms| ms.parse::<u64>().is_ok_and(|m| m <= 60_000));
        if !ok {
            return Err(format!(
                "unknown fault kind '{}' (429, 500, 503, latency-MS up to 60000, inprogress, failed, drop, drop-after)",
                self.kind
            ));
        }
        if self.kind == "failed" && !FAILED_ROUTES.contains(&self.route.as_str()) {
            return Err(format!(
                "fault kind 'failed' applies to the operations' status routes only ({}), not '{}'",
                FAILED_ROUTES.join(", "),
                self.route
            ));
        }
        Ok(())
    }
}

/// Parses `ROUTE=KIND[:COUNT],...` (COUNT defaults to 1).
pub fn parse_spec(spec: &str) -> Result<Vec<Fault>, String> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let (route, rest) = part
                .trim()
                .split_once('=')
                .ok_or_else(|| format!("--faults: '{part}' is not ROUTE=KIND[:COUNT]"))?;
            let (kind, count) = match rest.split_once(':') {
                Some((k, c)) => (
                    k,
                    c.parse::<u32>()
                        .map_err(|_| format!("--faults: '{c}' is not a count"))?,
                ),
                None => (rest, 1),
            };
            let fault = Fault {
                route: route.into(),
                kind: kind.into(),
                remaining: count,
            };
            fault.validate().map_err(|e| format!("--faults: {e}"))?;
            Ok(fault)
        })
        .collect()
}

/// The faults still to apply.
#[derive(Default)]
pub struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    /// A table holding `initial`.
    pub fn new(initial: Vec<Fault>) -> Self {
        Faults(Mutex::new(initial))
    }

    fn take(&self, route: &str) -> Option<String> {
        let mut faults = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let fault = faults
            .iter_mut()
            .find(|f| f.remaining > 0 && (f.route == route || f.route == "*"))?;
        fault.remaining -= 1;
        let kind = fault.kind.clone();
        faults.retain(|f| f.remaining > 0);
        Some(kind)
    }
}

/// The route name of a request, for fault matching.
pub fn classify(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if path.ends_with("/oauth2/v2.0/token") {
        return "token";
    }
    if segments.first() == Some(&"subscriptions") {
        return "arm";
    }
    if path.contains("/providers/Microsoft.Authorization/") {
        return "roles";
    }
    match segments.get(2..).unwrap_or_default() {
        ["securitydomain", "download"] => "download",
        ["securitydomain", "download", "pending"] => "download/pending",
        ["securitydomain", "upload"] if method == Method::GET => "transferkey",
        ["securitydomain", "upload"] => "upload",
        ["securitydomain", "upload", "pending"] => "upload/pending",
        ["keys", ..] => "keys",
        ["backup", ..] => "backup",
        ["restore", ..] => "restore",
        _ => "other",
    }
}

/// Middleware applying the next fault scripted for the request's route.
/// The fault-scripting endpoint itself is exempt (a `*=drop` must stay clearable).
pub async fn apply(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let route = classify(request.method(), request.uri().path());
    let Some(kind) = app.faults.take(route) else {
        return next.run(request).await;
    };
    let injected = |status: StatusCode, code: &str| {
        let mut e = ApiError::new(status, code, format!("injected fault on route '{route}'"));
        e.retry_after = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        )
        .then_some(1);
        e.into_response()
    };
    match kind.as_str() {
        "429" => injected(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
        "500" => injected(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        "503" => injected(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        "inprogress" => Json(
            json!({"status": "InProgress", "status_details": "injected fault: still in progress"}),
        )
        .into_response(),
        "failed" => Json(
            json!({"status": "Failed", "status_details": "injected fault: the operation failed"}),
        )
        .into_response(),
        "drop" => {
            let mut response = Response::new(Body::empty());
            response.extensions_mut().insert(DropConnection);
            response
        }
        "drop-after" => {
            let mut response = next.run(request).await;
            response.extensions_mut().insert(DropConnection);
            response
        }
        latency => {
            let ms = latency
                .strip_prefix("latency-")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
    }
}

/// `/_emulator/faults`: list (GET), add (POST), clear (DELETE); administrator only.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/_emulator/faults", get(list).post(add).delete(clear))
}

fn admin_only(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let claims = app.authenticate(headers, &[HSM_AUDIENCE])?;
    let admin = app.lock().admin.as_ref().map(|a| a.object_id.clone());
    if admin.as_deref() != Some(claims.oid.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "only the emulator's administrator may script faults",
        ));
    }
    Ok(())
}

async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    admin_only(&app, &headers)?;
    let faults = app
        .faults
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(Json(json!({"faults": faults})))
}

async fn add(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(fault): Json<Fault>,
) -> Result<Response, ApiError> {
    admin_only(&app, &headers)?;
    fault.validate().map_err(ApiError::bad_parameter)?;
    app.faults
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(fault.clone());
    Ok((StatusCode::CREATED, Json(fault)).into_response())
}

async fn clear(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    admin_only(&app, &headers)?;
    app.faults
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
