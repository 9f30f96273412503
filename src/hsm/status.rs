//! `hsm status`: the activation state as the data plane tells it (the download and upload
//! operations), and as Azure Resource Manager tells it when the resource is named.

use reqwest::{Method, Url};
use serde::Serialize;

use super::client::HsmClient;
use super::endpoint::{Cloud, Endpoint, ARM_API_VERSION};
use super::operation::{Operation, OperationStatus, State};
use super::retry::Idempotency;
use super::HsmError;

/// What the data plane says about one operation.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OperationView {
    /// The operation's last status.
    Seen(OperationStatus),
    /// None was ever started on this HSM (404).
    NotStarted,
    /// The caller may not read it (403); the message names the data action.
    NotPermitted {
        /// The service's message.
        message: String,
    },
}

/// The activation state, from the data plane.
#[derive(Clone, Debug, Serialize)]
pub struct DataPlaneStatus {
    /// `Active`, `Activating`, `NotActivated`, or `Unknown` (not readable).
    pub activation: &'static str,
    /// The download (activation) operation.
    pub download: OperationView,
    /// The upload (recovery) operation.
    pub upload: OperationView,
}

/// Reads both operations' status and derives the activation state.
pub async fn data_plane_status(client: &HsmClient) -> Result<DataPlaneStatus, HsmError> {
    let download = view(client, Operation::Download).await?;
    let upload = view(client, Operation::Upload).await?;
    let state = |v: &OperationView| match v {
        OperationView::Seen(s) => Some(s.state),
        _ => None,
    };
    let states = [state(&download), state(&upload)];
    let readable = !matches!(download, OperationView::NotPermitted { .. })
        || !matches!(upload, OperationView::NotPermitted { .. });
    let activation = if states.contains(&Some(State::Succeeded)) {
        "Active"
    } else if states.contains(&Some(State::InProgress)) {
        "Activating"
    } else if readable {
        "NotActivated"
    } else {
        "Unknown"
    };
    Ok(DataPlaneStatus {
        activation,
        download,
        upload,
    })
}

async fn view(client: &HsmClient, operation: Operation) -> Result<OperationView, HsmError> {
    match client.last_operation(operation, None).await {
        Ok(Some(status)) => Ok(OperationView::Seen(status)),
        Ok(None) => Ok(OperationView::NotStarted),
        Err(HsmError::Forbidden { message, .. }) => Ok(OperationView::NotPermitted { message }),
        Err(e) => Err(e),
    }
}

/// The Managed HSM resource in Azure Resource Manager.
#[derive(Clone, Debug)]
pub struct ArmResource {
    /// The Resource Manager endpoint (`https://management.azure.com`, or the emulator's URL).
    pub endpoint: Url,
    /// The token audience for Resource Manager.
    pub audience: String,
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// The HSM's name.
    pub name: String,
}

impl ArmResource {
    /// The resource of the HSM at `endpoint` in its cloud's Resource Manager, or at
    /// `arm_url` (https only; the emulator's URL in rehearsals).
    pub fn for_hsm(
        endpoint: &Endpoint,
        arm_url: Option<&str>,
        subscription: &str,
        resource_group: &str,
        name: &str,
    ) -> Result<ArmResource, HsmError> {
        let (url, cloud) = arm_endpoint(endpoint, arm_url)?;
        Ok(ArmResource {
            endpoint: url,
            audience: cloud.resource_manager().to_owned(),
            subscription: subscription.to_owned(),
            resource_group: resource_group.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The Resource Manager endpoint for the HSM at `endpoint` (its cloud's, or `arm_url`),
/// and the cloud whose Resource Manager token it gets.
pub fn arm_endpoint(endpoint: &Endpoint, arm_url: Option<&str>) -> Result<(Url, Cloud), HsmError> {
    let cloud = endpoint.cloud.unwrap_or(Cloud::AzureCloud);
    let text = arm_url.unwrap_or(cloud.resource_manager());
    let url = Url::parse(text)
        .ok()
        .filter(|u| u.scheme() == "https")
        .ok_or_else(|| HsmError::Usage(format!("--arm-url {text}: give an https URL")))?;
    Ok((url, cloud))
}

/// What Resource Manager says.
#[derive(Clone, Debug, Serialize)]
pub struct ArmStatus {
    /// `properties.provisioningState`.
    pub provisioning_state: Option<String>,
    /// `properties.securityDomainProperties.activationStatus`.
    pub activation_status: Option<String>,
    /// `properties.securityDomainProperties.activationStatusMessage`.
    pub activation_status_message: Option<String>,
    /// `properties.hsmUri`.
    pub hsm_uri: Option<String>,
}

/// Reads the HSM's resource from Resource Manager.
pub async fn arm_status(client: &HsmClient, target: &ArmResource) -> Result<ArmStatus, HsmError> {
    for (what, value) in [
        ("--subscription", &target.subscription),
        ("--resource-group", &target.resource_group),
    ] {
        if value.is_empty() || value.contains(['/', '?', '#']) {
            return Err(HsmError::Usage(format!("{what} '{value}' is not valid")));
        }
    }
    let mut url = target.endpoint.clone();
    let path = format!(
        "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/managedHSMs/{}",
        url.path().trim_end_matches('/'),
        target.subscription,
        target.resource_group,
        target.name
    );
    url.set_path(&path);
    url.query_pairs_mut()
        .append_pair("api-version", ARM_API_VERSION);
    let answer = client
        .send_for(
            &target.audience,
            Method::GET,
            url,
            None,
            Idempotency::Repeatable,
            None,
        )
        .await?;
    if !answer.ok() {
        return Err(answer.into_error(&target.audience));
    }
    let v = answer.json()?;
    let props = &v["properties"];
    let text = |p: &serde_json::Value| p.as_str().map(str::to_owned);
    Ok(ArmStatus {
        provisioning_state: text(&props["provisioningState"]),
        activation_status: text(&props["securityDomainProperties"]["activationStatus"]),
        activation_status_message: text(
            &props["securityDomainProperties"]["activationStatusMessage"],
        ),
        hsm_uri: text(&props["hsmUri"]),
    })
}
