//! A local Managed HSM emulator: HTTPS on loopback with its own CA, an Entra-ID-shaped token
//! endpoint, ARM-shaped provisioning, the security-domain data plane (download, transfer key,
//! upload, long-running operations) and local RBAC. One process hosts many HSMs; each answers
//! at the root of its own origin `https://127.0.0.1:PORT_NAME` (one loopback listener per
//! HSM, see [`origins`]), while the token endpoint, Resource Manager and the fault API answer
//! on the main listener. State persists in the state directory.

mod app;
mod arm;
mod authority;
mod backup;
mod error_shape;
pub mod faults;
pub mod gate;
pub mod http;
pub mod identity;
mod in_process;
/// Key operations (encrypt, decrypt, sign, verify, wrapKey, unwrapKey) as one pure function.
pub mod key_crypto;
mod keys;
mod origins;
mod rbac;
mod rng;
mod sd;
mod server;
mod server_loop;
mod settings;
pub mod state;
mod subscriptions;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use in_process::{Answer, InProcess};
pub use server::{start, Emulator};

use crate::exit_code::ExitCode;
use crate::files::FileError;

/// How to run the emulator.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Loopback address of the main listener (port 0: any free port); the HSMs' listeners
    /// bind the same address.
    pub listen: SocketAddr,
    /// Where state, the CA and the credentials live.
    pub state_dir: PathBuf,
    /// HSMs to provision at start (with the administrator principal), if not there yet.
    pub hsms: Vec<String>,
    /// Ports for HSMs' listeners by HSM name (any free port for the others, and for 0).
    pub hsm_ports: std::collections::BTreeMap<String, u16>,
    /// Send `transfer_key` as a JSON object instead of a string (the service sends a string).
    pub transfer_key_as_object: bool,
    /// How long download and upload operations stay `InProgress`, in seconds.
    pub operation_seconds: f64,
    /// Faults scripted from the start (see [`faults`]).
    pub faults: Vec<faults::Fault>,
}

/// The emulator could not start or keep its state.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The listen address is not usable.
    #[error("{0}")]
    Listen(String),
    /// TLS set-up failed.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// The state file is unreadable.
    #[error("emulator state: {0}")]
    State(String),
    /// An in-process request could not be made or answered ([`InProcess::request`]).
    #[error("emulator request: {0}")]
    Request(String),
}

impl EmulatorError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            EmulatorError::File(e) => e.exit_code(),
            EmulatorError::Listen(_) | EmulatorError::State(_) | EmulatorError::Request(_) => {
                ExitCode::BadInput
            }
            EmulatorError::Tls(_) => ExitCode::Crypto,
        }
    }
}
