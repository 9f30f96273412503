//! `hsm status`.

use clap::Args;
use sdctl::hsm::status::{arm_status, data_plane_status, ArmResource, OperationView};
use sdctl::Error;

use super::connect::Connection;
use super::progress::Spinner;
use crate::cli::Reporter;

/// Arguments of `hsm status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    conn: Connection,
    /// Also ask Azure Resource Manager: the subscription holding the HSM.
    #[arg(long, value_name = "ID", requires = "resource_group")]
    subscription: Option<String>,
    /// Also ask Azure Resource Manager: the HSM's resource group.
    #[arg(long, value_name = "NAME", requires = "subscription")]
    resource_group: Option<String>,
    /// The HSM's name in Resource Manager (default: from its URL; needed when the URL is an
    /// address, as the emulator's HSMs' are).
    #[arg(long, value_name = "NAME", requires = "subscription")]
    resource_name: Option<String>,
    /// The Resource Manager endpoint (default: the cloud's; the emulator's URL in rehearsals).
    #[arg(long, value_name = "URL")]
    arm_url: Option<String>,
}

/// `hsm status`.
pub async fn status(rep: &mut Reporter, args: StatusArgs) -> Result<i32, Error> {
    let asks_arm = args.subscription.is_some() && args.resource_group.is_some();
    args.conn
        .check_hosts(asks_arm.then_some(args.arm_url.as_deref()))?;
    let endpoint = args.conn.endpoint()?;
    // Checked before a credential is read: an address (an emulated HSM) names no HSM.
    let resource_name = match (args.resource_name.clone(), endpoint.name()) {
        (Some(name), _) | (None, Some(name)) => name,
        (None, None) if asks_arm => {
            return Err(sdctl::hsm::HsmError::Usage(format!(
                "{} names no HSM: give its Resource Manager name with --resource-name",
                endpoint.base_url()
            ))
            .into())
        }
        (None, None) => String::new(),
    };
    let spinner = Spinner::new(rep, "reading the HSM's status");
    let client = args.conn.client(rep, &spinner)?;
    let data_plane = data_plane_status(&client).await;
    let arm = match (&args.subscription, &args.resource_group) {
        (Some(subscription), Some(group)) => {
            let target = ArmResource::for_hsm(
                &client.endpoint,
                args.arm_url.as_deref(),
                subscription,
                group,
                &resource_name,
            )?;
            Some(arm_status(&client, &target).await)
        }
        _ => None,
    };
    spinner.done();
    let data_plane = data_plane?;
    let arm = arm.transpose()?;
    #[derive(serde::Serialize)]
    struct Status {
        hsm: String,
        credential: String,
        activation: &'static str,
        data_plane: sdctl::hsm::status::DataPlaneStatus,
        arm: Option<sdctl::hsm::status::ArmStatus>,
    }
    let result = Status {
        hsm: client.endpoint.base_url(),
        credential: client.credentials.description.clone(),
        activation: data_plane.activation,
        data_plane,
        arm,
    };
    Ok(rep.finish(&result, true, || {
        println!("HSM:        {}", result.hsm);
        println!("Signed in:  {}", result.credential);
        println!("Activation: {} (data plane)", result.activation);
        for (name, view) in [
            ("download", &result.data_plane.download),
            ("upload", &result.data_plane.upload),
        ] {
            let text = match view {
                OperationView::Seen(s) => format!("{} — {}", s.status, s.status_details),
                OperationView::NotStarted => "never started".to_owned(),
                OperationView::NotPermitted { message } => format!("not readable: {message}"),
            };
            println!("  {name:<9} {text}");
        }
        if let Some(a) = &result.arm {
            println!(
                "Resource Manager: provisioning {}, activation {}",
                a.provisioning_state.as_deref().unwrap_or("-"),
                a.activation_status.as_deref().unwrap_or("-")
            );
            if let Some(m) = &a.activation_status_message {
                println!("  {m}");
            }
        }
    }))
}
