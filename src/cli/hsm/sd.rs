//! `hsm download | init-recovery | upload | wait | status`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use sdctl::domain::restore_blob;
use sdctl::domain::{exchange::read_exchange_key, SdFile};
use sdctl::files::{ensure_writable, read_bounded_nonempty, write_atomic, MODE_PUBLIC};
use sdctl::hsm::security_domain::{self, DownloadPlan};
use sdctl::hsm::{HsmError, Operation, WaitOptions};
use sdctl::Error;

use super::connect::Connection;
use super::progress::Spinner;
use crate::cli::keys::{check_failure, print_check};
use crate::cli::secrets::{load_keys, TokenArgs};
use crate::cli::Reporter;

/// `--timeout`: seconds, more than zero.
pub fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "'{text}' is not a number of seconds between 0 and 86400"
        )),
    }
}

/// Arguments of `hsm download`.
#[derive(Args, Debug)]
pub struct DownloadArgs {
    #[command(flatten)]
    conn: Connection,
    /// The custodians' certificates (3 to 10); checked like 'keys check' first.
    #[arg(long, value_name = "CERT", num_args = 1.., required = true)]
    sd_wrapping_keys: Vec<PathBuf>,
    /// How many custodians are needed to recover (2 to 10, at most the certificates).
    #[arg(long, value_name = "M")]
    sd_quorum: usize,
    /// Where to save the security domain (refused if it exists, unless --force).
    #[arg(long, value_name = "OUT")]
    security_domain_file: PathBuf,
    /// Save the security domain and return without following the operation.
    #[arg(long)]
    no_wait: bool,
    /// Give up waiting after this many seconds (exit 4; the file is kept).
    #[arg(long, value_name = "S", default_value = "900", value_parser = seconds)]
    timeout: Duration,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    force: bool,
}

/// Arguments of `hsm init-recovery`.
#[derive(Args, Debug)]
pub struct InitRecoveryArgs {
    #[command(flatten)]
    conn: Connection,
    /// Where to write the exchange key.
    #[arg(long, value_name = "OUT")]
    sd_exchange_key: PathBuf,
    /// pem: the certificate (what the Azure CLI writes); jwk: the JWK as JSON.
    #[arg(long, value_enum, default_value_t = ExchangeFormat::Pem)]
    format: ExchangeFormat,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    force: bool,
}

/// `--format` of init-recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExchangeFormat {
    /// PEM certificate.
    Pem,
    /// JSON Web Key.
    Jwk,
}

/// Arguments of `hsm upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    #[command(flatten)]
    conn: Connection,
    /// The restore blob (with --restore-blob), or the security-domain file to build one from.
    #[arg(long, value_name = "FILE")]
    sd_file: PathBuf,
    /// --sd-file is a restore blob made on the air-gapped machine ('sd restore-blob').
    #[arg(long, conflicts_with_all = ["sd_exchange_key", "sd_wrapping_keys"])]
    restore_blob: bool,
    /// The new HSM's exchange key (building the blob here; see the warning it prints).
    #[arg(long, value_name = "EXCH", required_unless_present = "restore_blob")]
    sd_exchange_key: Option<PathBuf>,
    /// A quorum of custodians' private keys (building the blob here).
    #[arg(long, value_name = "KEY", num_args = 1.., required_unless_present = "restore_blob")]
    sd_wrapping_keys: Vec<PathBuf>,
    /// File with one passphrase per key, in the order of the keys.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Send the blob and return without following the operation.
    #[arg(long)]
    no_wait: bool,
    /// Give up waiting after this many seconds (exit 4).
    #[arg(long, value_name = "S", default_value = "900", value_parser = seconds)]
    timeout: Duration,
}

/// Arguments of `hsm wait`.
#[derive(Args, Debug)]
pub struct WaitArgs {
    #[command(flatten)]
    conn: Connection,
    /// Which operation.
    #[arg(long, value_enum)]
    target: Target,
    /// Give up after this many seconds (exit 4).
    #[arg(long, value_name = "S", default_value = "900", value_parser = seconds)]
    timeout: Duration,
}

/// `--target` of wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// The activation.
    Download,
    /// The recovery.
    Upload,
}

fn wait_options(timeout: Duration) -> WaitOptions {
    WaitOptions {
        timeout,
        ..WaitOptions::default()
    }
}

/// `hsm download`.
pub async fn download(rep: &mut Reporter, args: DownloadArgs) -> Result<i32, Error> {
    let spinner = Spinner::new(rep, "download: sending the request");
    let client = args.conn.client(rep, &spinner)?;
    let plan = DownloadPlan {
        certificates: args.sd_wrapping_keys.clone(),
        quorum: args.sd_quorum,
        out: args.security_domain_file.clone(),
        overwrite: args.force,
        wait: (!args.no_wait).then(|| wait_options(args.timeout)),
    };
    let progress = spinner.operation("download");
    let report = security_domain::download(&client, &plan, &progress).await;
    spinner.done();
    let report = report?;
    let passed = report.passed();
    if let Some(line) = check_failure(&report.preflight) {
        rep.check_failed(&format!("{line}; nothing was sent to the HSM"));
    } else if let Some(problem) = report
        .check
        .as_ref()
        .filter(|c| !c.passed)
        .map(|c| c.problems.first().cloned().unwrap_or_default())
    {
        rep.check_failed(&format!(
            "{}: the security domain does not match the request: {problem}",
            args.security_domain_file.display()
        ));
    }
    Ok(rep.finish(&report, passed, || {
        if !report.preflight.passed {
            print_check(&report.preflight);
            println!("Nothing was sent to the HSM.");
            return;
        }
        let file = args.security_domain_file.display();
        if let (Some(sha), Some(check)) = (&report.sha256, &report.check) {
            println!("Security domain saved to {file} (SHA-256 {sha}).");
            println!(
                "Version {}, {} shares, quorum {}, {} data blob(s).",
                check.version, check.shares, check.required, check.data
            );
            if check.passed {
                println!("It matches the request: one share per certificate, quorum {}.", args.sd_quorum);
            } else {
                println!("IT DOES NOT MATCH THE REQUEST — keep the file, and do not rely on this HSM until this is understood:");
                for p in &check.problems {
                    println!("  - {p}");
                }
            }
        }
        match &report.operation {
            Some(op) => println!("Download: {} — {}", op.status, op.status_details),
            None => println!("Not waited for (--no-wait): run 'sdctl hsm wait --target download'."),
        }
        println!("Next, on the air-gapped machine: sdctl sd verify --sd-file {file} --sd-wrapping-keys KEY... (a quorum of private keys)");
    }))
}

/// `hsm init-recovery`.
pub async fn init_recovery(rep: &mut Reporter, args: InitRecoveryArgs) -> Result<i32, Error> {
    ensure_writable(&args.sd_exchange_key, args.force)?;
    let spinner = Spinner::new(rep, "fetching the exchange key");
    let client = args.conn.client(rep, &spinner)?;
    let key = security_domain::transfer_key(&client).await;
    spinner.done();
    let key = key?;
    let text = match args.format {
        ExchangeFormat::Pem => key
            .exchange
            .certificate
            .as_ref()
            .map(|c| c.to_pem())
            .ok_or_else(|| HsmError::BadResponse {
                url: client.endpoint.base_url(),
                detail: "the transfer key carries no certificate (x5c); use --format jwk".into(),
            })?,
        ExchangeFormat::Jwk => {
            serde_json::to_string_pretty(&key.jwk).map_err(|e| HsmError::Usage(e.to_string()))?
                + "\n"
        }
    };
    write_atomic(
        &args.sd_exchange_key,
        text.as_bytes(),
        MODE_PUBLIC,
        args.force,
    )?;
    #[derive(serde::Serialize)]
    struct Written {
        exchange_key: String,
        format: &'static str,
        x5t_256: Option<String>,
        bits: Option<u32>,
    }
    let written = Written {
        exchange_key: args.sd_exchange_key.display().to_string(),
        format: match args.format {
            ExchangeFormat::Pem => "pem",
            ExchangeFormat::Jwk => "jwk",
        },
        x5t_256: key.exchange.x5t_256.clone(),
        bits: key.exchange.key.info().bits,
    };
    Ok(rep.finish(&written, true, || {
        println!(
            "Exchange key written to {} ({}, RSA {} bits, x5t_256 {}).",
            written.exchange_key,
            written.format,
            written.bits.unwrap_or(0),
            written.x5t_256.as_deref().unwrap_or("-")
        );
        println!("Next, on the air-gapped machine: sdctl sd restore-blob --sd-file SD --sd-exchange-key {} --sd-wrapping-keys KEY... --sd-file-restore-blob BLOB", written.exchange_key);
    }))
}

/// `hsm upload`.
pub async fn upload(rep: &mut Reporter, args: UploadArgs) -> Result<i32, Error> {
    // Before the blob, or the custodians' keys and passphrases that build it, are read.
    args.conn.check_hosts(None)?;
    let blob = if args.restore_blob {
        let bytes = read_bounded_nonempty(&args.sd_file, 64 * 1024 * 1024, "a restore blob")?;
        security_domain::parse_restore_blob(&args.sd_file, &bytes)?
    } else {
        rep.warn("building the restore blob here puts custodians' private keys on an online machine, which defeats the air gap; prefer 'sdctl sd restore-blob' offline and 'hsm upload --restore-blob'");
        let exchange_path = args.sd_exchange_key.clone().ok_or_else(|| {
            HsmError::Usage(
                "give --sd-exchange-key and --sd-wrapping-keys, or --restore-blob".into(),
            )
        })?;
        let file = SdFile::read(&args.sd_file)?;
        let exchange = read_exchange_key(&exchange_path)?;
        let keys = load_keys(
            &args.sd_wrapping_keys,
            args.passphrase_file.as_deref(),
            &args.tokens,
            rep,
        )?;
        restore_blob::build_with_keys(&file, &keys, &exchange)?.0
    };
    let spinner = Spinner::new(rep, "upload: sending the restore blob");
    let client = args.conn.client(rep, &spinner)?;
    let wait = (!args.no_wait).then(|| wait_options(args.timeout));
    let progress = spinner.operation("upload");
    let report = security_domain::upload(&client, &blob, wait, &progress).await;
    spinner.done();
    let report = report?;
    Ok(rep.finish(&report, true, || {
        println!(
            "Restore blob sent ({} data blob(s), exchange key x5t_256 {}).",
            report.data, report.exchange_x5t_256
        );
        match &report.operation {
            Some(op) => println!("Upload: {} — {}", op.status, op.status_details),
            None => println!("Not waited for (--no-wait): run 'sdctl hsm wait --target upload'."),
        }
    }))
}

/// `hsm wait`.
pub async fn wait(rep: &mut Reporter, args: WaitArgs) -> Result<i32, Error> {
    let operation = match args.target {
        Target::Download => Operation::Download,
        Target::Upload => Operation::Upload,
    };
    let spinner = Spinner::new(rep, &format!("{}: waiting", operation.name()));
    let client = args.conn.client(rep, &spinner)?;
    let url = client.status_url(operation, None);
    let started = std::time::Instant::now();
    let progress = spinner.operation(operation.name());
    let status = client
        .wait(operation, &url, wait_options(args.timeout), &progress)
        .await;
    spinner.done();
    let status = status?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(rep.finish(&status, true, || {
        println!(
            "{}: {} — {} (after {seconds:.1} s)",
            operation.name(),
            status.status,
            status.status_details
        )
    }))
}
