//! `ceremony status`: where each ceremony of a plan stands on this machine.

use serde::Serialize;

use super::plan::Plan;
use super::state::{SdRecord, State};
use super::transcript::Transcript;

/// One run, as its transcript tells it.
#[derive(Clone, Debug, Serialize)]
pub struct RunStatus {
    /// Run id.
    pub id: String,
    /// Kind.
    pub kind: &'static str,
    /// Finished steps.
    pub steps_done: Vec<String>,
    /// Whether it is closed.
    pub closed: bool,
    /// The transcript's final digest (`None`: empty or unreadable).
    pub final_digest: Option<String>,
    /// A problem with the transcript, if any.
    pub transcript_problem: Option<String>,
}

/// What `ceremony status` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The ceremony's name.
    pub ceremony: String,
    /// The plan's SHA-256.
    pub plan_sha256: String,
    /// The output directory.
    pub output_dir: String,
    /// The runs, oldest first.
    pub runs: Vec<RunStatus>,
    /// The security domain in force.
    pub current_sd: Option<SdRecord>,
    /// Retired security domains.
    pub retired_sds: Vec<SdRecord>,
}

/// Reads the state and every run's transcript.
pub fn status(plan: &Plan) -> Result<Status, crate::Error> {
    let out = plan.output_dir();
    let state = State::load(&out, &plan.ceremony.name)?;
    let runs = state
        .runs
        .iter()
        .map(|r| {
            let path = super::state::run_dir(&out, &r.id).join("transcript.jsonl");
            let (digest, problem) = match Transcript::open(&path) {
                Ok(t) => (t.final_digest(), None),
                Err(e) => (None, Some(e.to_string())),
            };
            RunStatus {
                id: r.id.clone(),
                kind: r.kind.name(),
                steps_done: r.steps_done.clone(),
                closed: r.closed,
                final_digest: digest,
                transcript_problem: problem,
            }
        })
        .collect();
    Ok(Status {
        ceremony: plan.ceremony.name.clone(),
        plan_sha256: plan.sha256.clone(),
        output_dir: out.display().to_string(),
        runs,
        current_sd: state.current_sd,
        retired_sds: state.retired_sds,
    })
}
