//! Command-line parsing and dispatch. Handlers parse, call the library, and print.

mod ceremony;
mod ceremony_audit;
mod ceremony_log;
#[cfg(feature = "online")]
mod emulator;
mod generate;
#[cfg(test)]
#[path = "help_tests.rs"]
mod help_tests;
#[cfg(feature = "online")]
mod hsm;
mod keys;
mod keys_token;
mod report;
mod sd;
mod secrets;
mod shares;
mod table;

use clap::{Parser, Subcommand, ValueEnum};

pub use report::Reporter;

/// Security-domain ceremonies for Azure Key Vault Managed HSM.
///
/// Make and check custodian wrapping keys; inspect security domains, prove them recoverable
/// (recovery drill), build restore blobs and rotate custodians offline, also with a
/// distributed quorum where no private key leaves its custodian; split any other secret
/// among custodians; run the online steps against a Managed HSM or the local emulator.
///
/// Exit codes: 0 ok; 1 a check failed; 2 bad usage or input; 3 crypto failure (wrong
/// passphrase or key, MAC); 4 service or network error.
#[derive(Parser, Debug)]
#[command(name = "sdctl", version, max_term_width = 100)]
pub struct Cli {
    /// Print results as text for people (human, the default) or as one JSON document on
    /// stdout (json; its shape: docs/cli.md).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Human,
        value_name = "human|json",
        hide_possible_values = true,
        hide_default_value = true,
        help_heading = "Output",
        display_order = 1000
    )]
    pub output: OutputFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Output format of every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text and tables for people; warnings and errors on stderr.
    Human,
    /// One JSON document on stdout: {"sdctl_output":1, "command", "status", "exit_code", "warnings", "result", "error"}.
    Json,
}

/// Command groups.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Custodian wrapping keys: generate, inspect, check.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Security-domain files: inspect, verify (recovery drill), restore-blob, rewrap, and
    /// the distributed quorum (session, share-export).
    #[command(subcommand)]
    Sd(sd::SdCommand),
    /// Split any secret among custodians (k of n), and combine it back.
    #[command(subcommand)]
    Shares(shares::SharesCommand),
    /// Online steps against a Managed HSM: download (activate), init-recovery, upload,
    /// wait, status, and local RBAC roles.
    #[cfg(feature = "online")]
    #[command(subcommand)]
    Hsm(hsm::HsmCommand),
    /// Guided ceremonies from a plan file: activate, recover, rotate, drill, rehearse; and
    /// their tamper-evident transcripts.
    #[command(subcommand)]
    Ceremony(ceremony::CeremonyCommand),
    /// The local Managed HSM emulator, for rehearsals and tests.
    #[cfg(feature = "online")]
    #[command(subcommand)]
    Emulator(emulator::EmulatorCommand),
    /// Print a shell completion script for sdctl (bash, zsh, fish, powershell, elvish).
    Completions(generate::CompletionsArgs),
    /// The manual pages: sdctl.1 on stdout, or with --out-dir one page per command.
    Man(generate::ManArgs),
}

/// Parses the command line, runs the command, and returns the process exit status.
pub fn run() -> i32 {
    use clap::FromArgMatches;
    let cli = match definition()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Keys(cmd) => keys::run(cmd, cli.output),
        Command::Sd(cmd) => sd::run(cmd, cli.output),
        Command::Shares(cmd) => shares::run(cmd, cli.output),
        Command::Ceremony(cmd) => ceremony::run(cmd, cli.output),
        #[cfg(feature = "online")]
        Command::Hsm(cmd) => hsm::run(cmd, cli.output),
        #[cfg(feature = "online")]
        Command::Emulator(cmd) => emulator::run(cmd, cli.output),
        Command::Completions(args) => generate::completions(args, cli.output),
        Command::Man(args) => generate::man(args, cli.output),
    }
}

/// The command-line definition as `run` parses it (completions and manual pages are made
/// from this too, so they always match the parser).
pub fn definition() -> clap::Command {
    use clap::CommandFactory;
    // `--version` names the build and the OpenSSL in use (only known at run time).
    Cli::command().long_version(sdctl::build_info::build_info().long_version())
}

/// Help and version are printed as clap prints them; a usage error (an unknown flag, a
/// value out of range, a missing argument) is one line on stderr, like every error: exit 2.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let message = parts.join("; ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    let message: Vec<&str> = message.split_whitespace().collect();
    eprintln!("sdctl: {} (see --help)", message.join(" "));
    sdctl::ExitCode::BadInput.code()
}
