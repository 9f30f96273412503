//! `ceremony activate`: custodians make their keys (air-gapped), the public bundle goes
//! online, the HSM is activated and its security domain saved, the SD bundle comes back,
//! a quorum proves it recoverable, the record is closed.

use std::path::PathBuf;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::bundle::{self, Outgoing};
use super::common::{close_step, open_step};
use super::custodians::{cert_path, check_step, generate_step};
use super::engine::{Ctx, Outcome, Side, Step};
use super::hsm_steps;
use super::plan::{Plan, QuorumMode};
use super::state::SdRecord;
use super::transcript::Entry;
use super::verify_sd::drill_step;
use super::CeremonyError;
use crate::domain::activation::check_downloaded;
use crate::domain::model::hex;
use crate::domain::SecurityDomain;
use crate::files::{write_atomic, MODE_PUBLIC};
use crate::keys::file::KeyFile;
use crate::keys::{load_certificate, Certificate};

/// Where the activation keeps the security domain, relative to the output directory.
pub const SD_FILE: &str = "sd/security-domain.json";

/// The activation's steps.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let names = plan.custodian_names();
    let mut steps = vec![open_step(
        Side::Offline,
        plan.hsm.clone(),
        "the HSM to activate, its custodians and quorum",
    )];
    steps.extend(names.iter().map(|n| generate_step(n)));
    steps.push(check_step(names.clone()));
    steps.push(export_public_step());
    steps.push(import_public_step());
    steps.push(hsm_steps::roles_step(plan.hsm.clone(), "download"));
    steps.push(hsm_steps::download_step());
    steps.push(export_sd_step());
    steps.push(import_sd_step());
    // The custodians made their keys on this machine moments ago: they drill together.
    steps.push(drill_step(
        plan.quorum_custodians(),
        false,
        QuorumMode::Together,
    ));
    steps.push(close_step(Side::Offline));
    steps
}

fn export_public_step() -> Step {
    Step {
        id: "export-public".into(),
        side: Side::Offline,
        actor: "operator".into(),
        title: "Export the public bundle for the online machine".into(),
        explain: "The custodians' certificates (public data only) and the transcript so far go into transfer/public-bundle.json. Its SHA-256 is shown: witnesses read it aloud now and compare it on the online machine.".into(),
        imports: None,
        action: Box::new(|ctx| {
            let mut certificates = Vec::new();
            for name in ctx.plan.custodian_names() {
                let cert = load_certificate(&cert_path(&ctx.out, &name))?;
                certificates.push(json!({"custodian": name, "pem": cert.to_pem(), "x5t_256": cert.x5t_256()}));
            }
            let payload = json!({"certificates": certificates, "quorum": ctx.plan.domain.quorum});
            let out = Outgoing::new(ctx, "public", payload)?;
            let summary = format!("public bundle exported to {}", ctx.rel(out.path()));
            Ok(Outcome::Done(bundle::export(ctx, out, summary)))
        }),
    }
}

fn import_public_step() -> Step {
    Step {
        id: "import-public".into(),
        side: Side::Online,
        actor: "operator and witnesses".into(),
        title: "Import the public bundle on the online machine".into(),
        explain: "The witnesses compare the bundle's SHA-256 with the one read on the air-gapped machine. The transcript it carries must verify; every certificate must be the one the witnesses checked; they are written to certs/.".into(),
        imports: Some("public"),
        action: Box::new(import_public),
    }
}

/// Checks every certificate of the public bundle before anything is written: one per
/// custodian of the plan, each the one the witnesses checked on the air-gapped machine
/// (its `check-keys` entry, in the authenticated transcript).
fn import_public(ctx: &mut Ctx<'_>) -> Result<Outcome, crate::Error> {
    let (incoming, mut done) = bundle::import(ctx, "public")?;
    let checked = checked_thumbprints(&incoming.entries, &ctx.run_id);
    let names = ctx.plan.custodian_names();
    let mut accepted = Vec::new();
    for item in incoming.payload["certificates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = item["custodian"].as_str().unwrap_or_default().to_owned();
        if !names.contains(&name) {
            return Err(bad_bundle(
                &incoming.path,
                format!("custodian '{name}' is not in the plan"),
            ));
        }
        if accepted.iter().any(|(n, _)| *n == name) {
            return Err(bad_bundle(
                &incoming.path,
                format!("custodian '{name}' has two certificates"),
            ));
        }
        let pem = item["pem"].as_str().unwrap_or_default().to_owned();
        let cert = certificate_in(&incoming.path, &name, &pem)?;
        if checked.get(&name) != Some(&cert.x5t_256()) {
            return Err(CeremonyError::Refused(format!("{}: {name}'s certificate is not the one the witnesses checked on the air-gapped machine", incoming.path.display())).into());
        }
        accepted.push((name, pem));
    }
    if accepted.len() != names.len() {
        return Err(bad_bundle(
            &incoming.path,
            "it does not carry one certificate per custodian".into(),
        ));
    }
    bundle::accept(ctx, &incoming)?;
    let certs = ctx.dir("certs")?;
    for (name, pem) in accepted {
        let path = certs.join(format!("{name}.cer"));
        write_atomic(&path, pem.as_bytes(), MODE_PUBLIC, true)?;
        done.outputs.push(ctx.digest(&path)?);
    }
    Ok(Outcome::Done(done))
}

/// The thumbprints the witnesses checked, from run `run`'s `check-keys` entry.
fn checked_thumbprints(entries: &[Entry], run: &str) -> std::collections::BTreeMap<String, String> {
    entries
        .iter()
        .filter(|e| e.run == run && e.step == "check-keys")
        .flat_map(|e| {
            e.facts
                .get("certificates")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| {
            Some((
                c["custodian"].as_str()?.to_owned(),
                c["x5t_256"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The one certificate in `pem`, from the bundle at `path`.
fn certificate_in(
    path: &std::path::Path,
    name: &str,
    pem: &str,
) -> Result<Certificate, crate::Error> {
    let file = KeyFile::parse(path, pem.as_bytes())?;
    let mut certs = file.certificates();
    match (certs.next(), certs.next()) {
        (Some(c), None) => match c.public_key().encryption_problem() {
            None => Ok(c.clone()),
            Some(problem) => Err(bad_bundle(
                path,
                format!("{name}'s certificate cannot be a wrapping key: {problem}"),
            )),
        },
        _ => Err(bad_bundle(
            path,
            format!("{name}'s entry is not one PEM certificate"),
        )),
    }
}

fn bad_bundle(path: &std::path::Path, detail: String) -> crate::Error {
    CeremonyError::Bundle {
        path: path.to_owned(),
        detail,
    }
    .into()
}

fn export_sd_step() -> Step {
    Step {
        id: "export-sd".into(),
        side: Side::Online,
        actor: "operator".into(),
        title: "Export the SD bundle for the air-gapped machine".into(),
        explain: "The security domain just downloaded (encrypted to the custodians' keys) and the transcript go into transfer/security-domain-bundle.json. Witnesses read its SHA-256 aloud and compare it on the air-gapped machine.".into(),
        imports: None,
        action: Box::new(|ctx| {
            let path = ctx.out.join(SD_FILE);
            bundle::export_file(ctx, "security-domain", &path, "security_domain")
        }),
    }
}

fn import_sd_step() -> Step {
    Step {
        id: "import-sd".into(),
        side: Side::Offline,
        actor: "operator and witnesses".into(),
        title: "Import the SD bundle on the air-gapped machine".into(),
        explain: "The witnesses compare the bundle's SHA-256 with the one read on the online machine. The security domain must hold one share for each custodian's certificate and the plan's quorum; it is saved to sd/security-domain.json.".into(),
        imports: Some("security-domain"),
        action: Box::new(|ctx| {
            let (incoming, mut done) = bundle::import(ctx, "security-domain")?;
            let text = bundle::carried_text(&incoming, "security_domain")?;
            check_sd(ctx, &text, &incoming.path)?;
            bundle::accept(ctx, &incoming)?;
            let sd = save_checked_sd(ctx, &text, &incoming.path)?;
            done.outputs.push(ctx.digest(&sd)?);
            Ok(Outcome::Done(done))
        }),
    }
}

/// Checks `text` against this machine's own custodian certificates and the plan's quorum,
/// and that it may be saved here (no different security domain in its place); writes
/// nothing.
pub fn check_sd(ctx: &Ctx<'_>, text: &str, from: &std::path::Path) -> Result<(), crate::Error> {
    let (domain, _) = SecurityDomain::from_json(text.as_bytes())
        .map_err(|e| bad_bundle(from, format!("not a security domain: {e}")))?;
    let names = ctx.plan.custodian_names();
    let certs = names
        .iter()
        .map(|n| Ok((n.clone(), load_certificate(&cert_path(&ctx.out, n))?)))
        .collect::<Result<Vec<_>, crate::Error>>()?;
    let check = check_downloaded(&domain, &certs, ctx.plan.domain.quorum);
    if !check.passed {
        return Err(CeremonyError::Refused(format!(
            "{}: the security domain does not match the custodians and quorum: {}",
            from.display(),
            check.problems.join("; ")
        ))
        .into());
    }
    let path = ctx.out.join(SD_FILE);
    match std::fs::read(&path) {
        Ok(existing) if existing != text.as_bytes() => Err(CeremonyError::Refused(format!(
            "{} already holds a different security domain: move it away deliberately before importing another",
            path.display()
        ))
        .into()),
        _ => Ok(()),
    }
}

/// Checks `text` (see [`check_sd`]) and saves it as the workspace's security domain (an
/// identical file already there is kept).
pub fn save_checked_sd(
    ctx: &mut Ctx<'_>,
    text: &str,
    from: &std::path::Path,
) -> Result<PathBuf, crate::Error> {
    check_sd(ctx, text, from)?;
    let names = ctx.plan.custodian_names();
    let path = ctx.dir("sd")?.join("security-domain.json");
    if !path.exists() {
        write_atomic(&path, text.as_bytes(), MODE_PUBLIC, false)?;
    }
    ctx.state.current_sd = Some(SdRecord {
        path: SD_FILE.into(),
        sha256: hex(&Sha256::digest(text.as_bytes())),
        custodians: names,
        quorum: ctx.plan.domain.quorum,
        retired: None,
    });
    ctx.save_state()?;
    Ok(path)
}
