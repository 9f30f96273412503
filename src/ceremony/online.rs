//! The online steps' work (feature `online`): the HSM client made from the plan, and the
//! calls of `hsm role check | download | init-recovery | upload | status | restore`.

use std::future::Future;
use std::path::PathBuf;

use super::common::hsm_label;
use super::custodians::cert_facts;
use super::engine::{Ctx, Done, Outcome};
use super::plan::{HsmSection, Plan};
use super::state::SdRecord;
use super::CeremonyError;
use crate::domain::activation::check_downloaded;
use crate::domain::SdFile;
use crate::files::{read_bounded, write_atomic, MODE_PUBLIC};
use crate::hsm::credential::process_env;
use crate::hsm::host_scope::check_storage_host;
use crate::hsm::rbac::check::Step as RbacStep;
use crate::hsm::security_domain::{self, parse_restore_blob, DownloadPlan};
use crate::hsm::{
    AllowVia, Cloud, CredentialKind, CredentialOptions, Endpoint, HostScope, HsmClient, HsmError,
    Operation, Reach, State, TokenKind, WaitOptions,
};
use crate::keys::load_certificate;

/// The plan's section naming `hsm`, for messages: `[hsm]` or `[recovery.hsm]`.
fn section_of(plan: &Plan, hsm: &HsmSection) -> &'static str {
    let same = |h: &HsmSection| h.url == hsm.url && h.name == hsm.name && h.cloud == hsm.cloud;
    if same(&plan.hsm) {
        "[hsm]"
    } else {
        "[recovery.hsm]"
    }
}

/// The endpoint `hsm` names, the hosts its token may go to, and why its own host may:
/// refused (exit 2) when the host is outside the token's scope
/// ([`crate::hsm::host_scope`]). Reads no file and sends nothing.
pub fn scoped_endpoint(
    plan: &Plan,
    hsm: &HsmSection,
) -> Result<(Endpoint, HostScope, Reach), crate::Error> {
    let endpoint = match (&hsm.url, &hsm.name) {
        (Some(url), _) => Endpoint::from_url(url)?,
        (None, Some(name)) => Endpoint::from_name(
            name,
            Cloud::parse(hsm.cloud.as_deref().unwrap_or("AzureCloud"))?,
        )?,
        (None, None) => return Err(HsmError::Usage("the plan names no HSM".into()).into()),
    };
    let via = AllowVia::Plan {
        plan: plan.path.display().to_string(),
        section: section_of(plan, hsm).to_owned(),
    };
    let scope = HostScope::new(&hsm.allow_hosts, via)?;
    let reach = scope.check(endpoint.base(), TokenKind::Hsm)?;
    Ok((endpoint, scope, reach))
}

/// Refuses, before the online machine reads a credential or records anything, a plan whose
/// HSMs (`[hsm]`, and `[recovery.hsm]` when there is one) are outside the token's scope,
/// or whose full backup's storage (`backup_storage_uri`, which receives the SAS token) is.
pub fn check_hosts(plan: &Plan) -> Result<(), crate::Error> {
    for hsm in std::iter::once(&plan.hsm).chain(plan.recovery.hsm.as_ref()) {
        scoped_endpoint(plan, hsm)?;
    }
    if let (Some(uri), Some(hsm)) = (&plan.recovery.backup_storage_uri, &plan.recovery.hsm) {
        check_storage_host(&scoped_endpoint(plan, hsm)?.1, uri)?;
    }
    Ok(())
}

/// A client for `hsm` as the plan names it; its host is checked before any credential.
pub fn client(plan: &Plan, hsm: &HsmSection) -> Result<HsmClient, crate::Error> {
    let (endpoint, scope, _) = scoped_endpoint(plan, hsm)?;
    let ca_pem = match &hsm.ca_cert {
        Some(p) => Some(crate::hsm::http::read_ca_certificates(&plan.resolve(p))?),
        None => None,
    };
    let options = CredentialOptions {
        kind: CredentialKind::Auto,
        access_token_file: hsm.access_token_file.as_ref().map(|p| plan.resolve(p)),
        authority_host: None,
        cloud: endpoint.cloud,
        ca_pem,
        tenant_id: None,
    };
    let (client, _) = HsmClient::connect(endpoint, scope, &options, &process_env)?;
    Ok(client)
}

/// Runs `work` on a current-thread runtime.
fn block_on<T>(work: impl Future<Output = Result<T, crate::Error>>) -> Result<T, crate::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HsmError::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(work)
}

fn recovery_hsm(plan: &Plan) -> Result<HsmSection, crate::Error> {
    Ok(plan.recovery_hsm()?.clone())
}

/// The HSM a step of this ceremony talks to: the recovery HSM for `recover`.
fn target(ctx: &Ctx<'_>) -> Result<HsmSection, crate::Error> {
    match ctx.kind {
        super::Kind::Recover => recovery_hsm(ctx.plan),
        _ => Ok(ctx.plan.hsm.clone()),
    }
}

/// Why the HSM's host may receive the token, for the transcript: `cloud`, `loopback`, or
/// `allowed by the plan: HOST`.
fn token_host(plan: &Plan, hsm: &HsmSection) -> Result<String, crate::Error> {
    Ok(match scoped_endpoint(plan, hsm)?.2 {
        Reach::Cloud => "cloud".to_owned(),
        Reach::Loopback => "loopback".to_owned(),
        Reach::Allowed(host) => format!("allowed by the plan: {host}"),
    })
}

/// `roles`: the signed-in principal must hold what the next steps need.
pub fn roles(ctx: &mut Ctx<'_>, hsm: &HsmSection, purpose: &str) -> Result<Outcome, crate::Error> {
    let hsm = if purpose == "recover" {
        recovery_hsm(ctx.plan)?
    } else {
        hsm.clone()
    };
    let needed: Vec<RbacStep> = match purpose {
        // The recovery's steps: exchange key, upload, following it, and the status check.
        "recover" => vec![
            RbacStep::InitRecovery,
            RbacStep::Upload,
            RbacStep::WaitUpload,
            RbacStep::Status,
        ],
        _ => vec![RbacStep::Download, RbacStep::WaitDownload],
    };
    let client = client(ctx.plan, &hsm)?;
    let report =
        block_on(async { Ok(crate::hsm::rbac::check::check(&client, &needed, None).await) })?;
    let report = match report {
        Ok(r) => r,
        Err(HsmError::Forbidden { message, .. }) => {
            ctx.ui.say(&format!("   warning: the roles could not be read ({message}); the steps themselves will tell"));
            return Ok(Outcome::Done(
                Done::new("role check not possible: the operator may not read role assignments")
                    .fact("role_check", "not readable")
                    .fact("token_host", token_host(ctx.plan, &hsm)?),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if !report.passed {
        return Err(CeremonyError::Refused(format!(
            "the signed-in principal {} lacks {} on {}: {}",
            report.principal,
            report.missing.join(", "),
            hsm_label(&hsm),
            report.advice.unwrap_or_default()
        ))
        .into());
    }
    Ok(Outcome::Done(
        Done::new(format!(
            "principal {} holds every action the next steps need",
            report.principal
        ))
        .fact("principal", report.principal)
        .fact("hsm", hsm_label(&hsm))
        .fact("token_host", token_host(ctx.plan, &hsm)?),
    ))
}

/// An operation the HSM ended Failed is the ceremony's refusal (exit 1, recorded in the
/// transcript; docs/ceremonies/README.md, "Refusals"), quoting the service's words; any
/// other failure stays what it is (a service or network error exits 4). `hsm` names the
/// HSM; `then` is added to the message (what running the step again does).
fn refuse_failed(e: crate::Error, hsm: &HsmSection, then: &str) -> crate::Error {
    let refused = |operation: &str, details: &str, saved: Option<&std::path::Path>| {
        let saved = saved
            .map(|f| {
                format!(
                    "; the security domain the HSM sent is saved in {}",
                    f.display()
                )
            })
            .unwrap_or_default();
        crate::Error::from(CeremonyError::Refused(format!(
            "{} reports the {operation} failed: {details}{saved}{then}",
            hsm_label(hsm)
        )))
    };
    match e {
        crate::Error::Hsm(HsmError::OperationFailed { operation, details }) => {
            refused(operation, &details, None)
        }
        crate::Error::Hsm(HsmError::AfterDownload { file, source }) => match *source {
            HsmError::OperationFailed { operation, details } => {
                refused(operation, &details, Some(&file))
            }
            source => HsmError::AfterDownload {
                file,
                source: Box::new(source),
            }
            .into(),
        },
        other => other,
    }
}

/// What running the download step again does after the HSM reported the download failed.
const DOWNLOAD_AGAIN: &str =
    "; running this step again reads the operation's status again and asks for no new security domain";

fn sd_path(ctx: &Ctx<'_>) -> Result<PathBuf, crate::Error> {
    Ok(ctx.dir("sd")?.join("security-domain.json"))
}

/// `download`: activates the HSM; a security domain already saved by an interrupted run is
/// checked and its operation followed instead of asking again.
pub fn download(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let out = sd_path(ctx)?;
    let names = ctx.plan.custodian_names();
    let certs: Vec<PathBuf> = names
        .iter()
        .map(|n| ctx.out.join("certs").join(format!("{n}.cer")))
        .collect();
    let client = client(ctx.plan, &ctx.plan.hsm)?;
    let quorum = ctx.plan.domain.quorum;
    let wait = WaitOptions::default();
    let no_progress = |_: &crate::hsm::OperationStatus, _: std::time::Duration| {};
    let status = if out.exists() {
        let file = SdFile::read(&out)?;
        let loaded = names
            .iter()
            .zip(&certs)
            .map(|(n, p)| Ok((n.clone(), load_certificate(p)?)))
            .collect::<Result<Vec<_>, crate::Error>>()?;
        let check = check_downloaded(&file.domain, &loaded, quorum);
        if !check.passed {
            return Err(CeremonyError::Refused(format!(
                "{}: {}",
                out.display(),
                check.problems.join("; ")
            ))
            .into());
        }
        ctx.ui.say(
            "   The security domain was saved before an interruption; following the operation.",
        );
        block_on(async {
            let url = client.status_url(Operation::Download, None);
            Ok(client
                .wait(Operation::Download, &url, wait, &no_progress)
                .await?)
        })
        .map_err(|e| refuse_failed(e, &ctx.plan.hsm, DOWNLOAD_AGAIN))?
    } else {
        let plan = DownloadPlan {
            certificates: certs,
            quorum,
            out: out.clone(),
            overwrite: false,
            wait: Some(wait),
        };
        let report =
            block_on(async { Ok(security_domain::download(&client, &plan, &no_progress).await?) })
                .map_err(|e| refuse_failed(e, &ctx.plan.hsm, DOWNLOAD_AGAIN))?;
        if !report.passed() {
            let problems = match &report.check {
                Some(c) if report.preflight.passed => c.problems.join("; "),
                _ => {
                    "the custodians' certificates failed the check before anything was sent".into()
                }
            };
            return Err(CeremonyError::Refused(format!(
                "the activation did not pass its checks: {problems}"
            ))
            .into());
        }
        report
            .operation
            .ok_or_else(|| HsmError::Usage("the download was not followed".into()))?
    };
    let file = SdFile::read(&out)?;
    ctx.state.current_sd = Some(SdRecord {
        path: super::activate::SD_FILE.into(),
        sha256: file.sha256.clone(),
        custodians: names,
        quorum,
        retired: None,
    });
    ctx.save_state()?;
    let mut done = Done::new(format!(
        "HSM activated; security domain saved (SHA-256 {})",
        file.sha256
    ))
    .fact("operation", status.status.clone());
    done.outputs.push(ctx.digest(&out)?);
    Ok(Outcome::Done(done))
}

/// `exchange-key`: the new HSM's exchange key, as a PEM certificate in the run's folder.
pub fn exchange_key(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let hsm = recovery_hsm(ctx.plan)?;
    let client = client(ctx.plan, &hsm)?;
    let key = block_on(async { Ok(security_domain::transfer_key(&client).await?) })?;
    let cert = key
        .exchange
        .certificate
        .as_ref()
        .ok_or_else(|| HsmError::BadResponse {
            url: client.endpoint.base_url(),
            detail: "the transfer key carries no certificate (x5c)".into(),
        })?;
    let path = ctx.run_dir()?.join("exchange-key.pem");
    write_atomic(&path, cert.to_pem().as_bytes(), MODE_PUBLIC, true)?;
    ctx.ui.say(&crate::ceremony::ui::labelled_digest(
        "   ",
        "Exchange key of the new HSM, SHA-256 fingerprint of its certificate:",
        &cert.sha256_fingerprint(),
    ));
    let mut done = Done::new(format!(
        "exchange key of {} saved (x5t_256 {})",
        hsm_label(&hsm),
        cert.x5t_256()
    ));
    for (k, v) in cert_facts("exchange key", cert).into_iter().skip(1) {
        done.facts.insert(format!("exchange_{k}"), v);
    }
    done.outputs.push(ctx.digest(&path)?);
    Ok(Outcome::Done(done))
}

/// `upload`: sends the restore blob and follows the recovery to Success; a recovery an
/// interrupted run already sent is followed instead of sending it again.
pub fn upload(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let hsm = recovery_hsm(ctx.plan)?;
    let client = client(ctx.plan, &hsm)?;
    let path = ctx.run_dir()?.join("restore-blob.json");
    let bytes = read_bounded(&path, 64 * 1024 * 1024, "a restore blob")?;
    let blob = parse_restore_blob(&path, &bytes)?;
    let no_progress = |_: &crate::hsm::OperationStatus, _: std::time::Duration| {};
    let status = block_on(async {
        let last = client.last_operation(Operation::Upload, None).await?;
        let url = client.status_url(Operation::Upload, None);
        match last {
            Some(s) if s.state == State::Succeeded || s.state == State::InProgress => Ok(client
                .wait(
                    Operation::Upload,
                    &url,
                    WaitOptions::default(),
                    &no_progress,
                )
                .await?),
            _ => {
                let report = security_domain::upload(
                    &client,
                    &blob,
                    Some(WaitOptions::default()),
                    &no_progress,
                )
                .await?;
                report
                    .operation
                    .ok_or_else(|| HsmError::Usage("the upload was not followed".into()).into())
            }
        }
    })
    .map_err(|e| {
        refuse_failed(
            e,
            &hsm,
            "; if the HSM still reports it failed, running this step again sends the restore blob again: read the details with the security officer first",
        )
    })?;
    let mut done = Done::new(format!(
        "restore blob uploaded to {}: {}",
        hsm_label(&hsm),
        status.status
    ))
    .fact("operation", status.status.clone());
    done.inputs.push(ctx.digest(&path)?);
    Ok(Outcome::Done(done))
}

/// `status`: the new HSM must be active.
pub fn status(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let hsm = target(ctx)?;
    let client = client(ctx.plan, &hsm)?;
    let status = block_on(async { Ok(crate::hsm::status::data_plane_status(&client).await?) })?;
    if status.activation != "Active" {
        return Err(CeremonyError::Refused(format!(
            "{} reports activation state {}, not Active",
            hsm_label(&hsm),
            status.activation
        ))
        .into());
    }
    Ok(Outcome::Done(
        Done::new(format!("{} is active", hsm_label(&hsm))).fact("activation", status.activation),
    ))
}

/// `full-restore`: the plan's full backup restored into the new HSM (skipped, and recorded
/// so, when the plan names none).
pub fn full_restore(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let r = ctx.plan.recovery.clone();
    let (Some(uri), Some(folder), Some(token_file)) =
        (r.backup_storage_uri, r.backup_folder, r.backup_token_file)
    else {
        return Ok(Outcome::Done(Done::new("no full backup named in the plan: restore skipped (restore keys from backups as your runbook says)").fact("skipped", true)));
    };
    let hsm = recovery_hsm(ctx.plan)?;
    let client = client(ctx.plan, &hsm)?;
    check_storage_host(&client.scope, &uri)?;
    let token_path = ctx.plan.resolve(&token_file);
    let token = zeroize::Zeroizing::new(
        String::from_utf8_lossy(&read_bounded(
            &token_path,
            64 * 1024,
            "a storage SAS token",
        )?)
        .trim()
        .to_owned(),
    );
    let job = block_on(async {
        let job = crate::hsm::backup::start_restore(&client, &uri, &token, &folder).await?;
        let progress = |_: &crate::hsm::backup::Job, _: std::time::Duration| {};
        Ok(crate::hsm::backup::wait_job(
            &client,
            crate::hsm::backup::JobKind::Restore,
            &job,
            WaitOptions::default(),
            &progress,
        )
        .await?)
    })?;
    let done = Done::new(format!(
        "full backup {folder} restored into {}: {}",
        hsm_label(&hsm),
        job.status
    ))
    .fact("backup_folder", folder)
    .fact("job_id", job.job_id.clone())
    .fact("backup_storage_uri", uri);
    Ok(Outcome::Done(done))
}
