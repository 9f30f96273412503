//! Distributed quorum in the CLI: `sd session new|destroy`, `sd share-export`, and the
//! `--shares ... --session-key` quorum of `sd verify` and `sd restore-blob`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sdctl::domain::exchange::ExchangeKey;
use sdctl::domain::restore_blob::RestoreBlob;
use sdctl::domain::session::{
    self, create_session, destroy_session_key, export_share, finish_session,
    is_session_certificate, preflight_export, ExportFile, ExportReport, SessionKeyState,
    SessionReport, SESSION_OU,
};
use sdctl::domain::unlock::{thumbprint_mismatch_warning, MatchedBy, Unlocked};
use sdctl::domain::verify::VerifyReport;
use sdctl::domain::{DomainError, SdFile};
use sdctl::files::{ensure_writable, write_atomic, MODE_SECRET};
use sdctl::keys::generate::DEFAULT_BITS;
use sdctl::keys::{load_certificate, WrappingKey};
use sdctl::Error;
use serde::Serialize;

use crate::cli::secrets::{harden, load_keys, TokenArgs};
use crate::cli::Reporter;

/// `sd session ...`: the ephemeral key pair of one distributed-quorum ceremony.
#[derive(Subcommand, Debug)]
pub enum SessionCommand {
    /// Make a session on the ceremony machine: DIR/session.key (unencrypted, 0600) and
    /// DIR/session.cer (valid 2 days). Read the printed fingerprint out to each custodian.
    #[command(after_help = "Examples:
  sdctl sd session new --out-dir session
  sdctl sd session new --out-dir session --bits 4096")]
    New(SessionNewArgs),
    /// Destroy a session key (an aborted ceremony): overwritten with zeros, fsynced and
    /// deleted. The certificate may stay.
    #[command(after_help = "Examples:
  sdctl sd session destroy --session-key session/session.key")]
    Destroy(SessionDestroyArgs),
}

/// Arguments of `sd session new`.
#[derive(Args, Debug)]
pub struct SessionNewArgs {
    /// The session directory (created 0700 if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// RSA key size: 2048, 3072 or 4096.
    #[arg(long, value_name = "BITS", default_value_t = DEFAULT_BITS)]
    bits: u32,
    /// Replace an existing session.key and session.cer.
    #[arg(long)]
    force: bool,
}

/// Arguments of `sd session destroy`.
#[derive(Args, Debug)]
pub struct SessionDestroyArgs {
    /// The session's private key file.
    #[arg(long, value_name = "FILE")]
    session_key: PathBuf,
}

/// Arguments of `sd share-export`.
#[derive(Args, Debug)]
pub struct ShareExportArgs {
    /// The security-domain file.
    #[arg(long, value_name = "SD")]
    sd_file: PathBuf,
    /// Your own private key (any supported format); only your share is decrypted.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// The session certificate of the ceremony machine (session.cer).
    #[arg(long, value_name = "SESSION_CERT")]
    to: PathBuf,
    /// Where to write your export (mode 0600).
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// File with the passphrase of your key (one line).
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Overwrite OUT if it exists.
    #[arg(long)]
    force: bool,
}

/// `--shares EXPORT... --session-key FILE [--keep-session]`: a distributed quorum, instead
/// of `--sd-wrapping-keys`.
#[derive(Args, Debug)]
pub struct ExportQuorum {
    /// Custodians' share exports ('sd share-export'), at least the quorum, sealed to this
    /// session (instead of --sd-wrapping-keys).
    #[arg(long, value_name = "EXPORT", num_args = 1.., requires = "session_key")]
    pub shares: Vec<PathBuf>,
    /// The session's private key, its certificate beside it; destroyed after success.
    #[arg(long, value_name = "FILE", requires = "shares")]
    pub session_key: Option<PathBuf>,
    /// Keep the session key after success (a drill before the real restore-blob).
    #[arg(long, requires = "shares")]
    pub keep_session: bool,
}

/// A command's result, with what became of the session key when one was used.
#[derive(Serialize)]
pub struct WithSession<'a, T: Serialize> {
    /// The command's own result.
    #[serde(flatten)]
    pub result: &'a T,
    /// The session key's fate, with `--shares`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionKeyState>,
}

/// Runs `sd session new|destroy`.
pub fn run_session(rep: &mut Reporter, cmd: SessionCommand) -> Result<i32, Error> {
    // Both make or read an unencrypted private key: core dumps off first.
    harden(rep);
    match cmd {
        SessionCommand::New(args) => {
            let report = create_session(&args.out_dir, args.bits, args.force)?;
            Ok(rep.finish(&report, true, || print_new_session(&report)))
        }
        SessionCommand::Destroy(args) => {
            let state = destroy_session_key(&args.session_key)?;
            Ok(rep.finish(&state, true, || print_session_state(&state)))
        }
    }
}

fn print_new_session(r: &SessionReport) {
    println!("Session made in {}.", r.out_dir);
    println!(
        "  private key:  {} (unencrypted, mode 0600; destroyed after the ceremony)",
        r.session_key
    );
    println!(
        "  certificate:  {} (give it to each custodian)",
        r.session_certificate
    );
    println!("  subject:      {}", r.subject);
    println!("  valid until:  {} (RSA {} bits)", r.not_after, r.bits);
    println!("  SHA-256 fingerprint of the session certificate:");
    println!("    {}", r.sha256_fingerprint);
    println!(
        "Read this fingerprint out to each custodian; each compares it with the one 'sdctl sd share-export' prints and hands over the export only if they are identical."
    );
}

/// Runs `sd share-export` on a custodian's device.
pub fn run_share_export(rep: &mut Reporter, args: ShareExportArgs) -> Result<i32, Error> {
    ensure_writable(&args.out, args.force)?;
    let file = SdFile::read(&args.sd_file)?;
    let session_cert = load_certificate(&args.to)?;
    preflight_export(&file, &session_cert, &args.to)?;
    if !is_session_certificate(&session_cert) {
        rep.warn(format!(
            "{}: is not a certificate made by 'sdctl sd session new' (no OU={SESSION_OU}); hand over the export only if its fingerprint matches the one the ceremony machine reads out",
            args.to.display()
        ));
    }
    let keys = load_keys(
        std::slice::from_ref(&args.key),
        args.passphrase_file.as_deref(),
        &args.tokens,
        rep,
    )?;
    let key = first_key(&keys, &args.key)?;
    let export = export_share(&file, key, &session_cert, &args.to)?;
    if export.report.matched_by == MatchedBy::TrialDecryptionThumbprintMismatch {
        rep.warn(thumbprint_mismatch_warning(
            &export.report.key,
            &file.path,
            &export.report.location,
            &export.report.x5t_256,
        ));
    }
    write_atomic(&args.out, export.jwe.as_bytes(), MODE_SECRET, args.force)?;
    #[derive(Serialize)]
    struct Written<'a> {
        export: String,
        #[serde(flatten)]
        report: &'a ExportReport,
    }
    let written = Written {
        export: args.out.display().to_string(),
        report: &export.report,
    };
    Ok(rep.finish(&written, true, || {
        print_export(&written.export, written.report)
    }))
}

fn print_export(out: &str, r: &ExportReport) {
    println!("Share {} exported to {out} (mode 0600).", r.location);
    println!("  security domain: {} (SHA-256 {})", r.sd_file, r.sd_sha256);
    println!("  your key:        {} (x5t_256 {})", r.key, r.x5t_256);
    println!(
        "  sealed to:       {} ({}, valid until {})",
        r.session_certificate, r.session_subject, r.session_not_after
    );
    println!("  SHA-256 fingerprint of the session certificate:");
    println!("    {}", r.session_sha256_fingerprint);
    println!(
        "Compare it with the fingerprint the ceremony machine reads out. Hand over {out} only if they are identical; otherwise delete it."
    );
}

fn first_key<'a>(keys: &'a [WrappingKey], path: &Path) -> Result<&'a WrappingKey, Error> {
    keys.first().ok_or_else(|| {
        Error::Domain(DomainError::Usage(format!(
            "{}: no key was loaded",
            path.display()
        )))
    })
}

/// Loads the session key (with its certificate beside it) and reads every export.
fn load_session(
    rep: &mut Reporter,
    quorum: &ExportQuorum,
    session_key: &Path,
) -> Result<(WrappingKey, Vec<ExportFile>), Error> {
    let exports = quorum
        .shares
        .iter()
        .map(|p| ExportFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = load_keys(&[session_key.to_owned()], None, &TokenArgs::default(), rep)?;
    let session = keys.into_iter().next().ok_or_else(|| {
        Error::Domain(DomainError::Usage(format!(
            "{}: no key was loaded",
            session_key.display()
        )))
    })?;
    Ok((session, exports))
}

/// `sd verify --shares ...`: the drill with a distributed quorum.
pub fn verify_with_exports(
    rep: &mut Reporter,
    file: &SdFile,
    quorum: &ExportQuorum,
    session_key: &Path,
) -> Result<VerifyReport, Error> {
    let (session, exports) = load_session(rep, quorum, session_key)?;
    Ok(session::verify_exports(file, &session, &exports)?)
}

/// `sd restore-blob --shares ...`: the blob with a distributed quorum.
pub fn restore_blob_with_exports(
    rep: &mut Reporter,
    file: &SdFile,
    quorum: &ExportQuorum,
    session_key: &Path,
    exchange: &ExchangeKey,
) -> Result<(RestoreBlob, Unlocked), Error> {
    let (session, exports) = load_session(rep, quorum, session_key)?;
    Ok(session::restore_blob_from_exports(
        file, &session, &exports, exchange,
    )?)
}

/// After a successful command with `--shares`: destroys the session key unless
/// `--keep-session`; a key that could not be destroyed earns a warning. Returns the state
/// and whether the command may still count as passed.
pub fn end_session(rep: &mut Reporter, quorum: &ExportQuorum) -> (Option<SessionKeyState>, bool) {
    let Some(session_key) = &quorum.session_key else {
        return (None, true);
    };
    let state = finish_session(session_key, quorum.keep_session);
    let ok = state.destroyed || quorum.keep_session;
    if !ok {
        rep.warn(format!(
            "{}: the session key was NOT destroyed ({}); destroy it with 'sdctl sd session destroy --session-key {}'",
            session_key.display(),
            state.kept_because.as_deref().unwrap_or("unknown reason"),
            session_key.display()
        ));
    }
    (Some(state), ok)
}

/// Prints what became of the session key.
pub fn print_session_state(s: &SessionKeyState) {
    if s.destroyed {
        println!(
            "  session key:  {} destroyed (overwritten with zeros, fsynced, deleted)",
            s.session_key
        );
    } else {
        println!(
            "  session key:  {} KEPT: {}; destroy it with 'sdctl sd session destroy --session-key {}'",
            s.session_key,
            s.kept_because.as_deref().unwrap_or("not destroyed"),
            s.session_key
        );
    }
    if let Some(cert) = &s.session_certificate {
        println!("  certificate:  {cert} left in place (public)");
    }
}

/// Adds to a failure with `--shares` that the session key was kept and how to destroy it.
pub fn note_kept(outcome: Result<i32, Error>, session_key: Option<&Path>) -> Result<i32, Error> {
    match (outcome, session_key) {
        (Err(e), Some(key)) => Err(session::note_session_kept(e, key)),
        (outcome, _) => outcome,
    }
}
