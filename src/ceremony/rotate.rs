//! `ceremony rotate`: new custodians and/or a new quorum, offline. Edit the plan (add,
//! remove custodians; change the quorum), then run it: new custodians make their keys, a
//! quorum of the current custodians re-splits the master key to the plan's custodians
//! (`sd rewrap`), the new file is proven with the new quorum, and the old one is retired.

use serde_json::json;

use super::common::{close_step, current_sd, open_step};
use super::custodians::{cert_path, check_step, generate_step, open_keys};
use super::engine::{Ctx, Done, Outcome, Side, Step};
use super::plan::Plan;
use super::state::SdRecord;
use super::CeremonyError;
use crate::domain::rewrap::rewrap;
use crate::domain::verify::verify;
use crate::domain::SdFile;
use crate::files::{write_atomic, MODE_PUBLIC};
use crate::keys::load_certificate;

/// The rotation's steps.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let names = plan.custodian_names();
    let mut steps = vec![
        open_step(
            Side::Offline,
            plan.hsm.clone(),
            "the custodians and quorum the security domain will have after the rotation",
        ),
        compare_step(),
    ];
    steps.extend(names.iter().map(|n| generate_step(n)));
    steps.push(check_step(names));
    steps.push(rewrap_step());
    steps.push(verify_new_step(plan.quorum_custodians()));
    steps.push(retire_step());
    steps.push(close_step(Side::Offline));
    steps
}

fn step(id: &str, actor: &str, title: &str, explain: &str, action: super::engine::Action) -> Step {
    Step {
        id: id.into(),
        side: Side::Offline,
        actor: actor.into(),
        title: title.into(),
        explain: explain.into(),
        imports: None,
        action,
    }
}

/// The new file of this run (relative to the output directory).
fn new_sd(ctx: &Ctx<'_>) -> String {
    format!("sd/security-domain-{}.json", ctx.run_id)
}

fn compare_step() -> Step {
    step("compare", "operator and witnesses", "Compare the security domain with the plan",
        "The custodians and quorum of the security domain in force are compared with the plan: who stays, who is added, who is retired, and the quorum before and after.",
        Box::new(|ctx| {
            let current = current_sd(ctx)?;
            let wanted = ctx.plan.custodian_names();
            let kept: Vec<&String> = wanted.iter().filter(|n| current.custodians.contains(n)).collect();
            let added: Vec<&String> = wanted.iter().filter(|n| !current.custodians.contains(n)).collect();
            let retired: Vec<&String> = current.custodians.iter().filter(|n| !wanted.contains(n)).collect();
            if added.is_empty() && retired.is_empty() && current.quorum == ctx.plan.domain.quorum {
                return Err(CeremonyError::Refused("the plan names the same custodians and quorum as the security domain in force: nothing to rotate; edit the plan first".into()).into());
            }
            for (label, list) in [("stay", &kept), ("added", &added), ("retired", &retired)] {
                let names: Vec<&str> = list.iter().map(|s| s.as_str()).collect();
                ctx.ui.say(&format!("   {label:<8} {}", if names.is_empty() { "-".into() } else { names.join(", ") }));
            }
            ctx.ui.say(&format!("   quorum   {} -> {}", current.quorum, ctx.plan.domain.quorum));
            Ok(Outcome::Done(Done::new(format!("rotation of {}: {} added, {} retired, quorum {} -> {}", current.path, added.len(), retired.len(), current.quorum, ctx.plan.domain.quorum))
                .fact("kept", json!(kept)).fact("added", json!(added)).fact("retired", json!(retired))
                .fact("old_quorum", current.quorum).fact("new_quorum", ctx.plan.domain.quorum)))
        }))
}

/// The current custodians who open the old file: those staying first, then the retired.
fn old_quorum(ctx: &Ctx<'_>, current: &SdRecord) -> Vec<String> {
    let wanted = ctx.plan.custodian_names();
    let staying = current.custodians.iter().filter(|n| wanted.contains(n));
    let leaving = current.custodians.iter().filter(|n| !wanted.contains(n));
    staying
        .chain(leaving)
        .take(current.quorum)
        .cloned()
        .collect()
}

fn rewrap_step() -> Step {
    step("rewrap", "a quorum of the current custodians", "Re-split the security domain to the plan's custodians",
        "A quorum of the custodians in force opens the security domain; sdctl authenticates every datum and splits the same master key to the plan's custodians with the plan's quorum. The data are carried over unchanged, so the HSM accepts the new file for a recovery.",
        Box::new(|ctx| {
            let current = current_sd(ctx)?;
            let old_path = ctx.out.join(&current.path);
            let file = SdFile::read(&old_path)?;
            let who = old_quorum(ctx, &current);
            ctx.ui.say(&format!("   Opening the security domain in force with: {}", who.join(", ")));
            let keys = match open_keys(ctx, "rewrap", &who)? { Ok(k) => k, Err(stopped) => return Ok(stopped) };
            let certs = ctx.plan.custodian_names().iter().map(|n| load_certificate(&cert_path(&ctx.out, n))).collect::<Result<Vec<_>, _>>()?;
            let (domain, report) = rewrap(&file, &keys, &certs, ctx.plan.domain.quorum)?;
            let path = ctx.out.join(new_sd(ctx));
            write_atomic(&path, domain.to_json()?.as_bytes(), MODE_PUBLIC, true)?;
            let mut done = Done::new(format!("security domain re-split to {} custodians, quorum {} ({} data carried over)", certs.len(), report.new_required, report.data))
                .fact("opened_by", json!(who))
                .fact("passphrases", ctx.passphrase_origin());
            done.inputs.push(ctx.digest(&old_path)?);
            done.outputs.push(ctx.digest(&path)?);
            Ok(Outcome::Done(done))
        }))
}

fn verify_new_step(names: Vec<String>) -> Step {
    step("verify-new", &format!("custodians {}", names.join(", ")), "The new quorum proves the new file",
        "A quorum of the plan's custodians opens the new security domain and authenticates every datum: the rotation is only finished once the new custodians have proven they can recover.",
        Box::new(move |ctx| {
            let path = ctx.out.join(new_sd(ctx));
            let file = SdFile::read(&path)?;
            let keys = match open_keys(ctx, "verify-new", &names)? { Ok(k) => k, Err(stopped) => return Ok(stopped) };
            let report = verify(&file, &keys, false)?;
            if !report.verified {
                let why = report.first_failure().unwrap_or_else(|| "not every datum authenticated".into());
                return Err(CeremonyError::Refused(format!("{}: the new security domain did not verify: {why}", path.display())).into());
            }
            let mut done = Done::new(format!("new security domain verified by {}", names.join(", "))).fact("verified", true).fact("passphrases", ctx.passphrase_origin());
            done.inputs.push(ctx.digest(&path)?);
            Ok(Outcome::Done(done))
        }))
}

fn retire_step() -> Step {
    step("retire", "witnesses", "Retire the old security domain",
        "The new file becomes the security domain in force; the old one is marked retired in the state and the record. Destroy every copy of the old file and the retired custodians' keys as your policy says: they still open the old file.",
        Box::new(|ctx| {
            let rel = new_sd(ctx);
            let path = ctx.out.join(&rel);
            let new_file = SdFile::read(&path)?;
            let current = current_sd(ctx)?;
            let old = if current.path == rel {
                ctx.state.retired_sds.last().cloned().ok_or_else(|| CeremonyError::State("the retired security domain is not in the state".into()))?
            } else {
                let mut old = current.clone();
                old.retired = Some(format!("{} {}", ctx.run_id, crate::keys::generate::now_rfc3339()));
                ctx.state.retired_sds.push(old.clone());
                ctx.state.current_sd = Some(SdRecord { path: rel.clone(), sha256: new_file.sha256.clone(), custodians: ctx.plan.custodian_names(), quorum: ctx.plan.domain.quorum, retired: None });
                ctx.save_state()?;
                old
            };
            let mut done = Done::new(format!("{} (SHA-256 {}) retired; {} is in force", old.path, old.sha256, rel))
                .fact("retired_sd", old.path.clone()).fact("retired_sha256", old.sha256.clone());
            done.event = Some("retired");
            done.inputs.push(ctx.digest(&ctx.out.join(&old.path))?);
            done.outputs.push(ctx.digest(&path)?);
            Ok(Outcome::Done(done))
        }))
}
