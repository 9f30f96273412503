//! Steps every ceremony has: opening (the plan read out and recorded) and closing.

use serde_json::{json, Value};

use super::custodians::witnesses_confirm;
use super::engine::{Ctx, Done, Machine, Outcome, Side, Step, TransferSource};
use super::plan::{HsmSection, Plan};
use super::transcript::FileDigest;
use super::transfer_code::TransferCode;
use super::ui::{labelled_digest, path_from_here};
use super::CeremonyError;

/// How an HSM is named for people.
pub fn hsm_label(h: &HsmSection) -> String {
    match (&h.name, &h.url) {
        (_, Some(url)) => url.clone(),
        (Some(name), None) => format!("{name} ({})", h.cloud.as_deref().unwrap_or("AzureCloud")),
        (None, None) => "-".into(),
    }
}

/// The opening step on `side`: the plan is read out, everyone checks it, the record starts.
pub fn open_step(side: Side, hsm: HsmSection, what: &'static str) -> Step {
    Step {
        id: "open".into(),
        side,
        actor: "operator".into(),
        title: "Open the ceremony".into(),
        explain: format!("The plan is read out: {what}. Everyone present checks the HSM, the custodians, the quorum and the witnesses before anything is made or sent."),
        imports: None,
        action: Box::new(move |ctx| open(ctx, &hsm)),
    }
}

fn open(ctx: &mut Ctx<'_>, hsm: &HsmSection) -> Result<Outcome, crate::Error> {
    let plan = ctx.plan;
    let say = |ctx: &mut Ctx<'_>, text: String| ctx.ui.say(&format!("   {text}"));
    say(ctx, format!("Ceremony: {}", plan.ceremony.name));
    say(ctx, format!("HSM:      {}", hsm_label(hsm)));
    say(
        ctx,
        format!(
            "Quorum:   {} of {} ({})",
            plan.domain.quorum,
            plan.custodians.len(),
            plan.domain.quorum_mode.name()
        ),
    );
    for c in &plan.custodians {
        say(
            ctx,
            format!(
                "Custodian {:<16} {}",
                c.name,
                c.contact.as_deref().unwrap_or("")
            ),
        );
    }
    for w in &plan.witnesses {
        say(
            ctx,
            format!(
                "Witness   {:<16} {}",
                w.name,
                w.role.as_deref().unwrap_or("")
            ),
        );
    }
    say(ctx, format!("Plan:     {}", path_from_here(&plan.path)));
    ctx.ui.say(&labelled_digest(
        "   ",
        "Plan SHA-256 (compare it with the one printed on the plan):",
        &plan.sha256,
    ));
    let confirmed = witnesses_confirm(
        ctx,
        "Witnesses: does what was read out match the printed plan, and its SHA-256 the one printed on it?",
        "the witnesses did not confirm the plan: print the plan file in use (and its SHA-256, 'sha256sum PLAN'), check it, then run the same command again",
    )?;
    let transfer = match open_transfer_code(ctx)? {
        Ok(label) => label,
        Err(waiting) => return Ok(waiting),
    };
    let build = crate::build_info::build_info();
    let mut done = Done::new(format!(
        "{} ceremony opened for {} with {} custodians, quorum {}",
        ctx.kind.name(),
        hsm_label(hsm),
        plan.custodians.len(),
        plan.domain.quorum
    ))
    .fact("hsm", hsm_label(hsm))
    .fact("quorum", plan.domain.quorum)
    .fact("quorum_mode", plan.domain.quorum_mode.name())
    .fact("custodians", participants(plan))
    .fact(
        "witnesses",
        Value::from(
            plan.witnesses
                .iter()
                .map(|w| json!({"name": w.name, "role": w.role}))
                .collect::<Vec<_>>(),
        ),
    )
    .fact("plan_sha256", plan.sha256.clone())
    .fact("witnesses_confirmed", confirmed)
    .fact("machines", plan.ceremony.machines.name())
    .fact("sdctl_version", env!("CARGO_PKG_VERSION"))
    .fact("sdctl_build", build.build_kind())
    .fact(
        "openssl",
        format!("{} ({})", build.openssl, build.openssl_linkage()),
    )
    .fact("sdctl_commit", build.commit)
    .fact(
        "sdctl_sha256",
        crate::build_info::executable_sha256().unwrap_or_else(|e| format!("unknown ({e})")),
    );
    let allowed = allowed_hosts(plan);
    if !allowed.is_empty() {
        say(
            ctx,
            format!(
                "Allowed:  access tokens may also go to {} (named by the plan's allow_hosts)",
                allowed.join(", ")
            ),
        );
        done = done.fact("allow_hosts", Value::from(allowed));
    }
    if let Some(op) = &plan.ceremony.operator {
        done = done.fact("operator", op.clone());
    }
    if let Some(label) = transfer {
        done = done.fact("transfer_code", label);
    }
    done.event = Some("opened");
    done.inputs
        .push(FileDigest::of_file(&plan.path, "plan.toml")?);
    Ok(Outcome::Done(done))
}

/// A two-machine run's transfer code, made here when the run opens (or taken from
/// `--transfer-code-file`) and kept in the run's folder; shown to the operator, who writes
/// it down for the other machine. `Err` is the step waiting until it is written down.
fn open_transfer_code(
    ctx: &mut Ctx<'_>,
) -> Result<Result<Option<&'static str>, Outcome>, crate::Error> {
    if ctx.machine == Machine::Single {
        return Ok(Ok(None));
    }
    let code = match &ctx.transfer {
        Some(code) => code.clone(),
        None => {
            let code = TransferCode::generate().map_err(|e| CeremonyError::State(e.to_string()))?;
            ctx.transfer = Some(code.clone());
            ctx.transfer_source = TransferSource::Made;
            code
        }
    };
    ctx.keep_transfer_code()?;
    if ctx.transfer_source == TransferSource::File {
        return Ok(Ok(Some(ctx.transfer_source.label())));
    }
    ctx.ui.say("");
    ctx.ui
        .say("   TRANSFER CODE of this run (it authenticates the bundles between the machines):");
    ctx.ui.say("");
    ctx.ui.say(&format!("      {}", code.grouped().as_str()));
    ctx.ui.say("");
    ctx.ui
        .say("   Write it down on paper now: the operator types it on the other machine when the");
    ctx.ui.say(
        "   first bundle arrives. Never put it on the transfer medium; it is not shown again.",
    );
    if !ctx
        .ui
        .confirm("Operator: is the transfer code written down on paper?")
    {
        return Ok(Err(Outcome::Waiting(
            "Write the transfer code down, then run the same command again (it is shown again until this step is done).".into(),
        )));
    }
    Ok(Ok(Some(TransferSource::Made.label())))
}

/// The hosts the plan allows tokens to go to beyond the cloud's own and loopback
/// (`allow_hosts` of `[hsm]` and `[recovery.hsm]`), each once.
fn allowed_hosts(plan: &Plan) -> Vec<String> {
    let mut hosts: Vec<String> = std::iter::once(&plan.hsm)
        .chain(plan.recovery.hsm.as_ref())
        .flat_map(|h| h.allow_hosts.iter().cloned())
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn participants(plan: &Plan) -> Value {
    Value::from(
        plan.custodians
            .iter()
            .map(|c| json!({"name": c.name, "contact": c.contact}))
            .collect::<Vec<_>>(),
    )
}

/// The closing step on `side`.
pub fn close_step(side: Side) -> Step {
    Step {
        id: "close".into(),
        side,
        actor: "witnesses".into(),
        title: "Close the ceremony".into(),
        explain: "The transcript is closed and the printable record (record.md, record.html) written beside it. Witnesses write down the final digest shown below and sign the printed record.".into(),
        imports: None,
        action: Box::new(|ctx| {
            let mut done = Done::new(format!("{} ceremony closed", ctx.kind.name()));
            done.event = Some("closed");
            Ok(Outcome::Done(done))
        }),
    }
}

/// The current security domain of this workspace, or a refusal saying what to do.
pub fn current_sd(ctx: &Ctx<'_>) -> Result<super::state::SdRecord, crate::Error> {
    ctx.state.current_sd.clone().ok_or_else(|| {
        CeremonyError::Refused(format!(
            "{}: no security domain here yet: run 'sdctl ceremony activate' first (its air-gapped part keeps the security domain)",
            ctx.out.display()
        ))
        .into()
    })
}

/// A step that needs the network, in a build without network code.
#[cfg(not(feature = "online"))]
pub fn no_network(_: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    Err(CeremonyError::Usage(
        "this sdctl is the air-gapped build, without network code: run this step on the online machine".into(),
    )
    .into())
}
