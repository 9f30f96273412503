//! `hsm role check`: does a principal hold what the next ceremony step needs?

use clap::{Args, ValueEnum};
use sdctl::hsm::rbac::check::{self, Step};
use sdctl::hsm::rbac::check_principal;
use sdctl::Error;

use super::print;
use super::Connection;
use super::Spinner;
use crate::cli::Reporter;

/// Arguments of `hsm role check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    conn: Connection,
    /// The step to check (repeatable); default: every security-domain step (download,
    /// init-recovery, upload, wait-download, wait-upload, status).
    #[arg(long = "for", value_name = "STEP", value_enum)]
    steps: Vec<StepArg>,
    /// Check this principal (object id) instead of the signed-in one.
    #[arg(long, value_name = "OBJECT_ID")]
    assignee: Option<String>,
}

/// `--for` of `role check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StepArg {
    /// hsm download: securitydomain/download/action and download/read.
    Download,
    /// hsm init-recovery: securitydomain/transferkey/read.
    InitRecovery,
    /// hsm upload: securitydomain/upload/action and upload/read.
    Upload,
    /// hsm wait --target download: securitydomain/download/read.
    WaitDownload,
    /// hsm wait --target upload: securitydomain/upload/read.
    WaitUpload,
    /// hsm status: securitydomain/download/read and upload/read.
    Status,
    /// hsm role assign/delete/definition: roleAssignments and roleDefinitions read, write, delete.
    ManageRoles,
    /// Key backups: keys/backup/action at /keys.
    KeyBackup,
    /// Key restores: keys/restore/action at /keys.
    KeyRestore,
}

impl From<StepArg> for Step {
    fn from(s: StepArg) -> Step {
        match s {
            StepArg::Download => Step::Download,
            StepArg::InitRecovery => Step::InitRecovery,
            StepArg::Upload => Step::Upload,
            StepArg::WaitDownload => Step::WaitDownload,
            StepArg::WaitUpload => Step::WaitUpload,
            StepArg::Status => Step::Status,
            StepArg::ManageRoles => Step::ManageRoles,
            StepArg::KeyBackup => Step::KeyBackup,
            StepArg::KeyRestore => Step::KeyRestore,
        }
    }
}
/// `hsm role check`.
pub async fn run(rep: &mut Reporter, args: CheckArgs) -> Result<i32, Error> {
    if let Some(a) = &args.assignee {
        check_principal(a)?;
    }
    let steps: Vec<Step> = args.steps.iter().map(|s| Step::from(*s)).collect();
    let spinner = Spinner::new(rep, "reading role assignments and definitions");
    let client = args.conn.client(rep, &spinner)?;
    let report = check::check(&client, &steps, args.assignee.as_deref()).await?;
    spinner.done();
    for role in &report.unresolved_roles {
        rep.warn(format!("the principal holds role {role}, whose definition could not be read; what it grants is not counted"));
    }
    Ok(rep.finish(&report, report.passed, || print::check(&report)))
}
