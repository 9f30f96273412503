//! # sdctl
//!
//! A toolkit for the security-domain ceremonies of Azure Key Vault Managed HSM: custodian
//! wrapping keys, security-domain files, restore blobs, and the online steps.
//!
//! What it holds:
//! - [`keys`]: generate a custodian key set, load keys and certificates of every format
//!   openssl writes ([`keys::load_wrapping_key`]), inspect them without a passphrase, and
//!   check a set before an activation;
//! - [`passphrase`]: zeroizing passphrases, `--passphrase-file`, hidden prompts;
//! - [`files`]: bounded reads and atomic, no-clobber writes;
//! - [`domain`]: security-domain files: inspect, the recovery drill, restore blobs, rewrap,
//!   and the distributed quorum (custodians export their share to a ceremony session);
//! - [`shares`]: k-of-n sharing of any secret among custodians (binary, paper, QR, sealed);
//! - [`hsm`] (feature `online`): the HSM client; [`emulator`]: a local Managed HSM;
//! - [`error`]: typed errors and the documented exit codes.
//!
//! The library never prints; the `sdctl` binary is a thin front end over it.

#![warn(missing_docs)]

pub mod build_info;
pub mod ceremony;
pub mod domain;
#[cfg(feature = "online")]
pub mod emulator;
pub mod error;
pub mod exit_code;
pub mod files;
#[cfg(feature = "online")]
pub mod hsm;
pub mod keys;
pub mod parallel;
pub mod passphrase;
pub mod primitives;
pub mod process;
pub mod shares;

pub use error::{Error, Result};
pub use exit_code::ExitCode;
