//! The emulator's persistent state: the tenant and its principals, and every HSM with its
//! activation, security-domain state, exchange keys, roles and long-running operations.
//! Kept in `STATE_DIR/state.json` (mode 0600: it holds the HSMs' secrets), rewritten
//! atomically after every change, so a restarted emulator carries on where it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keys::model::{DeletedKey, KeyEntry, Retention};
use super::EmulatorError;
use crate::files::{self, MODE_SECRET};

/// Name of the state file in the state directory.
pub const STATE_FILE: &str = "state.json";

/// A principal of the emulated tenant (a service principal with a client secret).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Principal {
    /// Application (client) id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Object id: the `oid` claim and the principal id of role assignments.
    pub object_id: String,
}

/// A long-running operation's status, as the pending endpoints report it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Operation {
    /// `InProgress`, `Success` or `Failed` once done.
    pub final_status: String,
    /// The service's `status_details`.
    pub status_details: String,
    /// When it started (Unix seconds, fractional).
    pub started: f64,
    /// How long it stays `InProgress`.
    pub duration: f64,
}

impl Operation {
    /// The status at `now`.
    pub fn status_at(&self, now: f64) -> &str {
        if now < self.started + self.duration {
            "InProgress"
        } else {
            &self.final_status
        }
    }
}

/// One HSM state blob (a security-domain datum's plaintext).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Blob {
    /// Its tag.
    pub tag: String,
    /// Its plaintext, standard base64.
    pub data: String,
}

/// A transfer (exchange) key handed out for a recovery.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TransferKey {
    /// The private key, PEM.
    pub private_pem: String,
    /// The certificate, DER as standard base64 (the JWK's `x5c[0]`).
    pub certificate: String,
    /// Whether an upload already used it (each exchange key works once).
    pub used: bool,
}

/// One emulated Managed HSM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hsm {
    /// Its name.
    pub name: String,
    /// The ARM subscription it was provisioned in.
    pub subscription: String,
    /// The ARM resource group.
    pub resource_group: String,
    /// The tenant.
    pub tenant_id: String,
    /// Object ids of the administrators named at creation.
    pub initial_admin_object_ids: Vec<String>,
    /// The SKU as given.
    pub sku: serde_json::Value,
    /// `NotActivated` or `Active`.
    pub activation: String,
    /// The security-domain state (empty until activated).
    pub blobs: Vec<Blob>,
    /// The current transfer key, if one was handed out.
    pub transfer_key: Option<TransferKey>,
    /// The last download operation.
    pub download: Option<Operation>,
    /// The last upload operation.
    pub upload: Option<Operation>,
    /// Keys by name, with all their versions (state files from before versions load too).
    pub keys: BTreeMap<String, KeyEntry>,
    /// Deleted keys by name, until recovered or purged.
    #[serde(default)]
    pub deleted_keys: BTreeMap<String, DeletedKey>,
    /// Soft-delete retention and purge protection, from the ARM resource.
    #[serde(default)]
    pub retention: Retention,
    /// Custom role definitions (built-in ones are not stored).
    pub role_definitions: Vec<serde_json::Value>,
    /// Role assignments.
    pub role_assignments: Vec<serde_json::Value>,
    /// Full backup and restore jobs by id.
    #[serde(default)]
    pub jobs: BTreeMap<String, super::backup::Job>,
    /// Account settings changed from their defaults, by name (see [`super::settings`]).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// Everything the emulator remembers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// The emulated tenant's id.
    pub tenant_id: String,
    /// The administrator principal.
    pub admin: Option<Principal>,
    /// Other principals (created by tests through the admin API).
    pub principals: Vec<Principal>,
    /// PEM of the token-signing key.
    pub signing_key_pem: String,
    /// The HSMs by name.
    pub hsms: BTreeMap<String, Hsm>,
}

impl State {
    /// Loads the state file of `dir`, or `None` when there is none yet.
    pub fn load(dir: &Path) -> Result<Option<State>, EmulatorError> {
        let path = dir.join(STATE_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = files::read_bounded(&path, 256 * 1024 * 1024, "emulator state")?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EmulatorError::State(format!("{}: {e}", path.display())))
    }

    /// Writes the state file atomically (0600).
    pub fn save(&self, dir: &Path) -> Result<(), EmulatorError> {
        let json = serde_json::to_vec(self).map_err(|e| EmulatorError::State(e.to_string()))?;
        files::write_atomic(&dir.join(STATE_FILE), &json, MODE_SECRET, true)?;
        Ok(())
    }

    /// Every principal (the admin first).
    pub fn all_principals(&self) -> impl Iterator<Item = &Principal> {
        self.admin.iter().chain(self.principals.iter())
    }
}

/// The state file's path in `dir`.
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}
