//! Who forms the quorum, chosen at the step without editing the plan, and a passphrase
//! file's wrong line, through the real CLI against the emulator:
//!
//! - `--quorum-custodians alice,carol` on an unattended activation: the drill is done by
//!   alice and carol (bob's passphrase line is wrong, so the plan's quorum alice, bob
//!   cannot do it: exit 3 naming the file and the line), recorded as `quorum_chosen`,
//!   `substitutes`, `quorum_chosen_by`; the plan is untouched;
//! - the same choice typed at the drill's question of an attended `ceremony drill`, after
//!   refused answers (an unknown name, too few, a name twice) asked again; three refused
//!   answers stop the step, recorded, and the same command then continues;
//! - a bad `--quorum-custodians` (unknown name, fewer than the quorum, a name twice, on a
//!   rotation, on a distributed drill) is refused with one line before anything runs.

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::Path;

use common::ceremony::{
    json_run, passphrase, snapshot, transcript, transcript_path, Bed, PlanSpec, TwoMachines,
    CUSTODIANS,
};
use common::Run;
use serde_json::{json, Value};

/// The finishing entry of `step` in the run's transcript.
fn finished(out: &Path, run: &str, step: &str) -> Value {
    transcript(&transcript_path(out, run))
        .into_iter()
        .find(|e| e["step"] == step && e["event"] == "step")
        .unwrap_or_else(|| panic!("{step} is not finished in {run}"))
}

/// The events of `step` in the run's transcript, in order.
fn events(out: &Path, run: &str, step: &str) -> Vec<String> {
    transcript(&transcript_path(out, run))
        .iter()
        .filter(|e| e["step"] == step)
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

/// A passphrase file with bob's line wrong.
fn bob_forgot(bed: &Bed) -> std::path::PathBuf {
    let lines = [
        passphrase("alice"),
        "not bob's passphrase at all".to_owned(),
        passphrase("carol"),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    bed.online.fx.pass_file("bob-forgot", &refs)
}

/// `sdctl ceremony WORDS...` attended, with `answers` on standard input.
fn answering(bed: &Bed, words: &[&str], answers: &str) -> Run {
    let mut args = vec!["ceremony"];
    args.extend_from_slice(words);
    common::sdctl_in(&bed.path(""), &args, &[], Some(answers.as_bytes()))
}

/// A two-machine activation whose keys were made with everyone there; bob is gone when the
/// security domain comes back for the drill (his line of the file is wrong).
#[test]
fn an_unattended_drill_by_a_substitute_quorum_is_recorded() {
    let m = TwoMachines::new("together");
    let plan_text = fs::read(&m.offline).unwrap();
    let out = m.out("offline");
    m.run("activate", "offline", &[]);
    m.carry("public-bundle.json", "offline", "online");
    m.run("activate", "online", &[]);
    m.carry("security-domain-bundle.json", "online", "offline");
    let forgot = bob_forgot(&m.bed);

    // The plan's quorum (alice, bob): refused, naming the file and bob's line, no hint
    // about a prompt; the drill is not recorded as done.
    let run = m
        .bed
        .unattended("activate", &m.offline, &forgot, &m.words("offline", &[]));
    run.assert_error(
        3,
        &format!(
            "{}: line 2 (custodian bob) is the wrong passphrase: it does not open {}",
            forgot.display(),
            out.join("custodians/bob.key").display()
        ),
    );
    assert!(!run.stderr.contains("prompt"), "{}", run.stderr);
    assert!(events(&out, "activate", "drill").is_empty());

    // Carol stands in for bob: the drill passes, recorded; the plan is untouched.
    let words = m.words("offline", &["--quorum-custodians", "carol, alice"]);
    let result = json_run(&m.bed, "activate", &m.offline, &forgot, &words);
    assert_eq!(result["outcome"], "complete", "{result}");
    let drill = finished(&out, "activate", "drill");
    assert_eq!(drill["facts"]["quorum_chosen"], json!(["carol", "alice"]));
    assert_eq!(drill["facts"]["substitutes"], true);
    assert_eq!(drill["facts"]["quorum_chosen_by"], "--quorum-custodians");
    assert_eq!(drill["facts"]["custodians"], json!(["carol", "alice"]));
    assert_eq!(drill["facts"]["verified"], true);
    assert_eq!(fs::read(&m.offline).unwrap(), plan_text);
    let text = fs::read_to_string(transcript_path(&out, "activate")).unwrap();
    assert!(!text.contains("not bob's passphrase"));
}

#[test]
fn the_quorum_is_chosen_at_the_drill_step_and_bad_answers_are_asked_again() {
    let bed = Bed::start();
    let plan = bed.plan("c", &PlanSpec::default());
    let out = bed.path("c/ceremony");
    let good = bed.passphrases("good", &CUSTODIANS);
    json_run(&bed, "activate", &plan, &good, &[]);
    // Unattended, with no option: the plan's quorum, recorded as such.
    let drill = finished(&out, "activate", "drill");
    assert_eq!(drill["facts"]["quorum_chosen"], json!(["alice", "bob"]));
    assert_eq!(drill["facts"]["substitutes"], false);
    assert_eq!(drill["facts"]["quorum_chosen_by"], "the plan's default");
    let (plan_arg, pass_arg) = (plan.display().to_string(), good.display().to_string());
    let words = ["drill", "--plan", &plan_arg, "--passphrase-file", &pass_arg];

    // Steps 1-4 (open and its witnesses' question, each custodian proves), then the
    // drill: three refused answers.
    let run = answering(
        &bed,
        &words,
        "y\ny\ny\ny\ny\ny\nalice, dave\nalice\nalice,alice\n",
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run
        .stderr
        .contains("Custodians for the drill [alice, bob]:"));
    for why in [
        "'dave' is not a custodian of this security domain (alice, bob, carol) (answer 1 of 3)",
        "1 custodian(s) named, but the quorum is 2: name at least 2 of alice, bob, carol (answer 2 of 3)",
        "'alice' is named twice (answer 3 of 3)",
    ] {
        assert!(run.stdout.contains(why), "{why}: {}", run.stdout);
    }
    assert!(
        run.stdout
            .contains("Next: No quorum was chosen for the drill (recorded)"),
        "{}",
        run.stdout
    );
    assert_eq!(events(&out, "drill-1", "drill"), ["stopped"]);

    // The same command again: carol stands in for bob.
    let run = answering(&bed, &words, "y\ncarol,alice\ny\n");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("The drill is done by carol, alice."));
    assert!(run.stdout.contains("Ceremony drill (drill-1) complete"));
    assert_eq!(events(&out, "drill-1", "drill"), ["stopped", "step"]);
    let drill = finished(&out, "drill-1", "drill");
    assert_eq!(drill["facts"]["quorum_chosen"], json!(["carol", "alice"]));
    assert_eq!(drill["facts"]["substitutes"], true);
    assert_eq!(drill["facts"]["quorum_chosen_by"], "answered at the step");
    let record = fs::read_to_string(out.join("runs/drill-1/record.md")).unwrap();
    assert!(record.contains("carol"), "{record}");

    // An empty answer keeps the plan's quorum.
    let run = answering(&bed, &words, "y\ny\ny\ny\ny\ny\n\ny\n");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let drill = finished(&out, "drill-2", "drill");
    assert_eq!(drill["facts"]["quorum_chosen"], json!(["alice", "bob"]));
    assert_eq!(drill["facts"]["substitutes"], false);
}

#[test]
fn a_bad_quorum_option_is_refused_before_anything_runs() {
    let bed = Bed::start();
    let plan = bed.plan("c", &PlanSpec::default());
    let good = bed.passphrases("good", &CUSTODIANS);
    let before = snapshot(&bed.path("c"));
    for (names, why) in [
        (
            "alice,dave",
            "--quorum-custodians alice,dave: 'dave' is not a custodian of this security domain (alice, bob, carol)",
        ),
        (
            "carol",
            "--quorum-custodians carol: 1 custodian(s) named, but the quorum is 2",
        ),
        ("bob,bob", "--quorum-custodians bob,bob: 'bob' is named twice"),
    ] {
        for kind in ["activate", "drill", "recover"] {
            bed.unattended(kind, &plan, &good, &["--quorum-custodians", names])
                .assert_error(2, why);
        }
    }
    bed.unattended(
        "rotate",
        &plan,
        &good,
        &["--quorum-custodians", "alice,bob"],
    )
    .assert_error(2, "a rotation's quorums are not chosen");
    let distributed = bed.plan(
        "d",
        &PlanSpec {
            mode: "distributed",
            ..PlanSpec::default()
        },
    );
    bed.unattended(
        "drill",
        &distributed,
        &good,
        &["--quorum-custodians", "alice,bob"],
    )
    .assert_error(
        2,
        "a distributed drill takes every custodian's share export",
    );
    assert_eq!(snapshot(&bed.path("c")), before, "nothing was made");
}
