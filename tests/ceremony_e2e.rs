//! Every ceremony end to end, unattended, against the emulator: on one machine, and on two
//! (an "air-gapped" and an "online" workspace with bundles carried between them), with the
//! distributed quorum; the refusals of unsafe states; and a scan of everything the
//! ceremonies wrote or printed for passphrases and private-key bytes.

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::Path;

use common::ceremony::{
    copy, files_under, json_run, passphrase, snapshot, transcript, transcript_path, Bed, PlanSpec,
    TwoMachines,
};
use common::Run;

fn ok(run: &Run) -> serde_json::Value {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(!run.stderr.contains("panicked"));
    run.stdout.clone().into()
}

fn verify_log(bed: &Bed, path: &Path) -> String {
    let run = bed.ceremony(&["log", "verify", &path.display().to_string()]);
    ok(&run);
    run.stdout
}

/// The whole life cycle on one machine: activate, a key and a full backup on HSM A, drill,
/// rotate (bob retired, dave added, quorum 3), recover into HSM B with the full restore.
#[test]
fn every_ceremony_runs_unattended_on_one_machine() {
    let bed = Bed::start();
    let plan = bed.plan("c", &PlanSpec::default());
    let pass = bed.passphrases("pass-1", &["alice", "bob", "carol"]);
    let out = bed.path("c/ceremony");

    let result = json_run(&bed, "activate", &plan, &pass, &[]);
    assert_eq!(result["outcome"], "complete");
    assert_eq!(result["steps_finished"], result["steps_total"]);
    assert!(out.join("sd/security-domain.json").exists());
    for name in ["alice", "bob", "carol"] {
        assert_eq!(
            common::mode_of(&out.join(format!("custodians/{name}.key"))),
            0o600
        );
    }
    let again = json_run(&bed, "activate", &plan, &pass, &[]);
    assert_eq!(again["outcome"], "complete");
    assert!(again["next"].as_str().unwrap().contains("already complete"));

    bed.online.emu.grant_crypto_user("hsm-a");
    ok(&bed.online.hsm("hsm-a", &["key", "create", "payroll-key"]));
    let backups = bed.path("backups");
    fs::create_dir_all(&backups).unwrap();
    let token = bed.online.fx.pass_file("sas.txt", &["sas-token-for-tests"]);
    let uri = format!("file://{}", backups.display());
    let backup = bed.online.hsm(
        "hsm-a",
        &[
            "backup",
            "--storage-uri",
            &uri,
            "--token-file",
            &token.display().to_string(),
        ],
    );
    ok(&backup);
    let folder = backup
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup folder: "))
        .unwrap()
        .trim()
        .to_owned();

    let drill = json_run(&bed, "drill", &plan, &pass, &[]);
    assert_eq!(drill["run"], "drill-1");
    let steps: Vec<String> = transcript(&transcript_path(&out, "drill-1"))
        .iter()
        .map(|e| e["step"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        steps,
        [
            "open",
            "prove:alice",
            "prove:bob",
            "prove:carol",
            "drill",
            "close"
        ]
    );

    // Rotation: the plan is edited in place.
    let spec = PlanSpec {
        custodians: &["alice", "carol", "dave"],
        quorum: 3,
        recovery_extra: &format!("backup_storage_uri = \"{uri}\"\nbackup_folder = \"{folder}\"\nbackup_token_file = \"{}\"\n", token.display()),
        ..PlanSpec::default()
    };
    let plan = bed.plan("c", &spec);
    let pass = bed.passphrases("pass-2", &["alice", "carol", "dave", "bob"]);
    let rotate = json_run(&bed, "rotate", &plan, &pass, &[]);
    assert_eq!(rotate["outcome"], "complete");
    let state: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(
        state["current_sd"]["path"],
        "sd/security-domain-rotate-1.json"
    );
    assert_eq!(state["current_sd"]["quorum"], 3);
    assert_eq!(state["retired_sds"][0]["path"], "sd/security-domain.json");
    let record = fs::read_to_string(out.join("runs/rotate-1/record.md")).unwrap();
    assert!(record.contains("retired"), "{record}");

    let recover = json_run(&bed, "recover", &plan, &pass, &[]);
    assert_eq!(recover["outcome"], "complete");
    let entries = transcript(&transcript_path(&out, "recover-1"));
    let restore = entries
        .iter()
        .find(|e| e["step"] == "full-restore")
        .unwrap();
    assert_eq!(restore["facts"]["backup_folder"], folder.as_str());
    let show = bed.online.hsm("hsm-b", &["key", "show", "payroll-key"]);
    ok(&show);
    let status = bed.online.hsm("hsm-b", &["status"]);
    assert!(status.stdout.contains("Active"), "{}", status.stdout);

    for run in ["activate", "drill-1", "rotate-1", "recover-1"] {
        let path = transcript_path(&out, run);
        assert!(verify_log(&bed, &path).contains("closed"));
        assert!(out.join(format!("runs/{run}/record.html")).exists());
    }
    let status = bed.ceremony(&["status", "--plan", &plan.display().to_string()]);
    ok(&status);
    assert!(
        status.stdout.contains("security-domain-rotate-1.json"),
        "{}",
        status.stdout
    );
    scan_for_secrets(
        &out,
        &[&bed.path("logs")],
        &["alice", "bob", "carol", "dave"],
    );
}

#[test]
fn activate_and_recover_span_two_machines_with_a_distributed_quorum() {
    let m = TwoMachines::new("distributed");
    let first = m.run("activate", "offline", &[]);
    assert_eq!(first["outcome"], "handoff");
    assert!(first["next"].as_str().unwrap().contains("--machine online"));
    let status = m
        .bed
        .ceremony(&["status", "--plan", &m.offline.display().to_string()]);
    ok(&status);
    assert!(
        status.stdout.contains("next: step 7/13: Import the public bundle on the online machine (who: operator and witnesses; machine: online)"),
        "{}",
        status.stdout
    );
    m.carry("public-bundle.json", "offline", "online");
    let online = m.run("activate", "online", &[]);
    assert_eq!(online["outcome"], "handoff");
    assert!(
        !m.out("online").join("custodians").exists(),
        "no key material online"
    );
    m.carry("security-domain-bundle.json", "online", "offline");
    // The witnesses' digest, given as --expect-sha256.
    let digest = sha256_hex(
        &fs::read(
            m.out("offline")
                .join("transfer/security-domain-bundle.json"),
        )
        .unwrap(),
    );
    let last = m.run("activate", "offline", &["--expect-sha256", &digest]);
    assert_eq!(last["outcome"], "complete");
    let offline_t = fs::read_to_string(transcript_path(&m.out("offline"), "activate")).unwrap();
    let online_t = fs::read_to_string(transcript_path(&m.out("online"), "activate")).unwrap();
    assert!(
        offline_t.starts_with(&online_t),
        "one chain across both machines"
    );
    let machines: Vec<String> = transcript(&transcript_path(&m.out("offline"), "activate"))
        .iter()
        .map(|e| e["machine"].as_str().unwrap().to_owned())
        .collect();
    assert!(machines.contains(&"online".to_owned()) && machines.contains(&"offline".to_owned()));

    // Recovery: starts online, the exports come from the custodians' own devices.
    let r1 = m.run("recover", "online", &[]);
    assert_eq!(r1["outcome"], "handoff");
    m.carry("exchange-key-bundle.json", "online", "offline");
    let r2 = m.run("recover", "offline", &[]);
    assert_eq!(r2["outcome"], "waiting", "{r2}");
    let next = r2["next"].as_str().unwrap();
    assert!(next.contains("sdctl sd share-export"), "{next}");
    let out = m.out("offline");
    let session_cert = out.join("runs/recover-1/session/session.cer");
    for (i, name) in ["alice", "bob"].iter().enumerate() {
        // Each custodian on their own device: only their key and their passphrase.
        let device = m.bed.path(&format!("device-{name}"));
        fs::create_dir_all(&device).unwrap();
        copy(
            &out.join(format!("custodians/{name}.key")),
            &device.join(format!("{name}.key")),
        );
        copy(
            &out.join(format!("custodians/{name}.cer")),
            &device.join(format!("{name}.cer")),
        );
        let pass = m
            .bed
            .online
            .fx
            .pass_file(&format!("device-{name}/pass"), &[&passphrase(name)]);
        let export = out.join(format!("runs/recover-1/exports/{name}.jwe"));
        let run = m.bed.online.fx.sdctl(&[
            "sd",
            "share-export",
            "--sd-file",
            &out.join("sd/security-domain.json").display().to_string(),
            "--key",
            &device.join(format!("{name}.key")).display().to_string(),
            "--to",
            &session_cert.display().to_string(),
            "--out",
            &export.display().to_string(),
            "--passphrase-file",
            &pass.display().to_string(),
        ]);
        assert_eq!(run.code, 0, "custodian {i} {name}: {}", run.stderr);
    }
    let r3 = m.run("recover", "offline", &[]);
    assert_eq!(r3["outcome"], "handoff", "{r3}");
    assert!(
        !out.join("runs/recover-1/session/session.key").exists(),
        "session key destroyed"
    );
    m.carry("restore-blob-bundle.json", "offline", "online");
    let r4 = m.run("recover", "online", &[]);
    assert_eq!(r4["outcome"], "complete", "{r4}");
    // Each machine closed its own part: the next recovery starts a new run on both, and the
    // bundles left from this one are not taken for the new run's.
    for (machine, run) in [("offline", "recover-1"), ("online", "activate")] {
        let state: serde_json::Value =
            serde_json::from_slice(&fs::read(m.out(machine).join("state.json")).unwrap()).unwrap();
        let entry = state["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run)
            .unwrap();
        assert_eq!(entry["closed"], true, "{machine} {run}: {state}");
    }
    // (HSM B is active now, so the new run stops at the exchange key, as it should.)
    let online_plan = m.online.display().to_string();
    let run = m.bed.ceremony(&[
        "recover",
        "--plan",
        &online_plan,
        "--machine",
        "online",
        "--yes",
        "--transfer-code-file",
        &m.code,
    ]);
    assert!(run.stdout.contains("(run recover-2)"), "{}", run.stdout);
    run.assert_error(4, "already activated");
    assert!(verify_log(&m.bed, &transcript_path(&m.out("online"), "recover-1")).contains("closed"));
    scan_for_secrets(
        &m.out("offline"),
        &[&m.out("online"), &m.bed.path("logs")],
        &["alice", "bob", "carol"],
    );
}

#[test]
fn unsafe_states_are_refused_with_the_reason() {
    let m = TwoMachines::new("together");
    let plan = m.offline.display().to_string();
    // No --machine on a two-machine plan.
    m.bed
        .ceremony(&["activate", "--plan", &plan, "--yes"])
        .assert_error(2, "--machine offline");
    // An unattended two-machine run without the transfer code: nothing authenticates its
    // bundles.
    m.bed
        .ceremony(&["activate", "--plan", &plan, "--machine", "offline", "--yes"])
        .assert_error(2, "needs the run's transfer code from a 0600 file");
    // Air-gapped part with a network up and no --allow-network (the test machine has one).
    if !sdctl::ceremony::safety::network_interfaces_up().is_empty() {
        m.bed
            .ceremony(&[
                "activate",
                "--plan",
                &plan,
                "--machine",
                "offline",
                "--yes",
                "--transfer-code-file",
                &m.code,
            ])
            .assert_error(1, "network interface");
    }
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "handoff");
    m.carry("public-bundle.json", "offline", "online");

    // A private key on the online machine.
    let stray = m.bed.path("online/alice.key");
    copy(&m.out("offline").join("custodians/alice.key"), &stray);
    let online_plan = m.online.display().to_string();
    let pass = m.pass.display().to_string();
    let words = [
        "activate",
        "--plan",
        &online_plan,
        "--machine",
        "online",
        "--yes",
        "--passphrase-file",
        &pass,
        "--transfer-code-file",
        &m.code,
    ];
    m.bed
        .ceremony(&words)
        .assert_error(1, "private key material found on the online machine");
    fs::remove_file(&stray).unwrap();

    // The wrong witnessed digest: refused, and nothing of the run is kept.
    let before = snapshot(&m.bed.path("online"));
    let mut wrong = words.to_vec();
    wrong.extend_from_slice(&["--expect-sha256", "00"]);
    m.bed
        .ceremony(&wrong)
        .assert_error(1, "differs from --expect-sha256");
    assert_eq!(
        snapshot(&m.bed.path("online")),
        before,
        "a refused import keeps nothing"
    );

    // A plan changed in the middle of a run.
    assert_eq!(m.run("activate", "online", &[])["outcome"], "handoff");
    m.carry("security-domain-bundle.json", "online", "offline");
    let mut text = fs::read_to_string(&m.offline).unwrap();
    text = text.replace(
        "operator = \"Olivia Operator\"",
        "operator = \"Somebody Else\"",
    );
    fs::write(&m.offline, &text).unwrap();
    m.attempt("activate", "offline", &[])
        .assert_error(1, "the plan changed since run activate began");

    // Bad plans.
    let bad = m.bed.plan(
        "bad",
        &PlanSpec {
            quorum: 1,
            ..PlanSpec::default()
        },
    );
    m.bed
        .ceremony(&["activate", "--plan", &bad.display().to_string(), "--yes"])
        .assert_error(2, "quorum below 2");
    let real = m.bed.path("bad/real.toml");
    let text = m.bed.plan_text(&PlanSpec::default()).replacen(
        &format!("url = \"{}\"", m.bed.online.emu.hsm("hsm-a")),
        "name = \"contoso-prod\"",
        1,
    );
    fs::write(&real, text).unwrap();
    m.bed
        .ceremony(&["activate", "--plan", &real.display().to_string(), "--yes"])
        .assert_error(
            2,
            "[hsm] (name = \"contoso-prod\"): refused with [ceremony] machines = \"one\"",
        );
}

#[test]
fn a_tampered_security_domain_bundle_is_refused() {
    let m = TwoMachines::new("together");
    let first = m.run("activate", "offline", &[]);
    assert_eq!(first["outcome"], "handoff", "{first}");
    m.carry("public-bundle.json", "offline", "online");
    let online = m.run("activate", "online", &[]);
    assert_eq!(online["outcome"], "handoff", "{online}");
    m.carry("security-domain-bundle.json", "online", "offline");
    let path = m
        .out("offline")
        .join("transfer/security-domain-bundle.json");
    let original = fs::read(&path).unwrap();
    let mut bundle: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let sd = bundle["payload"]["security_domain"]
        .as_str()
        .unwrap()
        .replacen("\"required\":2", "\"required\":3", 1);
    bundle["payload"]["security_domain"] = sd.into();
    common::ceremony::write_bundle(&path, &bundle);
    m.attempt("activate", "offline", &[])
        .assert_error(3, "security-domain-bundle.json: its MAC does not verify");
    assert!(!m.out("offline").join("sd/security-domain.json").exists());

    // The genuine bundle, but another security domain already kept here: never replaced.
    fs::write(&path, &original).unwrap();
    let kept = m.out("offline").join("sd/security-domain.json");
    fs::create_dir_all(kept.parent().unwrap()).unwrap();
    let other = bed_sd_of_other_custodians(&m);
    fs::write(&kept, &other).unwrap();
    m.attempt("activate", "offline", &[])
        .assert_error(1, "already holds a different security domain");
    assert_eq!(fs::read(&kept).unwrap(), other);
}

/// The security domain the online machine saved, with one byte of its data changed: a file
/// that is not the one in the bundle.
fn bed_sd_of_other_custodians(m: &TwoMachines) -> Vec<u8> {
    let mut sd = fs::read(m.out("online").join("sd/security-domain.json")).unwrap();
    let at = sd.len() / 2;
    sd[at] = if sd[at] == b'A' { b'B' } else { b'A' };
    sd
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// No passphrase, and no byte run of any custodian's private key (decrypted with openssl, or
/// as its encrypted PEM), in any transcript, record, bundle, state or log.
fn scan_for_secrets(workspace: &Path, others: &[&Path], names: &[&str]) {
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for name in names {
        needles.push((
            format!("{name}'s passphrase"),
            passphrase(name).into_bytes(),
        ));
        let key = workspace.join(format!("custodians/{name}.key"));
        if !key.exists() {
            continue;
        }
        let pem = fs::read_to_string(&key).unwrap();
        for line in pem.lines().filter(|l| l.len() == 64) {
            needles.push((format!("{name}'s encrypted key"), line.as_bytes().to_vec()));
        }
        let der = std::process::Command::new("openssl")
            .args([
                "pkey",
                "-in",
                &key.display().to_string(),
                "-outform",
                "DER",
                "-passin",
                &format!("pass:{}", passphrase(name)),
            ])
            .output()
            .unwrap();
        assert!(der.status.success(), "openssl opens {name}'s key");
        for chunk in der.stdout.chunks(24).filter(|c| c.len() == 24).skip(2) {
            needles.push((format!("{name}'s private key bytes"), chunk.to_vec()));
        }
    }
    // The needles are real: every custodian's key material yields many of them.
    assert!(
        needles.len() > names.len() * 20,
        "{} needles",
        needles.len()
    );
    let mut scanned = 0;
    let roots: Vec<&Path> = std::iter::once(workspace)
        .chain(others.iter().copied())
        .collect();
    for root in roots {
        for file in files_under(root) {
            let rel = file.display().to_string();
            if rel.contains("/custodians/") || rel.ends_with(".key") {
                continue;
            }
            let bytes = fs::read(&file).unwrap();
            scanned += 1;
            for (what, needle) in &needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{what} found in {rel}"
                );
            }
        }
    }
    assert!(scanned > 10, "the scan saw {scanned} files");
}

/// The refusals a step makes, each fed its bad state: the message names the problem and
/// the exit code is the documented one.
#[test]
fn steps_refuse_what_they_cannot_do_safely() {
    let bed = Bed::start();
    let plan = bed.plan("c", &PlanSpec::default());
    let pass = bed.passphrases("pass", &["alice", "bob", "carol"]);
    let out = bed.path("c/ceremony");
    let plan_arg = plan.display().to_string();

    bed.ceremony(&[
        "activate",
        "--plan",
        &plan_arg,
        "--machine",
        "offline",
        "--yes",
    ])
    .assert_error(2, "leave --machine out");
    bed.unattended("drill", &plan, &pass, &[])
        .assert_error(1, "no security domain here yet");
    let bare = bed.path("c/no-recovery.toml");
    let text = bed.plan_text(&PlanSpec::default());
    fs::write(&bare, &text[..text.find("[recovery]").unwrap()]).unwrap();
    bed.unattended("recover", &bare, &pass, &[])
        .assert_error(2, "a recovery needs the new HSM: add [recovery] hsm");

    // A key without its certificate is never replaced by a second key.
    fs::create_dir_all(out.join("custodians")).unwrap();
    fs::write(out.join("custodians/alice.key"), "not a key").unwrap();
    bed.unattended("activate", &plan, &pass, &[])
        .assert_error(1, "alice.key exists without its certificate");
    assert_eq!(
        fs::read(out.join("custodians/alice.key")).unwrap(),
        b"not a key"
    );
    fs::remove_file(out.join("custodians/alice.key")).unwrap();

    ok(&bed.unattended("activate", &plan, &pass, &[]));
    // A custodian's key that is not on the air-gapped machine when their turn comes.
    let bob = out.join("custodians/bob.key");
    fs::rename(&bob, bed.path("bob.key")).unwrap();
    bed.unattended("drill", &plan, &pass, &[])
        .assert_error(1, "custodian bob's key is not here");
    fs::rename(bed.path("bob.key"), &bob).unwrap();
    ok(&bed.unattended("drill", &plan, &pass, &[]));
    bed.unattended("rotate", &plan, &pass, &[])
        .assert_error(1, "nothing to rotate");
    let record = fs::read_to_string(out.join("runs/rotate-1/record.md")).unwrap();
    let record = record.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        record.contains("nothing to rotate"),
        "the refusal is in the record"
    );
}

/// Runs sdctl with `answers` typed on standard input, one line each.
fn with_answers(bed: &Bed, args: &[&str], answers: &str) -> Run {
    common::sdctl_in(&bed.path(""), args, &[], Some(answers.as_bytes()))
}

/// The one `sdctl:` line of a failed run.
fn one_error_line(run: &Run) -> String {
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("sdctl: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    errors[0].to_owned()
}

#[test]
fn an_attended_import_asks_the_operator_for_the_transfer_code() {
    let m = TwoMachines::new("together");
    m.run("activate", "offline", &[]);
    m.carry("public-bundle.json", "offline", "online");
    let plan = m.online.display().to_string();
    let args = [
        "ceremony",
        "activate",
        "--plan",
        &plan,
        "--machine",
        "online",
    ];
    let code = fs::read_to_string(&m.code).unwrap().trim().to_owned();
    let before = snapshot(&m.bed.path("online"));
    // Another run's code (well formed): the bundle does not authenticate; nothing is kept.
    let other = m.bed.transfer_code("other.code");
    let other = fs::read_to_string(other).unwrap();
    let run = with_answers(&m.bed, &args, &format!("y\n{other}"));
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(one_error_line(&run).contains("its MAC does not verify"));
    assert_eq!(
        snapshot(&m.bed.path("online")),
        before,
        "a refused import keeps nothing"
    );
    // Mistyped three times: asked again each time, then refused.
    let mistyped = code.replacen(&code[..1], if &code[..1] == "A" { "B" } else { "A" }, 1);
    let run = with_answers(&m.bed, &args, &format!("y\n{mistyped}\nabc\n\n"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("attempt 3 of 3"), "{}", run.stderr);
    assert!(run.stdout.contains("was mistyped"), "{}", run.stdout);
    assert!(one_error_line(&run).contains("no transfer code was typed correctly"));
    assert_eq!(snapshot(&m.bed.path("online")), before);
    // A slip, then the code as written down (lower case, dashes): the import goes on.
    let typed = code.to_lowercase().replace(' ', "-");
    let run = with_answers(&m.bed, &args, &format!("y\n{mistyped}\n{typed}\nn\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Stopped before step 8"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("authenticated (transfer code typed by the operator)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(&code) && !run.stderr.contains(&code));
    // Kept for the run's next bundles, readable by its owner only.
    let kept = m.out("online").join("runs/activate/transfer-code");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&kept).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let entries = transcript(&transcript_path(&m.out("online"), "activate"));
    let imported = entries.iter().find(|e| e["event"] == "imported").unwrap();
    assert_eq!(
        imported["facts"]["authenticated"],
        "transfer code typed by the operator"
    );
    let text = fs::read_to_string(transcript_path(&m.out("online"), "activate")).unwrap();
    assert!(!text.contains(&code[..9]), "the code is never recorded");
}

#[test]
fn a_re_encoded_bundle_is_refused_on_import_and_nothing_is_kept() {
    let m = TwoMachines::new("together");
    m.run("activate", "offline", &[]);
    // The copy that reaches the online machine differs in bytes, not in its members (so its
    // MAC would still verify): it is refused before anything is activated, since the
    // digest it would be recorded under is not the one the air-gapped machine wrote.
    let written = fs::read(m.out("offline").join("transfer/public-bundle.json")).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&written).unwrap();
    let dest = m.out("online").join("transfer/public-bundle.json");
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::write(&dest, serde_json::to_vec(&value).unwrap()).unwrap();
    let before = snapshot(&m.bed.path("online"));
    m.attempt("activate", "online", &[])
        .assert_error(2, "not byte for byte as sdctl writes a bundle");
    assert_eq!(snapshot(&m.bed.path("online")), before);
    fs::write(&dest, &written).unwrap();
    assert_eq!(m.run("activate", "online", &[])["outcome"], "handoff");
}

/// An attended two-machine activation driven through standard input: the air-gapped
/// machine shows the run's transfer code once, the operator types it on the online machine,
/// and the bundles back authenticate under the code each machine keeps.
#[test]
fn an_attended_two_machine_activation_carries_the_code_on_paper() {
    let m = TwoMachines::new("together");
    let offline = m.offline.display().to_string();
    let online = m.online.display().to_string();
    let pass = m.pass.display().to_string();
    let yes = "y\n".repeat(20);
    let run_on = |plan: &str, machine: &str, answers: &str| {
        let mut args = vec![
            "ceremony",
            "activate",
            "--plan",
            plan,
            "--machine",
            machine,
            "--passphrase-file",
            &pass,
        ];
        if machine == "offline" {
            args.push("--allow-network");
        }
        let run = with_answers(&m.bed, &args, answers);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        run
    };
    // Step 1 only: the witnesses confirm the plan, the code is shown and written down,
    // then the operator stops before step 2.
    let first = run_on(&offline, "offline", "y\ny\ny\nn\n");
    let kept = fs::read_to_string(m.out("offline").join("runs/activate/transfer-code")).unwrap();
    let code = kept.trim();
    assert_eq!(code.len(), 29, "{code}");
    assert_eq!(first.stdout.matches(code).count(), 1, "{}", first.stdout);
    assert!(first.stdout.contains("Write it down on paper now"));
    let opened = common::ceremony::transcript(&transcript_path(&m.out("offline"), "activate"));
    assert_eq!(
        opened[0]["facts"]["transfer_code"],
        "transfer code made on this machine"
    );
    // Resumed: never shown again.
    let rest = run_on(&offline, "offline", &yes);
    assert!(!rest.stdout.contains(code), "{}", rest.stdout);
    m.carry("public-bundle.json", "offline", "online");
    let typed = run_on(&online, "online", &format!("y\n{code}\n{yes}"));
    assert!(typed
        .stdout
        .contains("authenticated (transfer code typed by the operator)"));
    m.carry("security-domain-bundle.json", "online", "offline");
    let last = run_on(&offline, "offline", &yes);
    assert!(
        last.stdout
            .contains("authenticated (transfer code kept on this machine)"),
        "{}",
        last.stdout
    );
    assert!(last
        .stdout
        .contains("Ceremony activate (activate) complete"));
    for machine in ["offline", "online"] {
        let text = fs::read_to_string(transcript_path(&m.out(machine), "activate")).unwrap();
        assert!(!text.contains(&code[..14]), "the code is never recorded");
        for bundle in fs::read_dir(m.out(machine).join("transfer")).unwrap() {
            let bytes = fs::read_to_string(bundle.unwrap().path()).unwrap();
            assert!(
                !bytes.contains(&code[..14]),
                "the code never goes on the medium"
            );
        }
    }
}

/// A machine that keeps a run's transfer code refuses another code file for that run
/// (exit 2, naming where the run's code is kept), before any step.
#[test]
fn another_runs_transfer_code_file_is_refused_where_the_run_keeps_its_code() {
    let m = TwoMachines::new("together");
    assert_eq!(m.run("activate", "offline", &[])["outcome"], "handoff");
    let other = m.bed.transfer_code("other.code").display().to_string();
    let before = snapshot(&m.out("offline"));
    let plan = m.offline.display().to_string();
    let pass = m.pass.display().to_string();
    m.bed
        .ceremony(&[
            "activate",
            "--plan",
            &plan,
            "--machine",
            "offline",
            "--allow-network",
            "--yes",
            "--passphrase-file",
            &pass,
            "--transfer-code-file",
            &other,
        ])
        .assert_error(2, "the code is not run activate's (kept in");
    assert_eq!(snapshot(&m.out("offline")), before);
}
