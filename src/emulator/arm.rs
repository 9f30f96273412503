//! ARM-shaped provisioning:
//! `PUT/GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/managedHSMs/{name}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::app::App;
use super::http::ApiError;
use super::identity::{ARM_AUDIENCE, HSM_AUDIENCE};
use super::keys::model::Retention;
use super::rbac;
use super::state::{Hsm, State as Persisted};

/// The ARM routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.KeyVault/managedHSMs/{name}",
        get(get_hsm).put(put_hsm),
    )
}

/// Provisions `name` for the administrator principal (the `--hsm NAME` shortcut), unless
/// it exists already.
pub fn provision_default(app: &App, name: &str) -> Result<(), ApiError> {
    app.mutate(|state| {
        if state.hsms.contains_key(name) {
            return Ok(());
        }
        let admin = state
            .admin
            .as_ref()
            .map(|a| a.object_id.clone())
            .ok_or_else(|| ApiError::internal("no administrator principal"))?;
        let tenant = state.tenant_id.clone();
        create(
            state,
            name,
            "00000000-0000-0000-0000-000000000000",
            "sdctl-emulator",
            &tenant,
            vec![admin],
            json!({"family": "B", "name": "Standard_B1"}),
        )
    })
}

fn create(
    state: &mut Persisted,
    name: &str,
    subscription: &str,
    group: &str,
    tenant: &str,
    admins: Vec<String>,
    sku: Value,
) -> Result<(), ApiError> {
    let valid = (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-');
    if !valid {
        return Err(ApiError::bad_parameter(format!(
            "'{name}' is not a valid Managed HSM name: 3 to 24 letters, digits and hyphens, starting with a letter"
        )));
    }
    let role_assignments = admins
        .iter()
        .map(|a| rbac::assignment(a, rbac::ADMINISTRATOR, "/", &super::server::uuid()))
        .collect();
    state.hsms.insert(
        name.to_owned(),
        Hsm {
            name: name.to_owned(),
            subscription: subscription.to_owned(),
            resource_group: group.to_owned(),
            tenant_id: tenant.to_owned(),
            initial_admin_object_ids: admins,
            sku,
            activation: "NotActivated".into(),
            blobs: Vec::new(),
            transfer_key: None,
            download: None,
            upload: None,
            keys: Default::default(),
            deleted_keys: Default::default(),
            retention: Retention::default(),
            role_definitions: Vec::new(),
            role_assignments,
            jobs: Default::default(),
            settings: Default::default(),
        },
    );
    Ok(())
}

/// `softDeleteRetentionInDays` (7 to 90, default 90) and `enablePurgeProtection` (default
/// false) of a create body's properties.
fn retention(props: &Value) -> Result<Retention, ApiError> {
    let days = match props.get("softDeleteRetentionInDays") {
        None | Some(Value::Null) => 90,
        Some(v) => v.as_u64().filter(|d| (7..=90).contains(d)).ok_or_else(|| {
            ApiError::bad_parameter("properties.softDeleteRetentionInDays must be 7 to 90")
        })? as u32,
    };
    let purge_protection = match props.get("enablePurgeProtection") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "properties.enablePurgeProtection must be true or false",
            ))
        }
    };
    Ok(Retention {
        days,
        purge_protection,
    })
}

fn resource(app: &App, h: &Hsm) -> Value {
    let message = if h.activation == "Active" {
        "The Managed HSM is activated and ready to serve requests."
    } else {
        "Your HSM has been provisioned, but cannot be used for cryptographic operations until it is activated. To activate the HSM, download the security domain."
    };
    json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/managedHSMs/{}", h.subscription, h.resource_group, h.name),
        "name": h.name,
        "type": "Microsoft.KeyVault/managedHSMs",
        "location": "local",
        "sku": h.sku,
        "properties": {
            "tenantId": h.tenant_id,
            "initialAdminObjectIds": h.initial_admin_object_ids,
            "hsmUri": format!("{}/", app.hsm_url(&h.name)),
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": h.retention.days,
            "enablePurgeProtection": h.retention.purge_protection,
            "provisioningState": "Succeeded",
            "securityDomainProperties": {
                "activationStatus": h.activation,
                "activationStatusMessage": message,
            },
        }
    })
}

type Route = (String, String, String);

async fn get_hsm(
    State(app): State<Arc<App>>,
    Path((subscription, group, name)): Path<Route>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    app.authenticate(&headers, &[ARM_AUDIENCE, HSM_AUDIENCE])?;
    let state = app.lock();
    let h = state
        .hsms
        .get(&name)
        .filter(|h| h.subscription == subscription && h.resource_group.eq_ignore_ascii_case(&group))
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFound", format!("The Resource 'Microsoft.KeyVault/managedHSMs/{name}' under resource group '{group}' was not found."))
        })?;
    Ok(Json(resource(&app, h)))
}

async fn put_hsm(
    State(app): State<Arc<App>>,
    Path((subscription, group, name)): Path<Route>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    app.authenticate(&headers, &[ARM_AUDIENCE, HSM_AUDIENCE])?;
    let props = &body["properties"];
    let tenant = props["tenantId"]
        .as_str()
        .ok_or_else(|| ApiError::bad_parameter("properties.tenantId is required"))?;
    if tenant != app.tenant {
        return Err(ApiError::bad_parameter(format!(
            "properties.tenantId '{tenant}' is not this emulator's tenant ({})",
            app.tenant
        )));
    }
    let admins: Vec<String> = props["initialAdminObjectIds"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if admins.is_empty() {
        return Err(ApiError::bad_parameter(
            "properties.initialAdminObjectIds must name at least one administrator",
        ));
    }
    let retention = retention(props)?;
    let sku = body
        .get("sku")
        .cloned()
        .unwrap_or(json!({"family": "B", "name": "Standard_B1"}));
    let created = app.mutate(|state| {
        if let Some(existing) = state.hsms.get(&name) {
            if existing.subscription != subscription
                || !existing.resource_group.eq_ignore_ascii_case(&group)
            {
                return Err(ApiError::conflict(format!(
                    "the name '{name}' is already in use"
                )));
            }
            return Ok(false);
        }
        create(state, &name, &subscription, &group, tenant, admins, sku)?;
        if let Some(h) = state.hsms.get_mut(&name) {
            h.retention = retention;
        }
        Ok(true)
    })?;
    if created {
        super::server::open_origin(&app, &name)?;
    }
    let state = app.lock();
    let h = state
        .hsms
        .get(&name)
        .ok_or_else(|| ApiError::internal("HSM vanished"))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(resource(&app, h))).into_response())
}
