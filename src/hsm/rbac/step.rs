//! The ceremony steps `role check` knows, and the data actions each needs.

use serde::Serialize;

use super::{HsmError, Scope, ACTION_PREFIX, SECURITY_DOMAIN_ACTIONS};

/// A ceremony step whose data actions `role check` verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// `hsm download`: activate a new HSM.
    Download,
    /// `hsm init-recovery`: fetch the exchange key.
    InitRecovery,
    /// `hsm upload`: upload a restore blob.
    Upload,
    /// `hsm wait --target download`.
    WaitDownload,
    /// `hsm wait --target upload`.
    WaitUpload,
    /// `hsm status`.
    Status,
    /// `hsm role assign|delete|definition ...`.
    ManageRoles,
    /// Back up keys (at `/keys`).
    KeyBackup,
    /// Restore keys (at `/keys`).
    KeyRestore,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 9] = [
        Step::Download,
        Step::InitRecovery,
        Step::Upload,
        Step::WaitDownload,
        Step::WaitUpload,
        Step::Status,
        Step::ManageRoles,
        Step::KeyBackup,
        Step::KeyRestore,
    ];

    /// The security-domain steps: what `role check` verifies by default.
    pub const SECURITY_DOMAIN: [Step; 6] = [
        Step::Download,
        Step::InitRecovery,
        Step::Upload,
        Step::WaitDownload,
        Step::WaitUpload,
        Step::Status,
    ];

    /// The step's name on the command line (`init-recovery`).
    pub fn name(self) -> &'static str {
        match self {
            Step::Download => "download",
            Step::InitRecovery => "init-recovery",
            Step::Upload => "upload",
            Step::WaitDownload => "wait-download",
            Step::WaitUpload => "wait-upload",
            Step::Status => "status",
            Step::ManageRoles => "manage-roles",
            Step::KeyBackup => "key-backup",
            Step::KeyRestore => "key-restore",
        }
    }

    /// Parses a step name (case-insensitive).
    pub fn parse(text: &str) -> Result<Step, HsmError> {
        Step::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                HsmError::Usage(format!(
                    "unknown step '{text}'; use one of {}",
                    Step::ALL.map(Step::name).join(", ")
                ))
            })
    }

    /// The data actions (full names) the step needs, and where.
    pub fn needs(self) -> Vec<(String, Scope)> {
        let sd = |i: usize| SECURITY_DOMAIN_ACTIONS[i].to_owned();
        let at_root = |actions: Vec<String>| actions.into_iter().map(|a| (a, Scope::Hsm)).collect();
        let short = |s: &str| format!("{ACTION_PREFIX}{s}");
        match self {
            Step::Download => at_root(vec![sd(0), sd(1)]),
            Step::InitRecovery => at_root(vec![sd(2)]),
            Step::Upload => at_root(vec![sd(3), sd(4)]),
            Step::WaitDownload => at_root(vec![sd(1)]),
            Step::WaitUpload => at_root(vec![sd(4)]),
            Step::Status => at_root(vec![sd(1), sd(4)]),
            Step::ManageRoles => at_root(
                [
                    "roleAssignments/read/action",
                    "roleAssignments/write/action",
                    "roleAssignments/delete/action",
                    "roleDefinitions/read/action",
                    "roleDefinitions/write/action",
                    "roleDefinitions/delete/action",
                ]
                .iter()
                .map(|s| short(s))
                .collect(),
            ),
            Step::KeyBackup => vec![(short("keys/backup/action"), Scope::Keys)],
            Step::KeyRestore => vec![(short("keys/restore/action"), Scope::Keys)],
        }
    }
}
