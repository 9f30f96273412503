//! `sdctl keys generate | inspect | check`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sdctl::keys::check::{check_set_with, CheckReport, KeyStatus, Severity};
use sdctl::keys::generate::{self, GenerateOptions, KeySetRequest, Manifest};
use sdctl::keys::inspect::{inspect_file, FileReport, ItemReport};
use sdctl::keys::token::inspect::{inspect_token_key, TokenKeyReport};
use sdctl::keys::token::is_pkcs11_uri;
use sdctl::passphrase::{PassphraseSource, StrengthRule};
use sdctl::Error;

use super::keys_token::print_token_key_report;
use super::secrets::{harden, passphrase_source, token_access, TokenArgs};
use super::table::Table;
use super::{OutputFormat, Reporter};

mod token_generate;

/// Custodian wrapping keys.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate a custodian key set: per custodian NAME.key (encrypted PKCS#8, 0600) and
    /// NAME.cer (self-signed), plus manifest.json with the thumbprints to compare.
    ///
    /// Each custodian types their own passphrase at a hidden prompt (asked twice), or
    /// --passphrase-file gives one line per custodian, in order. Keys are generated in
    /// parallel. Nothing is written unless every key was made; existing files are never
    /// overwritten without --force.
    ///
    /// With --pkcs11, each custodian's key is made on their own PKCS#11 token instead (its
    /// PIN at a hidden prompt, or a line of --pin-file per token): the certificate is
    /// signed on the token and stored there too, and no key file is written.
    #[command(after_help = "Examples:
  sdctl keys generate --count 3 --names alice,bob,carol --out-dir custodians
  sdctl keys generate --count 5 --bits 4096 --subject /O=Contoso/OU=HSM \\
      --out-dir custodians
  sdctl keys generate --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
      --pkcs11 pkcs11:token=alice --pkcs11 pkcs11:token=bob \\
      --pkcs11 pkcs11:token=carol --out-dir custodians

Each custodian then reads their certificate's fingerprint aloud from manifest.json.")]
    Generate(GenerateArgs),
    /// Show what key and certificate files hold, without asking for any passphrase:
    /// kind, format, encryption, subject, validity, key size, both thumbprint forms, and
    /// the certificate beside a key.
    #[command(after_help = "Examples:
  sdctl keys inspect custodians/alice.key custodians/alice.cer
  sdctl keys inspect backup/officer.pfx --output json")]
    Inspect(InspectArgs),
    /// Preflight before an activation: 3 to 10 certificates, RSA of at least 2048 bits, not
    /// expired (warning under 30 days), no shared public keys; with --keys, every key opens
    /// and matches its certificate. Exit 1 when any check fails.
    #[command(after_help = "Examples:
  sdctl keys check --sd-wrapping-keys custodians/*.cer
  sdctl keys check --sd-wrapping-keys custodians/*.cer --keys custodians/*.key")]
    Check(CheckArgs),
    /// List the tokens a PKCS#11 module shows (slot, label, serial, PIN state); with a
    /// token URI, the objects on it: keys (size, extractable or not), certificates
    /// (subject, x5t_256), each with the URI that names it.
    #[command(
        name = "list-token",
        after_help = "Examples:
  sdctl keys list-token --pkcs11-module /usr/lib/softhsm/libsofthsm2.so
  sdctl keys list-token 'pkcs11:serial=12345678' --login \\
      --pkcs11-module /usr/lib/x86_64-linux-gnu/libykcs11.so"
    )]
    ListToken(super::keys_token::ListTokenArgs),
}

/// Arguments of `keys generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of custodians (3 to 10, Managed HSM's limits).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "pkcs11",
        conflicts_with = "pkcs11"
    )]
    count: Option<usize>,
    /// Make the keys ON PKCS#11 tokens instead of in files: one token URI per custodian
    /// (pkcs11:token=LABEL), repeated for each token. The private key is generated on the
    /// token, sensitive and not extractable; only NAME.cer and manifest.json are written.
    /// Names default to the token labels.
    #[arg(long, value_name = "URI")]
    pkcs11: Vec<String>,
    /// The token library and PINs for --pkcs11.
    #[command(flatten)]
    tokens: TokenArgs,
    /// Directory to write the keys, certificates and manifest.json into (created 0700).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Custodian names, comma-separated (file stems and certificate CNs); default custodian1..N.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    names: Option<Vec<String>>,
    /// RSA key size: 2048, 3072 or 4096.
    #[arg(long, value_name = "BITS", default_value_t = generate::DEFAULT_BITS)]
    bits: u32,
    /// Certificate validity in days.
    #[arg(long, value_name = "D", default_value_t = generate::DEFAULT_DAYS)]
    days: u32,
    /// Subject attributes before each custodian's CN, as openssl -subj: "/O=Contoso/OU=HSM".
    #[arg(long, value_name = "SUBJ")]
    subject: Option<String>,
    /// File with one new passphrase per custodian, in the order of the names.
    #[arg(long, value_name = "FILE", conflicts_with = "pkcs11")]
    passphrase_file: Option<PathBuf>,
    /// Accept passphrases shorter than 12 characters or with fewer than 6 distinct ones.
    #[arg(long, conflicts_with = "pkcs11")]
    allow_weak_passphrases: bool,
    /// Overwrite existing outputs.
    #[arg(long)]
    force: bool,
    /// Keys generated at once (default: the number of CPU cores).
    #[arg(long, value_name = "N", conflicts_with = "pkcs11")]
    jobs: Option<usize>,
}

/// Arguments of `keys inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Certificates and keys: PEM or DER; X.509, PKCS#8, PKCS#1, PKCS#12, public keys;
    /// or keys on tokens as pkcs11: URIs (the token's PIN is asked).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
}

/// Arguments of `keys check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The custodians' certificates (PEM or DER), one per custodian.
    #[arg(long, value_name = "CERT", num_args = 1.., required = true)]
    sd_wrapping_keys: Vec<PathBuf>,
    /// Private keys to open and match against the certificates (any order).
    #[arg(long, value_name = "KEY", num_args = 1..)]
    keys: Vec<PathBuf>,
    /// File with one passphrase per key, in the order of --keys (empty line: unencrypted).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
}

/// Runs a `keys` subcommand and returns the exit status.
pub fn run(cmd: KeysCommand, format: OutputFormat) -> i32 {
    let name = match &cmd {
        KeysCommand::Generate(_) => "keys generate",
        KeysCommand::Inspect(_) => "keys inspect",
        KeysCommand::Check(_) => "keys check",
        KeysCommand::ListToken(_) => "keys list-token",
    };
    let mut rep = Reporter::new(format, name);
    let outcome = match cmd {
        KeysCommand::Generate(args) => run_generate(&mut rep, args),
        KeysCommand::Inspect(args) => run_inspect(&mut rep, args),
        KeysCommand::Check(args) => run_check(&mut rep, args),
        KeysCommand::ListToken(args) => super::keys_token::run_list_token(&mut rep, args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn run_generate(rep: &mut Reporter, args: GenerateArgs) -> Result<i32, Error> {
    if !args.pkcs11.is_empty() {
        return token_generate::run(rep, args);
    }
    let Some(count) = args.count else {
        return Err(sdctl::keys::KeyError::Usage(
            "--count N is needed (or --pkcs11 URI per token)".into(),
        )
        .into());
    };
    harden(rep);
    let options = generate_options(&args)?;
    let request = KeySetRequest::new(&args.out_dir, count, args.names, options, args.force)?;
    request.check_outputs_free()?;

    let source = passphrase_source(args.passphrase_file.as_deref(), rep)?;
    if let PassphraseSource::File(file) = &source {
        file.expect_lines(count)?;
    }
    if matches!(source, PassphraseSource::Prompt) {
        eprintln!(
            "Each custodian now chooses the passphrase that protects their own private key.\n\
             Hand the keyboard to each custodian in turn; nothing typed is shown or stored."
        );
    }
    let rule = if args.allow_weak_passphrases {
        StrengthRule::RELAXED
    } else {
        StrengthRule::DEFAULT
    };
    let mut passphrases = Vec::new();
    for (i, name) in request.names().iter().enumerate() {
        passphrases.push(source.for_new(i, name, rule)?);
    }

    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let bar = progress_bar(rep, count as u64, "generating RSA keys");
    let custodians = request.generate(&passphrases, jobs, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    let manifest = request.write(&custodians?)?;
    Ok(rep.finish(&manifest, true, || {
        print_manifest(request.out_dir(), &manifest)
    }))
}

fn print_manifest(dir: &Path, manifest: &Manifest) {
    let first = &manifest.custodians[0];
    println!(
        "Generated {} custodian key pairs in {} ({} {} bits, certificates valid until {}).",
        manifest.custodians.len(),
        dir.display(),
        first.key_algorithm,
        first.key_bits,
        first.not_after
    );
    let mut table = Table::new(&[
        "custodian",
        "private key",
        "certificate",
        "SHA-256 fingerprint",
    ]);
    for c in &manifest.custodians {
        table.row(vec![
            c.name.clone(),
            c.key_file.clone().unwrap_or_default(),
            c.certificate_file.clone(),
            c.sha256_fingerprint.clone(),
        ]);
    }
    print!("{}", table.render(2));
    println!("Manifest: {}", dir.join(generate::MANIFEST_FILE).display());
    println!(
        "Private keys are encrypted ({}) and readable only by you (0600).",
        first.key_encryption
    );
    println!("Each custodian keeps their .key file and passphrase to themselves; the .cer files and manifest are public.");
}

/// `--bits`, `--days` and `--subject` as generation options (file and token keys alike).
pub(super) fn generate_options(args: &GenerateArgs) -> Result<GenerateOptions, Error> {
    let subject = match &args.subject {
        Some(s) => generate::parse_subject(s)?,
        None => Vec::new(),
    };
    Ok(GenerateOptions {
        bits: args.bits,
        days: args.days,
        subject,
    })
}

fn run_inspect(rep: &mut Reporter, args: InspectArgs) -> Result<i32, Error> {
    harden(rep);
    let now = SystemTime::now();
    let (uris, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.files.iter().partition(|f| is_pkcs11_uri(f));
    let reports = files
        .iter()
        .map(|f| inspect_file(f, now))
        .collect::<Result<Vec<_>, _>>()?;
    let access = token_access(&args.tokens, rep)?;
    let token_keys = uris
        .iter()
        .map(|u| inspect_token_key(&access, &u.to_string_lossy(), now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(sdctl::keys::KeyError::from)?;
    #[derive(serde::Serialize)]
    struct Files<'a> {
        files: &'a [FileReport],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        token_keys: &'a [TokenKeyReport],
    }
    let out = Files {
        files: &reports,
        token_keys: &token_keys,
    };
    Ok(rep.finish(&out, true, || {
        reports.iter().for_each(print_file_report);
        token_keys.iter().for_each(print_token_key_report);
    }))
}

fn print_file_report(report: &FileReport) {
    let encoding = match report.encoding {
        sdctl::keys::Encoding::Pem => "PEM",
        sdctl::keys::Encoding::Der => "DER",
    };
    for item in &report.items {
        let field = |k: &str, v: &str| println!("    {k:<13}{v}");
        match item {
            ItemReport::Certificate(c) => {
                println!("{}: certificate (X.509, {encoding})", report.path);
                field("subject:", &c.subject);
                let issuer = if c.self_issued {
                    format!("{} (self-issued)", c.issuer)
                } else {
                    c.issuer.clone()
                };
                field("issuer:", &issuer);
                field("serial:", &c.serial);
                let state = match c.status {
                    "expired" => format!("EXPIRED {} day(s) ago", -c.days_left),
                    "not_yet_valid" => "NOT YET VALID".to_owned(),
                    _ => format!("{} day(s) left", c.days_left),
                };
                field(
                    "valid:",
                    &format!("{} to {} ({state})", c.not_before, c.not_after),
                );
                field("key:", &c.key.to_string());
                if let Some(problem) = &c.wrapping_key_problem {
                    field("unusable:", problem);
                }
                let usage = match c.key_encipherment {
                    Some(true) => "keyEncipherment allowed",
                    Some(false) => "keyEncipherment NOT allowed",
                    None => "no keyUsage extension (any use)",
                };
                field("key usage:", usage);
                field("x5t_256:", &c.x5t_256);
                field("SHA-256:", &c.sha256_fingerprint);
            }
            ItemReport::PrivateKey(k) => {
                println!("{}: private key ({}, {encoding})", report.path, k.syntax);
                match &k.encryption {
                    Some(enc) => field("encrypted:", &format!("yes, {enc}")),
                    None => field(
                        "encrypted:",
                        "NO (anyone who can read the file has the key)",
                    ),
                }
                let key = match &k.key {
                    Some(info) => info.to_string(),
                    None => "unknown until decrypted (no certificate beside it)".to_owned(),
                };
                field("key:", &key);
                if let Some(problem) = &k.wrapping_key_problem {
                    field("unusable:", problem);
                }
                match &k.certificate {
                    Some(c) => {
                        let state = match c.matches {
                            Some(true) => "matches the key",
                            Some(false) => "DOES NOT match the key",
                            None => "match not checked: the key is encrypted",
                        };
                        field(
                            "certificate:",
                            &format!("{} ({}), {state}", c.path, c.subject),
                        );
                    }
                    None => field(
                        "certificate:",
                        "none found beside the key (.cer, .crt, .pem)",
                    ),
                }
            }
            ItemReport::PublicKey {
                key,
                wrapping_key_problem,
            } => {
                println!("{}: public key ({encoding})", report.path);
                field("key:", &key.to_string());
                if let Some(problem) = wrapping_key_problem {
                    field("unusable:", problem);
                }
            }
            ItemReport::Pkcs12 { note, .. } => {
                println!(
                    "{}: PKCS#12 container ({encoding}), password-protected",
                    report.path
                );
                field("contents:", note);
            }
            ItemReport::Other { label } => {
                println!("{}: '{label}' block (not used by sdctl)", report.path);
            }
        }
    }
}

fn run_check(rep: &mut Reporter, args: CheckArgs) -> Result<i32, Error> {
    if !args.keys.is_empty() {
        harden(rep);
    }
    let source = passphrase_source(args.passphrase_file.as_deref(), rep)?;
    if let PassphraseSource::File(file) = &source {
        file.expect_lines(args.keys.len())?;
    }
    let access = token_access(&args.tokens, rep)?;
    let report = check_set_with(
        &args.sd_wrapping_keys,
        &args.keys,
        &source,
        &access,
        SystemTime::now(),
    )?;
    if let Some(line) = check_failure(&report) {
        rep.check_failed(&line);
    }
    Ok(rep.finish(&report, report.passed, || print_check(&report)))
}

/// The stderr line of a failed check: its first error and how many more there are.
pub(super) fn check_failure(report: &CheckReport) -> Option<String> {
    if report.passed {
        return None;
    }
    let errors: Vec<&str> = report
        .custodians
        .iter()
        .flat_map(|r| &r.findings)
        .chain(&report.set_findings)
        .filter(|f| matches!(f.severity, Severity::Error))
        .map(|f| f.message.as_str())
        .collect();
    let first = errors.first().copied().unwrap_or("a check did not pass");
    let more = match errors.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more problem(s), listed with the table)", n - 1),
    };
    Some(format!("check failed: {first}{more}"))
}

pub(super) fn print_check(report: &CheckReport) {
    let mut table = Table::new(&[
        "#",
        "certificate",
        "subject",
        "key",
        "expires",
        "days",
        "private key",
        "result",
    ]);
    for row in &report.custodians {
        let key_state = match (row.key_status, &row.private_key) {
            (KeyStatus::NotGiven, _) => "-".to_owned(),
            (KeyStatus::Ok, Some(p)) => format!("{p} (ok)"),
            (_, Some(p)) => format!("{p} (FAILED)"),
            (_, None) => "FAILED".to_owned(),
        };
        let result = if !row.ok {
            "FAIL"
        } else if row.findings.is_empty() {
            "ok"
        } else {
            "ok (warning)"
        };
        table.row(vec![
            row.index.to_string(),
            row.certificate.clone(),
            row.subject.clone(),
            row.key.to_string(),
            row.not_after.clone(),
            row.days_left.to_string(),
            key_state,
            result.to_owned(),
        ]);
    }
    print!("{}", table.render(0));
    println!("Thumbprints (x5t_256, as the security domain will carry them):");
    for row in &report.custodians {
        println!("  #{} {}  {}", row.index, row.x5t_256, row.certificate);
    }
    let findings = report
        .custodians
        .iter()
        .flat_map(|r| &r.findings)
        .chain(&report.set_findings);
    let mut errors = 0;
    for f in findings {
        let label = match f.severity {
            Severity::Error => {
                errors += 1;
                "error"
            }
            Severity::Warning => "warning",
        };
        println!("{label}: {}", f.message);
    }
    if report.passed {
        println!(
            "PASSED: {} custodian certificate(s) are fit for a security-domain download.",
            report.custodians.len()
        );
    } else {
        println!("FAILED: {errors} problem(s) must be fixed before an activation.");
    }
}

fn progress_bar(rep: &Reporter, len: u64, message: &'static str) -> ProgressBar {
    if !rep.human() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
