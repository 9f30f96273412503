//! `hsm backup | restore`: full backup of an HSM into a storage container, and full restore
//! of such a backup into an HSM holding the same security domain.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use sdctl::files::{read_bounded_nonempty, readable_by_others};
use sdctl::hsm::backup::{self, check_folder, check_storage_uri, Job, JobKind};
use sdctl::hsm::host_scope::check_storage_host;
use sdctl::hsm::{HsmClient, HsmError, WaitOptions};
use sdctl::Error;
use serde::Serialize;
use zeroize::Zeroizing;

use super::connect::Connection;
use super::progress::Spinner;
use super::sd::seconds;
use crate::cli::Reporter;

/// The storage flags, and how to follow the job.
#[derive(Args, Debug)]
pub struct Storage {
    /// The blob container: https://ACCOUNT.blob.core.windows.net/CONTAINER, or for the
    /// emulator an existing local directory as file:///ABSOLUTE/DIR. No query: the SAS
    /// token goes in --token-file.
    #[arg(long, value_name = "URI", required_unless_present = "job_id")]
    storage_uri: Option<String>,
    /// File holding the container's SAS token (one line, permissions 'crdw'; keep it
    /// mode 0600). It is sent to the HSM only, never printed.
    #[arg(long, value_name = "FILE", required_unless_present = "job_id")]
    token_file: Option<PathBuf>,
    /// Start the job and return at once (its id is printed; follow it with --job-id).
    /// With --job-id: read the job's status once.
    #[arg(long)]
    no_wait: bool,
    /// Start nothing: follow the job with this id (from an earlier --no-wait or timeout).
    #[arg(long, value_name = "ID", conflicts_with_all = ["storage_uri", "token_file"])]
    job_id: Option<String>,
    /// Give up waiting after this many seconds (exit 4; the job goes on in the HSM).
    #[arg(long, value_name = "S", default_value = "900", value_parser = seconds)]
    timeout: Duration,
}

/// Arguments of `hsm backup`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sdctl hsm backup --hsm-name contoso --token-file sas.token \\
      --storage-uri https://acct.blob.core.windows.net/mhsm-backups
  sdctl hsm backup --hsm-url https://127.0.0.1:PORT \\
      --ca-cert emu/ca.pem --access-token-file emu/admin.token \\
      --storage-uri file:///srv/backups --token-file sas.token

The SAS token needs the permissions crdw on the container. Keep the printed folder name: 'hsm restore --folder' takes it.
Exit: 0 Succeeded (or started, with --no-wait); 2 bad flags or token file; 4 service error, Failed job or timeout.")]
pub struct BackupArgs {
    #[command(flatten)]
    storage: Storage,
    #[command(flatten)]
    conn: Connection,
}

/// Arguments of `hsm restore`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sdctl hsm restore --hsm-name hsm-b --folder mhsm-hsm-a-20240101120000 \\
      --storage-uri https://acct.blob.core.windows.net/mhsm-backups \\
      --token-file sas.token

This is the last step of a recovery into hsm-b, which now holds hsm-a's security domain.

The restore replaces the HSM's keys and role assignments with the backup's; check them after with 'sdctl hsm key list'.
Exit: 0 Succeeded (or started, with --no-wait); 2 bad flags or token file; 4 service error, Failed job (the service's message, verbatim) or timeout.")]
pub struct RestoreArgs {
    /// The backup folder's name, as 'hsm backup' printed it (mhsm-NAME-YYYYMMDDhhmmss).
    #[arg(long, value_name = "NAME", required_unless_present = "job_id")]
    folder: Option<String>,
    #[command(flatten)]
    storage: Storage,
    #[command(flatten)]
    conn: Connection,
}

/// What `backup` and `restore` print with --output json.
#[derive(Serialize)]
struct JobReport {
    /// `backup` or `restore`.
    operation: JobKind,
    /// The container (absent when following a job by id).
    storage_uri: Option<String>,
    #[serde(flatten)]
    job: Job,
    /// The folder to give 'hsm restore --folder' (a backup's), or the one restored.
    folder: Option<String>,
    /// Whether the job was followed to its end.
    waited: bool,
    /// Seconds spent waiting.
    seconds: Option<f64>,
}

/// Reads the SAS token: one line, trimmed, kept in zeroized memory.
fn read_token(path: &Path, rep: &mut Reporter) -> Result<Zeroizing<String>, Error> {
    let bytes = Zeroizing::new(read_bounded_nonempty(path, 64 * 1024, "a SAS token")?);
    let bad = |detail: &str| HsmError::TokenFile {
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("is not UTF-8 text"))?;
    let token = Zeroizing::new(text.trim().to_owned());
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("does not hold one SAS token (expected a single line)").into());
    }
    if readable_by_others(path) {
        rep.warn(format!(
            "{}: SAS-token file is readable by other users; restrict it with 'chmod 600'",
            path.display()
        ));
    }
    Ok(token)
}

/// `hsm backup`.
pub async fn backup(rep: &mut Reporter, args: BackupArgs) -> Result<i32, Error> {
    run(rep, JobKind::Backup, args.conn, args.storage, None).await
}

/// `hsm restore`.
pub async fn restore(rep: &mut Reporter, args: RestoreArgs) -> Result<i32, Error> {
    if let Some(folder) = &args.folder {
        check_folder(folder)?;
    }
    run(rep, JobKind::Restore, args.conn, args.storage, args.folder).await
}

async fn run(
    rep: &mut Reporter,
    kind: JobKind,
    conn: Connection,
    storage: Storage,
    folder: Option<String>,
) -> Result<i32, Error> {
    // Before the SAS token (or any credential) is read.
    conn.check_hosts(None)?;
    if let Some(uri) = &storage.storage_uri {
        check_storage_uri(uri)?;
        check_storage_host(&conn.scope()?, uri)?;
    }
    let token = match &storage.token_file {
        Some(path) => Some(read_token(path, rep)?),
        None => None,
    };
    let spinner = Spinner::new(rep, &format!("{}: starting", kind.title()));
    let client = conn.client(rep, &spinner)?;
    let outcome = follow(&client, kind, &storage, token, folder.as_deref(), &spinner).await;
    spinner.done();
    let (job, waited, seconds) = match outcome {
        Ok(o) => o,
        Err((e, Some(id))) => {
            if matches!(e, HsmError::Network { .. }) {
                rep.warn(format!("the {} job {id} may go on in the HSM; follow it with 'sdctl hsm {} --job-id {id}'", kind.title(), kind.name()));
            }
            return Err(e.into());
        }
        Err((e, None)) => return Err(e.into()),
    };
    let folder = match kind {
        JobKind::Backup => job.folder_name().map(str::to_owned),
        JobKind::Restore => folder.or_else(|| job.folder_name().map(str::to_owned)),
    };
    let report = JobReport {
        operation: kind,
        storage_uri: storage.storage_uri.clone(),
        job,
        folder,
        waited,
        seconds,
    };
    Ok(rep.finish(&report, true, || print_human(kind, &report)))
}

type Followed = (Job, bool, Option<f64>);

/// Starts the job (or takes `--job-id`) and follows it unless `--no-wait`. A failure
/// comes with the job's id once there is one.
async fn follow(
    client: &HsmClient,
    kind: JobKind,
    storage: &Storage,
    token: Option<Zeroizing<String>>,
    folder: Option<&str>,
    spinner: &Spinner,
) -> Result<Followed, (HsmError, Option<String>)> {
    let job = match (&storage.job_id, &storage.storage_uri, &token) {
        (Some(id), _, _) => {
            backup::job_status(client, kind, id, None)
                .await
                .map_err(|e| (e, None))?
                .0
        }
        (None, Some(uri), Some(token)) => match (kind, folder) {
            (JobKind::Backup, _) => backup::start_backup(client, uri, token).await,
            (JobKind::Restore, Some(folder)) => {
                backup::start_restore(client, uri, token, folder).await
            }
            (JobKind::Restore, None) => Err(HsmError::Usage("give --folder".into())),
        }
        .map_err(|e| (e, None))?,
        _ => {
            let e = HsmError::Usage("give --storage-uri and --token-file, or --job-id".into());
            return Err((e, None));
        }
    };
    drop(token);
    if storage.no_wait {
        return Ok((job, false, None));
    }
    let options = WaitOptions {
        timeout: storage.timeout,
        ..WaitOptions::default()
    };
    let progress = |j: &Job, elapsed: Duration| {
        spinner.set(format!(
            "{}: {} after {:.0} s",
            kind.title(),
            j.status,
            elapsed.as_secs_f64()
        ))
    };
    let started = Instant::now();
    let done = backup::wait_job(client, kind, &job, options, &progress)
        .await
        .map_err(|e| (e, Some(job.job_id.clone())))?;
    Ok((done, true, Some(started.elapsed().as_secs_f64())))
}

fn print_human(kind: JobKind, report: &JobReport) {
    let job = &report.job;
    let title = match kind {
        JobKind::Backup => "Full backup",
        JobKind::Restore => "Full restore",
    };
    match report.seconds {
        Some(s) => println!("{title}: job {} {} (after {s:.1} s).", job.job_id, job.status),
        None if report.waited => println!("{title}: job {} {}.", job.job_id, job.status),
        None => println!(
            "{title}: job {} started ({}); not waited for: follow it with 'sdctl hsm {} --job-id {}'.",
            job.job_id,
            job.status,
            kind.name(),
            job.job_id
        ),
    }
    if let Some(details) = job.status_details.as_deref() {
        println!("Details: {details}");
    }
    match (kind, &report.folder) {
        (JobKind::Backup, Some(folder)) => {
            println!("Backup folder: {folder}");
            if let Some(uri) = &job.folder_uri {
                println!("  at {uri}");
            }
            let storage = report.storage_uri.as_deref().unwrap_or("URI");
            println!("To restore it into an HSM that holds the same security domain:");
            println!("  sdctl hsm restore --storage-uri {storage} --token-file FILE --folder {folder} --hsm-name NAME");
        }
        (JobKind::Backup, None) => {
            println!("The backup folder is not known yet: it is named when the job succeeds.")
        }
        (JobKind::Restore, Some(folder)) if report.waited => {
            println!("Restored {folder}: the HSM's keys and role assignments are now the backup's.")
        }
        (JobKind::Restore, _) => {}
    }
}
