//! One ceremony folder as the audit reads it: its state file and every run's transcript,
//! the chain verified (a broken chain is a finding, the run's entries then left unused).

use std::path::{Path, PathBuf};

use super::{AuditError, Findings, RunAudit};
use crate::ceremony::state::{run_dir, State, STATE_FILE};
use crate::ceremony::transcript::{verify_entries, ChainReport, Entry, TRANSCRIPT_LIMIT};
use crate::files::{read_bounded, FileError};

/// Size limit of a state file.
const STATE_LIMIT: u64 = 16 << 20;

/// One run's transcript in a folder.
#[derive(Debug)]
pub struct FolderRun {
    /// The run id.
    pub id: String,
    /// The transcript file.
    pub path: PathBuf,
    /// Its text, when it exists and its chain is intact.
    pub text: String,
    /// Its entries (empty unless intact).
    pub entries: Vec<Entry>,
    /// Its chain report (`None` unless intact).
    pub report: Option<ChainReport>,
}

impl FolderRun {
    /// The machine this folder belongs to, for this run: the one that wrote the last
    /// entry (a machine always records its own step after adopting the other's entries).
    pub fn machine(&self) -> Option<&str> {
        self.entries.last().map(|e| e.machine.as_str())
    }

    /// The entries this folder's machine wrote itself.
    pub fn local_entries(&self) -> impl Iterator<Item = &Entry> {
        let machine = self.machine().unwrap_or_default().to_owned();
        self.entries.iter().filter(move |e| e.machine == machine)
    }
}

/// A ceremony folder: `state.json`, `runs/RUN/transcript.jsonl`, and the files they name.
#[derive(Debug)]
pub struct Folder {
    /// The folder as given.
    pub dir: PathBuf,
    /// Its state file.
    pub state: State,
    /// Its runs, oldest first (as state.json lists them, then any other transcript found).
    pub runs: Vec<FolderRun>,
}

impl Folder {
    /// Reads `dir`'s state and transcripts; chain problems go to `findings`.
    pub fn load(dir: &Path, findings: &mut Findings) -> Result<Folder, AuditError> {
        let state_path = dir.join(STATE_FILE);
        if !state_path.is_file() {
            return Err(AuditError::Usage(format!(
                "{}: no {STATE_FILE} here: not a ceremony output folder (the plan's output_dir, e.g. ceremony/)",
                dir.display()
            )));
        }
        let bytes = read_bounded(&state_path, STATE_LIMIT, "a ceremony state file")?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| {
            AuditError::Usage(format!(
                "{}: not a ceremony state file: {e}",
                state_path.display()
            ))
        })?;
        let mut ids: Vec<String> = state.runs.iter().map(|r| r.id.clone()).collect();
        for extra in transcripts_on_disk(dir)? {
            if !ids.contains(&extra) {
                findings.add(
                    &run_dir(dir, &extra).join("transcript.jsonl"),
                    format!("run {extra} is not listed in {STATE_FILE}"),
                );
                ids.push(extra);
            }
        }
        let runs = ids
            .into_iter()
            .map(|id| load_run(dir, id, findings))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Folder {
            dir: dir.to_owned(),
            state,
            runs,
        })
    }

    /// The run called `id`.
    pub fn run(&self, id: &str) -> Option<&FolderRun> {
        self.runs.iter().find(|r| r.id == id)
    }

    /// The report lines of this folder's runs.
    pub fn run_audits(&self) -> Vec<RunAudit> {
        self.runs
            .iter()
            .map(|r| RunAudit {
                folder: self.dir.display().to_string(),
                run: r.id.clone(),
                transcript: r.path.display().to_string(),
                intact: r.report.is_some(),
                entries: r.entries.len(),
                final_digest: r.report.as_ref().map(|c| c.final_digest.clone()),
                closed: r.report.as_ref().is_some_and(|c| c.closed),
                machine: r.machine().map(str::to_owned),
                expected: None,
            })
            .collect()
    }
}

/// The runs with a transcript under `dir/runs/`, sorted by name.
fn transcripts_on_disk(dir: &Path) -> Result<Vec<String>, AuditError> {
    let runs = dir.join("runs");
    let listing = match std::fs::read_dir(&runs) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(FileError::Read { path: runs, source }.into()),
    };
    let mut ids: Vec<String> = listing
        .flatten()
        .filter(|e| e.path().join("transcript.jsonl").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    Ok(ids)
}

fn load_run(dir: &Path, id: String, findings: &mut Findings) -> Result<FolderRun, AuditError> {
    let path = run_dir(dir, &id).join("transcript.jsonl");
    let mut run = FolderRun {
        id,
        path,
        text: String::new(),
        entries: Vec::new(),
        report: None,
    };
    let data = match read_bounded(&run.path, TRANSCRIPT_LIMIT, "a ceremony transcript") {
        Ok(data) => data,
        Err(FileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            findings.add(
                &run.path,
                format!("missing: {STATE_FILE} lists run {}", run.id),
            );
            return Ok(run);
        }
        Err(e) => return Err(e.into()),
    };
    match verify_entries(&data) {
        Ok((report, entries)) => {
            if let Some(other) = entries.iter().find(|e| e.run != run.id) {
                findings.add(
                    &run.path,
                    format!(
                        "line {}: an entry of run '{}' in run {}'s transcript",
                        other.seq, other.run, run.id
                    ),
                );
            }
            // Verified above, so the bytes are UTF-8.
            run.text = String::from_utf8_lossy(&data).into_owned();
            run.entries = entries;
            run.report = Some(report);
        }
        Err(broken) => findings.add(
            &run.path,
            format!("line {}: {}", broken.line, broken.problem),
        ),
    }
    Ok(run)
}
