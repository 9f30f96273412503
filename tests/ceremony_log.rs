//! `sdctl ceremony log verify | record` through the CLI, on a realistic transcript written by
//! the library: custodians' certificates made with the openssl CLI, fingerprints as openssl
//! prints them, and every kind of tampering a witness could meet.

mod common;

use std::fs;

use common::{Fixture, Run};
use sdctl::ceremony::transcript::{FileDigest, NewEntry, Transcript};
use serde_json::{json, Map, Value};

const FILE: &str = "transcript.jsonl";
const CUSTODIANS: [&str; 3] = ["alice", "bob", "carol"];

fn facts(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("facts must be an object: {other}"),
    }
}

fn entry(actor: &str, step: &str, event: &str, summary: &str, f: Value) -> NewEntry {
    NewEntry {
        ceremony: "contoso-prod-2026".into(),
        run: "activate".into(),
        kind: "activate".into(),
        machine: if event == "imported" {
            "online"
        } else {
            "offline"
        }
        .into(),
        actor: actor.into(),
        step: step.into(),
        event: event.into(),
        summary: summary.into(),
        facts: facts(f),
        ..NewEntry::default()
    }
}

/// `openssl x509 -fingerprint -sha256` of NAME.pem: "AB:CD:...".
fn openssl_fingerprint(fx: &Fixture, name: &str) -> String {
    let pem = format!("{name}.pem");
    let out = fx.openssl(&["x509", "-in", &pem, "-noout", "-fingerprint", "-sha256"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let (_, fp) = text
        .trim()
        .split_once('=')
        .expect("openssl prints NAME=FINGERPRINT");
    fp.to_owned()
}

/// A seven-entry activation transcript; returns the custodians' (name, fingerprint, x5t_256).
fn ceremony(fx: &Fixture) -> Vec<(String, String, String)> {
    let mut t = Transcript::open(&fx.path(FILE)).unwrap();
    let plan = b"[ceremony]\nname = \"contoso-prod-2026\"\nquorum = 2\n";
    let opened = json!({
        "hsm": "contoso-mhsm", "quorum": 2, "operator": "Olga Operator", "machines": "two",
        "plan_sha256": FileDigest::of_bytes("plan.toml", plan).sha256,
        "custodians": CUSTODIANS.map(|n| json!({"name": n, "contact": format!("{n}@contoso.example")})),
        "witnesses": [{"name": "Wendy Witness", "role": "security officer"}],
    });
    let mut first = entry("operator", "open", "opened", "Activation opened.", opened);
    first.inputs = vec![FileDigest::of_bytes("plan.toml", plan)];
    t.append(first).unwrap();
    let mut people = Vec::new();
    for name in CUSTODIANS {
        let (key, pem) = (format!("{name}.key.pem"), format!("{name}.pem"));
        let subj = format!("/CN={name}");
        fx.openssl(&[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem,
            "-subj", &subj, "-days", "30",
        ]);
        let fp = openssl_fingerprint(fx, name);
        let cert = sdctl::keys::load_certificate(&fx.path(&pem)).unwrap();
        assert_eq!(fp, cert.sha256_fingerprint(), "openssl and sdctl agree");
        let f = json!({"custodian": name, "sha256_fingerprint": fp, "x5t_256": cert.x5t_256()});
        let mut e = entry(
            &format!("custodian {name}"),
            &format!("key:{name}"),
            "step",
            &format!("{name} made a wrapping key."),
            f,
        );
        e.outputs = vec![FileDigest::of_file(&fx.path(&pem), &pem).unwrap()];
        t.append(e).unwrap();
        people.push((name.to_owned(), fp, cert.x5t_256()));
    }
    let mut handoff = entry(
        "operator",
        "handoff",
        "handoff",
        "Bundle to the online machine.",
        json!({}),
    );
    handoff.outputs = vec![FileDigest::of_bytes("to-online.bundle", b"bundle")];
    t.append(handoff).unwrap();
    let mut imported = entry(
        "operator",
        "download",
        "imported",
        "Security domain downloaded.",
        json!({"hsm": "contoso-mhsm"}),
    );
    imported.outputs = vec![FileDigest::of_bytes("sd.json", b"{\"version\":2}")];
    t.append(imported).unwrap();
    t.append(entry(
        "witnesses",
        "close",
        "closed",
        "Activation closed.",
        json!({}),
    ))
    .unwrap();
    assert_eq!(t.entries().len(), 7);
    people
}

fn final_digest(fx: &Fixture) -> String {
    Transcript::open(&fx.path(FILE))
        .unwrap()
        .final_digest()
        .unwrap()
}

fn lines(fx: &Fixture) -> Vec<String> {
    let text = fs::read_to_string(fx.path(FILE)).unwrap();
    text.split_inclusive('\n').map(str::to_owned).collect()
}

fn verify(fx: &Fixture, extra: &[&str]) -> Run {
    let mut args = vec!["ceremony", "log", "verify", FILE];
    args.extend_from_slice(extra);
    fx.sdctl(&args)
}

#[test]
fn an_intact_transcript_verifies_and_shows_its_digest() {
    let fx = Fixture::new();
    ceremony(&fx);
    let digest = final_digest(&fx);
    let run = verify(&fx, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("transcript.jsonl: chain intact, 7 entries (run activate), closed"),
        "{}",
        run.stdout
    );
    // The digest in the notation read aloud: groups of four, eight to a line.
    let spoken = sdctl::ceremony::ui::spoken_lines(&digest);
    assert_eq!(spoken.len(), 2);
    assert!(
        run.stdout.contains(&format!(
            "TRANSCRIPT FINAL DIGEST:\n   {}\n   {}",
            spoken[0], spoken[1]
        )),
        "{}",
        run.stdout
    );

    let json = verify(&fx, &["--output", "json"]).json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["command"], "ceremony log verify");
    assert_eq!(json["result"]["ok"], true);
    assert_eq!(json["result"]["file"], FILE);
    assert_eq!(json["result"]["entries"], 7);
    assert_eq!(json["result"]["closed"], true);
    assert_eq!(json["result"]["final_digest"], digest.as_str());
}

#[test]
fn each_kind_of_tampering_is_one_line_naming_the_file_and_the_line() {
    let fx = Fixture::new();
    ceremony(&fx);
    let original = lines(&fx);

    let mut changed = original.clone();
    changed[3] = changed[3].replacen("carol made", "Carol made", 1);
    assert_ne!(changed, original);
    fs::write(fx.path(FILE), changed.concat()).unwrap();
    verify(&fx, &[]).assert_error(
        1,
        "transcript.jsonl line 4: the entry does not match its hash",
    );

    let mut removed = original.clone();
    removed.remove(2);
    fs::write(fx.path(FILE), removed.concat()).unwrap();
    verify(&fx, &[]).assert_error(
        1,
        "transcript.jsonl line 3: entry number 4 where 3 was expected",
    );

    let mut swapped = original.clone();
    swapped.swap(4, 5);
    fs::write(fx.path(FILE), swapped.concat()).unwrap();
    verify(&fx, &[]).assert_error(
        1,
        "transcript.jsonl line 5: entry number 6 where 5 was expected",
    );

    let cut = original.concat();
    fs::write(fx.path(FILE), &cut[..cut.len() - 10]).unwrap();
    verify(&fx, &[]).assert_error(1, "transcript.jsonl line 7: ");

    fs::write(fx.path(FILE), changed.concat()).unwrap();
    let run = verify(&fx, &["--output", "json"]);
    run.assert_error(1, "line 4");
    let json = run.json();
    assert_eq!(json["status"], "check_failed");
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["result"]["file"], FILE);
    assert_eq!(json["result"]["ok"], false);
    assert_eq!(json["result"]["line"], 4);
    assert!(json["result"]["problem"]
        .as_str()
        .unwrap()
        .contains("does not match its hash"));
}

#[test]
fn the_expected_digest_catches_a_cut_at_the_end() {
    let fx = Fixture::new();
    ceremony(&fx);
    let digest = final_digest(&fx);
    // As a witness may type it: upper case, in groups of eight.
    let typed: Vec<String> = digest
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect();
    let run = verify(&fx, &["--expect", &typed.join(" ")]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let mut shorter = lines(&fx);
    shorter.pop();
    fs::write(fx.path(FILE), shorter.concat()).unwrap();
    let short_digest = final_digest(&fx);
    assert_eq!(
        verify(&fx, &[]).code,
        0,
        "a cut at the end leaves an intact chain"
    );
    let run = verify(&fx, &["--expect", &digest]);
    run.assert_error(
        1,
        &format!(
        "transcript.jsonl: final digest {short_digest} differs from the expected {digest}: the \
         transcript is not the one the witnesses recorded"
    ),
    );
    assert!(run.stdout.contains("6 entries"), "{}", run.stdout);
    let json = verify(&fx, &["--expect", &digest, "--output", "json"]).json();
    assert_eq!(json["status"], "check_failed");
    assert_eq!(json["result"]["ok"], false);
    assert_eq!(json["result"]["expected"], digest.as_str());
    assert_eq!(json["result"]["final_digest"], short_digest.as_str());

    assert_eq!(verify(&fx, &["--expect", "abc"]).code, 2, "not a digest");
}

#[test]
fn unreadable_transcripts_are_bad_input() {
    let fx = Fixture::new();
    verify(&fx, &[]).assert_error(2, "transcript.jsonl");
    let json = verify(&fx, &["--output", "json"]).json();
    assert_eq!(json["status"], "error");
    assert_eq!(json["exit_code"], 2);
    fs::create_dir(fx.path("dir.jsonl")).unwrap();
    fx.sdctl(&["ceremony", "log", "verify", "dir.jsonl"])
        .assert_error(2, "dir.jsonl");
    fs::write(fx.path(FILE), "").unwrap();
    verify(&fx, &[]).assert_error(1, "transcript.jsonl line 1: the transcript is empty");
}

#[test]
fn the_record_shows_custodians_fingerprints_and_the_final_digest() {
    let fx = Fixture::new();
    let people = ceremony(&fx);
    let digest = final_digest(&fx);
    fs::create_dir(fx.path("out")).unwrap();
    let run = fx.sdctl(&["ceremony", "log", "record", FILE, "--out-dir", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fx.listing("out"), vec!["record.html", "record.md"]);
    // Digests and fingerprints in the notation read aloud (groups of four, lowercase); the
    // Markdown wraps lines between groups.
    let spoken = |hex: &str| {
        let hex = hex.replace(':', "").to_ascii_lowercase();
        let groups: Vec<&str> = hex
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        groups.join(" ")
    };
    for file in ["out/record.md", "out/record.html"] {
        let text = fs::read_to_string(fx.path(file)).unwrap();
        let page = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(page.contains(&spoken(&digest)), "{file}");
        assert!(
            page.contains("Wendy Witness") && page.contains("contoso-mhsm"),
            "{file}"
        );
        for (name, fp, x5t) in &people {
            assert!(
                page.contains(name) && page.contains(&spoken(fp)) && page.contains(x5t),
                "{file}: {name}"
            );
        }
    }
    // Made again from the transcript: allowed, and the JSON names both files.
    let json = fx
        .sdctl(&[
            "ceremony",
            "log",
            "record",
            FILE,
            "--out-dir",
            "out",
            "--output",
            "json",
        ])
        .json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["result"]["final_digest"], digest.as_str());
    assert!(json["result"]["html"]
        .as_str()
        .unwrap()
        .ends_with("record.html"));

    fx.sdctl(&["ceremony", "log", "record", FILE, "--out-dir", "nowhere"])
        .assert_error(2, "nowhere");
    let mut changed = lines(&fx);
    changed[1] = changed[1].replacen("alice made", "alice lost", 1);
    assert!(changed[1].contains("alice lost"));
    fs::write(fx.path(FILE), changed.concat()).unwrap();
    fs::create_dir(fx.path("out2")).unwrap();
    fx.sdctl(&["ceremony", "log", "record", FILE, "--out-dir", "out2"])
        .assert_error(
            1,
            "transcript.jsonl line 2: the entry does not match its hash",
        );
    assert!(
        fx.listing("out2").is_empty(),
        "no record of a broken transcript"
    );
}
