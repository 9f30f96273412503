//! The online client (feature `online`): an HSM named by `--hsm-name`/`--cloud` or
//! `--hsm-url`, tokens from the official Azure SDK credentials, the security-domain steps
//! (download, init-recovery, upload, wait, status) and local RBAC, with bounded retries.
//!
//! Everything is async (tokio); the CLI runs it on a current-thread runtime.

pub mod backup;
pub mod client;
pub mod credential;
pub mod endpoint;
pub mod error;
pub mod host_scope;
pub mod http;
pub mod interrupted;
pub mod jwt;
pub mod keys;
pub mod operation;
pub mod rbac;
pub mod retry;
pub mod security_domain;
pub mod status;

pub use client::HsmClient;
pub use credential::{CredentialKind, CredentialOptions, Credentials};
pub use endpoint::{Cloud, Endpoint};
pub use error::HsmError;
pub use host_scope::{AllowVia, HostScope, Reach, TokenKind};
pub use operation::{Operation, OperationStatus, State, WaitOptions};
