//! A quorum of custodians opens the security domain: together (keys on the air-gapped
//! machine, passphrases typed in turn) or distributed (each custodian exports their own
//! share to a ceremony session from their own device; no private key travels).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::custodians::{cert_path, key_path, open_keys};
use super::engine::{Ctx, Done, Outcome, Side, Step};
use super::plan::QuorumMode;
use super::transcript::Entry;
use crate::domain::session::{create_session, finish_session, session_paths, ExportFile};
use crate::domain::SdFile;
use crate::keys::{load_certificate, load_wrapping_key, Certificate, WrappingKey};
use crate::passphrase::PassphraseSource;

/// The shares of a quorum, ready to combine.
pub enum Shares {
    /// Custodians' own keys.
    Keys(Vec<WrappingKey>),
    /// Share exports opened with the session key.
    Exports {
        /// The session key file (destroyed after use).
        session_key: PathBuf,
        /// The session key.
        session: Box<WrappingKey>,
        /// The exports.
        exports: Vec<ExportFile>,
    },
}

impl Shares {
    /// Destroys the session key, if there is one; returns a note for the record.
    pub fn finish(&self) -> Option<String> {
        match self {
            Shares::Keys(_) => None,
            Shares::Exports { session_key, .. } => {
                let state = finish_session(session_key, false);
                Some(match state.kept_because {
                    None => "session key destroyed".into(),
                    Some(why) => format!("session key {why}"),
                })
            }
        }
    }
}

/// The ceremony session's directory and the exports' folder in the run's folder `run`
/// after the session step was redone `redone` times: `session/` and `exports/` first,
/// then `session-2/` and `exports-2/`, and so on. A redo never touches the folders before
/// it, so every file the transcript names by digest stays as it was.
pub fn session_dirs_in(run: &Path, redone: usize) -> (PathBuf, PathBuf) {
    match redone {
        0 => (run.join("session"), run.join("exports")),
        n => (
            run.join(format!("session-{}", n + 1)),
            run.join(format!("exports-{}", n + 1)),
        ),
    }
}

/// How many times run `run`'s session step was redone (its `redone` entries).
pub fn session_redone(entries: &[Entry], run: &str) -> usize {
    entries
        .iter()
        .filter(|e| e.run == run && e.step == "session" && e.event == "redone")
        .count()
}

/// The run's current ceremony session directory and exports' folder (`OUT/runs/RUN/…`).
pub fn session_dirs(ctx: &Ctx<'_>) -> Result<(PathBuf, PathBuf), crate::Error> {
    let redone = session_redone(ctx.transcript.entries(), &ctx.run_id);
    Ok(session_dirs_in(&ctx.run_dir()?, redone))
}

/// In distributed mode, the step that makes the ceremony session key pair.
pub fn session_step() -> Step {
    Step {
        id: "session".into(),
        side: Side::Offline,
        actor: "operator".into(),
        title: "Open a ceremony session for the custodians' share exports".into(),
        explain: "A one-time RSA key pair is made for this run only. Each custodian, on their own device, exports their share of the security domain to its certificate; the key is destroyed once the shares are combined.".into(),
        imports: None,
        action: Box::new(|ctx| {
            let (dir, exports) = session_dirs(ctx)?;
            let (key, cert) = session_paths(&dir);
            if key.exists() && cert.exists() {
                return Ok(Outcome::Done(Done::new("ceremony session key pair already made (kept)")));
            }
            let report = create_session(&dir, ctx.plan.keys.bits.max(3072), true)?;
            crate::files::create_private_dir(&exports)?;
            let mut done = Done::new(format!(
                "ceremony session opened: certificate {} (SHA-256 fingerprint {})",
                ctx.rel(&cert),
                report.sha256_fingerprint
            ))
            .fact("session_x5t_256", report.x5t_256.clone())
            .fact("session_sha256_fingerprint", report.sha256_fingerprint);
            done.outputs.push(ctx.digest(&cert)?);
            Ok(Outcome::Done(done))
        }),
    }
}

/// Brings the shares of `names` (at least `need` of them) for the SD at `sd`, for step
/// `step`: their keys (together; `Err` when a custodian's passphrase was typed wrong too
/// often), or their exports (distributed; `Err(Waiting)` when too few have arrived, or
/// when the session key was lost and the session step has just been redone).
pub fn gather(
    ctx: &mut Ctx<'_>,
    step: &str,
    sd: &Path,
    names: &[String],
    need: usize,
    mode: QuorumMode,
) -> Result<Result<Shares, Outcome>, crate::Error> {
    match mode {
        QuorumMode::Together => Ok(open_keys(ctx, step, names)?.map(Shares::Keys)),
        QuorumMode::Distributed => gather_exports(ctx, sd, names, need),
    }
}

fn gather_exports(
    ctx: &mut Ctx<'_>,
    sd: &Path,
    names: &[String],
    need: usize,
) -> Result<Result<Shares, Outcome>, crate::Error> {
    let (dir, exports_dir) = session_dirs(ctx)?;
    let (session_key, _) = session_paths(&dir);
    if !session_key.exists() {
        // The exports sealed to a lost key can never be opened: a new session, at once.
        let redone = redo_session(ctx, &session_key)?;
        return Ok(Err(Outcome::Waiting(format!(
            "{redone}\n{}",
            awaited(ctx, sd, names, need)?
        ))));
    }
    let present: Vec<PathBuf> = names
        .iter()
        .map(|n| exports_dir.join(format!("{n}.jwe")))
        .filter(|p| p.exists())
        .collect();
    if present.len() < need {
        return Ok(Err(Outcome::Waiting(awaited(ctx, sd, names, need)?)));
    }
    let session = Box::new(load_wrapping_key(
        &session_key,
        0,
        &PassphraseSource::Unavailable,
    )?);
    let exports = present
        .iter()
        .map(|p| ExportFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Ok(Shares::Exports {
        session_key,
        session,
        exports,
    }))
}

/// What the custodians whose exports are missing run, each on their own device.
fn awaited(
    ctx: &Ctx<'_>,
    sd: &Path,
    names: &[String],
    need: usize,
) -> Result<String, crate::Error> {
    let (dir, exports_dir) = session_dirs(ctx)?;
    let (_, cert) = session_paths(&dir);
    let export = |n: &str| exports_dir.join(format!("{n}.jwe"));
    let present = names.iter().filter(|n| export(n).exists()).count();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !export(n).exists())
        .map(|n| {
            format!(
                "  {n}: sdctl sd share-export --sd-file {} --key {} --to {} --out {}",
                sd.display(),
                key_path(&ctx.out, n).display(),
                cert.display(),
                export(n).display()
            )
        })
        .collect();
    Ok(format!(
        "{present} of {need} share exports are in {}. Each custodian, on their own device with their own key, runs (paths as on that device; carry the SD file and the session certificate there and the export back):\n{}\nThen run this command again.",
        exports_dir.display(),
        missing.join("\n")
    ))
}

/// The session key at `lost` is gone: the session step is done again, recorded as a
/// `redone` entry, in the next session folder (a key pair an interrupted redo left there
/// is kept). The exports made for the lost key stay where they are, unused. Returns what
/// people are told.
fn redo_session(ctx: &mut Ctx<'_>, lost: &Path) -> Result<String, crate::Error> {
    let redone = session_redone(ctx.transcript.entries(), &ctx.run_id) + 1;
    let (dir, exports) = session_dirs_in(&ctx.run_dir()?, redone);
    let (key, cert) = session_paths(&dir);
    if !(key.exists() && cert.exists()) {
        create_session(&dir, ctx.plan.keys.bits.max(3072), true)?;
    }
    crate::files::create_private_dir(&exports)?;
    let certificate = load_certificate(&cert)?;
    let summary = format!(
        "session step redone: the session key {} is gone, so the share exports sealed to it cannot be opened (they are left unused); new session certificate {} (SHA-256 fingerprint {}); the custodians export again to {}",
        ctx.rel(lost),
        ctx.rel(&cert),
        super::ui::spoken_inline(&certificate.sha256_fingerprint()),
        ctx.rel(&exports)
    );
    let mut done = Done::new(summary.clone())
        .fact("step", "session")
        .fact(
            "reason",
            format!("the session key {} is gone", ctx.rel(lost)),
        )
        .fact("session_x5t_256", certificate.x5t_256())
        .fact(
            "session_sha256_fingerprint",
            certificate.sha256_fingerprint(),
        )
        .fact("exports_dir", ctx.rel(&exports));
    done.outputs.push(ctx.digest(&cert)?);
    ctx.note_done("session", "operator", "redone", &done)?;
    ctx.ui.say(&format!("   {summary}."));
    Ok(format!(
        "The ceremony session key {} was lost: the session step was redone (recorded) with a new session certificate, {}. The exports made for the lost key are not used: the custodians export again.",
        lost.display(),
        cert.display()
    ))
}

/// Records how the quorum came in, and the certificates of the custodians whose shares came
/// in (the record's fingerprints when the run made no keys).
pub fn describe(ctx: &Ctx<'_>, shares: &Shares, done: Done) -> Result<Done, crate::Error> {
    let mut done = done.fact("certificates", used_certificates(ctx, shares));
    match shares {
        Shares::Keys(keys) => {
            let names: Vec<String> = keys
                .iter()
                .map(|k| super::token_custodians::custodian_of(ctx, &k.key_path))
                .collect();
            done = done
                .fact("quorum_mode", "together")
                .fact("custodians", json!(names))
                .fact("passphrases", ctx.passphrase_origin());
        }
        Shares::Exports { exports, .. } => {
            for e in exports {
                done.inputs.push(ctx.digest(&e.path)?);
            }
            done = done.fact("quorum_mode", "distributed").fact(
                "passphrases",
                "typed on each custodian's own device (share exports)",
            );
        }
    }
    Ok(done)
}

/// The custodians' certificates behind `shares`, as `{custodian, sha256_fingerprint,
/// x5t_256}`: the opened keys' own certificates, or for share exports the certificate in
/// `custodians/NAME.cer` of this machine when it is there and readable (the record only
/// shows these, so one that cannot be read is left out rather than failing the step).
fn used_certificates(ctx: &Ctx<'_>, shares: &Shares) -> serde_json::Value {
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let certs: Vec<(String, Option<Certificate>)> = match shares {
        Shares::Keys(keys) => keys
            .iter()
            .map(|k| {
                (
                    super::token_custodians::custodian_of(ctx, &k.key_path),
                    k.certificate.clone(),
                )
            })
            .collect(),
        Shares::Exports { exports, .. } => exports
            .iter()
            .map(|e| {
                let name = stem(&e.path);
                let cert = load_certificate(&cert_path(&ctx.out, &name)).ok();
                (name, cert)
            })
            .collect(),
    };
    let rows: Vec<serde_json::Value> = certs
        .into_iter()
        .filter_map(|(name, cert)| {
            let cert = cert?;
            Some(json!({"custodian": name, "sha256_fingerprint": cert.sha256_fingerprint(), "x5t_256": cert.x5t_256()}))
        })
        .collect();
    serde_json::Value::from(rows)
}

/// Opens `sd` (relative to the output directory) for a step.
pub fn read_sd(ctx: &Ctx<'_>, rel: &str) -> Result<SdFile, crate::Error> {
    Ok(SdFile::read(&ctx.out.join(rel))?)
}
