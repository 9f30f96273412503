//! The security domains a folder holds: the one in force (state.json's `current_sd`) is
//! the file state.json names, byte for byte, and is split among exactly its custodians'
//! certificates (`custodians/NAME.cer` on the air-gapped machine, `certs/NAME.cer` online)
//! with its quorum; every retired one is still the file that was retired, and every
//! retirement a transcript records is in state.json; every `sd/*.json` is one of them.

use std::path::Path;

use serde_json::Value;

use super::files::{inside, read_if_present};
use super::{Findings, Folder, RetiredSd};
use crate::ceremony::state::{SdRecord, STATE_FILE};
use crate::ceremony::transcript::sha256_hex;
use crate::domain::activation::check_downloaded;
use crate::domain::SecurityDomain;
use crate::keys::{load_certificate, Certificate};

/// Checks the folder's security domains; lists the retired ones in `retired`.
pub fn check(folder: &Folder, findings: &mut Findings, retired: &mut Vec<RetiredSd>) {
    let state = &folder.state;
    if let Some(sd) = &state.current_sd {
        if let Some(bytes) = same_file(folder, sd, "the security domain in force", findings) {
            against_certificates(folder, sd, &bytes, findings);
        }
    }
    for sd in &state.retired_sds {
        same_file(folder, sd, "a retired security domain", findings);
        retired.push(RetiredSd {
            folder: folder.dir.display().to_string(),
            path: sd.path.clone(),
            sha256: sd.sha256.clone(),
            retired: sd.retired.clone(),
            run: None,
        });
    }
    retirements(folder, findings, retired);
    unknown_files(folder, findings);
}

/// The file `sd` names, if it is there with the SHA-256 state.json records.
fn same_file(
    folder: &Folder,
    sd: &SdRecord,
    what: &str,
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let state = folder.dir.join(STATE_FILE);
    let Some(path) = inside(&folder.dir, &sd.path) else {
        findings.add(
            &state,
            format!("{what} is '{}', outside the folder", sd.path),
        );
        return None;
    };
    match read_if_present(&path) {
        Ok(Some(bytes)) if sha256_hex(&bytes) == sd.sha256 => Some(bytes),
        Ok(Some(bytes)) => {
            findings.add(
                &path,
                format!(
                    "changed: its SHA-256 is {}, {STATE_FILE} records {} for {what}",
                    sha256_hex(&bytes),
                    sd.sha256
                ),
            );
            None
        }
        Ok(None) => {
            findings.add(&path, format!("missing: {STATE_FILE} names it as {what}"));
            None
        }
        Err(e) => {
            findings.add(&path, format!("cannot be read: {e}"));
            None
        }
    }
}

/// The custodian's certificate on this machine: `custodians/NAME.cer`, else `certs/NAME.cer`.
fn certificate(folder: &Folder, name: &str, findings: &mut Findings) -> Option<Certificate> {
    let own = folder.dir.join("custodians").join(format!("{name}.cer"));
    let path = if own.exists() {
        own
    } else {
        folder.dir.join("certs").join(format!("{name}.cer"))
    };
    match load_certificate(&path) {
        Ok(cert) => Some(cert),
        Err(e) => {
            findings.add(
                &path,
                format!("custodian {name}'s certificate cannot be used: {e}"),
            );
            None
        }
    }
}

fn against_certificates(folder: &Folder, sd: &SdRecord, bytes: &[u8], findings: &mut Findings) {
    let path = folder.dir.join(&sd.path);
    let domain = match SecurityDomain::from_json(bytes) {
        Ok((domain, _)) => domain,
        Err(e) => return findings.add(&path, format!("not a security domain: {e}")),
    };
    let certs: Vec<(String, Certificate)> = sd
        .custodians
        .iter()
        .filter_map(|n| Some((n.clone(), certificate(folder, n, findings)?)))
        .collect();
    if certs.len() != sd.custodians.len() {
        return;
    }
    let check = check_downloaded(&domain, &certs, sd.quorum);
    if !check.passed {
        findings.add(
            &path,
            format!(
                "does not match the custodians' certificates ({}) and quorum {}: {}",
                sd.custodians.join(", "),
                sd.quorum,
                check.problems.join("; ")
            ),
        );
    }
}

/// Every retirement this machine's transcripts record is in state.json.
fn retirements(folder: &Folder, findings: &mut Findings, retired: &mut [RetiredSd]) {
    for run in &folder.runs {
        for entry in run.local_entries().filter(|e| e.event == "retired") {
            let fact = |name: &str| entry.facts.get(name).and_then(Value::as_str);
            let (Some(path), Some(sha256)) = (fact("retired_sd"), fact("retired_sha256")) else {
                continue;
            };
            match retired
                .iter_mut()
                .find(|r| r.path == path && r.sha256 == sha256)
            {
                Some(r) => r.run = Some(run.id.clone()),
                None => findings.add(
                    &folder.dir.join(STATE_FILE),
                    format!(
                        "does not list {path} (SHA-256 {sha256}) as retired, but run {} line {} retired it",
                        run.id, entry.seq
                    ),
                ),
            }
        }
    }
}

/// Every `sd/*.json` is the security domain in force or a retired one.
fn unknown_files(folder: &Folder, findings: &mut Findings) {
    let Ok(listing) = std::fs::read_dir(folder.dir.join("sd")) else {
        return;
    };
    let state = &folder.state;
    let known: Vec<&str> = state
        .current_sd
        .iter()
        .chain(&state.retired_sds)
        .map(|s| s.path.as_str())
        .collect();
    let mut names: Vec<String> = listing
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let rel = format!("sd/{name}");
        if !known.contains(&rel.as_str()) {
            findings.add(
                &Path::new(&folder.dir).join(&rel),
                format!("{STATE_FILE} names it neither as the security domain in force nor as a retired one"),
            );
        }
    }
}
