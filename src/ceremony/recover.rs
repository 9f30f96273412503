//! `ceremony recover`: the new HSM's exchange key goes offline, a quorum builds the restore
//! blob there, the blob goes online, is uploaded and followed to Success, the HSM is
//! checked active, and the full backup is restored into it.

use std::path::Path;

use super::bundle;
use super::common::{close_step, current_sd, open_step};
use super::engine::{Ctx, Done, Outcome, Side, Step};
use super::hsm_steps;
use super::plan::{Plan, QuorumMode};
use super::quorum::{describe, gather, session_dirs, session_step, Shares};
use super::quorum_choice::choose;
use super::transcript::Entry;
use super::ui::labelled_digest;
use super::CeremonyError;
use crate::domain::exchange::{parse_exchange_key, read_exchange_key, ExchangeKey};
use crate::domain::restore_blob::{build_with_keys, RestoreBlob};
use crate::domain::session::{restore_blob_from_exports, session_paths};
use crate::domain::SdFile;
use crate::files::{write_atomic, MODE_PUBLIC};

/// The recovery's steps.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let hsm = plan.recovery.hsm.clone().unwrap_or_default();
    let mut steps = vec![
        open_step(
            Side::Online,
            hsm.clone(),
            "the new HSM to recover into, the custodians and the quorum",
        ),
        hsm_steps::roles_step(hsm, "recover"),
        hsm_steps::exchange_key_step(),
        export_exchange_step(),
        import_exchange_step(),
    ];
    if plan.domain.quorum_mode == QuorumMode::Distributed {
        steps.push(session_step());
    }
    steps.push(restore_blob_step(plan.quorum_custodians()));
    steps.push(export_blob_step());
    steps.push(import_blob_step());
    steps.push(hsm_steps::upload_step());
    steps.push(hsm_steps::status_step());
    steps.push(hsm_steps::full_restore_step());
    steps.push(close_step(Side::Online));
    steps
}

fn export_exchange_step() -> Step {
    Step {
        id: "export-exchange".into(),
        side: Side::Online,
        actor: "operator".into(),
        title: "Export the exchange-key bundle for the air-gapped machine".into(),
        explain: "The new HSM's exchange key (public) and the transcript go into transfer/exchange-key-bundle.json; witnesses read its SHA-256 aloud.".into(),
        imports: None,
        action: Box::new(|ctx| {
            let path = ctx.run_dir()?.join("exchange-key.pem");
            bundle::export_file(ctx, "exchange-key", &path, "exchange_key_pem")
        }),
    }
}

fn import_exchange_step() -> Step {
    Step {
        id: "import-exchange".into(),
        side: Side::Offline,
        actor: "operator and witnesses".into(),
        title: "Import the exchange-key bundle on the air-gapped machine".into(),
        explain: "The witnesses compare the bundle's SHA-256 with the one read on the online machine; the exchange key is saved in this run's folder.".into(),
        imports: Some("exchange-key"),
        action: Box::new(import_exchange),
    }
}

/// Checks the carried exchange key before anything is written: it must be the key the
/// online machine recorded fetching from the new HSM (its `exchange-key` entry, in the
/// authenticated transcript), by the thumbprint computed here from its certificate.
fn import_exchange(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let (incoming, mut done) = bundle::import(ctx, "exchange-key")?;
    let pem = bundle::carried_text(&incoming, "exchange_key_pem")?;
    let key = parse_exchange_key(&incoming.path, pem.as_bytes())?;
    let recorded = recorded_exchange_x5t(&incoming.entries, &ctx.run_id);
    if key.x5t_256.is_none() || key.x5t_256 != recorded {
        return Err(CeremonyError::Refused(format!(
            "{}: the exchange key is not the one the online machine recorded fetching from the new HSM",
            incoming.path.display()
        ))
        .into());
    }
    if let Some(cert) = &key.certificate {
        ctx.ui.say(&labelled_digest(
            "   ",
            "Exchange key, SHA-256 fingerprint of its certificate (as the online machine showed it):",
            &cert.sha256_fingerprint(),
        ));
    }
    bundle::accept(ctx, &incoming)?;
    let path = ctx.run_dir()?.join("exchange-key.pem");
    write_atomic(&path, pem.as_bytes(), MODE_PUBLIC, true)?;
    done.outputs.push(ctx.digest(&path)?);
    Ok(Outcome::Done(done))
}

fn recorded_exchange_x5t(entries: &[Entry], run: &str) -> Option<String> {
    entries
        .iter()
        .rev()
        .find(|e| e.run == run && e.step == "exchange-key")
        .and_then(|e| e.facts.get("exchange_x5t_256")?.as_str().map(str::to_owned))
}

fn restore_blob_step(names: Vec<String>) -> Step {
    Step {
        id: "restore-blob".into(),
        side: Side::Offline,
        actor: format!("custodians {}", names.join(", ")),
        title: "A quorum builds the restore blob".into(),
        explain: "A quorum opens the security domain (keys together, or their share exports); sdctl authenticates every datum, re-encrypts the data under a fresh key and wraps that key to the new HSM's exchange key. Only the restore blob leaves this machine.".into(),
        imports: None,
        action: Box::new(move |ctx| restore_blob(ctx, &names)),
    }
}

fn restore_blob(ctx: &mut Ctx<'_>, names: &[String]) -> Result<Outcome, crate::Error> {
    let record = current_sd(ctx)?;
    let sd_path = ctx.out.join(&record.path);
    let file = SdFile::read(&sd_path)?;
    let exchange_path = ctx.run_dir()?.join("exchange-key.pem");
    let exchange = read_exchange_key(&exchange_path)?;
    let mode = ctx.plan.domain.quorum_mode;
    let path = ctx.run_dir()?.join("restore-blob.json");
    if mode == QuorumMode::Distributed {
        if let Some(mut done) = written_before(ctx, &path, &exchange)? {
            done.inputs
                .extend([ctx.digest(&sd_path)?, ctx.digest(&exchange_path)?]);
            let done = done
                .fact("sd_sha256", file.sha256.clone())
                .fact("quorum_mode", "distributed");
            return Ok(Outcome::Done(done));
        }
    }
    let need = file.domain.required();
    // Keys together: the people at the step may choose another quorum. Distributed: the
    // exports awaited are those of the plan's quorum, or of --quorum-custodians.
    let ask = mode == QuorumMode::Together;
    let choice = match choose(ctx, "restore-blob", "restore blob", names, need, ask)? {
        Ok(c) => c,
        Err(stopped) => return Ok(stopped),
    };
    let shares = match gather(ctx, "restore-blob", &sd_path, &choice.names, need, mode)? {
        Ok(s) => s,
        Err(waiting) => return Ok(waiting),
    };
    let (blob, unlocked) = match &shares {
        Shares::Keys(keys) => build_with_keys(&file, keys, &exchange)?,
        Shares::Exports {
            session, exports, ..
        } => restore_blob_from_exports(&file, session, exports, &exchange)?,
    };
    // The blob is written before the session key is destroyed: a kill in between leaves
    // the key (the step runs again), and one after it the blob (see `written_before`).
    write_atomic(&path, blob.to_json()?.as_bytes(), MODE_PUBLIC, true)?;
    let note = shares.finish();
    let mut done = Done::new(format!(
        "restore blob built from {} share(s) for exchange key {}",
        unlocked.used.len(),
        blob.wrapped_key.x5t_256
    ))
    .fact("sd_sha256", file.sha256.clone());
    if let Some(n) = note {
        done = done.fact("session", n);
    }
    done = choice.record(done);
    done.inputs
        .extend([ctx.digest(&sd_path)?, ctx.digest(&exchange_path)?]);
    done.outputs.push(ctx.digest(&path)?);
    Ok(Outcome::Done(describe(ctx, &shares, done)?))
}

/// A distributed recovery interrupted after its restore blob was written and the session
/// key destroyed, before the step was recorded: the blob at `path` (written whole, by an
/// atomic rename, for this run's exchange key) is the step's result; nothing is asked of
/// the custodians again. `None` when that is not what happened.
fn written_before(
    ctx: &Ctx<'_>,
    path: &Path,
    exchange: &ExchangeKey,
) -> Result<Option<Done>, crate::Error> {
    let (session, _) = session_dirs(ctx)?;
    let (key, _) = session_paths(&session);
    if key.exists() || !path.exists() {
        return Ok(None);
    }
    let blob = RestoreBlob::from_json(&crate::files::read_bounded(
        path,
        64 * 1024 * 1024,
        "a restore blob",
    )?)
    .map_err(|e| CeremonyError::Refused(format!("{}: {e}", path.display())))?;
    if exchange.x5t_256.as_deref() != Some(blob.wrapped_key.x5t_256.as_str()) {
        return Ok(None);
    }
    let mut done = Done::new(format!(
        "restore blob for exchange key {} kept: it was written, and the session key destroyed, before an interruption",
        blob.wrapped_key.x5t_256
    ))
    .fact("session", "session key destroyed")
    .fact("written_before_interruption", true);
    done.outputs.push(ctx.digest(path)?);
    Ok(Some(done))
}

fn export_blob_step() -> Step {
    Step {
        id: "export-blob".into(),
        side: Side::Offline,
        actor: "operator".into(),
        title: "Export the restore-blob bundle for the online machine".into(),
        explain: "The restore blob (readable only by the new HSM) and the transcript go into transfer/restore-blob-bundle.json; witnesses read its SHA-256 aloud.".into(),
        imports: None,
        action: Box::new(|ctx| {
            let path = ctx.run_dir()?.join("restore-blob.json");
            bundle::export_file(ctx, "restore-blob", &path, "restore_blob")
        }),
    }
}

fn import_blob_step() -> Step {
    Step {
        id: "import-blob".into(),
        side: Side::Online,
        actor: "operator and witnesses".into(),
        title: "Import the restore-blob bundle on the online machine".into(),
        explain: "The witnesses compare the bundle's SHA-256 with the one read on the air-gapped machine; the restore blob is saved in this run's folder.".into(),
        imports: Some("restore-blob"),
        action: Box::new(|ctx| {
            let (incoming, mut done) = bundle::import(ctx, "restore-blob")?;
            let text = bundle::carried_text(&incoming, "restore_blob")?;
            let blob = RestoreBlob::from_json(text.as_bytes()).map_err(|e| CeremonyError::Bundle { path: incoming.path.clone(), detail: format!("not a restore blob: {e}") })?;
            // This machine fetched the exchange key itself: the blob must be wrapped to it.
            let fetched = recorded_exchange_x5t(ctx.transcript.entries(), &ctx.run_id);
            if fetched.as_deref() != Some(blob.wrapped_key.x5t_256.as_str()) {
                return Err(CeremonyError::Refused(format!(
                    "{}: the restore blob is wrapped to exchange key {}, not to the one this machine fetched from the new HSM ({})",
                    incoming.path.display(),
                    blob.wrapped_key.x5t_256,
                    fetched.as_deref().unwrap_or("none recorded")
                ))
                .into());
            }
            bundle::accept(ctx, &incoming)?;
            let path = ctx.run_dir()?.join("restore-blob.json");
            write_atomic(&path, text.as_bytes(), MODE_PUBLIC, true)?;
            done.outputs.push(ctx.digest(&path)?);
            Ok(Outcome::Done(done))
        }),
    }
}
