//! Who forms the quorum at a step that opens the security domain (the drill, the
//! recovery's restore blob): the plan's `quorum_custodians` by default; `--quorum-custodians`,
//! or the people at the step, may name any other quorum of the custodians of the security
//! domain in force, without editing the plan. The choice is recorded on the step's entry
//! (`quorum_chosen`, `substitutes`, `quorum_chosen_by`).

use std::collections::BTreeSet;

use serde_json::json;

use super::engine::{continue_command, Ctx, Done, Outcome, Side};
use super::plan::Plan;
use super::state::Kind;
use super::CeremonyError;

/// How many answers the question gets before the step stops.
pub const CHOICE_ATTEMPTS: usize = 3;

/// The quorum chosen for a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The custodians, in the order given.
    pub names: Vec<String>,
    /// Whether they are not the plan's `quorum_custodians`.
    pub substitutes: bool,
    /// Who chose: "the plan's default", "answered at the step" or "--quorum-custodians".
    pub how: &'static str,
}

impl Choice {
    fn new(names: Vec<String>, default: &[String], how: &'static str) -> Choice {
        let set = |n: &[String]| n.iter().cloned().collect::<BTreeSet<_>>();
        Choice {
            substitutes: set(&names) != set(default),
            names,
            how,
        }
    }

    /// Adds the choice to the step's record.
    pub fn record(&self, done: Done) -> Done {
        done.fact("quorum_chosen", json!(self.names))
            .fact("substitutes", self.substitutes)
            .fact("quorum_chosen_by", self.how)
    }
}

/// Names separated by commas ("alice, carol"), blanks around them dropped.
pub fn parse(text: &str) -> Vec<String> {
    text.split(',')
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Why `names` cannot form the quorum: a name not among `allowed`, a name given twice, or
/// fewer than `need` of them.
pub fn check(names: &[String], allowed: &[String], need: usize) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for n in names {
        if !allowed.contains(n) {
            return Err(format!(
                "'{n}' is not a custodian of this security domain ({})",
                allowed.join(", ")
            ));
        }
        if !seen.insert(n) {
            return Err(format!("'{n}' is named twice"));
        }
    }
    if names.len() < need {
        return Err(format!(
            "{} custodian(s) named, but the quorum is {need}: name at least {need} of {}",
            names.len(),
            allowed.join(", ")
        ));
    }
    Ok(())
}

/// Refuses a `--quorum-custodians` that cannot apply to ceremony `kind` of `plan`, or that
/// names no quorum of the plan's custodians, before anything runs.
pub fn check_option(plan: &Plan, kind: Kind, names: &[String]) -> Result<(), CeremonyError> {
    let usage = |why: String| {
        CeremonyError::Usage(format!("--quorum-custodians {}: {why}", names.join(",")))
    };
    let distributed = plan.domain.quorum_mode == super::plan::QuorumMode::Distributed;
    match kind {
        Kind::Rotate => {
            return Err(usage(
                "a rotation's quorums are not chosen (the custodians in force re-split, the plan's quorum proves the new file); leave it out".into(),
            ))
        }
        Kind::Drill if distributed => {
            return Err(usage(
                "a distributed drill takes every custodian's share export; leave it out".into(),
            ))
        }
        _ => {}
    }
    check(names, &plan.custodian_names(), plan.domain.quorum).map_err(usage)
}

/// The custodians who may be chosen: the plan's, who are custodians of the security domain
/// in force too.
fn eligible(ctx: &Ctx<'_>) -> Vec<String> {
    let plan = ctx.plan.custodian_names();
    match &ctx.state.current_sd {
        Some(sd) => plan
            .into_iter()
            .filter(|n| sd.custodians.contains(n))
            .collect(),
        None => plan,
    }
}

/// The quorum for step `step` (`what` names it for people: "drill", "restore blob"): at
/// least `need` custodians, `default` unless `--quorum-custodians` says otherwise or, when
/// `ask` and someone is there, the people name others at the question. A bad answer is
/// asked again ([`CHOICE_ATTEMPTS`]); then, or when nobody answers, the step stops,
/// recorded (`Ok(Err(outcome))`).
pub fn choose(
    ctx: &mut Ctx<'_>,
    step: &str,
    what: &str,
    default: &[String],
    need: usize,
    ask: bool,
) -> Result<Result<Choice, Outcome>, crate::Error> {
    let allowed = eligible(ctx);
    if let Some(names) = &ctx.options.quorum_custodians {
        check(names, &allowed, need).map_err(|why| {
            CeremonyError::Usage(format!("--quorum-custodians {}: {why}", names.join(",")))
        })?;
        return Ok(Ok(Choice::new(
            names.clone(),
            default,
            "--quorum-custodians",
        )));
    }
    if !ask || !ctx.ui.attended() {
        return Ok(Ok(Choice::new(
            default.to_vec(),
            default,
            "the plan's default",
        )));
    }
    ctx.ui.say(&format!(
        "   The plan's quorum for the {what}: {}. Any {need} or more of {} may stand in: type their names separated by commas, or press Enter for the plan's.",
        default.join(", "),
        allowed.join(", ")
    ));
    let question = format!("Custodians for the {what} [{}]:", default.join(", "));
    for attempt in 1..=CHOICE_ATTEMPTS {
        let Some(answer) = ctx.ui.ask(&question) else {
            return stop(ctx, step, what, &question, "nobody answered").map(Err);
        };
        let text = answer.trim();
        let yes = matches!(text.to_ascii_lowercase().as_str(), "y" | "yes")
            && !allowed.iter().any(|n| n == text);
        if text.is_empty() || yes {
            return Ok(Ok(Choice::new(
                default.to_vec(),
                default,
                "answered at the step",
            )));
        }
        let names = parse(text);
        match check(&names, &allowed, need) {
            Ok(()) => {
                ctx.ui
                    .say(&format!("   The {what} is done by {}.", names.join(", ")));
                return Ok(Ok(Choice::new(names, default, "answered at the step")));
            }
            Err(why) => ctx.ui.say(&format!(
                "   {why} (answer {attempt} of {CHOICE_ATTEMPTS})."
            )),
        }
    }
    stop(ctx, step, what, &question, "no answer named a quorum").map(Err)
}

/// Records that the step stopped at the question; what people are told to do next.
fn stop(
    ctx: &mut Ctx<'_>,
    step: &str,
    what: &str,
    question: &str,
    reason: &str,
) -> Result<Outcome, crate::Error> {
    let stopped = Done::new(format!(
        "stopped: no quorum was chosen for the {what}; nothing of the step was done"
    ))
    .fact("question", question)
    .fact("answer", "no answer")
    .fact("reason", reason);
    ctx.note_done(step, "operator", "stopped", &stopped)?;
    Ok(Outcome::Stopped(format!(
        "No quorum was chosen for the {what} (recorded); nothing of this step was done. Run the same command again: {}",
        continue_command(ctx, Side::Offline)
    )))
}

#[cfg(test)]
#[path = "quorum_choice_tests.rs"]
mod tests;
