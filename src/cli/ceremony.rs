//! `sdctl ceremony activate | recover | rotate | drill | rehearse | status | log`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use sdctl::ceremony::transfer_code::TransferCode;
use sdctl::ceremony::ui::Console;
use sdctl::ceremony::ui::{terminal_width, wrap_line};
use sdctl::ceremony::{self, Kind, Machine, Options, Plan, Report};
use sdctl::Error;

use super::ceremony_log::{self, LogCommand};
use super::secrets::{harden, passphrase_source, token_access, TokenArgs};
use super::{OutputFormat, Reporter};

/// Guided ceremonies.
#[derive(Subcommand, Debug)]
pub enum CeremonyCommand {
    /// Activate a new HSM: custodians make their keys (air-gapped), the HSM is activated
    /// (online), and a quorum proves the security domain recoverable (air-gapped).
    #[command(after_help = "Examples:
  sdctl ceremony activate --plan plan.toml
  sdctl ceremony activate --plan plan.toml --machine offline
  sdctl ceremony activate --plan plan.toml --machine online

The first is a one-machine plan; a two-machine plan runs on each machine in turn,
as the tool says. Run it again after any interruption: it resumes.")]
    Activate(RunArgs),
    /// Recover into a new HSM: its exchange key (online), the restore blob from a quorum
    /// (air-gapped), upload, status and the full-backup restore (online).
    #[command(after_help = "Examples:
  sdctl ceremony recover --plan plan.toml --machine online
  sdctl ceremony recover --plan plan.toml --machine offline
  sdctl ceremony recover --plan plan.toml --machine offline \\
      --bundle /media/usb/exchange-key-bundle.json")]
    Recover(RunArgs),
    /// Change custodians and/or the quorum (edit the plan first), offline: new keys, the
    /// security domain re-split, proven by the new quorum; the old one retired.
    #[command(after_help = "Examples:
  sdctl ceremony rotate --plan plan.toml
  sdctl ceremony rotate --plan plan.toml --passphrase-file rotate.pass")]
    Rotate(RunArgs),
    /// The periodic drill: each custodian proves their own share, one at a time; then a
    /// quorum rebuilds the master key; a dated record is the report.
    #[command(after_help = "Examples:
  sdctl ceremony drill --plan plan.toml
  sdctl ceremony drill --plan plan.toml --machine offline")]
    Drill(RunArgs),
    /// The whole life cycle on the built-in emulator with generated custodians and no
    /// prompts: activate, drill, rotate, recover onto a second HSM, key backup restored.
    #[cfg(feature = "online")]
    #[command(after_help = "Examples:
  sdctl ceremony rehearse
  sdctl ceremony rehearse --work-dir rehearsal --bits 3072")]
    Rehearse(RehearseArgs),
    /// Make a transfer code for an unattended two-machine run: a new 0600 file, given to
    /// both machines with --transfer-code-file and carried apart from the bundles.
    #[command(after_help = "Examples:
  sdctl ceremony transfer-code --out run.code

Then on each machine, with its own copy of run.code carried apart from the bundles:
'sdctl ceremony activate --plan plan.toml --machine offline --yes
--transfer-code-file run.code' (online: --machine online).")]
    TransferCode(TransferCodeArgs),
    /// Where each ceremony of a plan stands on this machine: its runs, the steps finished
    /// and the next one, the transcripts' digests, and the security domain in force.
    #[command(after_help = "Examples:
  sdctl ceremony status --plan plan.toml
  sdctl ceremony status --plan plan.toml --output json")]
    Status(StatusArgs),
    /// Transcripts: verify the hash chain, render the printable record.
    #[command(subcommand)]
    Log(LogCommand),
    /// Audit a ceremony folder, or both machines' folders: every transcript chain (and its
    /// final digest with --expect), every file named by digest, the bundles on both sides,
    /// the security domain against the custodians' certificates and quorum, the retired
    /// domains. One line per finding; writes nothing. Exit 0 clean, 1 findings, 2 unreadable.
    #[command(after_help = "Examples:
  sdctl ceremony audit ceremony
  sdctl ceremony audit offline/ceremony online/ceremony
  sdctl ceremony audit ceremony --other /media/online/ceremony --output json")]
    Audit(super::ceremony_audit::AuditArgs),
}

/// `--machine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MachineArg {
    /// The air-gapped machine: private keys, no network.
    Offline,
    /// The machine that talks to the HSM: no private keys.
    Online,
}

/// Arguments of every ceremony.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The plan file (see docs/ceremonies/plan.example.toml).
    #[arg(long, value_name = "PLAN")]
    plan: PathBuf,
    /// Which machine this is, for plans with machines = "two".
    #[arg(long, value_enum)]
    machine: Option<MachineArg>,
    /// Answer every confirmation yes (rehearsals, CI). Digests are then not compared by
    /// people: give --expect-sha256 for that.
    #[arg(long)]
    yes: bool,
    /// File with one passphrase per custodian, in the plan's order (after a rotation's
    /// new plan: the retired custodians follow). Default: each custodian types theirs at a
    /// hidden prompt.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// The SHA-256 of the bundle to import, as read on the other machine: a different
    /// bundle is refused.
    #[arg(long, value_name = "HEX")]
    expect_sha256: Option<String>,
    /// The bundle to import (default: OUT/transfer/KIND-bundle.json).
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// Run the air-gapped part although a network interface is up (rehearsals only; the
    /// transcript records it).
    #[arg(long)]
    allow_network: bool,
    /// The run's transfer code from this 0600 file, for two-machine runs with --yes (both
    /// machines, the same file; see 'sdctl ceremony transfer-code'). Attended runs show
    /// the code on the machine that opens the run and ask for it on the other.
    #[arg(long, value_name = "FILE")]
    transfer_code_file: Option<PathBuf>,
    /// Who forms the quorum at the drill (activate, drill) or the restore blob (recover),
    /// e.g. alice,carol: any quorum of the plan's custodians, recorded. Default: the plan's
    /// quorum_custodians (attended runs ask at the step).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    quorum_custodians: Option<Vec<String>>,
    /// Token custodians (the plan's `token = "pkcs11:..."`): the module, over the plan's
    /// [keys] pkcs11_module; and a PIN file, one line per token in the order the tokens
    /// are used (default: each custodian types their PIN at a hidden prompt).
    #[command(flatten)]
    tokens: TokenArgs,
}

/// Arguments of `ceremony transfer-code`.
#[derive(Args, Debug)]
pub struct TransferCodeArgs {
    /// The new file (mode 0600).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `ceremony status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(long, value_name = "PLAN")]
    plan: PathBuf,
}

/// Arguments of `ceremony rehearse`.
#[cfg(feature = "online")]
#[derive(Args, Debug)]
pub struct RehearseArgs {
    /// Keep the rehearsal's files here (default: a temporary directory, deleted at the end).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// RSA size of the generated custodians' keys.
    #[arg(long, default_value_t = 2048)]
    bits: u32,
}

/// Runs a `ceremony` subcommand and returns the exit status.
pub fn run(cmd: CeremonyCommand, format: OutputFormat) -> i32 {
    let name = match &cmd {
        CeremonyCommand::Activate(_) => "ceremony activate",
        CeremonyCommand::Recover(_) => "ceremony recover",
        CeremonyCommand::Rotate(_) => "ceremony rotate",
        CeremonyCommand::Drill(_) => "ceremony drill",
        #[cfg(feature = "online")]
        CeremonyCommand::Rehearse(_) => "ceremony rehearse",
        CeremonyCommand::TransferCode(_) => "ceremony transfer-code",
        CeremonyCommand::Status(_) => "ceremony status",
        CeremonyCommand::Log(_) => "ceremony log",
        CeremonyCommand::Audit(_) => "ceremony audit",
    };
    let mut rep = Reporter::new(format, name);
    let outcome = match cmd {
        CeremonyCommand::Activate(a) => run_ceremony(&mut rep, Kind::Activate, a),
        CeremonyCommand::Recover(a) => run_ceremony(&mut rep, Kind::Recover, a),
        CeremonyCommand::Rotate(a) => run_ceremony(&mut rep, Kind::Rotate, a),
        CeremonyCommand::Drill(a) => run_ceremony(&mut rep, Kind::Drill, a),
        #[cfg(feature = "online")]
        CeremonyCommand::Rehearse(a) => rehearse(&mut rep, a),
        CeremonyCommand::TransferCode(a) => transfer_code(&mut rep, a),
        CeremonyCommand::Status(a) => status(&mut rep, a),
        CeremonyCommand::Log(cmd) => return ceremony_log::run(cmd, format),
        CeremonyCommand::Audit(a) => return super::ceremony_audit::run(a, format),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn run_ceremony(rep: &mut Reporter, kind: Kind, args: RunArgs) -> Result<i32, Error> {
    let plan = Plan::load(&args.plan)?;
    harden(rep);
    let passphrases = passphrase_source(args.passphrase_file.as_deref(), rep)?;
    let options = Options {
        machine: args.machine.map(|m| match m {
            MachineArg::Offline => Machine::Offline,
            MachineArg::Online => Machine::Online,
        }),
        expect_sha256: args.expect_sha256,
        bundle: args.bundle,
        allow_network: args.allow_network,
        transfer_code_file: args.transfer_code_file,
        quorum_custodians: args
            .quorum_custodians
            .map(|names| names.iter().map(|n| n.trim().to_owned()).collect()),
    };
    let tokens = token_access(&args.tokens, rep)?;
    let mut ui = Console::new(args.yes, !rep.human(), passphrases).with_tokens(tokens);
    let report = ceremony::run(&plan, kind, &options, &mut ui)?;
    Ok(finish(rep, &report))
}

/// Prints how a ceremony invocation ended.
pub fn finish(rep: &Reporter, report: &Report) -> i32 {
    rep.finish(report, true, || {
        println!();
        match report.outcome {
            "complete" => println!(
                "Ceremony {} ({}) complete: {} of {} steps finished.",
                report.kind, report.run, report.steps_finished, report.steps_total
            ),
            "handoff" => println!(
                "This machine's part is done for now ({} of {} steps finished).",
                report.steps_finished, report.steps_total
            ),
            "waiting" => println!(
                "Waiting for people ({} of {} steps finished).",
                report.steps_finished, report.steps_total
            ),
            _ => println!(
                "Stopped ({} of {} steps finished).",
                report.steps_finished, report.steps_total
            ),
        }
        // Wrapped to the terminal like the narration (a `Next:` may name long commands).
        let width = terminal_width(1);
        let lines = report
            .next
            .iter()
            .map(|n| format!("Next: {n}"))
            .chain(report.record.iter().map(|r| format!("Record: {r}")));
        for line in lines {
            for text_line in line.split('\n') {
                for piece in wrap_line(text_line, width) {
                    println!("{piece}");
                }
            }
        }
    })
}

fn transfer_code(rep: &mut Reporter, args: TransferCodeArgs) -> Result<i32, Error> {
    let code =
        TransferCode::generate().map_err(|e| ceremony::CeremonyError::State(e.to_string()))?;
    code.write_file(&args.out, args.force)
        .map_err(|e| ceremony::CeremonyError::Usage(e.to_string()))?;
    let result = serde_json::json!({"file": args.out.display().to_string(), "mode": "0600"});
    Ok(rep.finish(&result, true, || {
        println!(
            "Transfer code written to {} (mode 0600). Give it to both machines with --transfer-code-file; never put it on the transfer medium.",
            args.out.display()
        );
    }))
}

fn status(rep: &mut Reporter, args: StatusArgs) -> Result<i32, Error> {
    let plan = Plan::load(&args.plan)?;
    let status = ceremony::status::status(&plan)?;
    Ok(rep.finish(&status, true, || {
        println!(
            "Ceremony '{}' in {} (plan SHA-256 {}): the plan checks out.",
            status.ceremony, status.output_dir, status.plan_sha256
        );
        if status.runs.is_empty() {
            println!("No ceremony has run here yet.");
        }
        for r in &status.runs {
            let state = if r.closed { "closed" } else { "in progress" };
            println!(
                "  {:<12} {:<9} {state:<12} {} step(s) finished, transcript digest {}",
                r.id,
                r.kind,
                r.steps_done.len(),
                r.final_digest.as_deref().unwrap_or("-")
            );
            if let Some(n) = &r.next {
                println!("      next: {n}");
            }
            if let Some(s) = &r.session {
                println!("      session: {s}");
            }
            if let Some(p) = &r.transcript_problem {
                println!("      TRANSCRIPT PROBLEM: {p}");
            }
        }
        if let Some(sd) = &status.current_sd {
            println!(
                "Security domain in force: {} (SHA-256 {}), quorum {} of {}",
                sd.path,
                sd.sha256,
                sd.quorum,
                sd.custodians.join(", ")
            );
        }
        for sd in &status.retired_sds {
            println!(
                "Retired: {} (SHA-256 {}), {}",
                sd.path,
                sd.sha256,
                sd.retired.as_deref().unwrap_or("")
            );
        }
    }))
}

#[cfg(feature = "online")]
fn rehearse(rep: &mut Reporter, args: RehearseArgs) -> Result<i32, Error> {
    harden(rep);
    let report = ceremony::rehearse::rehearse(&ceremony::rehearse::RehearseOptions {
        work_dir: args.work_dir,
        bits: args.bits,
        narrate_on_stderr: !rep.human(),
    })?;
    Ok(rep.finish(&report, true, || {
        println!();
        println!(
            "Rehearsal complete: {} ceremonies, every transcript verified.",
            report.ceremonies.len()
        );
        if let Some(dir) = &report.kept {
            println!("Files kept in {dir}");
        }
    }))
}
