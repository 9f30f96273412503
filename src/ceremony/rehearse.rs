//! `ceremony rehearse`: the whole life cycle on the built-in emulator, unattended, printed
//! as the people would see it: activate HSM A, put a key in it and take a full backup,
//! drill, rotate (one custodian retired, two added, quorum raised), recover onto HSM B and
//! restore the full backup there, then check the key is on B and every transcript verifies.
//!
//! Passphrases are random, in 0600 files inside the rehearsal's directory; the emulator
//! listens on 127.0.0.1 only and stops at the end.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::engine::Options;
use super::transcript::verify_text;
use super::ui::{Console, Ui};
use super::{Kind, Plan};
use crate::emulator::{self, EmulatorConfig};
use crate::files::{create_private_dir, read_bounded, write_atomic, MODE_PUBLIC, MODE_SECRET};
use crate::hsm::{backup, jwt, keys, rbac, HsmError, WaitOptions};
use crate::passphrase::{PassphraseFile, PassphraseSource};
use zeroize::Zeroizing;

/// How to rehearse.
#[derive(Clone, Debug)]
pub struct RehearseOptions {
    /// Keep the files here (default: a temporary directory, removed at the end).
    pub work_dir: Option<PathBuf>,
    /// RSA size of the custodians' keys.
    pub bits: u32,
    /// Narrate on stderr (stdout carries JSON).
    pub narrate_on_stderr: bool,
}

/// One ceremony of the rehearsal.
#[derive(Clone, Debug, Serialize)]
pub struct Rehearsed {
    /// Kind.
    pub kind: &'static str,
    /// Run id.
    pub run: String,
    /// Its transcript.
    pub transcript: String,
    /// Its final digest (verified).
    pub final_digest: String,
}

/// What the rehearsal did.
#[derive(Clone, Debug, Serialize)]
pub struct RehearseReport {
    /// The ceremonies, in order.
    pub ceremonies: Vec<Rehearsed>,
    /// The key made on HSM A and found on HSM B after the recovery.
    pub restored_key: String,
    /// Where the files were kept (`None`: removed).
    pub kept: Option<String>,
}

const KEY_NAME: &str = "rehearsal-key";

/// Runs the rehearsal.
pub fn rehearse(options: &RehearseOptions) -> Result<RehearseReport, crate::Error> {
    let (work, temporary) = match &options.work_dir {
        Some(d) => (d.clone(), false),
        None => (temporary_dir()?, true),
    };
    create_private_dir(&work)?;
    let result = run_in(&work, options);
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    let mut report = result?;
    report.kept = (!temporary).then(|| work.display().to_string());
    Ok(report)
}

fn temporary_dir() -> Result<PathBuf, crate::Error> {
    let mut bytes = [0u8; 8];
    openssl::rand::rand_bytes(&mut bytes).map_err(|e| HsmError::Usage(format!("random: {e}")))?;
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("sdctl-rehearsal-{suffix}")))
}

fn run_in(work: &Path, options: &RehearseOptions) -> Result<RehearseReport, crate::Error> {
    let mut say = Console::new(
        true,
        options.narrate_on_stderr,
        PassphraseSource::Unavailable,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| HsmError::Usage(format!("cannot start the async runtime: {e}")))?;
    say.say(
        "Rehearsal: starting the Managed HSM emulator with two HSMs (hsm-a, hsm-b) on 127.0.0.1",
    );
    let state_dir = work.join("emulator");
    let running = runtime.block_on(emulator::start(EmulatorConfig {
        listen: "127.0.0.1:0"
            .parse()
            .map_err(|_| HsmError::Usage("listen address".into()))?,
        state_dir: state_dir.clone(),
        hsms: vec!["hsm-a".into(), "hsm-b".into()],
        hsm_ports: Default::default(),
        transfer_key_as_object: false,
        operation_seconds: 0.3,
        faults: Vec::new(),
    }))?;
    // Each HSM answers at the root of its own origin.
    let origin = |name: &str| {
        running
            .hsm_url(name)
            .ok_or_else(|| HsmError::Usage(format!("the emulator did not open HSM {name}")))
    };
    let hsms = (origin("hsm-a")?, origin("hsm-b")?);
    say.say(&format!(
        "Emulator at {} (hsm-a at {}, hsm-b at {})",
        running.url, hsms.0, hsms.1
    ));
    let outcome = life_cycle(work, (&hsms.0, &hsms.1), options, &mut say);
    runtime.block_on(running.shutdown());
    outcome
}

/// `hsms`: the base URLs of hsm-a (activated, rotated) and hsm-b (recovered into).
fn life_cycle(
    work: &Path,
    hsms: (&str, &str),
    options: &RehearseOptions,
    say: &mut Console,
) -> Result<RehearseReport, crate::Error> {
    let backups = work.join("backups");
    create_private_dir(&backups)?;
    write_atomic(
        &work.join("sas-token.txt"),
        b"rehearsal-sas-token\n",
        MODE_SECRET,
        true,
    )?;
    let first = ["alice", "bob", "carol"];
    let second = ["alice", "carol", "dave", "erin"];
    let (alice, bob, carol) = (
        random_passphrase()?,
        random_passphrase()?,
        random_passphrase()?,
    );
    let (dave, erin) = (random_passphrase()?, random_passphrase()?);
    write_passphrases(&work.join("passphrases-1.txt"), &[&alice, &bob, &carol])?;
    // After the rotation: the plan's custodians in order, then the retired one (bob).
    write_passphrases(
        &work.join("passphrases-2.txt"),
        &[&alice, &carol, &dave, &erin, &bob],
    )?;
    let mut done = Vec::new();

    let plan_1 = write_plan(work, "plan-1.toml", hsms, options.bits, &first, 2, None)?;
    banner(say, 1, "activate HSM A");
    done.push(run_one(
        &plan_1,
        Kind::Activate,
        &work.join("passphrases-1.txt"),
        say,
    )?);

    say.say("");
    say.say(&format!(
        "== Meanwhile, HSM A is used: key '{KEY_NAME}' is created in it and a full backup taken"
    ));
    let folder = use_hsm_a(&plan_1, &backups)?;
    say.say(&format!("   full backup folder: {folder}"));

    banner(
        say,
        2,
        "drill: every custodian proves their share, a quorum rebuilds",
    );
    done.push(run_one(
        &plan_1,
        Kind::Drill,
        &work.join("passphrases-1.txt"),
        say,
    )?);

    let plan_2 = write_plan(
        work,
        "plan-2.toml",
        hsms,
        options.bits,
        &second,
        3,
        Some(&folder),
    )?;
    banner(
        say,
        3,
        "rotate: bob retired, dave and erin added, quorum 2 -> 3",
    );
    done.push(run_one(
        &plan_2,
        Kind::Rotate,
        &work.join("passphrases-2.txt"),
        say,
    )?);

    banner(
        say,
        4,
        "disaster: recover into HSM B and restore the full backup",
    );
    done.push(run_one(
        &plan_2,
        Kind::Recover,
        &work.join("passphrases-2.txt"),
        say,
    )?);

    let plan_2 = Plan::load(&plan_2)?;
    let hsm_b = plan_2.recovery.hsm.clone().unwrap_or_default();
    let client = super::online::client(&plan_2, &hsm_b)?;
    let found = block_on(async { Ok(keys::get_key(&client, KEY_NAME).await?) })?;
    if found.is_none() {
        return Err(HsmError::Usage(format!(
            "after the recovery, key '{KEY_NAME}' is not on HSM B"
        ))
        .into());
    }
    say.say("");
    say.say(&format!(
        "Key '{KEY_NAME}', made on HSM A, is on HSM B after the recovery and the full restore."
    ));
    Ok(RehearseReport {
        ceremonies: done,
        restored_key: KEY_NAME.into(),
        kept: None,
    })
}

fn banner(say: &mut Console, n: usize, what: &str) {
    say.say("");
    say.say(&format!("################ Ceremony {n} of 4: {what}"));
}

fn run_one(
    plan_path: &Path,
    kind: Kind,
    passphrases: &Path,
    say: &mut Console,
) -> Result<Rehearsed, crate::Error> {
    let plan = Plan::load(plan_path)?;
    let mut ui = Console::new(
        true,
        say.narrate_on_stderr,
        PassphraseSource::File(PassphraseFile::read(passphrases)?),
    );
    let report = super::run(&plan, kind, &Options::default(), &mut ui)?;
    if report.outcome != "complete" {
        return Err(HsmError::Usage(format!(
            "the rehearsal's {} ceremony stopped: {}",
            kind.name(),
            report.next.unwrap_or_default()
        ))
        .into());
    }
    let text = String::from_utf8_lossy(&read_bounded(
        Path::new(&report.transcript),
        64 * 1024 * 1024,
        "a transcript",
    )?)
    .into_owned();
    let chain =
        verify_text(&text).map_err(|e| HsmError::Usage(format!("{}: {e}", report.transcript)))?;
    say.say(&format!(
        "Transcript verified: {} entries, final digest {}",
        chain.entries, chain.final_digest
    ));
    Ok(Rehearsed {
        kind: kind.name(),
        run: report.run,
        transcript: report.transcript,
        final_digest: chain.final_digest,
    })
}

fn block_on<T>(
    work: impl std::future::Future<Output = Result<T, crate::Error>>,
) -> Result<T, crate::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HsmError::Usage(format!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

/// Creates the rehearsal key on HSM A and takes a full backup; returns the backup folder.
fn use_hsm_a(plan_path: &Path, backups: &Path) -> Result<String, crate::Error> {
    let plan = Plan::load(plan_path)?;
    let client = super::online::client(&plan, &plan.hsm)?;
    let uri = format!("file://{}", backups.display());
    block_on(async {
        // The administrator manages roles, not keys: give it Crypto User, as an
        // administrator would give an application.
        let token = client.credentials.token(&client.endpoint.resource).await?;
        let me = jwt::object_id(&token)
            .ok_or_else(|| HsmError::Usage("the token names no principal".into()))?;
        let definitions = rbac::list_definitions(&client).await?;
        let user = rbac::resolve_role(&definitions, "Managed HSM Crypto User")?;
        rbac::assign_role(&client, &rbac::Scope::Hsm, user, &me).await?;
        keys::create_key(&client, KEY_NAME, "RSA-HSM", Some(2048)).await?;
        let job = backup::start_backup(&client, &uri, "rehearsal-sas-token").await?;
        let progress = |_: &backup::Job, _: Duration| {};
        let options = WaitOptions {
            timeout: Duration::from_secs(60),
            interval: Duration::from_millis(500),
        };
        let job =
            backup::wait_job(&client, backup::JobKind::Backup, &job, options, &progress).await?;
        job.folder_name()
            .map(str::to_owned)
            .ok_or_else(|| HsmError::Usage("the full backup names no folder".into()).into())
    })
}

fn write_plan(
    work: &Path,
    name: &str,
    (hsm_a, hsm_b): (&str, &str),
    bits: u32,
    custodians: &[&str],
    quorum: usize,
    folder: Option<&str>,
) -> Result<PathBuf, crate::Error> {
    let mut text = format!(
        "# Written by 'sdctl ceremony rehearse'.\n[ceremony]\nname = \"rehearsal\"\noutput_dir = \"ceremony\"\nmachines = \"one\"\noperator = \"sdctl rehearse\"\n\n[hsm]\nurl = \"{hsm_a}\"\nca_cert = \"emulator/ca.pem\"\naccess_token_file = \"emulator/admin.token\"\n\n[keys]\nbits = {bits}\ndays = 30\nsubject = \"/O=Rehearsal\"\n\n[security_domain]\nquorum = {quorum}\n\n"
    );
    for c in custodians {
        text.push_str(&format!(
            "[[custodian]]\nname = \"{c}\"\ncontact = \"{c}@example.com\"\n\n"
        ));
    }
    text.push_str("[[witness]]\nname = \"Walter Witness\"\nrole = \"rehearsal\"\n\n[recovery]\n");
    text.push_str(&format!("hsm = {{ url = \"{hsm_b}\", ca_cert = \"emulator/ca.pem\", access_token_file = \"emulator/admin.token\" }}\n"));
    if let Some(folder) = folder {
        text.push_str(&format!(
            "backup_storage_uri = \"file://{}\"\nbackup_folder = \"{folder}\"\nbackup_token_file = \"sas-token.txt\"\n",
            work.join("backups").display()
        ));
    }
    let path = work.join(name);
    write_atomic(&path, text.as_bytes(), MODE_PUBLIC, true)?;
    Ok(path)
}

fn random_passphrase() -> Result<Zeroizing<String>, crate::Error> {
    let mut bytes = Zeroizing::new([0u8; 16]);
    openssl::rand::rand_bytes(bytes.as_mut())
        .map_err(|e| HsmError::Usage(format!("random: {e}")))?;
    Ok(Zeroizing::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

fn write_passphrases(path: &Path, lines: &[&Zeroizing<String>]) -> Result<(), crate::Error> {
    let mut text = Zeroizing::new(String::new());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes(), MODE_SECRET, true)?;
    Ok(())
}
