//! The step runner: resumes a ceremony run where it stopped, runs the steps that belong to
//! this machine one at a time (announced, confirmed, recorded), and stops at a hand-off to
//! the other machine, at a step that waits for people, or at the end.
//!
//! A step is finished when its transcript entry is written; its outputs are written
//! (atomically) before that. A kill at any moment therefore leaves either a finished step
//! or one that runs again from the start, and a step that runs again keeps what must not
//! be made twice (a custodian's key).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::plan::{Machines, Plan};
use super::record;
use super::run_transfer::{kept_transfer_code, transfer_code_option};
pub use super::run_transfer::{TransferSource, TRANSFER_CODE_FILE};
use super::safety::{find_private_keys, network_interfaces_up, remove_stale_temporaries};
use super::state::{run_dir, Kind, Run, State};
use super::transcript::{FileDigest, NewEntry, Transcript};
use super::transfer_code::TransferCode;
use super::ui::{Announcement, Ui};
use super::CeremonyError;
use crate::files::create_private_dir;
use crate::keys::generate::now_rfc3339;

/// Which side of the air gap a step belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The air-gapped machine (private keys).
    Offline,
    /// The machine that talks to the HSM.
    Online,
}

impl Side {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Side::Offline => "air-gapped",
            Side::Online => "online",
        }
    }
    fn flag(self) -> &'static str {
        match self {
            Side::Offline => "offline",
            Side::Online => "online",
        }
    }
}

/// Which machine this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// The air-gapped machine of a two-machine plan.
    Offline,
    /// The online machine of a two-machine plan.
    Online,
    /// The only machine of a one-machine plan (rehearsals).
    Single,
}

impl Machine {
    /// The name recorded in transcripts.
    pub fn name(self) -> &'static str {
        match self {
            Machine::Offline => "offline",
            Machine::Online => "online",
            Machine::Single => "single",
        }
    }
    /// Whether steps of `side` run here.
    pub fn runs(self, side: Side) -> bool {
        matches!(
            (self, side),
            (Machine::Single, _)
                | (Machine::Offline, Side::Offline)
                | (Machine::Online, Side::Online)
        )
    }
}

/// Options of one invocation.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--machine`; `None` for one-machine plans.
    pub machine: Option<Machine>,
    /// `--expect-sha256`: the digest witnesses read on the other machine.
    pub expect_sha256: Option<String>,
    /// `--bundle`: where the bundle to import is (default: `OUT/transfer/`).
    pub bundle: Option<PathBuf>,
    /// `--allow-network`: run the air-gapped part with a network interface up (recorded).
    pub allow_network: bool,
    /// `--transfer-code-file`: the run's transfer code, from a 0600 file (unattended
    /// two-machine runs need it; attended ones show or ask for the code instead).
    pub transfer_code_file: Option<PathBuf>,
    /// `--quorum-custodians`: who forms the quorum at the drill and restore-blob steps
    /// (default: the plan's `quorum_custodians`; attended runs ask).
    pub quorum_custodians: Option<Vec<String>>,
}

/// What a step did.
#[derive(Clone, Debug, Default)]
pub struct Done {
    /// One sentence for the transcript and the people.
    pub summary: String,
    /// Transcript event (`step` unless said otherwise).
    pub event: Option<&'static str>,
    /// Inputs, by digest.
    pub inputs: Vec<FileDigest>,
    /// Outputs, by digest.
    pub outputs: Vec<FileDigest>,
    /// Public facts.
    pub facts: Map<String, Value>,
    /// A bundle to write with the transcript including this step's entry (export steps).
    pub bundle: Option<Box<super::bundle::Outgoing>>,
}

impl Done {
    /// A finished step with `summary`.
    pub fn new(summary: impl Into<String>) -> Done {
        Done {
            summary: summary.into(),
            ..Done::default()
        }
    }
    /// Adds a fact.
    pub fn fact(mut self, key: &str, value: impl Into<Value>) -> Done {
        self.facts.insert(key.to_owned(), value.into());
        self
    }
}

/// How a step ended.
pub enum Outcome {
    /// Finished.
    Done(Done),
    /// Not finished: people must act first (the message says what); rerun later.
    Waiting(String),
    /// Not finished: it stopped where people could not go on (a passphrase not typed
    /// right three times, input ended); recorded, and the message says how to go on.
    Stopped(String),
}

/// The step whose work is running (for entries it adds on the way: failed attempts, stops).
#[derive(Clone, Debug)]
pub struct Current {
    /// The step's id.
    pub id: String,
    /// Who acts.
    pub actor: String,
    /// Whether it imports the other machine's bundle (then nothing may be recorded: the
    /// transcript must stay a prefix of the one that bundle carries).
    pub import: bool,
}

/// A step's work.
pub type Action = Box<dyn Fn(&mut Ctx<'_>) -> Result<Outcome, crate::Error>>;

/// One step of a ceremony.
pub struct Step {
    /// Id, unique in the ceremony (`key:alice`).
    pub id: String,
    /// Where it runs.
    pub side: Side,
    /// Who acts.
    pub actor: String,
    /// Short title.
    pub title: String,
    /// What happens.
    pub explain: String,
    /// The bundle this step imports, when it is the first step of its machine's part.
    pub imports: Option<&'static str>,
    /// The work.
    pub action: Action,
}

/// What a step's work can reach.
pub struct Ctx<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The output directory.
    pub out: PathBuf,
    /// This machine's state.
    pub state: State,
    /// The run.
    pub run_id: String,
    /// The kind.
    pub kind: Kind,
    /// This machine.
    pub machine: Machine,
    /// The run's transcript.
    pub transcript: Transcript,
    /// The invocation's options.
    pub options: &'a Options,
    /// The people.
    pub ui: &'a mut dyn Ui,
    /// The run's transfer code, once this machine has it (two-machine runs).
    pub transfer: Option<TransferCode>,
    /// Where it came from.
    pub transfer_source: TransferSource,
    /// A run started by this invocation from the other machine's bundle: nothing of it is
    /// on disk until its first step (the import) has checked the bundle.
    pub fresh: bool,
    /// The step whose work is running.
    pub current: Option<Current>,
}

impl Ctx<'_> {
    /// The run's directory (`OUT/runs/RUN`), created on first use.
    pub fn run_dir(&self) -> Result<PathBuf, crate::Error> {
        let dir = run_dir(&self.out, &self.run_id);
        create_private_dir(&dir)?;
        Ok(dir)
    }
    /// `OUT/NAME`, created on first use.
    pub fn dir(&self, name: &str) -> Result<PathBuf, crate::Error> {
        let dir = self.out.join(name);
        create_private_dir(&dir)?;
        Ok(dir)
    }
    /// A path relative to the output directory, for records.
    pub fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.out)
            .unwrap_or(path)
            .display()
            .to_string()
    }
    /// The digest of a file, named relative to the output directory.
    pub fn digest(&self, path: &Path) -> Result<FileDigest, crate::Error> {
        Ok(FileDigest::of_file(path, &self.rel(path))?)
    }
    /// A new transcript entry for this run.
    pub fn entry(&self, step: &Step, done: &Done) -> NewEntry {
        NewEntry {
            ceremony: self.plan.ceremony.name.clone(),
            run: self.run_id.clone(),
            kind: self.kind.name().into(),
            machine: self.machine.name().into(),
            actor: step.actor.clone(),
            step: step.id.clone(),
            event: done.event.unwrap_or("step").into(),
            summary: done.summary.clone(),
            inputs: done.inputs.clone(),
            outputs: done.outputs.clone(),
            facts: done.facts.clone(),
        }
    }
    /// Saves the state file.
    pub fn save_state(&self) -> Result<(), crate::Error> {
        self.state.save(&self.out)
    }
    /// Makes the output directory and the run's folder of a run that began with this
    /// invocation's import (see [`Ctx::fresh`]).
    pub fn materialize(&mut self) -> Result<(), crate::Error> {
        if self.fresh {
            create_private_dir(&self.out)?;
            self.run_dir()?;
            self.fresh = false;
        }
        Ok(())
    }
    /// Whether entries may be added now: not while the run exists only in memory, and not
    /// during (or before) an import, whose transcript must stay a prefix of the carried one.
    pub fn can_note(&self) -> bool {
        !self.fresh && !self.current.as_ref().is_some_and(|c| c.import)
    }
    /// Records an event that does not finish the running step (`failed-attempt`,
    /// `stopped`, ...), when [`Ctx::can_note`]; otherwise nothing is written.
    pub fn note(
        &mut self,
        event: &'static str,
        summary: String,
        facts: Map<String, Value>,
    ) -> Result<(), crate::Error> {
        let Some(current) = self.current.clone() else {
            return Ok(());
        };
        self.note_for(&current.id, &current.actor, event, summary, facts)
    }
    /// [`Ctx::note`] for step `step` done by `actor`.
    pub fn note_for(
        &mut self,
        step: &str,
        actor: &str,
        event: &'static str,
        summary: String,
        facts: Map<String, Value>,
    ) -> Result<(), crate::Error> {
        let mut done = Done::new(summary);
        done.facts = facts;
        self.note_done(step, actor, event, &done)
    }
    /// Where custodians' passphrases come from, for the record.
    pub fn passphrase_origin(&self) -> &'static str {
        match self.ui.passphrases() {
            crate::passphrase::PassphraseSource::File(_) => "from --passphrase-file",
            crate::passphrase::PassphraseSource::Prompt => "typed at a hidden prompt",
            crate::passphrase::PassphraseSource::Unavailable => "none",
        }
    }
    /// Keeps the run's transfer code in the run's folder (mode 0600), unless it is there.
    pub fn keep_transfer_code(&self) -> Result<(), crate::Error> {
        let Some(code) = &self.transfer else {
            return Ok(());
        };
        let path = self.run_dir()?.join(TRANSFER_CODE_FILE);
        if !path.exists() {
            code.write_file(&path, false)
                .map_err(|e| CeremonyError::State(e.to_string()))?;
        }
        Ok(())
    }
    /// Records an entry that does not finish step `step` (a failed attempt, a stop, a
    /// redo), with the files and facts of `done`: `event` is never one of
    /// [`FINISHING_EVENTS`]. Nothing is written when [`Ctx::can_note`] says no.
    pub fn note_done(
        &mut self,
        step: &str,
        actor: &str,
        event: &'static str,
        done: &Done,
    ) -> Result<(), crate::Error> {
        debug_assert!(!FINISHING_EVENTS.contains(&event));
        if !self.can_note() {
            return Ok(());
        }
        self.transcript.append(NewEntry {
            ceremony: self.plan.ceremony.name.clone(),
            run: self.run_id.clone(),
            kind: self.kind.name().into(),
            machine: self.machine.name().into(),
            actor: actor.to_owned(),
            step: step.to_owned(),
            event: event.into(),
            summary: done.summary.clone(),
            inputs: done.inputs.clone(),
            outputs: done.outputs.clone(),
            facts: done.facts.clone(),
        })?;
        Ok(())
    }
}

/// How an invocation ended.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The ceremony's name.
    pub ceremony: String,
    /// The kind.
    pub kind: &'static str,
    /// The run.
    pub run: String,
    /// This machine.
    pub machine: &'static str,
    /// `complete`, `handoff` (the other machine is next), `waiting` (people must act),
    /// or `stopped` (someone answered no).
    pub outcome: &'static str,
    /// Steps finished by this invocation.
    pub steps_done: Vec<String>,
    /// Steps of the run finished so far, out of `steps_total`.
    pub steps_finished: usize,
    /// Steps in the run.
    pub steps_total: usize,
    /// What comes next, for people.
    pub next: Option<String>,
    /// The transcript.
    pub transcript: String,
    /// Its final digest.
    pub final_digest: Option<String>,
    /// The printable record (Markdown, HTML).
    pub record: Vec<String>,
}

/// Events that finish a step.
pub const FINISHING_EVENTS: [&str; 6] =
    ["step", "opened", "handoff", "imported", "retired", "closed"];

/// Runs (or resumes) `kind` with `steps` on this machine.
pub fn run(
    plan: &Plan,
    kind: Kind,
    steps: Vec<Step>,
    options: &Options,
    ui: &mut dyn Ui,
) -> Result<Report, crate::Error> {
    let machine = machine_of(plan, options)?;
    let from_file = transfer_code_option(plan, options, &*ui)?;
    // The output directory is made only once there is a run to record (after the bundle
    // that starts a run here was read and found sound): a refused start leaves nothing.
    let out = plan.output_dir();
    refuse_unsafe_machine(plan, machine, options, &out, ui)?;
    let mut state = State::load(&out, &plan.ceremony.name)?;
    let start = choose_run(plan, kind, &steps, machine, options, &mut state, &out)?;
    let Some(start) = start else {
        return Ok(nothing_to_do(plan, kind, &state, machine, &out));
    };
    let run = start.run;
    // A run that starts here with the other machine's bundle keeps nothing until its import
    // step has authenticated and checked that bundle.
    let fresh = start.from_bundle;
    let mut transfer = (from_file.clone(), TransferSource::File);
    if !fresh {
        create_private_dir(&run_dir(&out, &run.id))?;
        tidy(&out, &run.id, ui);
        if let Some(kept) = kept_transfer_code(&out, &run.id, from_file.as_ref())? {
            transfer = (Some(kept), TransferSource::Kept);
        }
    }
    if machine == Machine::Single || transfer.0.is_none() {
        transfer = (None, TransferSource::None);
    }
    let transcript = Transcript::open(&run_dir(&out, &run.id).join("transcript.jsonl"))?;
    let mut ctx = Ctx {
        plan,
        out,
        state,
        run_id: run.id.clone(),
        kind,
        machine,
        transcript,
        options,
        ui,
        transfer: transfer.0,
        transfer_source: transfer.1,
        fresh,
        current: None,
    };
    super::runner::drive(&mut ctx, &steps)
}

fn machine_of(plan: &Plan, options: &Options) -> Result<Machine, CeremonyError> {
    match (plan.ceremony.machines, options.machine) {
        (Machines::One, None | Some(Machine::Single)) => Ok(Machine::Single),
        (Machines::One, Some(m)) => Err(CeremonyError::Usage(format!(
            "--machine {}: this plan runs on one machine (machines = \"one\"); leave --machine out",
            m.name()
        ))),
        (Machines::Two, Some(m @ (Machine::Offline | Machine::Online))) => Ok(m),
        (Machines::Two, _) => Err(CeremonyError::Usage(format!(
            "{}: this plan spans two machines; say which one this is with --machine offline (air-gapped) or --machine online",
            plan.path.display()
        ))),
    }
}

fn refuse_unsafe_machine(
    plan: &Plan,
    machine: Machine,
    options: &Options,
    out: &Path,
    ui: &mut dyn Ui,
) -> Result<(), CeremonyError> {
    match machine {
        Machine::Online => {
            let keys = find_private_keys(&[out.to_owned(), plan.base_dir()]);
            if let Some(first) = keys.first() {
                return Err(CeremonyError::Refused(format!(
                    "private key material found on the online machine ({}{}): move it to the air-gapped machine and destroy it here before the online steps run",
                    first.display(),
                    if keys.len() > 1 { format!(" and {} more", keys.len() - 1) } else { String::new() }
                )));
            }
        }
        Machine::Offline => {
            let up = network_interfaces_up();
            if !up.is_empty() {
                if !options.allow_network {
                    return Err(CeremonyError::Refused(format!(
                        "network interface(s) up on the air-gapped machine: {}; take them down (ceremony-scripts/offline-preflight.sh checks this), or pass --allow-network for a rehearsal (it is recorded)",
                        up.join(", ")
                    )));
                }
                ui.say(&format!(
                    "warning: network interface(s) up on the air-gapped machine ({}); allowed by --allow-network and recorded",
                    up.join(", ")
                ));
            }
        }
        Machine::Single => {}
    }
    Ok(())
}

/// A run to resume or start.
struct Start {
    run: Run,
    /// Whether the other machine's bundle starts this run here.
    from_bundle: bool,
}

/// The run to resume or start; `None` when there is nothing to do. A run that starts here
/// with the other machine's bundle is not saved yet: its import step saves it.
fn choose_run(
    plan: &Plan,
    kind: Kind,
    steps: &[Step],
    machine: Machine,
    options: &Options,
    state: &mut State,
    out: &Path,
) -> Result<Option<Start>, crate::Error> {
    if let Some(open) = state.latest(kind).filter(|r| !r.closed) {
        if open.plan_sha256 != plan.sha256 {
            return Err(CeremonyError::Refused(format!(
                "{}: the plan changed since run {} began (SHA-256 {} then, {} now); put the original plan back to finish it",
                plan.path.display(),
                open.id,
                open.plan_sha256,
                plan.sha256
            ))
            .into());
        }
        return Ok(Some(Start {
            run: open.clone(),
            from_bundle: false,
        }));
    }
    if kind == Kind::Activate && state.latest(kind).is_some() {
        return Ok(None);
    }
    let first_here = steps.iter().find(|s| machine.runs(s.side));
    let mut from_bundle = false;
    let id = match first_here.and_then(|s| s.imports) {
        Some(bundle) if steps.first().is_some_and(|s| !machine.runs(s.side)) => {
            let path = super::bundle::incoming_path(options, out, bundle);
            let peek = super::bundle::peek(&path, bundle, plan)?;
            if state.runs.iter().any(|r| r.id == peek.run) {
                return Err(CeremonyError::Refused(format!(
                    "{}: this bundle belongs to run {}, which is already finished here; carry the bundle of the new run",
                    path.display(),
                    peek.run
                ))
                .into());
            }
            from_bundle = true;
            peek.run
        }
        _ => state.next_run_id(kind),
    };
    let run = Run {
        id,
        kind,
        plan_sha256: plan.sha256.clone(),
        started: now_rfc3339(),
        steps_done: Vec::new(),
        closed: false,
    };
    state.runs.push(run.clone());
    if !from_bundle {
        create_private_dir(out)?;
        state.save(out)?;
    }
    Ok(Some(Start { run, from_bundle }))
}

fn tidy(out: &Path, run: &str, ui: &mut dyn Ui) {
    let dirs: Vec<PathBuf> = ["", "custodians", "certs", "sd", "transfer"]
        .iter()
        .map(|d| out.join(d))
        .chain([run_dir(out, run), run_dir(out, run).join("session")])
        .collect();
    for path in remove_stale_temporaries(&dirs) {
        ui.say(&format!(
            "Removed {} (an unfinished write of an interrupted run).",
            path.display()
        ));
    }
}

fn nothing_to_do(plan: &Plan, kind: Kind, state: &State, machine: Machine, out: &Path) -> Report {
    let run = state.latest(kind).map(|r| r.id.clone()).unwrap_or_default();
    let path = run_dir(out, &run).join("transcript.jsonl");
    let digest = Transcript::open(&path).ok().and_then(|t| t.final_digest());
    Report {
        ceremony: plan.ceremony.name.clone(),
        kind: kind.name(),
        run,
        machine: machine.name(),
        outcome: "complete",
        steps_done: Vec::new(),
        steps_finished: 0,
        steps_total: 0,
        next: Some("This HSM's activation ceremony is already complete; nothing to do.".into()),
        transcript: path.display().to_string(),
        final_digest: digest,
        record: Vec::new(),
    }
}

/// Writes the printable record of the run next to its transcript.
pub fn write_record(ctx: &Ctx<'_>) -> Result<Vec<String>, crate::Error> {
    let dir = ctx.run_dir()?;
    let (md, html) = record::write_record(&dir, ctx.transcript.entries())?;
    Ok(vec![md.display().to_string(), html.display().to_string()])
}

/// Announcement of step `index` of `steps`.
pub fn announcement<'s>(steps: &'s [Step], index: usize) -> Announcement<'s> {
    let s = &steps[index];
    Announcement {
        number: index + 1,
        total: steps.len(),
        id: &s.id,
        title: &s.title,
        actor: &s.actor,
        machine: s.side.label(),
        explain: &s.explain,
    }
}

/// The command that continues on the other side.
pub fn continue_command(ctx: &Ctx<'_>, side: Side) -> String {
    let machine = match ctx.plan.ceremony.machines {
        Machines::Two => format!(" --machine {}", side.flag()),
        Machines::One => String::new(),
    };
    format!(
        "sdctl ceremony {} --plan {}{machine}",
        ctx.kind.name(),
        ctx.plan.path.display()
    )
}
