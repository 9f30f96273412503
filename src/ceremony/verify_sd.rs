//! Proofs on the air-gapped machine that the security domain is recoverable: one custodian
//! at a time opening their own share, and a quorum rebuilding the master key and
//! authenticating every datum (the recovery drill).

use serde_json::json;

use super::common::current_sd;
use super::custodians::open_keys;
use super::engine::{Ctx, Done, Outcome, Side, Step};
use super::plan::QuorumMode;
use super::quorum::{describe, gather, Shares};
use super::quorum_choice::choose;
use super::CeremonyError;
use crate::domain::session::verify_exports;
use crate::domain::unlock::{match_keys, open_share, KeyMatch};
use crate::domain::verify::verify;
use crate::domain::SdFile;

/// The recovery drill by the quorum `names` (at least the quorum; in distributed mode their
/// share exports, from every one of `names` when `everyone`). Unless `everyone`, `names`
/// is the default: another quorum may be chosen at the step (see [`choose`]).
pub fn drill_step(names: Vec<String>, everyone: bool, mode: QuorumMode) -> Step {
    Step {
        id: "drill".into(),
        side: Side::Offline,
        actor: format!("custodians {}", names.join(", ")),
        title: "Recovery drill: a quorum rebuilds the security domain".into(),
        explain: "A quorum of custodians opens their shares; sdctl rebuilds the master key and decrypts and authenticates every datum of the security domain. This proves that the HSM can be recovered from this file, with no HSM involved.".into(),
        imports: None,
        action: Box::new(move |ctx| drill(ctx, &names, everyone, mode)),
    }
}

fn drill(
    ctx: &mut Ctx<'_>,
    names: &[String],
    everyone: bool,
    mode: QuorumMode,
) -> Result<Outcome, crate::Error> {
    let record = current_sd(ctx)?;
    let path = ctx.out.join(&record.path);
    let file = SdFile::read(&path)?;
    let need = if everyone {
        names.len()
    } else {
        file.domain.required()
    };
    // Everyone's exports (a distributed drill) leave no choice; a quorum may be chosen.
    let choice = if everyone {
        None
    } else {
        match choose(ctx, "drill", "drill", names, need, true)? {
            Ok(c) => Some(c),
            Err(stopped) => return Ok(stopped),
        }
    };
    let who = choice.as_ref().map_or(names, |c| c.names.as_slice());
    let shares = match gather(ctx, "drill", &path, who, need, mode)? {
        Ok(s) => s,
        Err(waiting) => return Ok(waiting),
    };
    let report = match &shares {
        Shares::Keys(keys) => verify(&file, keys, false)?,
        Shares::Exports {
            session, exports, ..
        } => verify_exports(&file, session, exports)?,
    };
    let session = shares.finish();
    if !report.verified {
        return Err(CeremonyError::Refused(format!(
            "{}: the recovery drill failed: {}",
            path.display(),
            report
                .first_failure()
                .unwrap_or_else(|| "the security domain could not be fully verified".into())
        ))
        .into());
    }
    let mut done = Done::new(format!(
        "recovery drill passed: quorum {} of {} rebuilt the master key, {} datum(s) authenticated",
        report.required,
        report.shares,
        report.data.len()
    ))
    .fact("verified", true)
    .fact("sd_sha256", file.sha256.clone())
    .fact("data", report.data.len())
    .fact(
        "shares_used",
        json!(report
            .custodians_used
            .iter()
            .map(|m| m.location.clone())
            .collect::<Vec<_>>()),
    );
    done = record_keys(ctx, done, &report.custodians_used);
    if let Some(note) = session {
        done = done.fact("session", note);
    }
    if let Some(c) = &choice {
        done = c.record(done);
    }
    done.inputs.push(ctx.digest(&path)?);
    Ok(Outcome::Done(describe(ctx, &shares, done)?))
}

/// Records how each key was matched to its share and how it was decrypted (`file`,
/// `token-oaep`, `token-raw+host-oaep`, ...); a key opened by trial decryption although its
/// certificate matches no share is said aloud and recorded as a warning.
pub fn record_keys(ctx: &mut Ctx<'_>, done: Done, matches: &[KeyMatch]) -> Done {
    let path = ctx.out.join("sd");
    let mut warnings = Vec::new();
    let keys: Vec<serde_json::Value> = matches
        .iter()
        .map(|m| {
            if let Some(w) = m.mismatch_warning(&path) {
                ctx.ui.say(&format!("   warning: {w}"));
                warnings.push(w);
            }
            json!({
                "custodian": super::token_custodians::custodian_of(ctx, &m.key),
                "share": m.location,
                "matched_by": m.matched_by,
                "decryption": m.decryption,
            })
        })
        .collect();
    let mut done = done.fact("keys", json!(keys));
    if matches
        .iter()
        .any(|m| m.decryption.is_some_and(|d| d.starts_with("token")))
    {
        done = done.fact("pins", ctx.ui.tokens().pin_origin());
    }
    if warnings.is_empty() {
        done
    } else {
        done.fact("trial_decryption_warnings", json!(warnings))
    }
}

/// Custodian `name` alone proves that their key opens their own share.
pub fn prove_step(name: &str) -> Step {
    let who = name.to_owned();
    Step {
        id: format!("prove:{name}"),
        side: Side::Offline,
        actor: format!("custodian {name}"),
        title: format!("{name} proves their key opens their share"),
        explain: format!("Custodian {name}, alone, types their passphrase: sdctl finds their share of the security domain and decrypts it (its MAC authenticates it). Nobody else needs to be present."),
        imports: None,
        action: Box::new(move |ctx| prove(ctx, &who)),
    }
}

fn prove(ctx: &mut Ctx<'_>, name: &str) -> Result<Outcome, crate::Error> {
    let record = current_sd(ctx)?;
    let path = ctx.out.join(&record.path);
    let file = SdFile::read(&path)?;
    let keys = match open_keys(ctx, &format!("prove:{name}"), &[name.to_owned()])? {
        Ok(keys) => keys,
        Err(stopped) => return Ok(stopped),
    };
    let found = match_keys(&path, &file.domain, &keys)?;
    let Some(m) = found.into_iter().next() else {
        return Err(CeremonyError::Refused(format!(
            "{}: custodian {name}'s key opens no share of this security domain",
            path.display()
        ))
        .into());
    };
    let location = m.matched.location.clone();
    let x5t = m.matched.x5t_256.clone();
    let opened = open_share(&file.domain, &keys[m.key_index], m.matched, m.opened)?;
    let mut done = Done::new(format!("{name}'s key opened their share ({location})"))
        .fact("passphrases", ctx.passphrase_origin())
        .fact("custodian", name)
        .fact("share", location)
        .fact("share_x5t_256", x5t);
    done = record_keys(ctx, done, std::slice::from_ref(&opened.matched));
    done.inputs.push(ctx.digest(&path)?);
    Ok(Outcome::Done(done))
}
