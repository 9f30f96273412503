//! The loop over a run's steps (see [`super::engine`]).

use std::collections::BTreeSet;

use super::bundle::incoming_path;
use super::engine::{
    announcement, continue_command, write_record, Ctx, Current, Done, Machine, Outcome, Report,
    Step, FINISHING_EVENTS,
};
use super::safety::network_interfaces_up;
use super::ui::labelled_digest;
use super::CeremonyError;

/// Step ids of the run finished according to the transcript.
pub fn finished_steps(ctx: &Ctx<'_>) -> BTreeSet<String> {
    ctx.transcript
        .entries()
        .iter()
        .filter(|e| e.run == ctx.run_id && FINISHING_EVENTS.contains(&e.event.as_str()))
        .map(|e| e.step.clone())
        .collect()
}

/// Copies the transcript's finished steps (the authority) into the state file.
fn sync_state(ctx: &mut Ctx<'_>, steps: &[Step], closed: bool) -> Result<(), crate::Error> {
    let finished = finished_steps(ctx);
    let ordered: Vec<String> = steps
        .iter()
        .filter(|s| finished.contains(&s.id))
        .map(|s| s.id.clone())
        .collect();
    let id = ctx.run_id.clone();
    if let Some(run) = ctx.state.run_mut(&id) {
        run.steps_done = ordered;
        run.closed = closed;
    }
    ctx.save_state()
}

/// Runs the steps of `ctx`'s run that are not finished and belong to this machine.
pub fn drive(ctx: &mut Ctx<'_>, steps: &[Step]) -> Result<Report, crate::Error> {
    if !ctx.fresh {
        sync_state(ctx, steps, false)?;
    }
    let already = finished_steps(ctx);
    let finished_before = steps.iter().filter(|s| already.contains(&s.id)).count();
    if finished_before > 0 {
        ctx.ui.say(&format!(
            "Resuming {} run {}: {finished_before} of {} steps are finished.",
            ctx.kind.name(),
            ctx.run_id,
            steps.len()
        ));
    } else {
        ctx.ui.say(&format!(
            "Ceremony '{}': {} (run {}), {} steps, on the {} machine.",
            ctx.plan.ceremony.name,
            ctx.kind.name(),
            ctx.run_id,
            steps.len(),
            ctx.machine.name()
        ));
    }
    note_interruption(ctx, steps)?;
    let mut done_now = Vec::new();
    let mut outcome = "complete";
    let mut next = None;
    let mut i = 0;
    while i < steps.len() {
        let finished = finished_steps(ctx);
        if finished.contains(&steps[i].id) {
            i += 1;
            continue;
        }
        if !ctx.machine.runs(steps[i].side) {
            // The other machine's steps count as finished once its bundle is imported here.
            let here = (i..steps.len())
                .find(|&j| ctx.machine.runs(steps[j].side) && !finished.contains(&steps[j].id));
            match here.and_then(|j| steps[j].imports.map(|kind| (j, kind))) {
                Some((j, kind)) if bundle_for_this_run(ctx, kind) => {
                    i = j;
                }
                Some((_, kind)) if !carried_out(ctx) => {
                    outcome = "waiting";
                    next = Some(format!(
                        "Waiting for the {kind} bundle from the {} machine: carry it to {} (or pass --bundle), then run this command again.",
                        steps[i].side.label(),
                        incoming_path(ctx.options, &ctx.out, kind).display()
                    ));
                    break;
                }
                _ => {
                    outcome = "handoff";
                    next = Some(handoff_message(ctx, &steps[i]));
                    break;
                }
            }
        }
        let step = &steps[i];
        ctx.current = Some(Current {
            id: step.id.clone(),
            actor: step.actor.clone(),
            import: step.imports.is_some(),
        });
        crate::process::on_interrupt_say(&interrupt_message(ctx, steps, i));
        ctx.ui.announce(&announcement(steps, i));
        let question = format!("Proceed with step {}?", i + 1);
        if !ctx.ui.confirm(&question) {
            outcome = "stopped";
            let message = format!(
                "Stopped before step {} ({}); nothing of it was done. Run the same command again to continue.",
                i + 1,
                step.title
            );
            ctx.note("stopped", message.clone(), stop_facts(&question))?;
            next = Some(message);
            break;
        }
        let marker = in_progress_marker(ctx, step)?;
        let result = (step.action)(ctx);
        if let Some(path) = marker {
            let _ = std::fs::remove_file(path);
        }
        match result {
            Ok(Outcome::Done(done)) => {
                finish(ctx, step, done)?;
                done_now.push(step.id.clone());
                // An import may have finished earlier steps too: look again from the start.
                i = 0;
            }
            Ok(Outcome::Waiting(message)) => {
                outcome = "waiting";
                next = Some(message);
                break;
            }
            Ok(Outcome::Stopped(message)) => {
                outcome = "stopped";
                next = Some(message);
                break;
            }
            Err(e) => {
                // A refused import leaves this machine's workspace as it was: the refusal
                // is told on stderr, nothing is written.
                if step.imports.is_some() || ctx.fresh {
                    return Err(e);
                }
                if let crate::Error::Ceremony(CeremonyError::Refused(reason)) = &e {
                    record_refusal(ctx, step, reason);
                }
                let _ = write_record(ctx);
                return Err(e);
            }
        }
    }
    ctx.current = None;
    crate::process::on_interrupt_say("");
    if ctx.fresh {
        // Stopped before the import that would have started the run here: nothing to keep.
        return Ok(unstarted(ctx, steps, outcome, next));
    }
    // A machine whose part is over (every step left belongs to the other one) closes the run
    // here, so that its next ceremony of this kind starts a new run.
    let finished = finished_steps(ctx);
    let part_over = steps
        .iter()
        .all(|s| finished.contains(&s.id) || !ctx.machine.runs(s.side));
    let closed = outcome == "complete" || (outcome == "handoff" && part_over);
    if outcome == "handoff" && part_over {
        next = next.map(|n| format!("This machine's part of run {} is complete. {n}", ctx.run_id));
    }
    sync_state(ctx, steps, closed)?;
    let record = write_record(ctx)?;
    let finished = finished_steps(ctx);
    let digest = ctx.transcript.final_digest();
    if let Some(d) = &digest {
        ctx.ui.say("");
        ctx.ui
            .say(&format!("Transcript {}", ctx.transcript.path().display()));
        let label = if closed {
            "TRANSCRIPT FINAL DIGEST (write it down by hand; sign the printed record):"
        } else {
            "TRANSCRIPT DIGEST so far (write it down; the next part continues it):"
        };
        ctx.ui.say(&labelled_digest("", label, d));
    }
    Ok(Report {
        ceremony: ctx.plan.ceremony.name.clone(),
        kind: ctx.kind.name(),
        run: ctx.run_id.clone(),
        machine: ctx.machine.name(),
        outcome,
        steps_done: done_now,
        steps_finished: steps.iter().filter(|s| finished.contains(&s.id)).count(),
        steps_total: steps.len(),
        next,
        transcript: ctx.transcript.path().display().to_string(),
        final_digest: digest,
        record,
    })
}

/// Whether the bundle of `kind` waiting here belongs to this run (a bundle left from an
/// earlier run is not an answer; one that cannot be read is handed to the import, which
/// says what is wrong with it).
fn bundle_for_this_run(ctx: &Ctx<'_>, kind: &str) -> bool {
    let path = incoming_path(ctx.options, &ctx.out, kind);
    if !path.exists() {
        return false;
    }
    match super::bundle::peek(&path, kind, ctx.plan) {
        Ok(bundle) => bundle.run == ctx.run_id,
        Err(_) => true,
    }
}

/// The file that says which step's work is running (`runs/RUN/step-in-progress`): written
/// before the work, removed after it, so a run that finds it knows that step was cut
/// short (Ctrl-C, a kill, a power cut). Imports leave no marker: they write nothing until
/// they succeed.
const IN_PROGRESS: &str = "step-in-progress";

fn in_progress_marker(
    ctx: &Ctx<'_>,
    step: &Step,
) -> Result<Option<std::path::PathBuf>, crate::Error> {
    if !ctx.can_note() {
        return Ok(None);
    }
    let path = ctx.run_dir()?.join(IN_PROGRESS);
    crate::files::write_atomic(&path, step.id.as_bytes(), crate::files::MODE_PUBLIC, true)?;
    Ok(Some(path))
}

/// Records an `interrupted` entry for the step a previous invocation left unfinished.
fn note_interruption(ctx: &mut Ctx<'_>, steps: &[Step]) -> Result<(), crate::Error> {
    if ctx.fresh {
        return Ok(());
    }
    let path = crate::ceremony::state::run_dir(&ctx.out, &ctx.run_id).join(IN_PROGRESS);
    let Ok(id) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let finished = finished_steps(ctx);
    if let Some(step) = steps
        .iter()
        .find(|s| s.id == id && !finished.contains(&s.id))
    {
        let mut facts = serde_json::Map::new();
        facts.insert("step".into(), id.clone().into());
        let summary = format!(
            "step {id} ({}) was interrupted before it finished; nothing of it was kept, it runs again",
            step.title
        );
        ctx.ui.say(&format!("Note: {summary}."));
        ctx.note_for(&step.id, &step.actor, "interrupted", summary, facts)?;
    }
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// What Ctrl-C prints while step `i` is announced or running (wrapped for an 80-column
/// terminal: the signal handler cannot ask the terminal its width).
fn interrupt_message(ctx: &Ctx<'_>, steps: &[Step], i: usize) -> String {
    let text = format!(
        "Interrupted at step {}/{} ({}) of {} run {}. Nothing of that step is kept. To resume, run the same command again:",
        i + 1,
        steps.len(),
        steps[i].title,
        ctx.kind.name(),
        ctx.run_id
    );
    let mut out = String::from("\n");
    for line in super::ui::wrap(&text, 78) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("   {}\n", continue_command(ctx, steps[i].side)));
    out
}

/// The facts of a `stopped` entry.
pub fn stop_facts(question: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut facts = serde_json::Map::new();
    facts.insert("question".into(), question.into());
    facts.insert("answer".into(), "no".into());
    facts
}

fn unstarted(ctx: &Ctx<'_>, steps: &[Step], outcome: &'static str, next: Option<String>) -> Report {
    Report {
        ceremony: ctx.plan.ceremony.name.clone(),
        kind: ctx.kind.name(),
        run: ctx.run_id.clone(),
        machine: ctx.machine.name(),
        outcome,
        steps_done: Vec::new(),
        steps_finished: 0,
        steps_total: steps.len(),
        next,
        transcript: ctx.transcript.path().display().to_string(),
        final_digest: None,
        record: Vec::new(),
    }
}

fn finish(ctx: &mut Ctx<'_>, step: &Step, mut done: Done) -> Result<(), crate::Error> {
    ctx.materialize()?;
    if ctx.machine == Machine::Offline {
        let up = network_interfaces_up();
        if !up.is_empty() {
            // Every step run with the network up says so, not only the opening.
            done.facts
                .insert("network_interfaces_up".into(), serde_json::json!(up));
        }
    }
    let entry = ctx.entry(step, &done);
    match done.bundle.take() {
        Some(bundle) => {
            let mut sha = String::new();
            ctx.transcript.append_with(entry, |text| {
                sha = bundle.write(text)?;
                Ok(())
            })?;
            ctx.ui
                .say(&format!("   Bundle written: {}", bundle.path().display()));
            ctx.ui.say(&labelled_digest(
                "   ",
                "BUNDLE SHA-256 (for the record; the other machine shows it too):",
                &sha,
            ));
        }
        None => {
            ctx.transcript.append(entry)?;
        }
    }
    ctx.ui.say(&format!("   Done: {}", done.summary));
    let id = ctx.run_id.clone();
    let finished = finished_steps(ctx);
    if let Some(run) = ctx.state.run_mut(&id) {
        run.steps_done = finished.into_iter().collect();
    }
    ctx.save_state()
}

/// Whether this machine's last finished step of the run handed a bundle over (so what is
/// awaited is the other machine's answer, not this machine's own work).
fn carried_out(ctx: &Ctx<'_>) -> bool {
    ctx.transcript
        .entries()
        .iter()
        .rev()
        .find(|e| e.run == ctx.run_id)
        .is_some_and(|e| e.event == "handoff" && e.machine == ctx.machine.name())
}

/// Records a refusal in the transcript (never for imports: see [`drive`]).
fn record_refusal(ctx: &mut Ctx<'_>, step: &Step, reason: &str) {
    let mut refused = Done::new(reason);
    refused.event = Some("refused");
    let entry = ctx.entry(step, &refused);
    let _ = ctx.transcript.append(entry);
}

fn handoff_message(ctx: &Ctx<'_>, step: &Step) -> String {
    let carried = ctx
        .transcript
        .entries()
        .iter()
        .rev()
        .find(|e| e.run == ctx.run_id && e.event == "handoff")
        .and_then(|e| {
            e.facts
                .get("bundle")
                .and_then(|b| b.as_str())
                .map(str::to_owned)
        });
    let what = match carried {
        Some(b) => format!(
            "Carry {} (compare its SHA-256 aloud) to the {} machine",
            ctx.out.join(b).display(),
            step.side.label()
        ),
        None => format!("Continue on the {} machine", step.side.label()),
    };
    format!(
        "{what}, put it in the output directory's transfer/ folder (or pass --bundle), and run there: {}",
        continue_command(ctx, step.side)
    )
}
