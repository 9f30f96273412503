//! Importing a bundle: authenticated before anything in it is read, checked against this
//! machine's own records, and written only once every check passed, so that a refused
//! import leaves the workspace as it was.
//!
//! An import step calls [`import`] (nothing is written), makes its own checks of the
//! payload, then calls [`accept`] (the transfer code typed here is kept, the carried
//! transcript adopted) and writes what it imports.

use super::{file_name, incoming_path, peek, Incoming};
use crate::ceremony::engine::{Ctx, Done, Machine, TransferSource};
use crate::ceremony::transcript::{Entry, FileDigest};
use crate::ceremony::transfer_code::TransferCode;
use crate::ceremony::ui::{labelled_digest, Ui};
use crate::ceremony::CeremonyError;

/// How many times a mistyped transfer code is asked again.
const CODE_ATTEMPTS: usize = 3;

/// Reads the bundle of `kind` for this run and checks it, writing nothing: it must belong
/// to this run, authenticate under the run's transfer code (typed now if this machine does
/// not hold it yet), match `--expect-sha256` when given, carry a transcript that extends
/// this machine's, and show that every bundle this machine wrote arrived unchanged.
pub fn import(ctx: &mut Ctx<'_>, kind: &str) -> Result<(Incoming, Done), crate::Error> {
    let path = incoming_path(ctx.options, &ctx.out, kind);
    let mut incoming = peek(&path, kind, ctx.plan)?;
    if incoming.run != ctx.run_id {
        return Err(CeremonyError::Bundle {
            path,
            detail: format!(
                "the bundle belongs to run {}, this is run {}",
                incoming.run, ctx.run_id
            ),
        }
        .into());
    }
    let authenticated = authenticate(ctx, &incoming)?;
    let compared = compare_expected(ctx, &incoming)?;
    incoming.entries = ctx.transcript.check_extension(&incoming.transcript)?;
    check_carried_out(ctx, &incoming.entries)?;
    ctx.ui.say(&format!(
        "   Bundle {} authenticated ({authenticated}).",
        incoming.path.display()
    ));
    ctx.ui.say(&labelled_digest(
        "   ",
        "BUNDLE SHA-256 (as the other machine showed it):",
        &incoming.sha256,
    ));
    let mut done = Done::new(format!(
        "{kind} bundle imported ({}), SHA-256 {}",
        ctx.rel(&incoming.path),
        incoming.sha256
    ))
    .fact("bundle_sha256", incoming.sha256.clone())
    .fact("authenticated", authenticated)
    .fact("digest_compared", compared);
    done.event = Some("imported");
    done.inputs.push(FileDigest {
        name: format!("transfer/{}", file_name(kind)),
        sha256: incoming.sha256.clone(),
        bytes: incoming.bytes,
    });
    Ok((incoming, done))
}

/// Takes an imported bundle in, once the step has checked its payload: the run's folders
/// are made (a run that starts with this import), the transfer code typed here is kept for
/// the run's next bundles (mode 0600, in the run's folder), and the carried transcript
/// replaces this machine's.
pub fn accept(ctx: &mut Ctx<'_>, incoming: &Incoming) -> Result<(), crate::Error> {
    ctx.materialize()?;
    ctx.keep_transfer_code()?;
    ctx.transcript.adopt(&incoming.transcript)?;
    Ok(())
}

/// Authenticates `incoming` and says how: one machine needs nothing; otherwise the MAC must
/// verify under the run's transfer code, which the operator types the first time.
fn authenticate(ctx: &mut Ctx<'_>, incoming: &Incoming) -> Result<&'static str, crate::Error> {
    if ctx.machine == Machine::Single {
        return Ok("same machine");
    }
    if let Some(code) = &ctx.transfer {
        incoming.authenticate(code)?;
        return Ok(ctx.transfer_source.label());
    }
    let code = ask_code(ctx.ui, incoming)?;
    ctx.transfer = Some(code);
    ctx.transfer_source = TransferSource::Typed;
    Ok(ctx.transfer_source.label())
}

/// Asks the operator for the transfer code of `incoming`'s run and checks the bundle's MAC
/// with it (a mistyped code, caught by its check group, is asked again). Unattended runs
/// never get here: they give `--transfer-code-file`.
fn ask_code(ui: &mut dyn Ui, incoming: &Incoming) -> Result<TransferCode, crate::Error> {
    if !ui.attended() {
        return Err(CeremonyError::Usage(format!(
            "{}: this machine does not hold run {}'s transfer code: give it with --transfer-code-file FILE (a 0600 file)",
            incoming.path.display(),
            incoming.run
        ))
        .into());
    }
    ui.say(&format!(
        "   Bundle {} arrived for run {}.\n   Operator: type the run's transfer code, written down when the run opened on the other machine.",
        incoming.path.display(),
        incoming.run
    ));
    for attempt in 1..=CODE_ATTEMPTS {
        let Some(typed) = ui.ask(&format!(
            "Transfer code (attempt {attempt} of {CODE_ATTEMPTS}):"
        )) else {
            break;
        };
        match TransferCode::parse(&typed) {
            Ok(code) => {
                incoming.authenticate(&code)?;
                return Ok(code);
            }
            Err(e) => ui.say(&format!("   {e}")),
        }
    }
    Err(CeremonyError::Usage(format!(
        "{}: no transfer code was typed correctly; nothing was read from the bundle. Find the code written down when the run opened and run the same command again",
        incoming.path.display()
    ))
    .into())
}

/// `--expect-sha256`, when given, must be the bundle's digest.
fn compare_expected(ctx: &Ctx<'_>, incoming: &Incoming) -> Result<&'static str, crate::Error> {
    if ctx.machine == Machine::Single {
        return Ok("same machine");
    }
    let Some(expected) = &ctx.options.expect_sha256 else {
        return Ok("by its MAC");
    };
    if !expected.eq_ignore_ascii_case(&incoming.sha256) {
        return Err(CeremonyError::Refused(format!(
            "{}: SHA-256 {} differs from --expect-sha256 {expected}: the bundle is not the one written on the other machine; do not use it",
            incoming.path.display(),
            incoming.sha256
        ))
        .into());
    }
    Ok("by its MAC and --expect-sha256")
}

/// Every bundle this machine wrote for the run and the other machine imported (its
/// `imported` entries, in the carried transcript) must still be here and have the digest
/// the other machine recorded. A name that is not a bundle in `transfer/` is refused.
fn check_carried_out(ctx: &Ctx<'_>, entries: &[Entry]) -> Result<(), crate::Error> {
    let here = ctx.machine.name();
    for entry in entries {
        if entry.run != ctx.run_id || entry.event != "imported" || entry.machine == here {
            continue;
        }
        for input in &entry.inputs {
            let plain = input.name.strip_prefix("transfer/").filter(|n| {
                !n.is_empty() && !n.contains('/') && !n.contains('\\') && *n != "." && *n != ".."
            });
            let Some(plain) = plain else {
                return Err(CeremonyError::Refused(format!(
                    "the {} machine's entry {} names '{}', which is not a bundle in transfer/: stop and investigate",
                    entry.machine, entry.seq, input.name
                ))
                .into());
            };
            let local = ctx.out.join("transfer").join(plain);
            let ours = FileDigest::of_file(&local, &input.name).map_err(|e| {
                CeremonyError::Refused(format!(
                    "{}: this machine cannot read the bundle it wrote ({e}), so it cannot check that the {} machine received it unchanged: put back the copy written here (not the one carried) and run again",
                    local.display(),
                    entry.machine
                ))
            })?;
            if ours.sha256 != input.sha256 {
                return Err(CeremonyError::Refused(format!(
                    "{}: the {} machine imported a bundle with SHA-256 {}, but this machine wrote {}: it was changed in transit; stop and investigate",
                    local.display(),
                    entry.machine,
                    input.sha256,
                    ours.sha256
                ))
                .into());
            }
        }
    }
    Ok(())
}
