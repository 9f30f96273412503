//! Guided ceremonies: plan files, resumable steps on two machines, bundles carried between
//! them, and a tamper-evident transcript with a printable record.
//!
//! - [`plan`]: the plan file; [`state`]: the workspace's state file;
//! - [`engine`] and [`runner`]: steps announced, confirmed, run, recorded, resumed;
//! - [`bundle`]: what crosses the air gap, authenticated by [`transfer_code`]; [`transcript`] and [`record`]: the evidence;
//! - [`activate`], [`drill`], [`rotate`], [`recover`]: the ceremonies;
//!   [`rehearse`] (feature `online`): all of them against the built-in emulator.

pub mod activate;
pub mod audit;
pub mod bundle;
pub mod common;
pub mod custodians;
pub mod drill;
pub mod engine;
pub mod hsm_steps;
#[cfg(feature = "online")]
pub mod online;
pub mod plan;
pub mod quorum;
pub mod quorum_choice;
pub mod record;
pub mod recover;
#[cfg(feature = "online")]
pub mod rehearse;
pub mod rotate;
pub mod run_transfer;
pub mod runner;
pub mod safety;
pub mod state;
pub mod status;
pub mod token_custodians;
pub mod transcript;
pub mod transfer_code;
pub mod ui;
pub mod verify_sd;

use std::path::PathBuf;

use crate::exit_code::ExitCode;

pub use engine::{Machine, Options, Report};
pub use plan::{Plan, PlanError};
pub use state::Kind;

/// A ceremony could not go on.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// The plan is unusable.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The transcript is broken or diverged.
    #[error(transparent)]
    Transcript(#[from] transcript::TranscriptError),
    /// An unsafe state: the ceremony refuses to go on (the reason says what to do).
    #[error("refused: {0}")]
    Refused(String),
    /// Bad usage.
    #[error("{0}")]
    Usage(String),
    /// The state file is unusable.
    #[error("{0}")]
    State(String),
    /// A bundle does not authenticate under the run's transfer code: forged or changed.
    #[error("refused: {0}")]
    Unauthentic(String),
    /// A `--passphrase-file` line does not open its custodian's key.
    #[error("{}: line {line} (custodian {custodian}) is the wrong passphrase: it does not open {}", file.display(), key.display())]
    WrongPassphraseLine {
        /// The passphrase file.
        file: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Whose line it is.
        custodian: String,
        /// The key it should open.
        key: PathBuf,
    },
    /// A bundle is unusable.
    #[error("{}: {detail}", path.display())]
    Bundle {
        /// The bundle.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl CeremonyError {
    /// The documented exit code: refusals and broken records are failed checks (1), bad
    /// plans, bundles and usage are bad input (2), a bundle whose MAC does not verify is a
    /// cryptographic failure (3), as is a passphrase file's line that does not open its key.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CeremonyError::Transcript(e) => e.exit_code(),
            CeremonyError::Refused(_) => ExitCode::CheckFailed,
            CeremonyError::Unauthentic(_) | CeremonyError::WrongPassphraseLine { .. } => {
                ExitCode::Crypto
            }
            CeremonyError::Plan(_)
            | CeremonyError::Usage(_)
            | CeremonyError::State(_)
            | CeremonyError::Bundle { .. } => ExitCode::BadInput,
        }
    }
}

impl From<PlanError> for crate::Error {
    fn from(e: PlanError) -> Self {
        crate::Error::Ceremony(CeremonyError::Plan(e))
    }
}

impl From<transcript::TranscriptError> for crate::Error {
    fn from(e: transcript::TranscriptError) -> Self {
        crate::Error::Ceremony(CeremonyError::Transcript(e))
    }
}

/// Runs ceremony `kind` of `plan` on this machine (see [`engine::run`]).
pub fn run(
    plan: &Plan,
    kind: Kind,
    options: &Options,
    ui: &mut dyn ui::Ui,
) -> Result<Report, crate::Error> {
    if kind == Kind::Recover {
        plan.recovery_hsm()?;
    }
    check_passphrase_file(plan, options, ui.passphrases())?;
    if let Some(names) = &options.quorum_custodians {
        quorum_choice::check_option(plan, kind, names)?;
    }
    // A token goes only where it belongs: refused before a credential is read or a run
    // recorded, on the machine that would send it.
    #[cfg(feature = "online")]
    if options.machine != Some(engine::Machine::Offline) {
        online::check_hosts(plan)?;
    }
    engine::run(plan, kind, steps(plan, kind), options, ui)
}

/// A passphrase file with fewer lines than the plan has custodians is refused before any
/// step runs: otherwise the ceremony would stop half-way, some custodians' keys made or
/// shares proven, at the first custodian without a line. The online machine needs none.
fn check_passphrase_file(
    plan: &Plan,
    options: &Options,
    source: &crate::passphrase::PassphraseSource,
) -> Result<(), CeremonyError> {
    let crate::passphrase::PassphraseSource::File(file) = source else {
        return Ok(());
    };
    let custodians = plan.custodians.len();
    if options.machine == Some(Machine::Online) || file.len() >= custodians {
        return Ok(());
    }
    Err(CeremonyError::Usage(format!(
        "{}: has {} line(s) but the plan names {custodians} custodians; write one passphrase per custodian, in the plan's order",
        file.path().display(),
        file.len()
    )))
}

/// The steps of ceremony `kind` for `plan`.
pub fn steps(plan: &Plan, kind: Kind) -> Vec<engine::Step> {
    match kind {
        Kind::Activate => activate::steps(plan),
        Kind::Drill => drill::steps(plan),
        Kind::Rotate => rotate::steps(plan),
        Kind::Recover => recover::steps(plan),
    }
}
