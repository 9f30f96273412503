//! `sdctl hsm ...`: the online steps. Parses flags, builds the library's client, runs the
//! step on a current-thread runtime, and prints.

mod backup;
mod connect;
mod key;
mod progress;
mod role;
mod sd;
mod status;

use clap::Subcommand;
use sdctl::Error;

use super::secrets::harden;
use super::{OutputFormat, Reporter};

/// Online commands against a Managed HSM (or the emulator).
#[derive(Subcommand, Debug)]
pub enum HsmCommand {
    /// Activate a new HSM: check the custodian certificates, ask the HSM for its security
    /// domain, save it atomically the moment it arrives, check it against the request,
    /// and follow the operation to Success.
    #[command(after_help = "Examples:
  sdctl hsm download --hsm-name contoso --sd-quorum 2 \\
      --sd-wrapping-keys c1.cer c2.cer c3.cer --security-domain-file sd.json
  sdctl hsm download --hsm-url https://127.0.0.1:PORT \\
      --ca-cert emu/ca.pem --access-token-file emu/admin.token --sd-quorum 2 \\
      --sd-wrapping-keys c1.cer c2.cer c3.cer --security-domain-file sd.json")]
    Download(sd::DownloadArgs),
    /// Fetch a new HSM's exchange key for a recovery, as a PEM certificate (what the
    /// Azure CLI writes) or the JWK; carry it to the air-gapped machine.
    #[command(
        name = "init-recovery",
        after_help = "Examples:
  sdctl hsm init-recovery --hsm-name contoso-dr --sd-exchange-key exchange.pem
  sdctl hsm init-recovery --hsm-name contoso-dr --format jwk \\
      --sd-exchange-key exchange.json"
    )]
    InitRecovery(sd::InitRecoveryArgs),
    /// Upload a restore blob to a new HSM and follow the operation to Success or Failed,
    /// printing the service's status details exactly.
    #[command(after_help = "Examples:
  sdctl hsm upload --hsm-name contoso-dr --sd-file blob.json --restore-blob
  sdctl hsm upload --hsm-name contoso-dr --sd-file blob.json --restore-blob \\
      --no-wait")]
    Upload(sd::UploadArgs),
    /// Wait for a download or upload to finish (exit 0 only on Success; 4 on Failed or
    /// timeout).
    #[command(after_help = "Examples:
  sdctl hsm wait --hsm-name contoso-dr --target upload
  sdctl hsm wait --hsm-name contoso --target download --timeout 1800")]
    Wait(sd::WaitArgs),
    /// The HSM's activation state: from the data plane, and from Azure Resource Manager
    /// when --subscription and --resource-group are given.
    #[command(after_help = "Examples:
  sdctl hsm status --hsm-name contoso
  sdctl hsm status --hsm-name contoso --subscription SUBSCRIPTION_ID \\
      --resource-group hsm-rg
  sdctl hsm status --hsm-name contoso --cloud AzureUSGovernment")]
    Status(status::StatusArgs),
    /// Local RBAC: role assignments, role definitions, the security-domain officer role,
    /// and a check of what the signed-in principal may do.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Full backup of the HSM (every key, version and role assignment, sealed under its
    /// security domain) into a blob container, given a SAS token in a file; follows the
    /// job to Succeeded and prints the folder to restore.
    Backup(backup::BackupArgs),
    /// Full restore of a backup folder into an HSM that holds the same security domain
    /// (the last step of a recovery); replaces its keys and role assignments. A backup
    /// from another security domain fails with the service's message (exit 4).
    Restore(backup::RestoreArgs),
    /// Keys: create, show, list (enough to prove a recovery or a restore).
    #[command(subcommand)]
    Key(key::KeyCommand),
}

/// Runs an `hsm` subcommand and returns the exit status.
pub fn run(cmd: HsmCommand, format: OutputFormat) -> i32 {
    let name = match &cmd {
        HsmCommand::Download(_) => "hsm download",
        HsmCommand::InitRecovery(_) => "hsm init-recovery",
        HsmCommand::Upload(_) => "hsm upload",
        HsmCommand::Wait(_) => "hsm wait",
        HsmCommand::Status(_) => "hsm status",
        HsmCommand::Role(r) => role::command_name(r),
        HsmCommand::Backup(_) => "hsm backup",
        HsmCommand::Restore(_) => "hsm restore",
        HsmCommand::Key(k) => key::command_name(k),
    };
    let mut rep = Reporter::new(format, name);
    // Access tokens, SAS tokens and a client certificate's private key pass through here.
    harden(&mut rep);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sdctl: cannot start the async runtime: {e}");
            return sdctl::ExitCode::Service.code();
        }
    };
    let outcome: Result<i32, Error> = runtime.block_on(async {
        match cmd {
            HsmCommand::Download(args) => sd::download(&mut rep, args).await,
            HsmCommand::InitRecovery(args) => sd::init_recovery(&mut rep, args).await,
            HsmCommand::Upload(args) => sd::upload(&mut rep, args).await,
            HsmCommand::Wait(args) => sd::wait(&mut rep, args).await,
            HsmCommand::Status(args) => status::status(&mut rep, args).await,
            HsmCommand::Role(cmd) => role::run(&mut rep, cmd).await,
            HsmCommand::Backup(args) => backup::backup(&mut rep, args).await,
            HsmCommand::Restore(args) => backup::restore(&mut rep, args).await,
            HsmCommand::Key(cmd) => key::run(&mut rep, cmd).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}
