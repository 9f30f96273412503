//! ARM-shaped subscription list, `GET /subscriptions`: the subscriptions the emulator's
//! HSMs were provisioned in, as Resource Manager lists the subscriptions a caller can see.
//! The Azure CLI's `az login` reads it to pick the account's subscription.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::identity::ARM_AUDIENCE;

/// The subscription-list route of the main listener.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/subscriptions", get(list_subscriptions))
}

async fn list_subscriptions(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    app.authenticate(&headers, &[ARM_AUDIENCE])?;
    let state = app.lock();
    let ids: BTreeSet<&str> = state
        .hsms
        .values()
        .map(|h| h.subscription.as_str())
        .collect();
    let value: Vec<Value> = ids
        .into_iter()
        .map(|id| subscription(id, &app.tenant))
        .collect();
    Ok(Json(json!({ "value": value })))
}

/// One subscription as Resource Manager describes it (api-version 2022-12-01).
fn subscription(id: &str, tenant: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{id}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": id,
        "tenantId": tenant,
        "displayName": format!("sdctl emulator {id}"),
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}
