//! Ceremonies with token custodians on the emulator, through to a recovery: a plan whose
//! custodians alice and bob keep their keys on SoftHSM2 tokens (`token =
//! "pkcs11:token=..."`, `[keys] pkcs11_module`) and carol a key file. The activation makes
//! alice's and bob's keys on their tokens (no key file for them), a drill and a recovery
//! into a second HSM open them there; the records name the custodians and how their keys
//! decrypted, the transcripts the token serials, and nothing in the workspace holds a PIN.
//! (tests/token_ceremony.rs has activations, mixed plans and refusals.)

#![cfg(feature = "online")]

mod common;

use std::fs;
use std::path::Path;

use common::ceremony::{files_under, transcript, transcript_path, Bed, PlanSpec};
use common::softhsm::{self, SoftHsm};
use common::Run;

const PIN_ALICE: &str = "613377";
const PIN_BOB: &str = "727144";

/// The default plan with alice and bob on tokens (module in `[keys]`).
fn plan(bed: &Bed) -> std::path::PathBuf {
    let path = bed.plan("c", &PlanSpec::default());
    let mut text = fs::read_to_string(&path).unwrap();
    let subject = "subject = \"/O=Test\"\n";
    assert!(text.contains(subject), "{text}");
    text = text.replace(
        subject,
        &format!("{subject}pkcs11_module = \"{}\"\n", softhsm::MODULE),
    );
    for name in ["alice", "bob"] {
        let entry = format!("name = \"{name}\"\ncontact = \"{name}@example.com\"\n");
        assert!(text.contains(&entry), "{text}");
        text = text.replace(&entry, &format!("{entry}token = \"pkcs11:token={name}\"\n"));
    }
    fs::write(&path, text).unwrap();
    path
}

/// `sdctl --output json ceremony KIND --plan PLAN --yes --passphrase-file PASS --pin-file
/// PINS`, seeing the tokens; must succeed. Returns the run.
fn run(bed: &Bed, hsm: &SoftHsm, kind: &str, plan: &Path, pass: &Path, pins: &Path) -> Run {
    let (plan, pass, pins) = (
        plan.display().to_string(),
        pass.display().to_string(),
        pins.display().to_string(),
    );
    let run = hsm.sdctl(
        &bed.online.fx,
        &[
            "--output",
            "json",
            "ceremony",
            kind,
            "--plan",
            &plan,
            "--yes",
            "--passphrase-file",
            &pass,
            "--pin-file",
            &pins,
        ],
    );
    assert_eq!(
        run.code, 0,
        "{kind}: stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    for pin in [PIN_ALICE, PIN_BOB] {
        assert!(
            !run.stdout.contains(pin) && !run.stderr.contains(pin),
            "{kind} printed a PIN"
        );
    }
    run
}

#[test]
fn token_and_file_custodians_activate_drill_and_recover() {
    let Some(hsm) = SoftHsm::try_new("token_and_file_custodians_activate_drill_and_recover") else {
        return;
    };
    hsm.init_token("alice", softhsm::SO_PIN, PIN_ALICE);
    hsm.init_token("bob", softhsm::SO_PIN, PIN_BOB);
    let bed = Bed::start();
    let plan = plan(&bed);
    // The passphrase file has a line per custodian in the plan's order (the ceremony's
    // rule; the token custodians' lines go unused), the PIN file a line per token in the
    // order the tokens are used.
    let pass = bed.passphrases("pass", &["alice", "bob", "carol"]);
    let pins = softhsm::write_pin_file(&bed.path("pins"), &[PIN_ALICE, PIN_BOB]);
    let out = bed.path("c/ceremony");

    let activate = run(&bed, &hsm, "activate", &plan, &pass, &pins);
    let result: serde_json::Value = serde_json::from_str(&activate.stdout).unwrap();
    assert_eq!(
        result["result"]["outcome"], "complete",
        "{}",
        activate.stdout
    );
    assert!(out.join("sd/security-domain.json").exists());
    // Token custodians: a certificate and the URI file, no key file; carol: a key file.
    for name in ["alice", "bob"] {
        assert!(out.join(format!("custodians/{name}.cer")).exists());
        assert!(!out.join(format!("custodians/{name}.key")).exists());
        let uri = fs::read_to_string(out.join(format!("custodians/{name}.uri"))).unwrap();
        assert!(uri.contains(&format!("token={name}")), "{uri}");
        assert!(!uri.contains("pin-value"), "{uri}");
        let objects = hsm.list_objects(name);
        assert!(objects.contains("Private Key Object; RSA"), "{objects}");
        assert!(
            objects.contains(&format!("label:      sdctl-{name}")),
            "{objects}"
        );
    }
    assert!(out.join("custodians/carol.key").exists());
    // The transcript names the tokens' serials.
    let serial = |token: &str| {
        let out = hsm.pkcs11_tool(&["--list-token-slots"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let block = text
            .split("Slot ")
            .find(|b| b.contains(&format!("token label        : {token}\n")))
            .unwrap_or_else(|| panic!("{text}"))
            .to_owned();
        block
            .lines()
            .find_map(|l| l.trim().strip_prefix("serial num         : "))
            .unwrap()
            .trim()
            .to_owned()
    };
    let activation_log = fs::read_to_string(transcript_path(&out, "activate")).unwrap();
    for token in ["alice", "bob"] {
        let serial = serial(token);
        assert!(
            activation_log.contains(&serial),
            "the transcript names {token}'s token serial {serial}"
        );
    }

    // A drill: every custodian proves their share; the tokens decrypt.
    let drill = run(&bed, &hsm, "drill", &plan, &pass, &pins);
    let result: serde_json::Value = serde_json::from_str(&drill.stdout).unwrap();
    assert_eq!(result["result"]["outcome"], "complete", "{}", drill.stdout);
    // A recovery into hsm-b.
    let recover = run(&bed, &hsm, "recover", &plan, &pass, &pins);
    let result: serde_json::Value = serde_json::from_str(&recover.stdout).unwrap();
    assert_eq!(
        result["result"]["outcome"], "complete",
        "{}",
        recover.stdout
    );
    let status = bed.online.hsm("hsm-b", &["status"]);
    assert!(status.stdout.contains("Active"), "{}", status.stdout);

    // No PIN anywhere in the workspace (transcripts, records, state, URI files).
    for file in files_under(&out) {
        let bytes = fs::read(&file).unwrap();
        for pin in [PIN_ALICE, PIN_BOB] {
            assert!(
                !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
                "{} holds a PIN",
                file.display()
            );
        }
    }

    // The drill's record says how each token decrypted, and names the custodians whose
    // keys it used (not the module).
    let entries = transcript(&transcript_path(&out, "drill-1"));
    let drill_step = entries
        .iter()
        .find(|e| e["step"] == "drill")
        .expect("a drill step");
    assert_eq!(
        drill_step["facts"]["custodians"],
        serde_json::json!(["alice", "bob"]),
        "{drill_step}"
    );
    for key in drill_step["facts"]["keys"].as_array().expect("facts.keys") {
        assert_eq!(key["decryption"], "token-raw+host-oaep", "{drill_step}");
    }
    let text = serde_json::to_string(&entries).unwrap();
    assert!(
        text.contains("token-raw+host-oaep"),
        "the record says how the tokens decrypted: {text}"
    );
}
