//! `ceremony audit`: what an auditor runs over a ceremony's output folder, or over both
//! machines' folders, after the fact. It reads everything and writes nothing.
//!
//! Checked, one [`Finding`] per problem: every run's transcript chain and, when given, its
//! final digest; every file a transcript names by digest, as this machine last recorded it
//! (a later record supersedes an earlier one; a recorded destruction explains a missing
//! file); the bundles on both sides (the same run's transcripts one a prefix of the other,
//! each imported bundle identical to the writer's copy, each bundle's carried transcript a
//! prefix of its writer's); the security domain in force against the custodians'
//! certificates and the quorum; the retired security domains, which are also listed.
//!
//! - [`folder`]: a folder read (state, runs, transcripts);
//! - [`files`]: the files named by digest; [`bundles`]: both machines' bundles;
//! - [`domain`]: the security domains, in force and retired.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::exit_code::ExitCode;
use crate::files::FileError;

#[path = "audit_bundles.rs"]
pub mod bundles;
#[path = "audit_domain.rs"]
pub mod domain;
#[path = "audit_files.rs"]
pub mod files;
#[path = "audit_folder.rs"]
pub mod folder;

pub use folder::Folder;

/// A final digest the witnesses wrote down, for one run or for the only run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The run ("activate", "drill-1"); `None`: the audited folders hold a single run.
    pub run: Option<String>,
    /// 64 lowercase hex digits.
    pub digest: String,
}

/// One problem found, reported as `FINDING <file>: <problem>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file at fault (its path as given on the command line, joined).
    pub file: String,
    /// What is wrong, one line.
    pub problem: String,
}

/// One run's transcript in one folder.
#[derive(Clone, Debug, Serialize)]
pub struct RunAudit {
    /// The folder.
    pub folder: String,
    /// The run id.
    pub run: String,
    /// The transcript file.
    pub transcript: String,
    /// Whether its chain is intact.
    pub intact: bool,
    /// Entries, when intact.
    pub entries: usize,
    /// The final digest, when intact.
    pub final_digest: Option<String>,
    /// Whether the last entry closes the run.
    pub closed: bool,
    /// The machine that wrote the last entry ("offline", "online", "single").
    pub machine: Option<String>,
    /// The digest given with `--expect` for this run, if any.
    pub expected: Option<String>,
}

/// A retired security domain, as the state file and the transcripts record it.
#[derive(Clone, Debug, Serialize)]
pub struct RetiredSd {
    /// The folder.
    pub folder: String,
    /// Its path, relative to the folder.
    pub path: String,
    /// Its SHA-256.
    pub sha256: String,
    /// When and by which run, as state.json says.
    pub retired: Option<String>,
    /// The run whose transcript records the retirement.
    pub run: Option<String>,
}

/// What an audit found.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The folders audited.
    pub folders: Vec<String>,
    /// Every run's transcript, folder by folder.
    pub runs: Vec<RunAudit>,
    /// How many files named by digest were checked.
    pub files_checked: usize,
    /// The security domains retired.
    pub retired: Vec<RetiredSd>,
    /// Every problem found; empty means clean.
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// Whether nothing was found.
    pub fn clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The audit could not be made (bad usage or unreadable input): exit 2.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The command line or a folder is unusable.
    #[error("{0}")]
    Usage(String),
}

impl AuditError {
    /// The documented exit code: 2, or the file error's own.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AuditError::File(e) => e.exit_code(),
            AuditError::Usage(_) => ExitCode::BadInput,
        }
    }
}

impl From<AuditError> for crate::Error {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::File(f) => crate::Error::File(f),
            AuditError::Usage(m) => crate::Error::Ceremony(super::CeremonyError::Usage(m)),
        }
    }
}

/// Collects findings as the checks go.
#[derive(Debug, Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    /// Records that `file` has `problem`.
    pub fn add(&mut self, file: &Path, problem: impl Into<String>) {
        let problem: String = problem.into();
        self.0.push(Finding {
            file: file.display().to_string(),
            problem: problem.split_whitespace().collect::<Vec<_>>().join(" "),
        });
    }
}

/// Audits one folder, or two machines' folders of the same ceremony, against `expect`.
pub fn audit(dirs: &[PathBuf], expect: &[Expectation]) -> Result<AuditReport, AuditError> {
    if dirs.is_empty() || dirs.len() > 2 {
        return Err(AuditError::Usage(format!(
            "give one ceremony folder, or the two machines' folders of one ceremony ({} given)",
            dirs.len()
        )));
    }
    let mut findings = Findings::default();
    let folders = dirs
        .iter()
        .map(|d| Folder::load(d, &mut findings))
        .collect::<Result<Vec<_>, _>>()?;
    if let [a, b] = folders.as_slice() {
        if a.state.ceremony != b.state.ceremony {
            return Err(AuditError::Usage(format!(
                "{} holds ceremony '{}' but {} holds '{}': give two folders of the same ceremony",
                a.dir.display(),
                a.state.ceremony,
                b.dir.display(),
                b.state.ceremony
            )));
        }
    }
    let mut runs: Vec<RunAudit> = folders.iter().flat_map(Folder::run_audits).collect();
    check_expectations(&mut runs, &folders, expect, &mut findings)?;
    let mut files_checked = 0;
    let mut retired = Vec::new();
    for f in &folders {
        files_checked += files::check(f, &mut findings)?;
        domain::check(f, &mut findings, &mut retired);
    }
    bundles::check(&folders, &mut findings);
    Ok(AuditReport {
        folders: dirs.iter().map(|d| d.display().to_string()).collect(),
        runs,
        files_checked,
        retired,
        findings: findings.0,
    })
}

/// Each expected digest must be the final digest of its run's longest transcript (the one
/// that holds every entry either machine wrote).
fn check_expectations(
    runs: &mut [RunAudit],
    folders: &[Folder],
    expect: &[Expectation],
    findings: &mut Findings,
) -> Result<(), AuditError> {
    let mut ids: Vec<&str> = Vec::new();
    for f in folders {
        for r in &f.runs {
            if !ids.contains(&r.id.as_str()) {
                ids.push(&r.id);
            }
        }
    }
    for e in expect {
        let run = match (&e.run, ids.as_slice()) {
            (Some(run), _) if ids.contains(&run.as_str()) => run.clone(),
            (Some(run), _) => {
                return Err(AuditError::Usage(format!(
                    "--expect {run}=...: no audited folder holds run '{run}' (runs: {})",
                    ids.join(", ")
                )))
            }
            (None, [only]) => (*only).to_owned(),
            (None, _) => {
                return Err(AuditError::Usage(format!(
                    "--expect DIGEST without a run needs exactly one run; the folders hold {}: write --expect RUN=DIGEST",
                    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
                )))
            }
        };
        let longest = folders
            .iter()
            .filter_map(|f| f.run(&run))
            .max_by_key(|r| r.entries.len());
        for r in runs.iter_mut().filter(|r| r.run == run) {
            r.expected = Some(e.digest.clone());
        }
        let Some(longest) = longest else { continue };
        match &longest.report {
            Some(report) if report.final_digest == e.digest => {}
            Some(report) => findings.add(
                &longest.path,
                format!(
                    "run {run}: final digest {} differs from the expected {}: the transcript is not the one the witnesses recorded",
                    report.final_digest, e.digest
                ),
            ),
            None => findings.add(
                &longest.path,
                format!("run {run}: the chain is broken, so its final digest cannot be the expected {}", e.digest),
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
