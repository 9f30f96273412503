//! `sdctl ceremony audit` over real ceremony folders made by the CLI against the emulator:
//! a one-machine life cycle and a two-machine activation audit clean (exit 0); each
//! tampering a witness could meet (a file named by digest changed, a transcript line
//! removed, a bundle differing between the machines, the security domain swapped for
//! another valid one, a wrong final digest) is one `FINDING` line naming the file (exit 1).

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::ceremony::{json_run, transcript_path, Bed, PlanSpec, TwoMachines};
use common::Run;

/// `sdctl ceremony audit ARGS...`.
fn audit(bed: &Bed, args: &[&str]) -> Run {
    let mut words = vec!["audit"];
    words.extend_from_slice(args);
    bed.ceremony(&words)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The final digest of a run's transcript: the hash at the end of its last line.
fn final_digest(out: &Path, run: &str) -> String {
    let text = fs::read_to_string(transcript_path(out, run)).unwrap();
    let last = text.lines().last().unwrap();
    last[last.len() - 66..last.len() - 2].to_owned()
}

/// Copies the folder `from` to `to` (a fresh copy to tamper with).
fn copy_tree(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// An audit that must pass.
fn clean(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("No findings"), "{}", run.stdout);
    assert!(!run.stdout.contains("FINDING"), "{}", run.stdout);
}

/// An audit that must fail with a finding on `file` containing `problem`.
fn finding(run: &Run, file: &Path, problem: &str) {
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let want = format!("FINDING {}: ", file.display());
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with(&want) && l.contains(problem)),
        "no finding '{want}...{problem}' in:\n{}",
        run.stdout
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

/// Flips one base64 character in the middle of a PEM or JSON file (still text, still parses
/// as far as a quick look goes).
fn change_a_byte(path: &Path) {
    let mut data = fs::read(path).unwrap();
    let at = data.len() / 2;
    data[at] = if data[at] == b'A' { b'B' } else { b'A' };
    fs::write(path, data).unwrap();
}

/// Removes line `n` (1-based) of a text file.
fn remove_line(path: &Path, n: usize) {
    let text = fs::read_to_string(path).unwrap();
    let kept: String = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(i, _)| i + 1 != n)
        .map(|(_, l)| l)
        .collect();
    fs::write(path, kept).unwrap();
}

/// The life cycle on one machine (activate, drill, rotate, recover) audits clean with every
/// final digest expected; then each tampering of a copy is named.
#[test]
fn a_one_machine_life_cycle_audits_clean_and_each_tampering_is_named() {
    let bed = Bed::start();
    let plan = bed.plan("c", &PlanSpec::default());
    let pass = bed.passphrases("pass-1", &["alice", "bob", "carol"]);
    let out = bed.path("c/ceremony");
    json_run(&bed, "activate", &plan, &pass, &[]);
    json_run(&bed, "drill", &plan, &pass, &[]);
    let spec = PlanSpec {
        custodians: &["alice", "carol", "dave"],
        quorum: 3,
        ..PlanSpec::default()
    };
    let plan = bed.plan("c", &spec);
    let pass = bed.passphrases("pass-2", &["alice", "carol", "dave", "bob"]);
    json_run(&bed, "rotate", &plan, &pass, &[]);
    json_run(&bed, "recover", &plan, &pass, &[]);

    let runs = ["activate", "drill-1", "rotate-1", "recover-1"];
    let expects: Vec<String> = runs
        .iter()
        .map(|r| format!("{r}={}", final_digest(&out, r).to_uppercase()))
        .collect();
    let mut args = vec![s(&out)];
    for e in &expects {
        args.extend(["--expect".to_owned(), e.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = audit(&bed, &args);
    clean(&run);
    assert!(
        run.stdout.contains("Retired: sd/security-domain.json"),
        "{}",
        run.stdout
    );
    for r in runs {
        assert!(
            run.stdout.contains(&format!("Run {r} in ")),
            "{}",
            run.stdout
        );
    }
    // JSON: the runs, no findings, the retired domain.
    let json = audit(&bed, &[&s(&out), "--output", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["result"]["runs"].as_array().unwrap().len(), 4);
    assert_eq!(v["result"]["findings"], serde_json::json!([]));
    assert_eq!(v["result"]["retired"][0]["run"], "rotate-1");

    let copy = bed.path("tampered");
    // A certificate (named by digest at the rotation's check-keys) with a byte changed.
    copy_tree(&out, &copy);
    let cert = copy.join("custodians/alice.cer");
    change_a_byte(&cert);
    finding(&audit(&bed, &[&s(&copy)]), &cert, "changed: its SHA-256 is");

    // The security domain in force with a byte changed: the transcript's and the state's
    // digests both differ.
    copy_tree(&out, &copy);
    let sd = copy.join("sd/security-domain-rotate-1.json");
    change_a_byte(&sd);
    let run = audit(&bed, &[&s(&copy)]);
    finding(&run, &sd, "recorded");
    finding(&run, &sd, "state.json records");

    // A removed transcript line breaks the chain there.
    copy_tree(&out, &copy);
    let t = transcript_path(&copy, "drill-1");
    remove_line(&t, 3);
    finding(&audit(&bed, &[&s(&copy)]), &t, "line 3: entry number 4");

    // The last line removed: the chain holds, the expected final digest does not.
    copy_tree(&out, &copy);
    let t = transcript_path(&copy, "activate");
    remove_line(&t, 13);
    let expect = format!("activate={}", final_digest(&out, "activate"));
    finding(
        &audit(&bed, &[&s(&copy), "--expect", &expect]),
        &t,
        "differs from the expected",
    );

    // A wrong --expect on the untouched folder.
    let wrong = format!("drill-1={}", final_digest(&out, "activate"));
    finding(
        &audit(&bed, &[&s(&out), "--expect", &wrong]),
        &transcript_path(&out, "drill-1"),
        "differs from the expected",
    );
    // Bad usage: a digest without a run over four runs, an unknown run, no folder.
    let digest = final_digest(&out, "activate");
    audit(&bed, &[&s(&out), "--expect", &digest]).assert_error(2, "needs exactly one run");
    let unknown = format!("drill-9={digest}");
    audit(&bed, &[&s(&out), "--expect", &unknown])
        .assert_error(2, "no audited folder holds run 'drill-9'");
    audit(&bed, &[&s(&bed.path("c"))]).assert_error(2, "not a ceremony output folder");
}

/// The activation across two machines (both folders given) audits clean; a bundle that
/// differs between the machines, a transcript line removed on one machine, and a security
/// domain swapped for another valid one (HSM B's, to the same certificates) are named.
#[test]
fn a_two_machine_activation_audits_clean_and_each_tampering_is_named() {
    let m = TwoMachines::new("together");
    m.run("activate", "offline", &[]);
    m.carry("public-bundle.json", "offline", "online");
    m.run("activate", "online", &[]);
    m.carry("security-domain-bundle.json", "online", "offline");
    let last = m.run("activate", "offline", &[]);
    assert_eq!(last["outcome"], "complete", "{last}");
    let (off, on) = (m.out("offline"), m.out("online"));
    let digest = final_digest(&off, "activate");
    // One run in both folders: the digest alone names it; --other is the second folder.
    clean(&audit(&m.bed, &[&s(&off), &s(&on), "--expect", &digest]));
    clean(&audit(
        &m.bed,
        &[&s(&on), "--other", &s(&off), "--expect", &digest],
    ));
    // Each folder on its own also audits clean.
    clean(&audit(&m.bed, &[&s(&off)]));
    clean(&audit(&m.bed, &[&s(&on)]));

    let copies = |name: &str| -> (PathBuf, PathBuf) {
        let (a, b) = (
            m.bed.path(&format!("{name}-off")),
            m.bed.path(&format!("{name}-on")),
        );
        copy_tree(&off, &a);
        copy_tree(&on, &b);
        (a, b)
    };

    // The writer's copy of the security-domain bundle differs from the one the air-gapped
    // machine imported (same payload, another byte): only the two folders together show it.
    let (a, b) = copies("bundle");
    let written = b.join("transfer/security-domain-bundle.json");
    let mut bytes = fs::read(&written).unwrap();
    bytes.insert(bytes.len() - 1, b' ');
    fs::write(&written, bytes).unwrap();
    clean(&audit(&m.bed, &[&s(&b)]));
    finding(
        &audit(&m.bed, &[&s(&a), &s(&b)]),
        &written,
        "differs between the machines",
    );

    // The public bundle changed on the air-gapped machine after the online one imported it.
    let (a, b) = copies("public");
    let public = a.join("transfer/public-bundle.json");
    let text = fs::read_to_string(&public).unwrap();
    fs::write(&public, text.replacen("\"quorum\": 2", "\"quorum\": 3", 1)).unwrap();
    let run = audit(&m.bed, &[&s(&a), &s(&b)]);
    finding(&run, &public, "changed: its payload's SHA-256");
    finding(&run, &public, "differs between the machines");

    // A line removed from the online machine's transcript: its chain breaks there, and
    // the bundle it wrote carries more than it now holds.
    let (a, b) = copies("line");
    let t = transcript_path(&b, "activate");
    remove_line(&t, 9);
    let run = audit(&m.bed, &[&s(&a), &s(&b)]);
    finding(&run, &t, "line 9:");

    // The last line removed on the online machine: the chain holds, but the bundle it
    // wrote carries the removed entry.
    let (a, b) = copies("cut");
    let t = transcript_path(&b, "activate");
    let lines = fs::read_to_string(&t).unwrap().lines().count();
    remove_line(&t, lines);
    finding(
        &audit(&m.bed, &[&s(&a), &s(&b)]),
        &b.join("transfer/security-domain-bundle.json"),
        "lines were removed from the end",
    );

    // The security domain swapped for another valid one: HSM B's, downloaded to the same
    // custodians' certificates with the same quorum.
    let (a, b) = copies("swap");
    let certs: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| s(&off.join(format!("custodians/{n}.cer"))))
        .collect();
    let other = m.bed.path("hsm-b-sd.json");
    let mut words = vec!["download", "--sd-wrapping-keys"];
    words.extend(certs.iter().map(String::as_str));
    let other_s = s(&other);
    words.extend(["--sd-quorum", "2", "--security-domain-file", &other_s]);
    let run = m.bed.online.hsm("hsm-b", &words);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sd = a.join("sd/security-domain.json");
    fs::copy(&other, &sd).unwrap();
    let run = audit(&m.bed, &[&s(&a), &s(&b)]);
    finding(&run, &sd, "changed: its SHA-256 is");
    finding(&run, &sd, "state.json records");
}
