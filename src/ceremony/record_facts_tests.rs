//! The record shows what an auditor needs from the facts of the entries: network state,
//! bundle authentication, passphrase sources, witness confirmations, the drill's quorum,
//! every incident, the software, and the custodians' certificates of a recovery.

use serde_json::{json, Map, Value};

use super::*;
use crate::ceremony::transcript::{FileDigest, NewEntry, Transcript};
use crate::ceremony::ui::spoken;

const FP_CAROL: &str = "CA:40:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:03";
const EXE: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
const BUNDLE: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn entry(machine: &str, actor: &str, step: &str, event: &str, summary: &str, f: Value) -> NewEntry {
    NewEntry {
        ceremony: "contoso-dr-2027".into(),
        run: "recover-1".into(),
        kind: "recover".into(),
        machine: machine.into(),
        actor: actor.into(),
        step: step.into(),
        event: event.into(),
        summary: summary.into(),
        facts: match f {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        ..NewEntry::default()
    }
}

/// A two-machine recovery with everything that can go wrong going wrong once.
fn eventful() -> (tempfile::TempDir, Transcript) {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript::open(&dir.path().join("transcript.jsonl")).unwrap();
    let opened = json!({
        "hsm": "https://new.managedhsm.example", "quorum": 2, "operator": "Olga",
        "machines": "offline + online", "sdctl_version": "0.1.0",
        "sdctl_build": "online (HSM client and emulator)", "sdctl_sha256": EXE,
        "openssl": "OpenSSL 3.0.17", "transfer_code": "transfer code kept on this machine",
        "witnesses_confirmed": "The plan SHA-256 read out matches the printed plan.",
        "custodians": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}],
        "witnesses": [{"name": "Wendy", "role": "security officer"}]
    });
    let rows: Vec<(&str, &str, &str, &str, &str, Value)> = vec![
        (
            "online",
            "operator",
            "open",
            "opened",
            "Ceremony opened.",
            opened,
        ),
        (
            "offline",
            "operator and witnesses",
            "import-exchange",
            "imported",
            "exchange-key bundle imported",
            json!({"bundle_sha256": BUNDLE, "authenticated": "transfer code typed by the operator",
                "digest_compared": "by its MAC and --expect-sha256",
                "network_interfaces_up": ["eth0", "wlan0"]}),
        ),
        (
            "offline",
            "witnesses",
            "check",
            "stopped",
            "The witnesses answered no.",
            json!({"question": "Does each fingerprint match what the custodian read aloud?",
                "answer": "no"}),
        ),
        (
            "offline",
            "custodian carol",
            "restore-blob",
            "failed-attempt",
            "Wrong passphrase.",
            json!({"custodian": "carol", "what": "passphrase", "attempt": 2, "of": 3}),
        ),
        (
            "offline",
            "operator",
            "restore-blob",
            "interrupted",
            "Found unfinished on resume.",
            json!({"step": "restore-blob"}),
        ),
        (
            "offline",
            "operator",
            "session",
            "redone",
            "Session key made again.",
            json!({"step": "session", "reason": "the session key was lost"}),
        ),
        (
            "offline",
            "operator",
            "drill",
            "refused",
            "Drill refused.",
            json!({"reason": "carol's share did not open"}),
        ),
        (
            "offline",
            "custodians alice, carol",
            "restore-blob",
            "step",
            "restore blob built",
            json!({"passphrases": "from --passphrase-file",
                "quorum_chosen": ["alice", "carol"], "substitutes": true,
                "certificates": [{"custodian": "carol", "sha256_fingerprint": FP_CAROL,
                                  "x5t_256": "Y2Fyb2w"}]}),
        ),
        (
            "online",
            "witnesses",
            "close",
            "closed",
            "Closed.",
            json!({}),
        ),
    ];
    for (machine, actor, step, event, summary, facts) in rows {
        let mut e = entry(machine, actor, step, event, summary, facts);
        if event == "imported" {
            e.inputs = vec![FileDigest {
                name: "transfer/exchange-key-bundle.json".into(),
                sha256: BUNDLE.into(),
                bytes: 1234,
            }];
        }
        t.append(e).unwrap();
    }
    (dir, t)
}

#[test]
fn the_record_shows_every_fact_an_auditor_needs() {
    let (_dir, t) = eventful();
    let fold = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for page in [fold(markdown(t.entries())), fold(html(t.entries()))] {
        for needle in [
            // Network up on the air-gapped machine, as a warning line.
            "WARNING: network interface(s) eth0, wlan0 were up on the offline machine during \
             entry 2 (step import-exchange, run recover-1)",
            // How the bundle was authenticated and compared.
            &spoken(BUNDLE),
            "transfer code typed by the operator",
            "by its MAC and --expect-sha256",
            // Where the passphrases came from.
            "from --passphrase-file",
            // What the witnesses confirmed.
            "The plan SHA-256 read out matches the printed plan.",
            // The drill's quorum and substitutes.
            "alice, carol",
            "yes: not the plan's quorum",
            // Every incident with its facts.
            "STOPPED",
            "Does each fingerprint match what the custodian read aloud?",
            "FAILED ATTEMPT",
            "2 of 3",
            "INTERRUPTED",
            "REDONE",
            "the session key was lost",
            "REFUSED",
            "share did not open",
            // The software and its digest, the transfer code's origin.
            "sdctl 0.1.0, online (HSM client and emulator); OpenSSL 3.0.17",
            &spoken(EXE),
            "transfer code kept on this machine",
            // The recovery's custodian certificate, from the quorum's facts.
            &spoken(&FP_CAROL.replace(':', "").to_ascii_lowercase()),
            "Y2Fyb2w",
        ] {
            let needle = needle.replace('\'', if page.starts_with('<') { "&#39;" } else { "'" });
            assert!(page.contains(&needle), "missing {needle:?} in:\n{page}");
        }
        // Only the retired domains are missing from this run.
        assert_eq!(page.matches("None recorded").count(), 1, "{page}");
        let md = markdown(t.entries());
        let at = md.find("interruptions and redos").unwrap();
        assert!(
            !md[at..].starts_with("interruptions and redos\n\nNone"),
            "{md}"
        );
    }
    if std::env::var_os("SDCTL_SHOW_RECORD").is_some() {
        println!("{}", markdown(t.entries()));
    }
    for line in markdown(t.entries()).lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
}

#[test]
fn every_digest_among_the_facts_is_shown_once_in_the_steps() {
    let (_dir, t) = eventful();
    let mut entries = t.entries().to_vec();
    let payload = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";
    entries[7]
        .facts
        .insert("payload_sha256".into(), json!(payload));
    entries[7].summary = format!("restore blob built ({BUNDLE})");
    let md = markdown(&entries);
    let fold = md.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        fold.contains(&format!("payload\\_sha256: {}", spoken(payload))),
        "{md}"
    );
    assert!(
        fold.contains(&format!(
            "certificates (carol) sha256\\_fingerprint: {}",
            spoken(&FP_CAROL.replace(':', "").to_ascii_lowercase())
        )),
        "{md}"
    );
    // A digest the summary already shows is not repeated under it.
    let steps = &fold[fold.find("## Steps").unwrap()..fold.find("## Files").unwrap()];
    assert_eq!(steps.matches(&spoken(BUNDLE)).count(), 2, "{steps}");
}

#[test]
fn a_quiet_run_says_none_and_warns_of_nothing() {
    let (_dir, t) = eventful();
    // Only the opening and the closing: no warning, no incident, no bundle.
    let quiet = [t.entries()[0].clone(), t.entries()[8].clone()];
    for page in [markdown(&quiet), html(&quiet)] {
        assert!(!page.contains("WARNING"), "{page}");
        assert!(
            !page.contains("STOPPED") && !page.contains("REFUSED"),
            "{page}"
        );
        assert!(page.contains("no bundle crossed"), "{page}");
        // Custodians without a certificate in the transcript say so.
        assert!(page.contains("not in this transcript"), "{page}");
    }
}

#[test]
fn every_page_margin_names_the_ceremony_and_digest_safely() {
    let (_dir, t) = eventful();
    let page = html(t.entries());
    let digest = spoken(&t.final_digest().unwrap());
    let style = &page[page.find("@page").unwrap()..page.find("</style>").unwrap()];
    assert!(style.contains("counter(page)") && style.contains("counter(pages)"));
    assert!(style.contains("contoso\\2d dr\\2d 2027"), "{style}");
    assert!(
        style.contains(&format!("Final digest\\3a  {digest}")),
        "{style}"
    );
    // Text that tries to end the string and the style sheet stays inside the string.
    let mut hostile = t.entries().to_vec();
    hostile[0].ceremony = "x\"; } </style><script>alert(1)</script>".into();
    let page = html(&hostile);
    assert_eq!(page.matches("</style>").count(), 1, "{page}");
    assert!(!page.contains("<script>"), "{page}");
    // The signature blocks carry the ceremony id and the digest.
    let page = html(t.entries());
    let sig = &page[page.find("<div class=\"sig\">").unwrap()..];
    assert!(
        sig.contains("Ceremony contoso-dr-2027, run recover-1"),
        "{sig}"
    );
    assert!(sig.contains(&digest), "{sig}");
}
