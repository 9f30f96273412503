//! `sdctl sd inspect | verify | restore-blob | rewrap | share-export | session`.

#[path = "sd_session.rs"]
mod session;

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use sdctl::domain::exchange::read_exchange_key;
use sdctl::domain::inspect::{inspect, SdInspection};
use sdctl::domain::model::{MAX_QUORUM, MIN_QUORUM};
use sdctl::domain::restore_blob;
use sdctl::domain::rewrap::{rewrap, RewrapReport};
use sdctl::domain::unlock::{self, MatchedBy};
use sdctl::domain::verify::{verify, VerifyReport};
use sdctl::domain::{DomainError, SdFile};
use sdctl::files::{ensure_writable, write_atomic, MODE_PUBLIC};
use sdctl::keys::load_certificate;
use sdctl::Error;

use super::secrets::{load_keys, TokenArgs};
use super::table::Table;
use super::{OutputFormat, Reporter};
use session::{
    end_session, note_kept, print_session_state, restore_blob_with_exports, run_session,
    run_share_export, verify_with_exports, ExportQuorum, SessionCommand, ShareExportArgs,
    WithSession,
};

/// Security-domain files.
#[derive(Subcommand, Debug)]
pub enum SdCommand {
    /// Show what a security-domain file holds, without any private key: version, quorum,
    /// each share's certificate thumbprint (and which local file it belongs to), the data.
    #[command(after_help = "Examples:
  sdctl sd inspect --sd-file sd.json
  sdctl sd inspect --sd-file sd.json --sd-wrapping-keys custodians/*.cer")]
    Inspect(InspectArgs),
    /// The recovery drill: open the security domain with a quorum of custodian keys (or of
    /// share exports: --shares), rebuild the master key and authenticate every datum.
    /// Exit 0 only if all verified.
    #[command(after_help = "Examples:
  sdctl sd verify --sd-file sd.json --sd-wrapping-keys alice.key bob.key
  sdctl sd verify --sd-file sd.json --each-custodian \\
      --sd-wrapping-keys alice.key bob.key carol.key
  sdctl sd verify --sd-file sd.json --session-key session/session.key \\
      --shares exports/alice.jwe exports/bob.jwe")]
    Verify(VerifyArgs),
    /// Build the restore blob for a new HSM's exchange key (what `hsm upload` sends), from
    /// a quorum of custodian keys or of share exports (--shares).
    #[command(
        name = "restore-blob",
        after_help = "Examples:
  sdctl sd restore-blob --sd-file sd.json --sd-exchange-key exchange.pem \\
      --sd-wrapping-keys alice.key bob.key --sd-file-restore-blob blob.json
  sdctl sd restore-blob --sd-file sd.json --sd-exchange-key exchange.pem \\
      --shares exports/alice.jwe exports/bob.jwe \\
      --session-key session/session.key --sd-file-restore-blob blob.json"
    )]
    RestoreBlob(RestoreBlobArgs),
    /// Rotate custodians or quorum offline: re-split the same master key to new
    /// certificates; the data are unchanged; the output is a version 2 file.
    #[command(after_help = "Examples:
  sdctl sd rewrap --sd-file sd.json --sd-wrapping-keys alice.key bob.key \\
      --new-wrapping-keys new/*.cer --new-quorum 3 --out sd-new.json")]
    Rewrap(RewrapArgs),
    /// Distributed quorum, on a custodian's own device: decrypt only your share and seal
    /// it to the ceremony's session certificate (for 'verify'/'restore-blob --shares').
    #[command(
        name = "share-export",
        after_help = "Examples:
  sdctl sd share-export --sd-file sd.json --key alice.key \\
      --to session.cer --out alice.jwe

Compare the session certificate's fingerprint with the one read out first."
    )]
    ShareExport(ShareExportArgs),
    /// Distributed quorum, on the ceremony machine: make or destroy the session key pair.
    #[command(subcommand)]
    Session(SessionCommand),
}

/// Arguments of `sd inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The security-domain file (bare JSON or the REST body {"value": "..."}).
    #[arg(long, value_name = "SD")]
    sd_file: PathBuf,
    /// Local certificates or keys to match to the shares (by certificate thumbprint).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    sd_wrapping_keys: Vec<PathBuf>,
}

/// Arguments of `sd verify`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("quorum").required(true).args(["sd_wrapping_keys", "shares"])))]
pub struct VerifyArgs {
    /// The security-domain file.
    #[arg(long, value_name = "SD")]
    sd_file: PathBuf,
    /// Custodians' private keys, at least the quorum (any supported format).
    #[arg(long, value_name = "KEY", num_args = 1..)]
    sd_wrapping_keys: Vec<PathBuf>,
    #[command(flatten)]
    exports: ExportQuorum,
    /// File with one passphrase per key, in the order of the keys.
    #[arg(long, value_name = "FILE", conflicts_with = "shares")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Also prove every key's share on its own, and every quorum-sized window of a
    /// rotation over the keys, so a broken custodian key is found now.
    #[arg(long, conflicts_with = "shares")]
    each_custodian: bool,
}

/// Arguments of `sd restore-blob`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("quorum").required(true).args(["sd_wrapping_keys", "shares"])))]
pub struct RestoreBlobArgs {
    /// The security-domain file.
    #[arg(long, value_name = "SD")]
    sd_file: PathBuf,
    /// The new HSM's exchange key: PEM certificate, PEM public key, JWK, or the
    /// transfer-key response.
    #[arg(long, value_name = "EXCH")]
    sd_exchange_key: PathBuf,
    /// A quorum of custodians' private keys.
    #[arg(long, value_name = "KEY", num_args = 1..)]
    sd_wrapping_keys: Vec<PathBuf>,
    #[command(flatten)]
    exports: ExportQuorum,
    /// Where to write the restore blob.
    #[arg(long, value_name = "OUT")]
    sd_file_restore_blob: PathBuf,
    /// File with one passphrase per key, in the order of the keys.
    #[arg(long, value_name = "FILE", conflicts_with = "shares")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    force: bool,
}

/// Arguments of `sd rewrap`.
#[derive(Args, Debug)]
pub struct RewrapArgs {
    /// The current security-domain file.
    #[arg(long, value_name = "SD")]
    sd_file: PathBuf,
    /// A quorum of the current custodians' private keys.
    #[arg(long, value_name = "KEY", num_args = 1.., required = true)]
    sd_wrapping_keys: Vec<PathBuf>,
    /// The new custodians' certificates (3 to 10).
    #[arg(long, value_name = "CERT", num_args = 1.., required = true)]
    new_wrapping_keys: Vec<PathBuf>,
    /// The new quorum (2 to 10, at most the number of new certificates).
    #[arg(long, value_name = "M")]
    new_quorum: usize,
    /// Where to write the new security-domain file.
    #[arg(long, value_name = "NEW_SD")]
    out: PathBuf,
    /// File with one passphrase per current key, in order.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Overwrite NEW_SD if it exists.
    #[arg(long)]
    force: bool,
}

/// Runs an `sd` subcommand and returns the exit status.
pub fn run(cmd: SdCommand, format: OutputFormat) -> i32 {
    let name = match &cmd {
        SdCommand::Inspect(_) => "sd inspect",
        SdCommand::Verify(_) => "sd verify",
        SdCommand::RestoreBlob(_) => "sd restore-blob",
        SdCommand::Rewrap(_) => "sd rewrap",
        SdCommand::ShareExport(_) => "sd share-export",
        SdCommand::Session(SessionCommand::New(_)) => "sd session new",
        SdCommand::Session(SessionCommand::Destroy(_)) => "sd session destroy",
    };
    let mut rep = Reporter::new(format, name);
    let outcome = match cmd {
        SdCommand::Inspect(args) => run_inspect(&mut rep, args),
        SdCommand::Verify(args) => {
            let session_key = args.exports.session_key.clone();
            note_kept(run_verify(&mut rep, args), session_key.as_deref())
        }
        SdCommand::RestoreBlob(args) => {
            let session_key = args.exports.session_key.clone();
            note_kept(run_restore_blob(&mut rep, args), session_key.as_deref())
        }
        SdCommand::Rewrap(args) => run_rewrap(&mut rep, args),
        SdCommand::ShareExport(args) => run_share_export(&mut rep, args),
        SdCommand::Session(cmd) => run_session(&mut rep, cmd),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn run_inspect(rep: &mut Reporter, args: InspectArgs) -> Result<i32, Error> {
    let file = SdFile::read(&args.sd_file)?;
    let report = inspect(&file, &args.sd_wrapping_keys)?;
    Ok(rep.finish(&report, true, || print_inspection(&report)))
}

fn print_inspection(r: &SdInspection) {
    let form = if r.wrapped {
        "REST body {\"value\": ...}"
    } else {
        "bare JSON"
    };
    println!(
        "{}: security domain version {} ({form})",
        r.sd_file, r.version
    );
    println!("  SHA-256:  {}", r.sd_sha256);
    println!(
        "  quorum:   {} of {} ({}), kdf {}",
        r.required, r.shares_total, r.key_algorithm, r.kdf
    );
    let mut shares = Table::new(&["share", "x5t_256", "alg", "local file"]);
    for s in &r.shares {
        shares.row(vec![
            s.location.clone(),
            s.x5t_256.clone(),
            s.alg.clone(),
            s.local_file.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    print!("{}", shares.render(2));
    let mut data = Table::new(&["datum tag", "alg", "ciphertext bytes"]);
    for d in &r.data {
        data.row(vec![
            d.tag.clone(),
            d.alg.clone(),
            d.ciphertext_bytes.to_string(),
        ]);
    }
    print!("{}", data.render(2));
    for f in &r.unmatched_files {
        println!("  {f}: matches none of the shares");
    }
}

fn run_verify(rep: &mut Reporter, args: VerifyArgs) -> Result<i32, Error> {
    let file = SdFile::read(&args.sd_file)?;
    let report = match &args.exports.session_key {
        Some(session_key) => verify_with_exports(rep, &file, &args.exports, session_key)?,
        None => {
            let keys = load_keys(
                &args.sd_wrapping_keys,
                args.passphrase_file.as_deref(),
                &args.tokens,
                rep,
            )?;
            let report = verify(&file, &keys, args.each_custodian)?;
            warn_trial_matches(rep, &file.path, &report.keys);
            report
        }
    };
    if !report.verified {
        rep.check_failed(&verify_failure(&report));
    }
    let (session, session_ok) = end_session(rep, &args.exports);
    let out = WithSession {
        result: &report,
        session,
    };
    Ok(rep.finish(&out, report.verified && session_ok, || {
        print_verify(&report);
        if let Some(s) = &out.session {
            print_session_state(s);
        }
    }))
}

/// The stderr line of a drill that rebuilt the master key but found a failing share or
/// combination (`--each-custodian`).
fn verify_failure(r: &VerifyReport) -> String {
    let first = r
        .first_failure()
        .unwrap_or_else(|| "not every custodian's share was proven".into());
    format!("{}: check failed: {first}", r.sd_file)
}

/// Warns about every key matched by trial decryption although it came with a certificate
/// (a renewed certificate, or a thumbprint computed differently by another tool).
pub(super) fn warn_trial_matches(rep: &mut Reporter, sd_file: &Path, matches: &[unlock::KeyMatch]) {
    for m in matches {
        if let Some(warning) = m.mismatch_warning(sd_file) {
            rep.warn(warning);
        }
    }
}

fn describe_match(m: &unlock::KeyMatch) -> String {
    let how = match m.matched_by {
        MatchedBy::Thumbprint => "by certificate thumbprint",
        MatchedBy::TrialDecryption => "by trial decryption",
        MatchedBy::TrialDecryptionThumbprintMismatch => {
            "by trial decryption: its certificate's thumbprint matches no share"
        }
        MatchedBy::SessionExport => "share export opened with the session key",
    };
    match m.decryption {
        Some(path) if path != "file" => {
            format!(
                "{} -> {} ({how}; decrypted {path})",
                m.key.display(),
                m.location
            )
        }
        _ => format!("{} -> {} ({how})", m.key.display(), m.location),
    }
}

fn print_verify(r: &VerifyReport) {
    let from = if r
        .custodians_used
        .iter()
        .any(|m| m.matched_by == MatchedBy::SessionExport)
    {
        "share exports"
    } else {
        "keys"
    };
    if r.verified {
        println!(
            "VERIFIED: {} can be recovered with these {from}.",
            r.sd_file
        );
    } else if r.data.iter().any(|d| !d.ok) {
        println!(
            "FAILED: {}: the quorum rebuilt the master key, but not every datum authenticates: the file is damaged.",
            r.sd_file
        );
    } else {
        println!(
            "FAILED: {} verified with a quorum, but not every custodian's share did.",
            r.sd_file
        );
    }
    println!("  SD SHA-256:  {}", r.sd_sha256);
    println!(
        "  version:     {}, quorum {} of {}",
        r.version, r.required, r.shares
    );
    println!(
        "  master key:  {} bytes rebuilt from {} share(s):",
        r.master_key_bytes,
        r.custodians_used.len()
    );
    for m in &r.custodians_used {
        println!("    {}", describe_match(m));
    }
    let tags: Vec<&str> = r
        .data
        .iter()
        .filter(|d| d.ok)
        .map(|d| d.tag.as_str())
        .collect();
    println!(
        "  data:        {} datum(s) decrypted and authenticated: {}",
        tags.len(),
        tags.join(", ")
    );
    for d in r.data.iter().filter(|d| !d.ok) {
        println!(
            "    FAIL  {}: {}",
            d.tag,
            d.error.as_deref().unwrap_or("no reason given")
        );
    }
    if let Some(proofs) = &r.each_custodian {
        println!("  each custodian:");
        for p in proofs {
            match &p.error {
                None => println!("    ok    {} ({})", p.key, p.location),
                Some(e) => println!("    FAIL  {}: {e}", p.key),
            }
        }
    }
    if let Some(combos) = &r.combinations {
        println!("  quorum combinations:");
        for c in combos {
            let state = if c.ok { "ok  " } else { "FAIL" };
            let detail = c
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            println!("    {state}  {}{detail}", c.keys.join(" + "));
        }
    }
}

fn run_restore_blob(rep: &mut Reporter, args: RestoreBlobArgs) -> Result<i32, Error> {
    ensure_writable(&args.sd_file_restore_blob, args.force)?;
    let file = SdFile::read(&args.sd_file)?;
    let exchange = read_exchange_key(&args.sd_exchange_key)?;
    let (blob, unlocked) = match &args.exports.session_key {
        Some(session_key) => {
            restore_blob_with_exports(rep, &file, &args.exports, session_key, &exchange)?
        }
        None => {
            let keys = load_keys(
                &args.sd_wrapping_keys,
                args.passphrase_file.as_deref(),
                &args.tokens,
                rep,
            )?;
            let built = restore_blob::build_with_keys(&file, &keys, &exchange)?;
            warn_trial_matches(rep, &file.path, &built.1.matches);
            built
        }
    };
    let json = blob.to_json()?;
    write_atomic(
        &args.sd_file_restore_blob,
        json.as_bytes(),
        MODE_PUBLIC,
        args.force,
    )?;
    #[derive(serde::Serialize)]
    struct Written {
        restore_blob: String,
        sd_file: String,
        sd_sha256: String,
        exchange_key_form: &'static str,
        exchange_x5t_256: String,
        custodians_used: Vec<unlock::KeyMatch>,
        data: usize,
    }
    let written = Written {
        restore_blob: args.sd_file_restore_blob.display().to_string(),
        sd_file: file.path.display().to_string(),
        sd_sha256: file.sha256.clone(),
        exchange_key_form: exchange.form,
        exchange_x5t_256: blob.wrapped_key.x5t_256.clone(),
        custodians_used: unlocked.used.clone(),
        data: blob.enc_data.data.len(),
    };
    let (session, session_ok) = end_session(rep, &args.exports);
    let out = WithSession {
        result: &written,
        session,
    };
    Ok(rep.finish(&out, session_ok, || {
        println!("Restore blob written to {}.", written.restore_blob);
        println!(
            "  from:         {} (SHA-256 {})",
            written.sd_file, written.sd_sha256
        );
        for m in &written.custodians_used {
            println!("  custodian:    {}", describe_match(m));
        }
        println!(
            "  data:         {} datum(s) re-encrypted under a new master key",
            written.data
        );
        println!(
            "  exchange key: {} (x5t_256 {})",
            written.exchange_key_form, written.exchange_x5t_256
        );
        if let Some(s) = &out.session {
            print_session_state(s);
        }
    }))
}

fn run_rewrap(rep: &mut Reporter, args: RewrapArgs) -> Result<i32, Error> {
    ensure_writable(&args.out, args.force)?;
    // Refused before any key is opened or passphrase asked for.
    let (quorum, n) = (args.new_quorum, args.new_wrapping_keys.len());
    if !(MIN_QUORUM..=MAX_QUORUM).contains(&quorum) || quorum > n {
        return Err(DomainError::Usage(format!(
            "--new-quorum: quorum {quorum} with {n} certificates: the quorum must be {MIN_QUORUM} to {MAX_QUORUM} and at most the number of certificates"
        ))
        .into());
    }
    let file = SdFile::read(&args.sd_file)?;
    let new_certs = args
        .new_wrapping_keys
        .iter()
        .map(|p| load_certificate(p))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = load_keys(
        &args.sd_wrapping_keys,
        args.passphrase_file.as_deref(),
        &args.tokens,
        rep,
    )?;
    let (domain, report) = rewrap(&file, &keys, &new_certs, args.new_quorum)?;
    warn_trial_matches(rep, &file.path, &report.custodians_used);
    write_atomic(
        &args.out,
        domain.to_json()?.as_bytes(),
        MODE_PUBLIC,
        args.force,
    )?;
    Ok(rep.finish(&report, true, || print_rewrap(&args.out, &report)))
}

fn print_rewrap(out: &std::path::Path, r: &RewrapReport) {
    println!("New security domain written to {}.", out.display());
    println!(
        "  old:  {} (version {}, quorum {}, SHA-256 {})",
        r.old_sd_file, r.old_version, r.old_required, r.old_sd_sha256
    );
    println!(
        "  new:  version 2, quorum {} of {}",
        r.new_required,
        r.new_x5t_256.len()
    );
    for (i, t) in r.new_x5t_256.iter().enumerate() {
        println!("    share {i}: x5t_256 {t}");
    }
    println!("  data: {} datum(s) carried over unchanged", r.data);
    println!(
        "Keep the old file until the new one has passed `sdctl sd verify` with the new custodians."
    );
}
