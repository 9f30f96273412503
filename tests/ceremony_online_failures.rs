//! The guided ceremonies' online error paths, fed through the real CLI against the emulator:
//!
//! - the role check finds the signed-in principal (a Crypto Auditor: it may read the role
//!   assignments) without `securitydomain/download/action`: refused (exit 1) before anything
//!   is sent; once an administrator assigns the role the refusal names, the run finishes;
//! - the role assignments cannot be read at all (a principal without any role): the check
//!   warns and records `role_check: "not readable"`, and the download that follows is
//!   refused by the HSM (exit 4, the data action named); with the role assigned, it finishes;
//! - the HSM reports the activation's download operation `Failed` (the emulator's `failed`
//!   fault): refused (exit 1), the security domain the HSM sent is kept, a rerun reads the
//!   operation's status again instead of asking for another, and finishes once the HSM
//!   reports Success;
//! - the HSM reports the recovery's upload operation `Failed`: refused (exit 1); once the
//!   HSM reports the upload as it really went, a rerun follows it; the new HSM then not
//!   reporting itself Active is refused (exit 1) by the status step; a rerun finishes;
//! - a distributed-quorum recovery whose session key is gone before the custodians' share
//!   exports are opened: `ceremony status` says so; the same command redoes the session
//!   step (recorded as `redone`), asks the custodians to export again to the new session
//!   certificate, and the recovery then completes;
//! - the plan's `[hsm] ca_cert` empty or holding no certificate: refused (exit 2) naming
//!   the file, nothing sent; with the real CA the run finishes.
//!
//! In each case: one `sdctl:` line on stderr names the problem, the failed step is not
//! recorded as done in the transcript (a refusal is recorded as a `refused` entry, a service
//! error not at all), and `sdctl ceremony log verify` passes on the transcript as it is.

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::ceremony::{passphrase, transcript, transcript_path, Bed, PlanSpec, CUSTODIANS};
use common::Run;
use serde_json::Value;

/// A principal holding the built-in Crypto Auditor role (reads role assignments, holds no
/// security-domain action but the reads).
const AUDITOR: &str = "a0d17000-0000-4000-8000-00000000000a";
/// A principal holding no role at all.
const NO_ROLE: &str = "0b0d1e50-0000-4000-8000-00000000000b";
const DOWNLOAD_ACTION: &str = "Microsoft.KeyVault/managedHsm/securitydomain/download/action";
const INJECTED: &str = "injected fault: the operation failed";

/// A bed with the default plan (`spec` changes it) in `c/`, the custodians' passphrase
/// file, and the output directory.
fn setup(spec: &PlanSpec<'_>) -> (Bed, PathBuf, PathBuf, PathBuf) {
    let bed = Bed::start();
    let plan = bed.plan("c", spec);
    let pass = bed.passphrases("pass", &CUSTODIANS);
    let out = bed.path("c/ceremony");
    (bed, plan, pass, out)
}

/// An unattended run with `--output json` that must end well; its result.
fn finished(bed: &Bed, kind: &str, plan: &Path, pass: &Path) -> Value {
    let run = bed.unattended(kind, plan, pass, &["--output", "json"]);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    run.json()["result"].clone()
}

/// The events recorded for `step` in the transcript at `path`, in order.
fn events(path: &Path, step: &str) -> Vec<String> {
    transcript(path)
        .iter()
        .filter(|e| e["step"] == step)
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

/// The last entry recorded for `step`.
fn last_entry(path: &Path, step: &str) -> Value {
    transcript(path)
        .into_iter()
        .rev()
        .find(|e| e["step"] == step)
        .unwrap_or_else(|| panic!("no entry for {step} in {}", path.display()))
}

/// `ceremony log verify PATH --expect DIGEST` with the hash of the file's last line: the
/// chain is intact and ends where the file does. Returns what it printed.
fn verify_log(bed: &Bed, path: &Path) -> String {
    let last = transcript(path).last().unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = bed.ceremony(&[
        "log",
        "verify",
        &path.display().to_string(),
        "--expect",
        &last,
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("It is the digest the witnesses wrote down."),
        "{}",
        run.stdout
    );
    run.stdout
}

/// The HTTP status of `GET .../securitydomain/OPERATION/pending` on `hsm`, as the
/// administrator (404: none was ever started), and its body.
fn pending(bed: &Bed, hsm: &str, operation: &str) -> (u16, Value) {
    let emu = &bed.online.emu;
    let url = format!("{}/securitydomain/{operation}/pending", emu.hsm(hsm));
    let answer = emu.get(&url, &emu.admin_token()).send().unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().unwrap_or(Value::Null))
}

/// The emulator's record of `hsm`'s last OPERATION (`download`, `upload`), as it keeps it
/// in its state file: what the HSM really did, whatever a fault made it answer.
fn hsm_record(bed: &Bed, hsm: &str, operation: &str) -> Value {
    let state: Value =
        serde_json::from_slice(&fs::read(bed.online.emu.dir.join("state.json")).unwrap()).unwrap();
    state["hsms"][hsm][operation].clone()
}

/// Removes every scripted fault (`DELETE /_emulator/faults`): the cause is gone.
fn clear_faults(bed: &Bed) {
    let emu = &bed.online.emu;
    let answer = emu
        .client
        .delete(format!("{}/_emulator/faults", emu.url))
        .bearer_auth(emu.admin_token())
        .send()
        .unwrap();
    assert_eq!(answer.status(), 204);
    assert!(bed.online.faults_left().is_empty());
}

/// Runs `sdctl ceremony WORDS...` without `--yes`, with `answers` on standard input (each
/// confirmation reads a line; the end of the input answers no).
fn answering(bed: &Bed, words: &[&str], answers: &str) -> Run {
    let mut args = vec!["ceremony"];
    args.extend_from_slice(words);
    common::sdctl_in(&bed.path(""), &args, &[], Some(answers.as_bytes()))
}

/// The error line of a failed run (the one `sdctl:` line that is not a warning).
fn error_line(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.starts_with("sdctl: ") && !l.starts_with("sdctl: warning:"))
        .unwrap_or_else(|| panic!("no error line: {}", run.stderr))
}

/// Runs `sdctl hsm WORDS...` on HSM A as the administrator; it must succeed.
fn administrator(bed: &Bed, words: &[&str]) {
    let run = bed.online.hsm("hsm-a", words);
    assert_eq!(run.code, 0, "{words:?}: {}{}", run.stdout, run.stderr);
}

#[test]
fn a_principal_lacking_the_download_action_is_refused_before_anything_is_sent() {
    let (bed, _, pass, out) = setup(&PlanSpec::default());
    administrator(
        &bed,
        &[
            "role",
            "assign",
            "--role",
            "Managed HSM Crypto Auditor",
            "--assignee",
            AUDITOR,
            "--scope",
            "/",
        ],
    );
    bed.online.token_for("auditor.token", AUDITOR);
    let plan = bed.plan(
        "c",
        &PlanSpec {
            hsm_token: "auditor.token",
            ..PlanSpec::default()
        },
    );

    let run = bed.unattended("activate", &plan, &pass, &[]);
    run.assert_error(
        1,
        &format!(
            "refused: the signed-in principal {AUDITOR} lacks {DOWNLOAD_ACTION} on {}: MISSING",
            bed.online.emu.hsm("hsm-a")
        ),
    );
    // The refusal says what to do, and only the action really missing is named (the
    // auditor may read the download's status).
    let line = error_line(&run);
    assert!(
        line.contains(&format!(
            "sdctl hsm role create-sd-officer --assignee {AUDITOR}"
        )),
        "{line}"
    );
    assert!(!line.contains("download/read"), "{line}");
    // Nothing was asked of the HSM: no security domain here, no download there.
    assert!(!out.join("sd/security-domain.json").exists());
    assert_eq!(pending(&bed, "hsm-a", "download").0, 404);
    let t = transcript_path(&out, "activate");
    assert_eq!(events(&t, "roles"), ["refused"]);
    assert!(events(&t, "download").is_empty());
    let refused = last_entry(&t, "roles");
    assert!(
        refused["summary"]
            .as_str()
            .unwrap()
            .contains(DOWNLOAD_ACTION),
        "{refused}"
    );
    verify_log(&bed, &t);

    // An administrator does what the refusal says; the same command goes on from there.
    administrator(&bed, &["role", "create-sd-officer", "--assignee", AUDITOR]);
    let result = finished(&bed, "activate", &plan, &pass);
    assert_eq!(result["outcome"], "complete", "{result}");
    assert_eq!(events(&t, "roles"), ["refused", "step"]);
    assert_eq!(last_entry(&t, "roles")["facts"]["principal"], AUDITOR);
    assert_eq!(events(&t, "download"), ["step"]);
    assert!(out.join("sd/security-domain.json").exists());
    assert_eq!(pending(&bed, "hsm-a", "download").1["status"], "Success");
    assert!(verify_log(&bed, &t).contains("closed"));
}

#[test]
fn roles_that_cannot_be_read_are_recorded_and_the_download_names_the_missing_action() {
    let (bed, _, pass, out) = setup(&PlanSpec::default());
    bed.online.token_for("nobody.token", NO_ROLE);
    let plan = bed.plan(
        "c",
        &PlanSpec {
            hsm_token: "nobody.token",
            ..PlanSpec::default()
        },
    );

    let run = bed.unattended("activate", &plan, &pass, &[]);
    // The check cannot tell, says so, and lets the step ask: the HSM refuses the download.
    let warning = format!(
        "warning: the roles could not be read (principal {NO_ROLE} cannot read the HSM's roleAssignments"
    );
    assert!(run.stdout.contains(&warning), "{}", run.stdout);
    run.assert_error(4, "permission denied (403)");
    let line = error_line(&run);
    assert!(
        line.contains(&format!(
            "caller {NO_ROLE} does not have permission to perform data action '{DOWNLOAD_ACTION}'"
        )) && line.contains("/securitydomain/download"),
        "{line}"
    );
    assert!(!out.join("sd/security-domain.json").exists());
    assert_eq!(pending(&bed, "hsm-a", "download").0, 404);
    let t = transcript_path(&out, "activate");
    assert_eq!(events(&t, "roles"), ["step"]);
    let roles = last_entry(&t, "roles");
    assert_eq!(roles["facts"]["role_check"], "not readable", "{roles}");
    // A service error is not a refusal: the download has no entry at all.
    assert!(events(&t, "download").is_empty());
    verify_log(&bed, &t);

    administrator(&bed, &["role", "create-sd-officer", "--assignee", NO_ROLE]);
    let result = finished(&bed, "activate", &plan, &pass);
    assert_eq!(result["outcome"], "complete", "{result}");
    // The role check, recorded as done, is not repeated.
    assert_eq!(events(&t, "roles"), ["step"]);
    assert_eq!(events(&t, "download"), ["step"]);
    assert!(verify_log(&bed, &t).contains("closed"));
}

#[test]
fn an_activation_the_hsm_reports_failed_is_refused_and_followed_when_run_again() {
    let (bed, plan, pass, out) = setup(&PlanSpec::default());
    // The HSM says Failed whenever the download's status is read, until the fault is cleared.
    bed.online.fault("download/pending", "failed", 100);
    let sd = out.join("sd/security-domain.json");

    let run = bed.unattended("activate", &plan, &pass, &[]);
    run.assert_error(
        1,
        &format!(
            "refused: {} reports the security-domain download failed: {INJECTED}",
            bed.online.emu.hsm("hsm-a")
        ),
    );
    let line = error_line(&run);
    assert!(
        line.contains(&format!(
            "the security domain the HSM sent is saved in {}",
            sd.display()
        )) && line.contains("asks for no new security domain"),
        "{line}"
    );
    // What the HSM really did: it activated and sent its security domain, saved here.
    let saved = fs::read(&sd).unwrap();
    let started = hsm_record(&bed, "hsm-a", "download")["started"].clone();
    assert!(started.is_f64(), "{started}");
    let t = transcript_path(&out, "activate");
    assert_eq!(events(&t, "download"), ["refused"]);
    assert!(events(&t, "export-sd").is_empty());
    verify_log(&bed, &t);

    // Run again while the HSM still says Failed: the status is read again, the same
    // refusal follows, and no second security domain is asked for.
    let again = bed.unattended("activate", &plan, &pass, &[]);
    again.assert_error(
        1,
        &format!(
            "{} reports the security-domain download failed: {INJECTED}",
            bed.online.emu.hsm("hsm-a")
        ),
    );
    assert!(
        again.stdout.contains(
            "The security domain was saved before an interruption; following the operation."
        ),
        "{}",
        again.stdout
    );
    assert_eq!(fs::read(&sd).unwrap(), saved);
    assert_eq!(hsm_record(&bed, "hsm-a", "download")["started"], started);
    assert_eq!(events(&t, "download"), ["refused", "refused"]);
    verify_log(&bed, &t);

    // The HSM reports what it did: the run follows the operation to Success and finishes
    // with the security domain of the first run.
    clear_faults(&bed);
    let result = finished(&bed, "activate", &plan, &pass);
    assert_eq!(result["outcome"], "complete", "{result}");
    assert_eq!(events(&t, "download"), ["refused", "refused", "step"]);
    assert_eq!(last_entry(&t, "download")["facts"]["operation"], "Success");
    assert_eq!(fs::read(&sd).unwrap(), saved);
    assert_eq!(hsm_record(&bed, "hsm-a", "download")["started"], started);
    assert!(verify_log(&bed, &t).contains("closed"));
}

#[test]
fn a_recovery_reported_failed_or_an_hsm_not_active_afterwards_is_refused() {
    let (bed, plan, pass, out) = setup(&PlanSpec::default());
    assert_eq!(
        finished(&bed, "activate", &plan, &pass)["outcome"],
        "complete"
    );
    bed.online.fault("upload/pending", "failed", 100);

    let run = bed.unattended("recover", &plan, &pass, &[]);
    run.assert_error(
        1,
        &format!(
            "refused: {} reports the security-domain upload failed: {INJECTED}; if the HSM still reports it failed, running this step again sends the restore blob again",
            bed.online.emu.hsm("hsm-b")
        ),
    );
    let t = transcript_path(&out, "recover-1");
    assert_eq!(events(&t, "upload"), ["refused"]);
    assert!(events(&t, "status").is_empty());
    verify_log(&bed, &t);
    // The HSM did take the blob: only its status answers said otherwise.
    assert_eq!(
        hsm_record(&bed, "hsm-b", "upload")["final_status"],
        "Success"
    );

    // Now the HSM reports the upload as it went. Run again, stopping before the status
    // step: the upload is followed (not sent again) and recorded.
    clear_faults(&bed);
    let plan_arg = plan.display().to_string();
    let pass_arg = pass.display().to_string();
    let words = [
        "recover",
        "--plan",
        &plan_arg,
        "--passphrase-file",
        &pass_arg,
    ];
    let stopped = answering(&bed, &words, "y\n");
    assert_eq!(stopped.code, 0, "{}{}", stopped.stdout, stopped.stderr);
    assert!(
        stopped
            .stdout
            .contains("Stopped before step 10 (Check that the new HSM is active)"),
        "{}",
        stopped.stdout
    );
    assert_eq!(events(&t, "upload"), ["refused", "step"]);
    assert_eq!(last_entry(&t, "upload")["facts"]["operation"], "Success");

    // The new HSM does not report itself Active when the status step reads it.
    bed.online.fault("upload/pending", "failed", 1);
    let run = bed.unattended("recover", &plan, &pass, &[]);
    run.assert_error(
        1,
        &format!(
            "refused: {} reports activation state NotActivated, not Active",
            bed.online.emu.hsm("hsm-b")
        ),
    );
    assert!(bed.online.faults_left().is_empty());
    // The earlier "no" before this step is recorded too.
    assert_eq!(events(&t, "status"), ["stopped", "refused"]);
    assert!(events(&t, "full-restore").is_empty());
    verify_log(&bed, &t);

    let result = finished(&bed, "recover", &plan, &pass);
    assert_eq!(result["outcome"], "complete", "{result}");
    assert_eq!(events(&t, "upload"), ["refused", "step"]);
    assert_eq!(events(&t, "status"), ["stopped", "refused", "step"]);
    assert_eq!(last_entry(&t, "status")["facts"]["activation"], "Active");
    assert!(verify_log(&bed, &t).contains("closed"));
}

/// Custodian `name` exports their share of the SD in `out` to the session certificate in
/// `session` (a folder of the run), into `exports`, as they would on their own device.
fn share_export(bed: &Bed, out: &Path, name: &str, session: &Path, exports: &Path) {
    let pass = bed
        .online
        .fx
        .pass_file(&format!("{name}.pass"), &[&passphrase(name)]);
    let run = bed.online.fx.sdctl(&[
        "sd",
        "share-export",
        "--sd-file",
        &out.join("sd/security-domain.json").display().to_string(),
        "--key",
        &out.join(format!("custodians/{name}.key"))
            .display()
            .to_string(),
        "--to",
        &session.join("session.cer").display().to_string(),
        "--out",
        &exports.join(format!("{name}.jwe")).display().to_string(),
        "--passphrase-file",
        &pass.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{name}: {}", run.stderr);
}

/// What `ceremony status` prints.
fn status_text(bed: &Bed, plan: &Path) -> String {
    let run = bed.ceremony(&["status", "--plan", &plan.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

#[test]
fn a_distributed_recovery_whose_session_key_is_gone_redoes_the_session_and_completes() {
    let (bed, plan, pass, out) = setup(&PlanSpec {
        mode: "distributed",
        ..PlanSpec::default()
    });
    assert_eq!(
        finished(&bed, "activate", &plan, &pass)["outcome"],
        "complete"
    );
    let first = finished(&bed, "recover", &plan, &pass);
    assert_eq!(first["outcome"], "waiting", "{first}");
    let run_dir = out.join("runs/recover-1");
    let (session, exports) = (run_dir.join("session"), run_dir.join("exports"));
    let session_key = session.join("session.key");
    assert!(session_key.exists());
    // The quorum (alice, bob) export their shares to the session's certificate.
    for name in ["alice", "bob"] {
        share_export(&bed, &out, name, &session, &exports);
    }
    let old: Vec<Vec<u8>> = ["alice.jwe", "bob.jwe"]
        .iter()
        .map(|n| fs::read(exports.join(n)).unwrap())
        .collect();
    let old_cert = fs::read(session.join("session.cer")).unwrap();
    // The session key is lost before the exports are opened.
    fs::remove_file(&session_key).unwrap();
    let status = status_text(&bed, &plan);
    assert!(
        status.contains("session: the session key runs/recover-1/session/session.key is gone: run the same command: the session step is redone (a new session key) and the custodians export their shares again"),
        "{status}"
    );

    // The same command: the session step is redone (recorded), a new key pair is made,
    // and the custodians are asked to export again to the new certificate.
    let t = transcript_path(&out, "recover-1");
    let redone = finished(&bed, "recover", &plan, &pass);
    assert_eq!(redone["outcome"], "waiting", "{redone}");
    let (session2, exports2) = (run_dir.join("session-2"), run_dir.join("exports-2"));
    let next = redone["next"].as_str().unwrap();
    assert!(
        next.contains("the session step was redone (recorded)"),
        "{next}"
    );
    for name in ["alice", "bob"] {
        assert!(
            next.contains(&format!(
                "--to {} --out {}",
                session2.join("session.cer").display(),
                exports2.join(format!("{name}.jwe")).display()
            )),
            "{next}"
        );
    }
    assert!(session2.join("session.key").exists());
    assert_eq!(events(&t, "session"), ["step", "redone"]);
    assert!(events(&t, "restore-blob").is_empty());
    let entry = last_entry(&t, "session");
    assert_eq!(entry["facts"]["step"], "session");
    assert!(entry["facts"]["reason"]
        .as_str()
        .unwrap()
        .contains("runs/recover-1/session/session.key is gone"));
    // What the run recorded before stays as it was: the old certificate, the old exports
    // (unused); nothing was built or carried.
    assert_eq!(fs::read(session.join("session.cer")).unwrap(), old_cert);
    let now: Vec<Vec<u8>> = ["alice.jwe", "bob.jwe"]
        .iter()
        .map(|n| fs::read(exports.join(n)).unwrap())
        .collect();
    assert_eq!(now, old);
    assert!(!run_dir.join("restore-blob.json").exists());
    verify_log(&bed, &t);
    // Run again before anyone exported: still waiting, no second redo.
    assert_eq!(
        finished(&bed, "recover", &plan, &pass)["outcome"],
        "waiting"
    );
    assert_eq!(events(&t, "session"), ["step", "redone"]);
    let status = status_text(&bed, &plan);
    assert!(!status.contains("session: the session key"), "{status}");

    // The custodians export again; the recovery completes with the new session.
    for name in ["alice", "bob"] {
        share_export(&bed, &out, name, &session2, &exports2);
    }
    let done = finished(&bed, "recover", &plan, &pass);
    assert_eq!(done["outcome"], "complete", "{done}");
    let blob = last_entry(&t, "restore-blob");
    assert_eq!(blob["event"], "step");
    assert_eq!(blob["facts"]["session"], "session key destroyed");
    assert!(!session2.join("session.key").exists());
    let inputs = blob["inputs"].to_string();
    assert!(
        inputs.contains("runs/recover-1/exports-2/alice.jwe"),
        "{inputs}"
    );
    assert_eq!(last_entry(&t, "status")["facts"]["activation"], "Active");
    verify_log(&bed, &t);
}

/// A distributed recovery killed after its restore blob was written and the session key
/// destroyed, before the step was recorded (simulated: the step's transcript entry is cut
/// off): `ceremony status` says so, and the same command keeps the blob (the custodians are
/// not asked again) and completes.
#[test]
fn a_restore_blob_written_before_an_interruption_is_kept_without_a_new_session() {
    let (bed, plan, pass, out) = setup(&PlanSpec {
        mode: "distributed",
        ..PlanSpec::default()
    });
    finished(&bed, "activate", &plan, &pass);
    assert_eq!(
        finished(&bed, "recover", &plan, &pass)["outcome"],
        "waiting"
    );
    let run_dir = out.join("runs/recover-1");
    let (session, exports) = (run_dir.join("session"), run_dir.join("exports"));
    for name in ["alice", "bob"] {
        share_export(&bed, &out, name, &session, &exports);
    }
    let (plan_arg, pass_arg) = (plan.display().to_string(), pass.display().to_string());
    let words = [
        "recover",
        "--plan",
        &plan_arg,
        "--passphrase-file",
        &pass_arg,
    ];
    // The restore blob is built (step 7); a "no" before the export (step 8).
    let stopped = answering(&bed, &words, "y\nn\n");
    assert_eq!(stopped.code, 0, "{}{}", stopped.stdout, stopped.stderr);
    assert!(
        stopped.stdout.contains("Stopped before step 8"),
        "{}",
        stopped.stdout
    );
    let blob = fs::read(run_dir.join("restore-blob.json")).unwrap();
    assert!(!session.join("session.key").exists());
    // The kill: the step's entry never reached the transcript.
    let t = transcript_path(&out, "recover-1");
    let text = fs::read_to_string(&t).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| !l.contains("\"step\":\"restore-blob\""))
        .collect();
    assert!(kept.len() < text.lines().count());
    fs::write(&t, format!("{}\n", kept.join("\n"))).unwrap();
    let status = status_text(&bed, &plan);
    assert!(
        status.contains("but the restore blob was written before an interruption: run the same command: the blob is kept and the step recorded"),
        "{status}"
    );

    let done = finished(&bed, "recover", &plan, &pass);
    assert_eq!(done["outcome"], "complete", "{done}");
    assert_eq!(events(&t, "session"), ["step"], "no new session");
    let entry = last_entry(&t, "restore-blob");
    assert_eq!(entry["facts"]["written_before_interruption"], true);
    assert_eq!(fs::read(run_dir.join("restore-blob.json")).unwrap(), blob);
    assert!(!run_dir.join("session-2").exists());
    verify_log(&bed, &t);
}

/// The plan's `[hsm] ca_cert` is checked when the HSM is first reached, as `--ca-cert` is:
/// an empty file, or one that holds no certificate, is refused by its path (exit 2) before
/// anything is sent; with the real CA in place, the run goes on.
#[test]
fn a_plan_whose_ca_file_holds_no_certificate_is_refused_naming_it() {
    let bed = Bed::start();
    let pass = bed.passphrases("pass", &CUSTODIANS);
    let ca = bed.online.ca();
    let bad = bed.path("c/bad-ca.pem");
    fs::create_dir_all(bed.path("c")).unwrap();
    let text = bed.plan_text(&PlanSpec::default()).replace(
        &format!("ca_cert = \"{ca}\""),
        &format!("ca_cert = \"{}\"", bad.display()),
    );
    assert!(text.contains("bad-ca.pem"), "{text}");
    let plan = bed.path("c/plan.toml");
    fs::write(&plan, &text).unwrap();
    for (content, expect) in [
        (&b""[..], "empty"),
        (b"not a certificate\n", "holds no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            "not a readable PEM",
        ),
    ] {
        fs::write(&bad, content).unwrap();
        let run = bed.unattended("activate", &plan, &pass, &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let line = error_line(&run);
        assert!(
            line.contains("bad-ca.pem") && line.contains(expect),
            "{line}"
        );
        assert_eq!(
            pending(&bed, "hsm-a", "download").0,
            404,
            "nothing was sent"
        );
    }
    fs::copy(&ca, &bad).unwrap();
    finished(&bed, "activate", &plan, &pass);
}
