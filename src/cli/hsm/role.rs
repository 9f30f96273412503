//! `hsm role ...` (filled in below).

use clap::Subcommand;
use sdctl::Error;

use crate::cli::Reporter;

/// Local RBAC.
#[derive(Subcommand, Debug)]
pub enum RoleCommand {}

/// The command's name for the JSON envelope.
pub fn command_name(_cmd: &RoleCommand) -> &'static str {
    "hsm role"
}

/// Runs a role subcommand.
pub async fn run(_rep: &mut Reporter, cmd: RoleCommand) -> Result<i32, Error> {
    match cmd {}
}
