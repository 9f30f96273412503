//! Bundles: the single files that carry public data between the air-gapped and the online
//! machine (certificates out, the security domain back; the exchange key in, the restore
//! blob out). Each carries the run's transcript so far, so one hash chain spans both
//! machines, and, on two-machine runs, an HMAC-SHA-256 under the run's transfer key
//! ([`super::transfer_code`]): the importing machine checks it before it reads, adopts or
//! writes anything ([`import`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::engine::{Ctx, Done, Outcome};
use super::plan::Plan;
use super::transcript::Entry;
use super::transfer_code::{Binding, TransferCode};
use super::CeremonyError;
use crate::domain::model::hex;
use crate::files::{read_bounded, read_bounded_nonempty, write_atomic, MODE_PUBLIC};

#[path = "bundle_import.rs"]
mod import;
pub use import::{accept, import};

/// The bundle format: 2 added the MAC.
const FORMAT: u32 = 2;
const MAX_BUNDLE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    sdctl_bundle: u32,
    kind: String,
    ceremony: String,
    run: String,
    plan_sha256: String,
    payload: Value,
    transcript: String,
    /// HMAC-SHA-256 (hex) under the run's transfer key; absent on one-machine runs, where
    /// nothing crosses a medium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
}

/// What the MAC covers: every member but the MAC itself, in this order.
#[derive(Serialize)]
struct Authenticated<'a> {
    sdctl_bundle: u32,
    kind: &'a str,
    ceremony: &'a str,
    run: &'a str,
    plan_sha256: &'a str,
    payload: &'a Value,
    transcript: &'a str,
}

impl Authenticated<'_> {
    fn message(&self) -> Result<Vec<u8>, CeremonyError> {
        serde_json::to_vec(self)
            .map_err(|e| CeremonyError::State(format!("bundle cannot be encoded: {e}")))
    }
}

/// The one encoding of a bundle: pretty JSON and a final new line.
fn canonical(file: &BundleFile) -> Result<String, CeremonyError> {
    let mut text = serde_json::to_string_pretty(file)
        .map_err(|e| CeremonyError::State(format!("bundle cannot be encoded: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Whether `run` is a run id as sdctl makes them (`activate`, `drill-3`): it names a folder.
fn is_run_id(run: &str) -> bool {
    let (word, number) = run.split_once('-').unwrap_or((run, "1"));
    (1..=16).contains(&word.len())
        && word.bytes().all(|b| b.is_ascii_lowercase())
        && (1..=9).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// A value read from a bundle, safe to print: control characters escaped, long text cut.
fn shown(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &escaped[..at]),
        None => escaped,
    }
}

/// The file name of a bundle of `kind` in `OUT/transfer/`.
pub fn file_name(kind: &str) -> String {
    format!("{kind}-bundle.json")
}

/// Where the bundle of `kind` to import is: `--bundle`, else `OUT/transfer/`.
pub fn incoming_path(options: &super::engine::Options, out: &Path, kind: &str) -> PathBuf {
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
    code: Option<TransferCode>,
}

impl Outgoing {
    /// A bundle of `kind` carrying `payload`, for this run, into `OUT/transfer/`; on a
    /// two-machine run it is authenticated with the run's transfer code.
    pub fn new(
        ctx: &Ctx<'_>,
        kind: &'static str,
        payload: Value,
    ) -> Result<Outgoing, crate::Error> {
        let code = match ctx.machine {
            super::engine::Machine::Single => None,
            _ => Some(ctx.transfer.clone().ok_or_else(|| {
                CeremonyError::State(format!(
                    "{}: this machine holds no transfer code for run {}: it is made when the run opens and kept in the run's folder",
                    ctx.out.display(),
                    ctx.run_id
                ))
            })?),
        };
        Ok(Outgoing {
            path: ctx.dir("transfer")?.join(file_name(kind)),
            kind,
            ceremony: ctx.plan.ceremony.name.clone(),
            run: ctx.run_id.clone(),
            plan_sha256: ctx.plan.sha256.clone(),
            payload,
            code,
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
        let covered = Authenticated {
            sdctl_bundle: FORMAT,
            kind: self.kind,
            ceremony: &self.ceremony,
            run: &self.run,
            plan_sha256: &self.plan_sha256,
            payload: &self.payload,
            transcript,
        };
        let mac = match &self.code {
            Some(code) => {
                let message = covered.message()?;
                let key = code.bundle_key(&Binding {
                    ceremony: &self.ceremony,
                    run: &self.run,
                    plan_sha256: &self.plan_sha256,
                });
                Some(
                    key.and_then(|key| key.mac(&message))
                        .map_err(|e| CeremonyError::State(e.to_string()))?,
                )
            }
            None => None,
        };
        let file = BundleFile {
            sdctl_bundle: FORMAT,
            kind: self.kind.into(),
            ceremony: self.ceremony.clone(),
            run: self.run.clone(),
            plan_sha256: self.plan_sha256.clone(),
            payload: self.payload.clone(),
            transcript: transcript.to_owned(),
            mac,
        };
        let text = canonical(&file)?;
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

/// A bundle read for import. Until [`Incoming::authenticate`] (or [`import`]) accepts it,
/// nothing in it is to be trusted but its file's digest.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Its kind.
    pub kind: String,
    /// The ceremony it belongs to.
    pub ceremony: String,
    /// The run it belongs to.
    pub run: String,
    /// The plan digest it names.
    pub plan_sha256: String,
    /// The data it carries.
    pub payload: Value,
    /// The transcript it carries.
    pub transcript: String,
    /// Its MAC (hex), if any.
    pub mac: Option<String>,
    /// The carried transcript's entries, once checked to extend this machine's.
    pub entries: Vec<Entry>,
}

impl Incoming {
    /// Checks the bundle's MAC under `code`'s key for its run; a bundle without one, or
    /// whose MAC differs, is refused (exit 3): it was not written by the machine that
    /// holds the code, or it was changed since.
    pub fn authenticate(&self, code: &TransferCode) -> Result<(), crate::Error> {
        let covered = Authenticated {
            sdctl_bundle: FORMAT,
            kind: &self.kind,
            ceremony: &self.ceremony,
            run: &self.run,
            plan_sha256: &self.plan_sha256,
            payload: &self.payload,
            transcript: &self.transcript,
        };
        let key = code
            .bundle_key(&Binding {
                ceremony: &self.ceremony,
                run: &self.run,
                plan_sha256: &self.plan_sha256,
            })
            .map_err(|e| CeremonyError::State(e.to_string()))?;
        let Some(mac) = &self.mac else {
            return Err(self.unauthentic(
                "it carries no MAC (a bundle of a one-machine run, or made by hand)",
            ));
        };
        let message = covered.message()?;
        match key.verify(&message, mac) {
            Ok(true) => Ok(()),
            Ok(false) => {
                Err(self.unauthentic("its MAC does not verify under this run's transfer code"))
            }
            Err(e) => Err(CeremonyError::State(e.to_string()).into()),
        }
    }

    fn unauthentic(&self, why: &str) -> crate::Error {
        CeremonyError::Unauthentic(format!(
            "{}: {why}: either the transfer code is not this run's (compare it with the one written down when the run opened) or the bundle was changed after it was written; nothing was read from it: do not use it",
            self.path.display()
        ))
        .into()
    }
}

/// Reads the bundle of `kind` at `path` and checks it belongs to `plan` (not yet
/// authenticated).
pub fn peek(path: &Path, kind: &str, plan: &Plan) -> Result<Incoming, crate::Error> {
    let bytes = read_bounded_nonempty(path, MAX_BUNDLE_BYTES, "a ceremony bundle")?;
    parse(path, &bytes, kind, plan)
}

/// Parses the bytes of a bundle of `kind` read from `path` and checks it belongs to `plan`
/// (not yet authenticated).
pub fn parse(path: &Path, bytes: &[u8], kind: &str, plan: &Plan) -> Result<Incoming, crate::Error> {
    let bad = |detail: String| CeremonyError::Bundle {
        path: path.to_owned(),
        detail,
    };
    if let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(bytes) {
        if let Some(v) = members.get("sdctl_bundle").and_then(Value::as_u64) {
            if v != u64::from(FORMAT) {
                return Err(bad(format!(
                    "bundle format {v} is not known to this sdctl (it reads format {FORMAT}, whose bundles are authenticated): carry a bundle written by this version on the other machine"
                ))
                .into());
            }
        }
    }
    let file: BundleFile =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not a ceremony bundle: {e}")))?;
    if file.kind != kind {
        return Err(bad(format!(
            "this is a {} bundle; this step needs the {kind} bundle",
            shown(&file.kind)
        ))
        .into());
    }
    if file.ceremony != plan.ceremony.name {
        return Err(bad(format!(
            "the bundle belongs to ceremony '{}', the plan to '{}'",
            shown(&file.ceremony),
            plan.ceremony.name
        ))
        .into());
    }
    if !is_run_id(&file.run) {
        return Err(bad(format!(
            "'{}' is not a run of a ceremony (activate, drill-N, rotate-N, recover-N)",
            shown(&file.run)
        ))
        .into());
    }
    check_payload(kind, &file.payload).map_err(&bad)?;
    if file.plan_sha256 != plan.sha256 {
        return Err(bad(format!(
            "the other machine used a different plan (SHA-256 {}; here {}): both machines must run the very same plan file",
            shown(&file.plan_sha256),
            plan.sha256
        ))
        .into());
    }
    // Only the exact bytes sdctl writes: the MAC covers the members, so any other encoding
    // of them (spacing, order, escapes, duplicates) is refused rather than accepted with a
    // digest the writing machine never showed.
    if canonical(&file)?.as_bytes() != bytes {
        return Err(bad(
            "it is not byte for byte as sdctl writes a bundle (it was re-encoded or edited): carry the file exactly as the other machine wrote it".into(),
        )
        .into());
    }

    Ok(Incoming {
        path: path.to_owned(),
        sha256: hex(&Sha256::digest(bytes)),
        bytes: bytes.len() as u64,
        kind: file.kind,
        ceremony: file.ceremony,
        run: file.run,
        plan_sha256: file.plan_sha256,
        payload: file.payload,
        transcript: file.transcript,
        mac: file.mac,
        entries: Vec::new(),
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

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
