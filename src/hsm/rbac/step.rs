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
    /// Every step, the security-domain ones first.
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

    /// The security-domain steps (the first six of [`Step::ALL`]): what `role check`
    /// verifies by default.
    pub const SECURITY_DOMAIN: &'static [Step] = Step::ALL.split_at(6).0;

    /// The step's name on the command line, and the command (or task) it stands for.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Step::Download => ("download", "hsm download"),
            Step::InitRecovery => ("init-recovery", "hsm init-recovery"),
            Step::Upload => ("upload", "hsm upload"),
            Step::WaitDownload => ("wait-download", "hsm wait --target download"),
            Step::WaitUpload => ("wait-upload", "hsm wait --target upload"),
            Step::Status => ("status", "hsm status"),
            Step::ManageRoles => ("manage-roles", "hsm role assign/delete/definition"),
            Step::KeyBackup => ("key-backup", "key backups"),
            Step::KeyRestore => ("key-restore", "key restores"),
        }
    }

    /// The step's name on the command line (`init-recovery`).
    pub fn name(self) -> &'static str {
        self.words().0
    }

    /// The command (or task) the step stands for (`hsm wait --target download`).
    pub fn command(self) -> &'static str {
        self.words().1
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
