//! `ceremony status`: where each ceremony of a plan stands on this machine.

use serde::Serialize;

use super::engine::FINISHING_EVENTS;
use super::plan::Plan;
use std::path::Path;

use super::quorum::{session_dirs_in, session_redone};
use super::state::{Kind, Run, SdRecord, State};
use super::transcript::Transcript;
use crate::domain::session::session_paths;

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
    /// For a distributed run in progress whose ceremony session key is gone before the
    /// shares were combined: what happened and what the next run of the command does.
    pub session: Option<String>,
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
            let (digest, problem, next, session) = match Transcript::open(&path) {
                Ok(t) => {
                    let next = (!r.closed).then(|| next_step(plan, r, &t)).flatten();
                    let session = (!r.closed).then(|| lost_session(&out, r, &t)).flatten();
                    (t.final_digest(), None, next, session)
                }
                Err(e) => (None, Some(e.to_string()), None, None),
            };
            RunStatus {
                id: r.id.clone(),
                kind: r.kind.name(),
                steps_done: r.steps_done.clone(),
                closed: r.closed,
                final_digest: digest,
                transcript_problem: problem,
                next,
                session,
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

/// Whether `run` (open) made a ceremony session whose key is now gone although the step
/// that combines the share exports has not finished; what the next run will do.
fn lost_session(out: &Path, run: &Run, transcript: &Transcript) -> Option<String> {
    let entries = transcript.entries();
    let finished = |step: &str| {
        entries.iter().any(|e| {
            e.run == run.id && e.step == step && FINISHING_EVENTS.contains(&e.event.as_str())
        })
    };
    let user = match run.kind {
        Kind::Recover => "restore-blob",
        Kind::Drill => "drill",
        _ => return None,
    };
    if !finished("session") || finished(user) {
        return None;
    }
    let dir = super::state::run_dir(out, &run.id);
    let (session, _) = session_dirs_in(&dir, session_redone(entries, &run.id));
    let (key, _) = session_paths(&session);
    if key.exists() {
        return None;
    }
    let rel = key.strip_prefix(out).unwrap_or(&key).display().to_string();
    Some(
        if run.kind == Kind::Recover && dir.join("restore-blob.json").exists() {
            format!("the session key {rel} is gone, but the restore blob was written before an interruption: run the same command: the blob is kept and the step recorded")
        } else {
            format!("the session key {rel} is gone: run the same command: the session step is redone (a new session key) and the custodians export their shares again")
        },
    )
}
