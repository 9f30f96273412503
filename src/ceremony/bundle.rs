//! Bundles: the single files that carry public data between the air-gapped and the online
//! machine (certificates out, the security domain back; the exchange key in, the restore
//! blob out). Each carries the run's transcript so far, so one hash chain spans both
//! machines; its SHA-256 is shown on both machines for the witnesses to compare aloud.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::engine::{Ctx, Done, Options, Outcome};
use super::plan::Plan;
use super::transcript::FileDigest;
use super::ui::spoken;
use super::CeremonyError;
use crate::domain::model::hex;
use crate::files::{read_bounded, read_bounded_nonempty, write_atomic, MODE_PUBLIC};

const FORMAT: u32 = 1;
const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct BundleFile {
    sdctl_bundle: u32,
    kind: String,
    ceremony: String,
    run: String,
    plan_sha256: String,
    payload: Value,
    transcript: String,
}

/// The file name of a bundle of `kind` in `OUT/transfer/`.
pub fn file_name(kind: &str) -> String {
    format!("{kind}-bundle.json")
}

/// Where the bundle of `kind` to import is: `--bundle`, else `OUT/transfer/`.
pub fn incoming_path(options: &Options, out: &Path, kind: &str) -> PathBuf {
    options
        .bundle
        .clone()
        .unwrap_or_else(|| out.join("transfer").join(file_name(kind)))
}

/// A bundle to write once the step's transcript entry exists.
#[derive(Clone, Debug)]
pub struct Outgoing {
    path: PathBuf,
    kind: &'static str,
    ceremony: String,
    run: String,
    plan_sha256: String,
    payload: Value,
}

impl Outgoing {
    /// A bundle of `kind` carrying `payload`, for this run, into `OUT/transfer/`.
    pub fn new(
        ctx: &Ctx<'_>,
        kind: &'static str,
        payload: Value,
    ) -> Result<Outgoing, crate::Error> {
        Ok(Outgoing {
            path: ctx.dir("transfer")?.join(file_name(kind)),
            kind,
            ceremony: ctx.plan.ceremony.name.clone(),
            run: ctx.run_id.clone(),
            plan_sha256: ctx.plan.sha256.clone(),
            payload,
        })
    }

    /// Where it goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The payload's digest (recorded in the exporting step's entry).
    pub fn payload_sha256(&self) -> String {
        hex(&Sha256::digest(self.payload.to_string().as_bytes()))
    }

    /// Writes the bundle with `transcript` (which already holds the exporting entry) and
    /// returns the file's SHA-256.
    pub fn write(&self, transcript: &str) -> Result<String, crate::Error> {
        let file = BundleFile {
            sdctl_bundle: FORMAT,
            kind: self.kind.into(),
            ceremony: self.ceremony.clone(),
            run: self.run.clone(),
            plan_sha256: self.plan_sha256.clone(),
            payload: self.payload.clone(),
            transcript: transcript.to_owned(),
        };
        let mut text = serde_json::to_string_pretty(&file)
            .map_err(|e| CeremonyError::State(format!("bundle cannot be encoded: {e}")))?;
        text.push('\n');
        write_atomic(&self.path, text.as_bytes(), MODE_PUBLIC, true)?;
        Ok(hex(&Sha256::digest(text.as_bytes())))
    }
}

/// Finishes an export step: the entry names the bundle, the runner writes it.
pub fn export(ctx: &Ctx<'_>, bundle: Outgoing, summary: String) -> Done {
    let mut done = Done::new(summary)
        .fact("bundle", ctx.rel(bundle.path()))
        .fact("payload_sha256", bundle.payload_sha256());
    done.event = Some("handoff");
    done.bundle = Some(Box::new(bundle));
    done
}

/// Exports the text file at `path` as `field` of a bundle of `kind`, with its SHA-256.
pub fn export_file(
    ctx: &Ctx<'_>,
    kind: &'static str,
    path: &Path,
    field: &str,
) -> Result<Outcome, crate::Error> {
    let bytes = read_bounded(path, MAX_BUNDLE_BYTES, "a file to carry")?;
    let text = String::from_utf8(bytes).map_err(|_| CeremonyError::Bundle {
        path: path.to_owned(),
        detail: "not UTF-8 text".into(),
    })?;
    let mut payload = serde_json::Map::new();
    payload.insert(
        "sha256".into(),
        hex(&Sha256::digest(text.as_bytes())).into(),
    );
    payload.insert(field.into(), text.into());
    let out = Outgoing::new(ctx, kind, payload.into())?;
    let summary = format!("{kind} bundle exported to {}", ctx.rel(out.path()));
    let mut done = export(ctx, out, summary);
    done.inputs.push(ctx.digest(path)?);
    Ok(Outcome::Done(done))
}

/// The text an [`export_file`] bundle carries as `field`, checked against its SHA-256.
pub fn carried_text(incoming: &Incoming, field: &str) -> Result<String, crate::Error> {
    let text = incoming.payload[field].as_str().unwrap_or_default();
    if incoming.payload["sha256"].as_str() != Some(hex(&Sha256::digest(text.as_bytes())).as_str()) {
        return Err(CeremonyError::Bundle {
            path: incoming.path.clone(),
            detail: format!("its {field} does not match the SHA-256 beside it"),
        }
        .into());
    }
    Ok(text.to_owned())
}

/// A bundle read for import.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// The run it belongs to.
    pub run: String,
    /// The data it carries.
    pub payload: Value,
    /// The transcript it carries.
    pub transcript: String,
}

/// Reads the bundle of `kind` at `path` and checks it belongs to `plan`.
pub fn peek(path: &Path, kind: &str, plan: &Plan) -> Result<Incoming, crate::Error> {
    let bytes = read_bounded_nonempty(path, MAX_BUNDLE_BYTES, "a ceremony bundle")?;
    parse(path, &bytes, kind, plan)
}

/// Parses the bytes of a bundle of `kind` read from `path` and checks it belongs to `plan`.
pub fn parse(path: &Path, bytes: &[u8], kind: &str, plan: &Plan) -> Result<Incoming, crate::Error> {
    let bad = |detail: String| CeremonyError::Bundle {
        path: path.to_owned(),
        detail,
    };
    let file: BundleFile =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not a ceremony bundle: {e}")))?;
    if file.sdctl_bundle != FORMAT {
        return Err(bad(format!(
            "bundle format {} is not known to this sdctl",
            file.sdctl_bundle
        ))
        .into());
    }
    if file.kind != kind {
        return Err(bad(format!(
            "this is a {} bundle; this step needs the {kind} bundle",
            file.kind
        ))
        .into());
    }
    if file.ceremony != plan.ceremony.name {
        return Err(bad(format!(
            "the bundle belongs to ceremony '{}', the plan to '{}'",
            file.ceremony, plan.ceremony.name
        ))
        .into());
    }
    check_payload(kind, &file.payload).map_err(&bad)?;
    if file.plan_sha256 != plan.sha256 {
        return Err(bad(format!(
            "the other machine used a different plan (SHA-256 {}; here {}): both machines must run the very same plan file",
            file.plan_sha256, plan.sha256
        ))
        .into());
    }
    Ok(Incoming {
        path: path.to_owned(),
        sha256: hex(&Sha256::digest(bytes)),
        bytes: bytes.len() as u64,
        run: file.run,
        payload: file.payload,
        transcript: file.transcript,
    })
}

/// The payload of a bundle of `kind` has the members its import reads, of the right JSON
/// types, so a damaged bundle is refused before a run starts on it.
fn check_payload(kind: &str, payload: &Value) -> Result<(), String> {
    let Value::Object(members) = payload else {
        return Err("not a ceremony bundle: its payload is not a JSON object".into());
    };
    let text = |name: &str| match members.get(name) {
        Some(Value::String(_)) => Ok(()),
        _ => Err(format!(
            "not a ceremony bundle: its payload has no text '{name}'"
        )),
    };
    match kind {
        "public" => {
            let certificates = members
                .get("certificates")
                .and_then(Value::as_array)
                .ok_or("not a ceremony bundle: its payload has no list 'certificates'")?;
            for (i, c) in certificates.iter().enumerate() {
                if !(c["custodian"].is_string() && c["pem"].is_string()) {
                    return Err(format!(
                        "not a ceremony bundle: payload.certificates[{i}] is not a custodian's name and PEM certificate"
                    ));
                }
            }
            Ok(())
        }
        "security-domain" => text("sha256").and_then(|()| text("security_domain")),
        "exchange-key" => text("sha256").and_then(|()| text("exchange_key_pem")),
        "restore-blob" => text("sha256").and_then(|()| text("restore_blob")),
        _ => Ok(()),
    }
}

/// Imports the bundle of `kind` for this run: the witnesses compare its digest with the one
/// read on the other machine (or `--expect-sha256` does), its transcript must continue this
/// machine's, and what this machine carried out must be what the other machine received.
pub fn import(ctx: &mut Ctx<'_>, kind: &str) -> Result<(Incoming, Done), crate::Error> {
    let path = incoming_path(ctx.options, &ctx.out, kind);
    let incoming = peek(&path, kind, ctx.plan)?;
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
    let compared = compare_digest(ctx, &incoming)?;
    ctx.transcript.adopt(&incoming.transcript)?;
    check_carried_out(ctx)?;
    let mut done = Done::new(format!(
        "{kind} bundle imported ({}), SHA-256 {}",
        ctx.rel(&incoming.path),
        incoming.sha256
    ))
    .fact("bundle_sha256", incoming.sha256.clone())
    .fact("digest_compared", compared);
    done.event = Some("imported");
    done.inputs.push(FileDigest {
        name: format!("transfer/{}", file_name(kind)),
        sha256: incoming.sha256.clone(),
        bytes: incoming.bytes,
    });
    Ok((incoming, done))
}

fn compare_digest(ctx: &mut Ctx<'_>, incoming: &Incoming) -> Result<&'static str, crate::Error> {
    if ctx.machine == super::engine::Machine::Single {
        return Ok("same machine");
    }
    let shown = spoken(&incoming.sha256);
    ctx.ui.say(&format!(
        "   Bundle {}\n   SHA-256 {shown}",
        incoming.path.display()
    ));
    if let Some(expected) = &ctx.options.expect_sha256 {
        if !expected.eq_ignore_ascii_case(&incoming.sha256) {
            return Err(CeremonyError::Refused(format!(
                "{}: SHA-256 {} differs from --expect-sha256 {expected}: the bundle is not the one written on the other machine; do not use it",
                incoming.path.display(),
                incoming.sha256
            ))
            .into());
        }
        return Ok("--expect-sha256");
    }
    if !ctx.ui.attended() {
        ctx.ui
            .say("   (not compared by witnesses: unattended run without --expect-sha256)");
        return Ok("not compared (unattended)");
    }
    if ctx
        .ui
        .confirm("Witnesses: is this the SHA-256 read aloud on the other machine?")
    {
        Ok("witnesses")
    } else {
        Err(CeremonyError::Refused(format!(
            "{}: the witnesses did not confirm its SHA-256; do not use this bundle: carry it again from the other machine",
            incoming.path.display()
        ))
        .into())
    }
}

/// Every bundle this machine wrote for the run and the other machine imported must have
/// arrived unchanged: the other machine's `imported` entry names its digest.
fn check_carried_out(ctx: &Ctx<'_>) -> Result<(), crate::Error> {
    let here = ctx.machine.name();
    for entry in ctx.transcript.entries() {
        if entry.run != ctx.run_id || entry.event != "imported" || entry.machine == here {
            continue;
        }
        for input in &entry.inputs {
            let local = ctx.out.join(&input.name);
            let Ok(ours) = FileDigest::of_file(&local, &input.name) else {
                continue;
            };
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

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
