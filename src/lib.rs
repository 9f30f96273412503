//! # sdctl
//!
//! A toolkit for the security-domain ceremonies of Azure Key Vault Managed HSM: custodian
//! wrapping keys, security-domain files, restore blobs, and the online steps.
//!
//! This release holds the foundation and the custodian keys:
//! - [`keys`]: generate a custodian key set, load keys and certificates of every format
//!   openssl writes ([`keys::load_wrapping_key`]), inspect them without a passphrase, and
//!   check a set before an activation;
//! - [`passphrase`]: zeroizing passphrases, `--passphrase-file`, hidden prompts;
//! - [`files`]: bounded reads and atomic, no-clobber writes;
//! - [`error`]: typed errors and the documented exit codes.
//!
//! The library never prints; the `sdctl` binary is a thin front end over it.

#![warn(missing_docs)]

pub mod domain;
#[cfg(feature = "online")]
pub mod emulator;
pub mod error;
pub mod files;
#[cfg(feature = "online")]
pub mod hsm;
pub mod keys;
pub mod parallel;
pub mod passphrase;
pub mod primitives;
pub mod process;

pub use error::{Error, ExitCode, Result};
