//! `ceremony status`: where each ceremony of a plan stands on this machine.

use serde::Serialize;

use super::engine::FINISHING_EVENTS;
use super::plan::Plan;
use super::state::{Run, SdRecord, State};
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
    /// For a run in progress: the next step, who acts, and on which machine.
    pub next: Option<String>,
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
            let (digest, problem, next) = match Transcript::open(&path) {
                Ok(t) => {
                    let next = (!r.closed).then(|| next_step(plan, r, &t)).flatten();
                    (t.final_digest(), None, next)
                }
                Err(e) => (None, Some(e.to_string()), None),
            };
            RunStatus {
                id: r.id.clone(),
                kind: r.kind.name(),
                steps_done: r.steps_done.clone(),
                closed: r.closed,
                final_digest: digest,
                transcript_problem: problem,
                next,
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

/// The first step of `run` its transcript does not record as finished.
fn next_step(plan: &Plan, run: &Run, transcript: &Transcript) -> Option<String> {
    let finished: Vec<&str> = transcript
        .entries()
        .iter()
        .filter(|e| e.run == run.id && FINISHING_EVENTS.contains(&e.event.as_str()))
        .map(|e| e.step.as_str())
        .collect();
    let steps = super::steps(plan, run.kind);
    let (i, step) = steps
        .iter()
        .enumerate()
        .find(|(_, s)| !finished.contains(&s.id.as_str()))?;
    Some(format!(
        "step {}/{}: {} (who: {}; machine: {})",
        i + 1,
        steps.len(),
        step.title,
        step.actor,
        step.side.label()
    ))
}
