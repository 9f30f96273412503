//! The files a folder's transcripts name by digest, checked as this machine last recorded
//! them: a file rewritten by a later step (a custodian's new key at a rotation) is judged
//! by the later record; a bundle an export step wrote is judged by the payload digest that
//! step recorded; a file recorded as destroyed (a distributed recovery's session key) must
//! be gone. The plan (`plan.toml`, outside the folder) is not checked here.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::{AuditError, Findings, Folder};
use crate::ceremony::transcript::{sha256_hex, Entry, DIGEST_FILE_LIMIT};
use crate::files::{read_bounded, FileError};

/// What the last record of a file says it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// These bytes (SHA-256, lowercase hex).
    File(String),
    /// A bundle whose payload has this SHA-256 (the export step's `payload_sha256`).
    Bundle(String),
    /// Nothing: the file was destroyed.
    Destroyed,
}

/// The last record of a file, and where it was made.
#[derive(Clone, Debug)]
pub struct Latest {
    /// What it says.
    pub recorded: Recorded,
    /// "run activate line 7 (step import-public)".
    pub at: String,
}

/// The fact a step records when it destroyed the run's session key.
const SESSION_DESTROYED: &str = "session key destroyed";

/// The last record of every file this folder's machine named, by its name.
pub fn latest_records(folder: &Folder) -> BTreeMap<String, Latest> {
    let mut latest = BTreeMap::new();
    for run in &folder.runs {
        for entry in run.local_entries() {
            record_entry(&mut latest, &run.id, entry);
        }
    }
    latest
}

fn record_entry(latest: &mut BTreeMap<String, Latest>, run: &str, entry: &Entry) {
    let at = format!("run {run} line {} (step {})", entry.seq, entry.step);
    let mut put = |name: &str, recorded: Recorded| {
        latest.insert(
            name.to_owned(),
            Latest {
                recorded,
                at: at.clone(),
            },
        );
    };
    for f in entry.inputs.iter().chain(&entry.outputs) {
        if entry.event == "opened" && f.name == "plan.toml" {
            continue;
        }
        put(&f.name, Recorded::File(f.sha256.clone()));
    }
    let fact = |name: &str| entry.facts.get(name).and_then(Value::as_str);
    if entry.event == "handoff" {
        if let (Some(bundle), Some(payload)) = (fact("bundle"), fact("payload_sha256")) {
            put(bundle, Recorded::Bundle(payload.to_owned()));
        }
    }
    if fact("session") == Some(SESSION_DESTROYED) {
        put(
            &format!("runs/{run}/session/session.key"),
            Recorded::Destroyed,
        );
    }
}

/// Checks every file the folder's transcripts name; returns how many were checked.
pub fn check(folder: &Folder, findings: &mut Findings) -> Result<usize, AuditError> {
    let latest = latest_records(folder);
    for (name, last) in &latest {
        let Some(path) = inside(&folder.dir, name) else {
            findings.add(
                &folder.dir,
                format!("{}: names '{name}', a file outside the folder", last.at),
            );
            continue;
        };
        check_file(&path, last, findings)?;
    }
    Ok(latest.len())
}

/// `dir/name` when `name` is a plain relative path (no `..`, not absolute).
pub fn inside(dir: &Path, name: &str) -> Option<PathBuf> {
    let rel = Path::new(name);
    let plain = !name.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| dir.join(rel))
}

fn check_file(path: &Path, last: &Latest, findings: &mut Findings) -> Result<(), AuditError> {
    let data = read_if_present(path)?;
    match (&last.recorded, data) {
        (Recorded::Destroyed, None) => {}
        (Recorded::Destroyed, Some(_)) => findings.add(
            path,
            format!("still present, but {} records it destroyed", last.at),
        ),
        (_, None) => findings.add(path, format!("missing: {} recorded it", last.at)),
        (Recorded::File(want), Some(data)) => {
            let got = sha256_hex(&data);
            if got != *want {
                findings.add(
                    path,
                    format!("changed: its SHA-256 is {got}, {} recorded {want}", last.at),
                );
            }
        }
        (Recorded::Bundle(want), Some(data)) => match payload_sha256(&data) {
            Some(got) if got == *want => {}
            Some(got) => findings.add(
                path,
                format!(
                    "changed: its payload's SHA-256 is {got}, {} recorded {want}",
                    last.at
                ),
            ),
            None => findings.add(
                path,
                format!(
                    "not a ceremony bundle (no JSON payload); {} wrote one",
                    last.at
                ),
            ),
        },
    }
    Ok(())
}

/// The SHA-256 of a bundle's payload, as its export step computed it.
pub fn payload_sha256(bundle: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(bundle).ok()?;
    let payload = value.get("payload")?;
    Some(sha256_hex(payload.to_string().as_bytes()))
}

/// The file's bytes; `None` when it does not exist.
pub fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, AuditError> {
    match read_bounded(path, DIGEST_FILE_LIMIT, "a ceremony file") {
        Ok(data) => Ok(Some(data)),
        Err(FileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
