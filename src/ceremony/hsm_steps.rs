//! The online steps, as steps: what they are called, who acts, what they explain. Their
//! work is in [`super::online`] (feature `online`); the air-gapped build knows them only to
//! hand off to the online machine.

use super::engine::{Action, Side, Step};
use super::plan::HsmSection;

#[cfg(feature = "online")]
use super::online as work;

/// The air-gapped build: every online step says where it must run.
#[cfg(not(feature = "online"))]
mod work {
    pub use super::super::common::{
        no_network as download, no_network as exchange_key, no_network as full_restore,
        no_network as status, no_network as upload,
    };
}

fn step(id: &str, title: &str, explain: &str, action: Action) -> Step {
    Step {
        id: id.into(),
        side: Side::Online,
        actor: "operator".into(),
        title: title.into(),
        explain: explain.into(),
        imports: None,
        action,
    }
}

/// Checks that the signed-in principal holds the roles the next steps need on `hsm`;
/// `purpose` is `download` (activation) or `recover`.
pub fn roles_step(hsm: HsmSection, purpose: &'static str) -> Step {
    #[cfg(feature = "online")]
    let action: Action = Box::new(move |ctx| work::roles(ctx, &hsm, purpose));
    #[cfg(not(feature = "online"))]
    let action: Action = {
        let _ = (hsm, purpose);
        Box::new(super::common::no_network)
    };
    step(
        "roles",
        "Check the operator's roles on the HSM",
        "sdctl signs in and reads the HSM's local role assignments: the signed-in principal must hold the security-domain actions of the next steps, so nothing fails half-way.",
        action,
    )
}

/// Activates the HSM (`hsm download`).
pub fn download_step() -> Step {
    step(
        "download",
        "Activate the HSM: download its security domain",
        "The custodians' certificates and the quorum are sent to the HSM, which makes its security domain encrypted to them. It is saved to sd/security-domain.json the moment it arrives, checked against the request, and the operation is followed to Success.",
        Box::new(work::download),
    )
}

/// Fetches the new HSM's exchange key (`hsm init-recovery`).
pub fn exchange_key_step() -> Step {
    step(
        "exchange-key",
        "Fetch the new HSM's exchange key",
        "The new HSM gives the public key the restore blob must be encrypted to; it is saved as a PEM certificate for the air-gapped machine.",
        Box::new(work::exchange_key),
    )
}

/// Uploads the restore blob (`hsm upload`) and waits for Success.
pub fn upload_step() -> Step {
    step(
        "upload",
        "Upload the restore blob to the new HSM",
        "The restore blob made on the air-gapped machine is sent to the new HSM, and the recovery is followed to Success (the service's own words are shown if it fails).",
        Box::new(work::upload),
    )
}

/// Reads the HSM's activation state (`hsm status`).
pub fn status_step() -> Step {
    step(
        "status",
        "Check that the new HSM is active",
        "The HSM's data plane must report the recovery as succeeded: the HSM now holds the security domain.",
        Box::new(work::status),
    )
}

/// Restores the full backup named in the plan (`hsm restore`).
pub fn full_restore_step() -> Step {
    step(
        "full-restore",
        "Restore the full backup into the new HSM",
        "The full backup named in the plan's [recovery] section (keys and role assignments) is restored into the new HSM and followed to the end. With no backup in the plan the step records that it was skipped.",
        Box::new(work::full_restore),
    )
}
