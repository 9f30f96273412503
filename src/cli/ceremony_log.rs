//! `sdctl ceremony log verify | record`: check a ceremony transcript's hash chain, and
//! render its printable record.

use sdctl::ceremony::ui::labelled_digest;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sdctl::ceremony::record::{write_record, RECORD_MD};
use sdctl::ceremony::transcript::{
    verify_entries, ChainError, ChainReport, Entry, TranscriptError, TRANSCRIPT_LIMIT,
};
use sdctl::files::{ensure_writable, read_bounded, FileError};
use sdctl::Error;
use serde::Serialize;

use super::{OutputFormat, Reporter};

/// `sdctl ceremony log ...`
#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Check a transcript's hash chain and print its final digest (the one witnesses write
    /// down).
    ///
    /// A ceremony's transcript (transcript.jsonl) holds one entry per line; each line ends
    /// with its own SHA-256 hash and names the hash of the line before it. A changed byte, a
    /// removed, inserted or moved line, or a cut-off last line breaks the chain: the command
    /// names the first broken line and exits 1. Lines cut from the END leave a shorter chain
    /// that is still intact: only the final digest the witnesses wrote down at the ceremony
    /// shows that, so give it with --expect.
    ///
    /// Exit codes: 0 intact (and the expected digest, if given); 1 broken chain or a
    /// different final digest; 2 the file cannot be read.
    #[command(after_help = "Examples:
  sdctl ceremony log verify ceremony/runs/activate/transcript.jsonl
  sdctl ceremony log verify ceremony/runs/activate/transcript.jsonl --expect \\
    5d1c07ab93e24f60b8d12c7ae90536f481bd0e6c4a27f9d36b18c0e572a93d4f")]
    Verify(VerifyArgs),
    /// Render the printable record (record.md and record.html) of a transcript into a
    /// directory.
    ///
    /// The record is made from the transcript alone: ceremony, HSM, custodians with their
    /// certificate fingerprints, witnesses, every step, every file by SHA-256, the security
    /// domains retired, the refusals, the final transcript digest, and lines for everyone to
    /// sign. The HTML page is self-contained (no scripts, nothing fetched) and prints well.
    /// The transcript is verified first: a broken one gets no record (exit 1). Records
    /// already in the directory are replaced, as they are made again from the transcript.
    #[command(after_help = "Examples:
  sdctl ceremony log record ceremony/runs/activate/transcript.jsonl \\
      --out-dir print")]
    Record(RecordArgs),
}

/// Arguments of `ceremony log verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The transcript: transcript.jsonl in the ceremony's run directory.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The final digest the witnesses wrote down: 64 hex digits, any case; spaces between
    /// groups are ignored. Exit 1 unless the transcript ends with exactly this digest.
    #[arg(long, value_name = "DIGEST", value_parser = parse_digest)]
    expect: Option<String>,
}

/// Arguments of `ceremony log record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// The transcript to render: transcript.jsonl in the ceremony's run directory.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Existing directory to write record.md and record.html into.
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

/// What `verify` and `record` report in JSON.
#[derive(Serialize)]
struct LogResult {
    file: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    #[serde(flatten)]
    chain: Option<ChainReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<String>,
}

impl LogResult {
    fn new(file: &Path) -> Self {
        LogResult {
            file: file.display().to_string(),
            ok: false,
            line: None,
            problem: None,
            chain: None,
            expected: None,
            markdown: None,
            html: None,
        }
    }
}

/// Runs a `ceremony log` subcommand and returns the exit status.
pub fn run(cmd: LogCommand, output: OutputFormat) -> i32 {
    let name = match &cmd {
        LogCommand::Verify(_) => "ceremony log verify",
        LogCommand::Record(_) => "ceremony log record",
    };
    let rep = Reporter::new(output, name);
    let outcome = match cmd {
        LogCommand::Verify(args) => run_verify(&rep, args),
        LogCommand::Record(args) => run_record(&rep, args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn run_verify(rep: &Reporter, args: VerifyArgs) -> Result<i32, Error> {
    let mut result = LogResult::new(&args.file);
    let (report, _) = match load(&args.file)? {
        Ok(loaded) => loaded,
        Err(broken) => return Ok(refuse(rep, result, &broken)),
    };
    let matches = args
        .expect
        .as_ref()
        .is_none_or(|e| *e == report.final_digest);
    if !matches {
        eprintln!(
            "sdctl: {}: final digest {} differs from the expected {}: the transcript is not \
             the one the witnesses recorded",
            result.file,
            report.final_digest,
            args.expect.as_deref().unwrap_or_default()
        );
    }
    result.ok = matches;
    result.expected = args.expect.clone();
    result.chain = Some(report.clone());
    Ok(rep.finish(&result, matches, || {
        println!("{}: {}", result.file, describe(&report));
        println!(
            "{}",
            labelled_digest("", "TRANSCRIPT FINAL DIGEST:", &report.final_digest)
        );
        if args.expect.is_some() && matches {
            println!("It is the digest the witnesses wrote down.");
        }
    }))
}

fn run_record(rep: &Reporter, args: RecordArgs) -> Result<i32, Error> {
    let mut result = LogResult::new(&args.file);
    let (report, entries) = match load(&args.file)? {
        Ok(loaded) => loaded,
        Err(broken) => return Ok(refuse(rep, result, &broken)),
    };
    ensure_writable(&args.out_dir.join(RECORD_MD), true)?;
    let (md, html) =
        write_record(&args.out_dir, &entries).map_err(|e| into_error(e, &args.out_dir))?;
    result.ok = true;
    result.markdown = Some(md.display().to_string());
    result.html = Some(html.display().to_string());
    result.chain = Some(report.clone());
    Ok(rep.finish(&result, true, || {
        println!("Wrote {} and {}", md.display(), html.display());
        println!("{}: {}", result.file, describe(&report));
        println!(
            "{}",
            labelled_digest("", "TRANSCRIPT FINAL DIGEST:", &report.final_digest)
        );
    }))
}

/// Reads and verifies a transcript: the outer error is a file that cannot be read, the
/// inner one a broken chain.
fn load(file: &Path) -> Result<Result<(ChainReport, Vec<Entry>), ChainError>, Error> {
    let data = read_bounded(file, TRANSCRIPT_LIMIT, "a ceremony transcript")?;
    Ok(verify_entries(&data))
}

/// A broken chain: one line on stderr, the result in JSON, exit 1.
fn refuse(rep: &Reporter, mut result: LogResult, broken: &ChainError) -> i32 {
    eprintln!(
        "sdctl: {} line {}: {}",
        result.file, broken.line, broken.problem
    );
    result.line = Some(broken.line);
    result.problem = Some(broken.problem.clone());
    rep.finish(&result, false, || {})
}

/// "chain intact, 7 entries (runs activate, drill-1), closed".
fn describe(report: &ChainReport) -> String {
    let runs = match report.runs.len() {
        1 => format!("run {}", report.runs.join("")),
        _ => format!("runs {}", report.runs.join(", ")),
    };
    let status = if report.closed {
        "closed"
    } else {
        "in progress"
    };
    let noun = if report.entries == 1 {
        "entry"
    } else {
        "entries"
    };
    format!("chain intact, {} {noun} ({runs}), {status}", report.entries)
}

/// Writing the record can only fail on a file; anything else is reported against `dir`.
fn into_error(e: TranscriptError, dir: &Path) -> Error {
    match e {
        TranscriptError::File(f) => f.into(),
        other => FileError::Write {
            path: dir.to_owned(),
            source: std::io::Error::other(other.to_string()),
        }
        .into(),
    }
}

/// A final digest as typed by a witness: 64 hex digits, any case, spaces ignored.
pub(super) fn parse_digest(s: &str) -> Result<String, String> {
    let digest: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(digest)
    } else {
        Err(format!(
            "expected the 64 hexadecimal digits of a final digest, as `sdctl ceremony log \
             verify` prints it; got {} characters",
            digest.chars().count()
        ))
    }
}
