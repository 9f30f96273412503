//! The workspace's state file (`OUT/state.json`): the ceremony runs of this machine, the
//! current security domain and the retired ones. Which steps of a run are finished is
//! read from its transcript (the authority); the state keeps a copy for people to read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CeremonyError;
use crate::files::{read_bounded, write_atomic, MODE_PUBLIC};

/// File name of the state in the output directory.
pub const STATE_FILE: &str = "state.json";
const FORMAT: u32 = 1;

/// A ceremony kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// First activation of an HSM.
    Activate,
    /// Periodic proof that the custodians can recover.
    Drill,
    /// New custodians or quorum.
    Rotate,
    /// Recovery into a new HSM.
    Recover,
}

impl Kind {
    /// The kind's name, as in `sdctl ceremony NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Activate => "activate",
            Kind::Drill => "drill",
            Kind::Rotate => "rotate",
            Kind::Recover => "recover",
        }
    }
}

/// One run of a ceremony on this machine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    /// `activate`, `drill-1`, `recover-2`, ...
    pub id: String,
    /// The kind.
    pub kind: Kind,
    /// SHA-256 of the plan the run started with.
    pub plan_sha256: String,
    /// When the run started here.
    pub started: String,
    /// Finished steps (a copy of what the transcript says).
    pub steps_done: Vec<String>,
    /// Whether the run is closed.
    pub closed: bool,
}

/// A security-domain file the workspace knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdRecord {
    /// Path relative to the output directory.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The custodians it is split among, in share order.
    pub custodians: Vec<String>,
    /// Its quorum.
    pub quorum: usize,
    /// Set when a rotation replaced it: when and by which run.
    #[serde(default)]
    pub retired: Option<String>,
}

/// The state file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub sdctl_ceremony_state: u32,
    /// The plan's ceremony name (a workspace serves one ceremony).
    pub ceremony: String,
    /// The runs, oldest first.
    pub runs: Vec<Run>,
    /// The security domain in force.
    pub current_sd: Option<SdRecord>,
    /// Security domains replaced by rotations.
    pub retired_sds: Vec<SdRecord>,
}

impl State {
    /// A new state for `ceremony`.
    pub fn new(ceremony: &str) -> State {
        State {
            sdctl_ceremony_state: FORMAT,
            ceremony: ceremony.to_owned(),
            runs: Vec::new(),
            current_sd: None,
            retired_sds: Vec::new(),
        }
    }

    /// Reads `dir/state.json`, or a new state when there is none.
    pub fn load(dir: &Path, ceremony: &str) -> Result<State, crate::Error> {
        let path = dir.join(STATE_FILE);
        if !path.exists() {
            return Ok(State::new(ceremony));
        }
        let bytes = read_bounded(&path, 16 * 1024 * 1024, "a ceremony state file")?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| {
            CeremonyError::State(format!(
                "{}: not a ceremony state file: {e}",
                path.display()
            ))
        })?;
        if state.sdctl_ceremony_state != FORMAT {
            return Err(CeremonyError::State(format!(
                "{}: state format {} is not known to this sdctl",
                path.display(),
                state.sdctl_ceremony_state
            ))
            .into());
        }
        if state.ceremony != ceremony {
            return Err(CeremonyError::Refused(format!(
                "{}: this output directory belongs to ceremony '{}', not '{ceremony}'; give each ceremony its own output_dir",
                path.display(),
                state.ceremony
            ))
            .into());
        }
        Ok(state)
    }

    /// Writes `dir/state.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), crate::Error> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| CeremonyError::State(format!("state cannot be encoded: {e}")))?;
        text.push('\n');
        write_atomic(&dir.join(STATE_FILE), text.as_bytes(), MODE_PUBLIC, true)?;
        Ok(())
    }

    /// The latest run of `kind`, if any.
    pub fn latest(&self, kind: Kind) -> Option<&Run> {
        self.runs.iter().rev().find(|r| r.kind == kind)
    }

    /// The run called `id`.
    pub fn run_mut(&mut self, id: &str) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// The id the next run of `kind` gets (`activate` has only one).
    pub fn next_run_id(&self, kind: Kind) -> String {
        if kind == Kind::Activate {
            return "activate".into();
        }
        let n = self.runs.iter().filter(|r| r.kind == kind).count() + 1;
        format!("{}-{n}", kind.name())
    }
}

/// Where a run's files live: `OUT/runs/RUN/`.
pub fn run_dir(out: &Path, run: &str) -> PathBuf {
    out.join("runs").join(run)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
