//! The run's transfer code on this machine: where it comes from (made at the opening,
//! typed at the first import, `--transfer-code-file`, or kept in the run's folder), and the
//! refusal of unattended two-machine runs without it. The code itself is
//! [`super::transfer_code`].

use std::path::Path;

use super::engine::Options;
use super::plan::{Machines, Plan};
use super::state::run_dir;
use super::transfer_code::TransferCode;
use super::ui::Ui;
use super::CeremonyError;

/// Where this machine's transfer code for the run came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransferSource {
    /// None yet (one-machine runs never have one).
    #[default]
    None,
    /// Made here when the run opened, and shown to the operator.
    Made,
    /// Typed by the operator when the run's first bundle arrived.
    Typed,
    /// From `--transfer-code-file`.
    File,
    /// Kept in the run's folder by an earlier invocation.
    Kept,
}

impl TransferSource {
    /// For people and transcripts.
    pub fn label(self) -> &'static str {
        match self {
            TransferSource::None => "no transfer code",
            TransferSource::Made => "transfer code made on this machine",
            TransferSource::Typed => "transfer code typed by the operator",
            TransferSource::File => "transfer code from --transfer-code-file",
            TransferSource::Kept => "transfer code kept on this machine",
        }
    }
}

/// The file in a run's folder that keeps the run's transfer code (mode 0600).
pub const TRANSFER_CODE_FILE: &str = "transfer-code";

/// `--transfer-code-file`, read; an unattended two-machine run is refused without it (no
/// person is there to type or read the code, and nothing else authenticates the bundles).
pub fn transfer_code_option(
    plan: &Plan,
    options: &Options,
    ui: &dyn Ui,
) -> Result<Option<TransferCode>, crate::Error> {
    let code = match &options.transfer_code_file {
        Some(path) => {
            Some(TransferCode::read_file(path).map_err(|e| CeremonyError::Usage(e.to_string()))?)
        }
        None => None,
    };
    if code.is_none() && plan.ceremony.machines == Machines::Two && !ui.attended() {
        return Err(CeremonyError::Usage(format!(
            "{}: an unattended run of a two-machine plan (--yes) needs the run's transfer code from a 0600 file: give --transfer-code-file FILE on both machines (make one with 'sdctl ceremony transfer-code --out FILE' and carry it apart from the transfer medium)",
            plan.path.display()
        ))
        .into());
    }
    Ok(code)
}

/// The transfer code kept in run `run`'s folder, if any; it must be the one of
/// `--transfer-code-file` when both are there.
pub fn kept_transfer_code(
    out: &Path,
    run: &str,
    from_file: Option<&TransferCode>,
) -> Result<Option<TransferCode>, crate::Error> {
    let path = run_dir(out, run).join(TRANSFER_CODE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let kept = TransferCode::read_file(&path).map_err(|e| CeremonyError::State(e.to_string()))?;
    if from_file.is_some_and(|f| *f != kept) {
        return Err(CeremonyError::Usage(format!(
            "--transfer-code-file: the code is not run {run}'s (kept in {}): give the file of this run",
            path.display()
        ))
        .into());
    }
    Ok(Some(kept))
}
