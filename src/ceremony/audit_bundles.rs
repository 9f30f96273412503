//! Both machines' bundles and transcripts agree: the same run's transcripts are one a
//! prefix of the other; each bundle a machine recorded importing is, byte for byte, the
//! one the writing machine keeps in its `transfer/`; each bundle's carried transcript is
//! a prefix of its writer's transcript (and never contradicts the other machine's).

use std::path::Path;

use serde_json::Value;

use super::files::{inside, latest_records, read_if_present, Recorded};
use super::{Findings, Folder};
use crate::ceremony::transcript::{sha256_hex, verify_entries};

/// Runs every cross-machine check (carried transcripts also on one folder).
pub fn check(folders: &[Folder], findings: &mut Findings) {
    if let [a, b] = folders {
        same_runs(a, b, findings);
        imported_bundles(a, b, findings);
        imported_bundles(b, a, findings);
    }
    for f in folders {
        carried_transcripts(f, folders, findings);
    }
}

/// The first line (1-based) where two transcripts differ, when neither is a prefix of the
/// other.
pub fn divergence(a: &str, b: &str) -> Option<usize> {
    let (mut la, mut lb) = (a.split_inclusive('\n'), b.split_inclusive('\n'));
    let mut line = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (Some(_), Some(_)) => return Some(line),
            _ => return None,
        }
    }
}

fn same_runs(a: &Folder, b: &Folder, findings: &mut Findings) {
    for ra in &a.runs {
        let Some(rb) = b.run(&ra.id) else { continue };
        if ra.report.is_none() || rb.report.is_none() {
            continue;
        }
        if let Some(line) = divergence(&ra.text, &rb.text) {
            findings.add(
                &ra.path,
                format!(
                    "line {line}: differs from {} there: the two machines recorded different entries for run {}",
                    rb.path.display(),
                    ra.id
                ),
            );
        }
    }
}

/// Every bundle `reader` recorded importing (its latest record of that name) matches the
/// copy `writer` keeps, when `writer`'s latest export of that name is of the same run.
fn imported_bundles(reader: &Folder, writer: &Folder, findings: &mut Findings) {
    let written = latest_records(writer);
    let read = latest_records(reader);
    for run in &reader.runs {
        for entry in run.local_entries().filter(|e| e.event == "imported") {
            for input in entry.inputs.iter().filter(|i| is_bundle_name(&i.name)) {
                let current = read.get(&input.name).map(|l| &l.recorded);
                if current != Some(&Recorded::File(input.sha256.clone())) {
                    continue; // a later import of the same name supersedes this one
                }
                if !exported_in(writer, &input.name, &run.id) {
                    continue;
                }
                if !matches!(written.get(&input.name), Some(l) if matches!(l.recorded, Recorded::Bundle(_)))
                {
                    continue; // the writer imported a bundle of that name since
                }
                let Some(path) = inside(&writer.dir, &input.name) else {
                    continue; // reported by the file checks
                };
                let at = format!(
                    "{} recorded importing SHA-256 {} at run {} line {}",
                    reader.dir.display(),
                    input.sha256,
                    run.id,
                    entry.seq
                );
                match read_if_present(&path) {
                    Ok(Some(data)) if sha256_hex(&data) == input.sha256 => {}
                    Ok(Some(data)) => findings.add(
                        &path,
                        format!(
                            "differs between the machines: its SHA-256 is {}, but {at}",
                            sha256_hex(&data)
                        ),
                    ),
                    Ok(None) => {
                        findings.add(&path, format!("missing on the writing machine; {at}"))
                    }
                    Err(e) => findings.add(&path, format!("cannot be read: {e}")),
                }
            }
        }
    }
}

/// Whether `folder`'s latest export of bundle `name` was made in run `run`.
fn exported_in(folder: &Folder, name: &str, run: &str) -> bool {
    let mut last = None;
    for r in &folder.runs {
        for e in r.local_entries().filter(|e| e.event == "handoff") {
            if e.facts.get("bundle").and_then(Value::as_str) == Some(name) {
                last = Some(r.id.as_str());
            }
        }
    }
    last == Some(run)
}

fn is_bundle_name(name: &str) -> bool {
    name.strip_prefix("transfer/")
        .is_some_and(|n| n.ends_with("-bundle.json") && !n.contains('/'))
}

/// Each bundle in `folder/transfer/` carries a transcript that verifies, is a prefix of its
/// writer's transcript, and agrees with every audited folder's transcript of its run.
fn carried_transcripts(folder: &Folder, all: &[Folder], findings: &mut Findings) {
    let dir = folder.dir.join("transfer");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut paths: Vec<_> = listing
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-bundle.json"))
        })
        .collect();
    paths.sort();
    for path in paths {
        carried_transcript(&path, all, findings);
    }
}

fn carried_transcript(path: &Path, all: &[Folder], findings: &mut Findings) {
    let data = match read_if_present(path) {
        Ok(Some(data)) => data,
        Ok(None) => return,
        Err(e) => return findings.add(path, format!("cannot be read: {e}")),
    };
    let bundle: Option<(String, String)> =
        serde_json::from_slice::<Value>(&data).ok().and_then(|v| {
            Some((
                v.get("run")?.as_str()?.to_owned(),
                v.get("transcript")?.as_str()?.to_owned(),
            ))
        });
    let Some((run, carried)) = bundle else {
        return findings.add(
            path,
            "not a ceremony bundle (no run and transcript members)",
        );
    };
    let writer = match verify_entries(carried.as_bytes()) {
        Ok((_, entries)) => entries.last().map(|e| e.machine.clone()),
        Err(e) => {
            return findings.add(
                path,
                format!(
                    "the transcript it carries is broken at its line {}: {}",
                    e.line, e.problem
                ),
            )
        }
    };
    for f in all {
        let Some(mine) = f.run(&run).filter(|r| r.report.is_some()) else {
            continue;
        };
        if let Some(line) = divergence(&mine.text, &carried) {
            findings.add(
                path,
                format!(
                    "the transcript it carries differs from {} at line {line}",
                    mine.path.display()
                ),
            );
        } else if writer.as_deref() == mine.machine() && !mine.text.starts_with(&carried) {
            findings.add(
                path,
                format!(
                    "it carries {} entries but its writer's {} holds only {}: lines were removed from the end of the writer's transcript",
                    carried.lines().count(),
                    mine.path.display(),
                    mine.entries.len()
                ),
            );
        }
    }
}
