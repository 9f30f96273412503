#![cfg(feature = "online")]
//! Ceremonies with custodians whose keys are on PKCS#11 tokens (SoftHSM2 tokens the test
//! initialises): an activation on the emulator makes each token custodian's key on their
//! token (never a key file), records the token serials, and the drill opens the keys on
//! the tokens; a plan mixing token and file custodians; a wrong PIN at a drill is tried
//! once, recorded, and refused with exit 3; a token whose key is not the custodian's is
//! refused; no PIN ever reaches the workspace, the transcript or the output.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::ceremony::{transcript_path, Bed, PlanSpec};
use common::softhsm::{self, SoftHsm};
use common::Run;

const PINS: [(&str, &str); 3] = [("alice", "461937"), ("bob", "582046"), ("carol", "690315")];

/// Run by [`SoftHsm::probe_private_key`] in a child process; does nothing otherwise.
#[test]
fn probe() {
    softhsm::probe_main();
}

/// The plan of `spec`, with `tokens` custodians on tokens (module in `[keys]`).
fn token_plan(bed: &Bed, dir: &str, tokens: &[&str]) -> PathBuf {
    let mut text = bed.plan_text(&PlanSpec::default());
    text = text.replacen(
        "[keys]\n",
        &format!("[keys]\npkcs11_module = \"{}\"\n", softhsm::MODULE),
        1,
    );
    for name in tokens {
        text = text.replacen(
            &format!("[[custodian]]\nname = \"{name}\"\n"),
            &format!("[[custodian]]\nname = \"{name}\"\ntoken = \"pkcs11:token={name}\"\n"),
            1,
        );
    }
    let dir = bed.path(dir);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.toml");
    fs::write(&path, text).unwrap();
    path
}

fn run(hsm: &SoftHsm, bed: &Bed, kind: &str, plan: &Path, extra: &[&str]) -> Run {
    let pass = bed.passphrases("pass.txt", &["alice", "bob", "carol"]);
    let (plan, pass) = (plan.display().to_string(), pass.display().to_string());
    let mut words = vec![
        "ceremony",
        kind,
        "--plan",
        &plan,
        "--yes",
        "--passphrase-file",
        &pass,
        "--output",
        "json",
    ];
    words.extend_from_slice(extra);
    let run = hsm.sdctl(&bed.online.fx, &words);
    for (_, pin) in PINS {
        assert!(
            !run.stdout.contains(pin) && !run.stderr.contains(pin),
            "a PIN was printed: {}{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

fn result(run: &Run) -> serde_json::Value {
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()["result"].clone()
}

/// Every file under `dir`, read; none may contain a PIN.
fn assert_no_pin_under(dir: &Path) {
    for path in common::ceremony::files_under(dir) {
        let bytes = fs::read(&path).unwrap();
        for (_, pin) in PINS {
            assert!(
                !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
                "{} holds a PIN",
                path.display()
            );
        }
    }
}

fn init_tokens(hsm: &SoftHsm, names: &[&str]) {
    for (name, pin) in PINS.iter().filter(|(n, _)| names.contains(n)) {
        hsm.init_token(name, softhsm::SO_PIN, pin);
    }
}

fn pin_file(bed: &Bed, file: &str, names: &[&str]) -> String {
    let pins: Vec<&str> = names
        .iter()
        .map(|n| PINS.iter().find(|(t, _)| t == n).unwrap().1)
        .collect();
    softhsm::write_pin_file(&bed.path(file), &pins)
        .display()
        .to_string()
}

#[test]
fn an_activation_with_three_token_custodians_makes_their_keys_on_the_tokens() {
    let Some(hsm) = SoftHsm::try_new("token ceremony") else {
        return;
    };
    let bed = Bed::start();
    init_tokens(&hsm, &["alice", "bob", "carol"]);
    let plan = token_plan(&bed, "c", &["alice", "bob", "carol"]);
    let out = bed.path("c/ceremony");
    let pins = pin_file(&bed, "pins.txt", &["alice", "bob", "carol"]);

    let done = result(&run(&hsm, &bed, "activate", &plan, &["--pin-file", &pins]));
    assert_eq!(done["outcome"], "complete", "{done}");
    assert!(out.join("sd/security-domain.json").exists());
    let transcript = fs::read_to_string(transcript_path(&out, "activate")).unwrap_or_default();
    for name in ["alice", "bob", "carol"] {
        assert!(
            !out.join(format!("custodians/{name}.key")).exists(),
            "{name} got a key file"
        );
        let uri = fs::read_to_string(out.join(format!("custodians/{name}.uri"))).unwrap();
        assert!(
            uri.starts_with(&format!("pkcs11:token={name};serial=")),
            "{uri}"
        );
        assert!(uri.contains(&format!("object=sdctl-{name}")), "{uri}");
        // The certificate written is the one on the token, and the token's key is the
        // sensitive, non-extractable one the token made.
        let listing = hsm.list_objects(name);
        assert!(listing.contains(&format!("sdctl-{name}")), "{listing}");
        let probe = hsm.probe_private_key(name, &format!("sdctl-{name}"));
        assert!(probe.contains("extractable=false"), "{probe}");
        let cert = fs::read_to_string(out.join(format!("custodians/{name}.cer"))).unwrap();
        assert!(cert.contains("BEGIN CERTIFICATE"));
    }
    // The record names each token's serial and says the key cannot leave it.
    let serials = transcript.matches("\"token_serial\"").count();
    assert!(
        serials >= 3,
        "token serials recorded: {serials}\n{transcript}"
    );
    assert!(
        transcript.contains("\"non_extractable\":true"),
        "{transcript}"
    );
    assert!(
        transcript.contains("token-raw+host-oaep"),
        "decryption path recorded: {transcript}"
    );
    assert_no_pin_under(&bed.path("c"));

    // A drill in a later run opens the keys on the tokens (quorum alice, bob; then each
    // custodian proves their own share, carol too).
    let pins2 = pin_file(&bed, "pins2.txt", &["alice", "bob", "carol"]);
    let drill = result(&run(&hsm, &bed, "drill", &plan, &["--pin-file", &pins2]));
    assert_eq!(drill["outcome"], "complete", "{drill}");

    // A wrong PIN is tried once (the token counts one failure), recorded, refused (3).
    let bad = softhsm::write_pin_file(&bed.path("bad.txt"), &["000000", PINS[1].1]);
    let refused = run(
        &hsm,
        &bed,
        "drill",
        &plan,
        &["--pin-file", &bad.display().to_string()],
    );
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("wrong PIN"), "{}", refused.stderr);
    let runs: Vec<String> = fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let record: String = runs
        .iter()
        .filter(|r| r.starts_with("drill"))
        .map(|r| fs::read_to_string(transcript_path(&out, r)).unwrap_or_default())
        .collect();
    assert!(
        record.contains("failed-attempt") && record.contains("\"what\":\"token\""),
        "{record}"
    );
    assert_no_pin_under(&bed.path("c"));
}

#[test]
fn a_plan_mixes_token_and_file_custodians() {
    let Some(hsm) = SoftHsm::try_new("mixed ceremony") else {
        return;
    };
    let bed = Bed::start();
    init_tokens(&hsm, &["alice"]);
    let plan = token_plan(&bed, "m", &["alice"]);
    let out = bed.path("m/ceremony");
    let pins = pin_file(&bed, "pins.txt", &["alice"]);
    let done = result(&run(&hsm, &bed, "activate", &plan, &["--pin-file", &pins]));
    assert_eq!(done["outcome"], "complete", "{done}");
    assert!(out.join("custodians/alice.uri").exists());
    assert!(!out.join("custodians/alice.key").exists());
    assert!(out.join("custodians/bob.key").exists());
    assert!(out.join("custodians/carol.key").exists());
    // The drill's quorum: alice (token) and carol (file).
    let drill = result(&run(
        &hsm,
        &bed,
        "drill",
        &plan,
        &["--pin-file", &pins, "--quorum-custodians", "alice,carol"],
    ));
    assert_eq!(drill["outcome"], "complete", "{drill}");
    assert_no_pin_under(&bed.path("m"));
}

#[test]
fn what_the_medium_says_about_a_token_key_is_checked_before_any_pin() {
    let Some(hsm) = SoftHsm::try_new("tampered token URIs") else {
        return;
    };
    let bed = Bed::start();
    init_tokens(&hsm, &["alice", "bob", "carol"]);
    let plan = token_plan(&bed, "s", &["alice", "bob", "carol"]);
    let out = bed.path("s/ceremony");
    let pins = pin_file(&bed, "pins.txt", &["alice", "bob", "carol"]);
    result(&run(&hsm, &bed, "activate", &plan, &["--pin-file", &pins]));
    let alice_uri = out.join("custodians/alice.uri");
    let original = fs::read_to_string(&alice_uri).unwrap();
    let pins2 = pin_file(&bed, "pins2.txt", &["alice", "bob", "carol"]);
    // A ceremony's refusal of what the medium carried is exit 1; a token that is not the
    // custodian's is bad input, exit 2.
    let drill = |why: &str, code: i32, want: &str| {
        let refused = run(&hsm, &bed, "drill", &plan, &["--pin-file", &pins2]);
        assert_eq!(
            refused.code, code,
            "{why}: {}{}",
            refused.stdout, refused.stderr
        );
        assert!(refused.stderr.contains(want), "{why}: {}", refused.stderr);
        // No PIN was spent: every token still takes its PIN on the first try.
        for name in ["alice", "bob", "carol"] {
            let flags = hsm.token_flags(name);
            assert!(!flags.contains("count low"), "{why}: {name}: {flags}");
        }
    };

    // 1. Bob's URI file in alice's place: another token than the plan's for alice.
    fs::copy(out.join("custodians/bob.uri"), &alice_uri).unwrap();
    drill(
        "bob's URI as alice's",
        1,
        "names another token or key than the plan's token",
    );

    // 2. A module of the attacker's choosing, or a PIN source, in the file.
    fs::write(
        &alice_uri,
        format!("{}?module-path=/tmp/evil.so\n", original.trim()),
    )
    .unwrap();
    drill("module-path", 1, "names a module-path or pin-source");
    fs::write(
        &alice_uri,
        format!("{}?pin-source=file:/etc/hostname\n", original.trim()),
    )
    .unwrap();
    drill("pin-source", 1, "names a module-path or pin-source");

    // 3. A key and certificate of the attacker's on alice's own token, named by the file:
    //    the token's certificate is not alice's, refused before her PIN is asked.
    let dir = bed.path("mallory");
    fs::create_dir_all(&dir).unwrap();
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "mallory.pem",
        "-out",
        "mallory.cer",
        "-subj",
        "/CN=alice",
        "-days",
        "30",
    ]);
    hsm.import_key("alice", "sdctl-mallory", "ee", &dir.join("mallory.pem"));
    hsm.import_cert("alice", "sdctl-mallory", "ee", &dir.join("mallory.cer"));
    let serial = original
        .split(';')
        .find_map(|p| p.strip_prefix("serial="))
        .unwrap()
        .to_owned();
    fs::write(
        &alice_uri,
        format!("pkcs11:token=alice;serial={serial};object=sdctl-mallory;id=%EE\n"),
    )
    .unwrap();
    drill("mallory's key on alice's token", 2, "No PIN was asked");

    // 4. The file missing: the key is on a token, but which one is not known.
    fs::remove_file(&alice_uri).unwrap();
    drill("no alice.uri", 1, "the file naming it is not here");

    // The file restored, the drill passes.
    fs::write(&alice_uri, original).unwrap();
    let drill = result(&run(&hsm, &bed, "drill", &plan, &["--pin-file", &pins2]));
    assert_eq!(drill["outcome"], "complete", "{drill}");
}

#[test]
fn a_plan_may_name_a_key_already_on_the_token() {
    let Some(hsm) = SoftHsm::try_new("existing token key") else {
        return;
    };
    let bed = Bed::start();
    init_tokens(&hsm, &["alice"]);
    // Alice's key was made beforehand (as ykman makes a YubiKey's): key and certificate on
    // her token under id 03.
    let dir = bed.path("alice-prep");
    fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out",
        ])
        .args(["k.cer", "-subj", "/CN=alice", "-days", "30"])
        .current_dir(&dir)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    hsm.import_key("alice", "Key Management", "03", &dir.join("k.pem"));
    hsm.import_cert("alice", "Key Management", "03", &dir.join("k.cer"));
    let plan = token_plan(&bed, "e", &["alice"]);
    let text = fs::read_to_string(&plan).unwrap().replace(
        "token = \"pkcs11:token=alice\"",
        "token = \"pkcs11:token=alice;id=%03\"",
    );
    fs::write(&plan, text).unwrap();
    let out = bed.path("e/ceremony");
    let pins = pin_file(&bed, "pins.txt", &["alice"]);
    let done = result(&run(&hsm, &bed, "activate", &plan, &["--pin-file", &pins]));
    assert_eq!(done["outcome"], "complete", "{done}");
    // The certificate written is the one that was on the token; no key was made.
    let written = fs::read_to_string(out.join("custodians/alice.cer")).unwrap();
    let prepared = fs::read_to_string(dir.join("k.cer")).unwrap();
    assert_eq!(written.trim(), prepared.trim());
    let transcript = fs::read_to_string(transcript_path(&out, "activate")).unwrap();
    assert!(
        transcript.contains("\"made_on_token\":false"),
        "{transcript}"
    );
    assert!(!hsm.list_objects("alice").contains("sdctl-alice"));
    let drill = result(&run(
        &hsm,
        &bed,
        "drill",
        &plan,
        &["--pin-file", &pins, "--quorum-custodians", "alice,bob"],
    ));
    assert_eq!(drill["outcome"], "complete", "{drill}");
}
