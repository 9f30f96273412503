//! `sdctl ceremony audit DIR...`: an auditor's check of ceremony folders (see
//! [`sdctl::ceremony::audit`]); prints one line per finding and writes nothing.

use std::path::PathBuf;

use clap::Args;
use sdctl::ceremony::audit::{audit, AuditReport, Expectation};
use sdctl::Error;

use super::ceremony_log::parse_digest;
use super::{OutputFormat, Reporter};

/// Arguments of `ceremony audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The ceremony folder (the plan's output_dir, holding state.json and runs/), or both
    /// machines' folders of one ceremony.
    #[arg(value_name = "DIR", required = true, num_args = 1..=2)]
    dirs: Vec<PathBuf>,
    /// The other machine's folder (the same as giving it as a second DIR).
    #[arg(long, value_name = "DIR")]
    other: Option<PathBuf>,
    /// A final digest the witnesses wrote down: RUN=DIGEST, or DIGEST alone when the
    /// folders hold one run; 64 hex digits, any case, spaces ignored. Repeatable.
    #[arg(long, value_name = "RUN=DIGEST", value_parser = parse_expectation)]
    expect: Vec<Expectation>,
}

fn parse_expectation(s: &str) -> Result<Expectation, String> {
    match s.split_once('=') {
        Some((run, digest)) if !run.trim().is_empty() => Ok(Expectation {
            run: Some(run.trim().to_owned()),
            digest: parse_digest(digest)?,
        }),
        Some(_) => Err("expected RUN=DIGEST; the run is empty".into()),
        None => Ok(Expectation {
            run: None,
            digest: parse_digest(s)?,
        }),
    }
}

/// Runs `ceremony audit` and returns the exit status.
pub fn run(args: AuditArgs, output: OutputFormat) -> i32 {
    let rep = Reporter::new(output, "ceremony audit");
    let mut dirs = args.dirs;
    dirs.extend(args.other);
    match audit(&dirs, &args.expect) {
        Ok(report) => finish(&rep, &report),
        Err(e) => rep.fail(&Error::from(e)),
    }
}

fn finish(rep: &Reporter, report: &AuditReport) -> i32 {
    if !report.clean() {
        rep.check_failed(&format!(
            "{}: {} finding(s); the ceremony's record does not hold as written",
            report.folders.join(" and "),
            report.findings.len()
        ));
    }
    rep.finish(report, report.clean(), || {
        for r in &report.runs {
            let state = match (r.intact, r.closed) {
                (false, _) => "BROKEN CHAIN".to_owned(),
                (true, true) => format!("{} entries, closed", r.entries),
                (true, false) => format!("{} entries, in progress", r.entries),
            };
            let digest = r.final_digest.as_deref().unwrap_or("-");
            let expected = match &r.expected {
                Some(e) if e == digest => ", the expected digest",
                Some(_) => ", NOT the expected digest",
                None => "",
            };
            println!(
                "Run {} in {} ({}): {state}, final digest {digest}{expected}",
                r.run,
                r.folder,
                r.machine.as_deref().unwrap_or("?")
            );
        }
        for sd in &report.retired {
            println!(
                "Retired: {} in {} (SHA-256 {}), {}",
                sd.path,
                sd.folder,
                sd.sha256,
                sd.retired.as_deref().or(sd.run.as_deref()).unwrap_or("")
            );
        }
        for f in &report.findings {
            println!("FINDING {}: {}", f.file, f.problem);
        }
        if report.clean() {
            println!(
                "No findings: {} run(s), {} file(s) named by digest checked.",
                report.runs.len(),
                report.files_checked
            );
        } else {
            println!(
                "{} finding(s) over {} run(s), {} file(s) named by digest checked.",
                report.findings.len(),
                report.runs.len(),
                report.files_checked
            );
        }
    })
}
