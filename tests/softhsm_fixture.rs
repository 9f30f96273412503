//! The SoftHSM2 test fixture itself (tests/common/softhsm.rs): a token initialised in a
//! temporary directory of its own, an openssl-made key and its certificate put on it and
//! listed by OpenSC's pkcs11-tool, the 0600 PIN file, and the module that counts C_Login
//! calls (used to prove that sdctl never retries a wrong PIN).

mod common;

use common::softhsm::{self, SoftHsm};
use common::{mode_of, Fixture};

#[test]
fn a_fresh_token_holds_the_imported_key_and_certificate() {
    let Some(hsm) = SoftHsm::try_new("a_fresh_token_holds_the_imported_key_and_certificate") else {
        return;
    };
    let fx = Fixture::new();
    fx.openssl_custodian("alice", 2048);
    let uri = hsm.custodian_token(
        "alice",
        "123456",
        "a1",
        &fx.path("alice.key"),
        Some(&fx.path("alice.cer")),
    );
    assert_eq!(uri, "pkcs11:token=alice;object=sdctl-alice");
    assert_eq!(hsm.env().0, "SOFTHSM2_CONF");
    assert!(std::path::Path::new(&hsm.env().1).is_file());
    assert!(hsm.conf().starts_with(hsm.path("")));
    let conf = std::fs::read_to_string(hsm.conf()).unwrap();
    assert!(conf.contains("objectstore.backend = file"), "{conf}");
    assert!(conf.contains(&format!(
        "directories.tokendir = {}",
        hsm.path("tokens").display()
    )));

    let objects = hsm.list_objects("alice");
    assert!(objects.contains("Private Key Object; RSA"), "{objects}");
    assert!(
        objects.contains("Public Key Object; RSA 2048 bits"),
        "{objects}"
    );
    assert!(
        objects.contains("Certificate Object; type = X.509 cert"),
        "{objects}"
    );
    assert!(objects.contains("label:      sdctl-alice"), "{objects}");
    assert!(objects.contains("ID:         a1"), "{objects}");
    // The imported private key is sensitive and not extractable: it cannot be read back.
    let access = objects
        .split("Private Key Object")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.trim().starts_with("Access:")))
        .unwrap_or_else(|| panic!("no Access line: {objects}"));
    let flags: Vec<&str> = access.split([':', ',']).map(str::trim).collect();
    assert!(flags.contains(&"sensitive"), "{access}");
    assert!(!flags.contains(&"extractable"), "{access}");

    // The token is this fixture's alone: the machine's default SoftHSM2 does not see it.
    let flags = hsm.token_flags("alice");
    assert!(flags.contains("token initialized"), "{flags}");

    // A second token in the same SoftHSM2; a certificate removed again.
    hsm.init_token("bob", softhsm::SO_PIN, "654321");
    assert_eq!(hsm.pin("bob"), "654321");
    hsm.delete_cert("alice", "a1");
    assert!(!hsm.list_objects("alice").contains("Certificate Object"));
    assert_eq!(softhsm::module(), hsm.module());
}

#[test]
fn pin_files_are_private() {
    let fx = Fixture::new();
    let path = softhsm::write_pin_file(&fx.path("pins"), &["123456", "654321"]);
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "123456\n654321\n");
}

#[test]
fn the_counting_module_counts_logins() {
    let Some(hsm) = SoftHsm::try_new("the_counting_module_counts_logins") else {
        return;
    };
    hsm.init_token("carol", softhsm::SO_PIN, "123456");
    let Some(counting) = hsm.counting_module() else {
        return;
    };
    let counting = counting.display().to_string();
    let run = |pin: &str| {
        std::process::Command::new("pkcs11-tool")
            .args([
                "--module",
                &counting,
                "--token-label",
                "carol",
                "--list-objects",
            ])
            .args(["--login", "--pin", pin])
            .env("SOFTHSM2_CONF", hsm.conf())
            .output()
            .unwrap()
    };
    assert!(!run("000000").status.success());
    assert_eq!(hsm.logins(), ["C_Login 1 0xa0"], "CKR_PIN_INCORRECT once");
    let flags = hsm.token_flags("carol");
    assert!(flags.contains("user PIN count low"), "{flags}");
    assert!(run("123456").status.success());
    assert_eq!(hsm.logins(), ["C_Login 1 0xa0", "C_Login 1 0x0"]);
}

/// Run by [`SoftHsm::probe_private_key`] in a child process; does nothing otherwise.
#[test]
fn probe() {
    softhsm::probe_main();
}

#[test]
fn the_probe_reads_what_a_private_key_says_of_itself() {
    let Some(hsm) = SoftHsm::try_new("the_probe_reads_what_a_private_key_says_of_itself") else {
        return;
    };
    let fx = Fixture::new();
    fx.openssl_custodian("dave", 2048);
    hsm.custodian_token("dave", "123456", "d4", &fx.path("dave.key"), None);
    let probe = hsm.probe_private_key("dave", "sdctl-dave");
    // Imported, so not generated on the token (local false), but sensitive: the private
    // exponent and the primes are not given out.
    for want in [
        "sensitive=true",
        "extractable=false",
        "local=false",
        "private_exponent=sensitive",
        "prime_1=sensitive",
    ] {
        assert!(probe.lines().any(|l| l == want), "{want}: {probe}");
    }
    assert!(!probe.contains("=available"), "{probe}");

    // The lying module says every key is extractable.
    let Some(lying) = hsm.lying_module() else {
        return;
    };
    let lying = lying.display().to_string();
    let out = std::process::Command::new("pkcs11-tool")
        .args([
            "--module",
            &lying,
            "--token-label",
            "dave",
            "--list-objects",
        ])
        .args(["--login", "--pin", "123456"])
        .env("SOFTHSM2_CONF", hsm.conf())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let access = text
        .split("Private Key Object")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.trim().starts_with("Access:")))
        .unwrap_or_else(|| panic!("no Access line: {text}"));
    assert!(access.contains("extractable"), "{access}");
}

#[test]
fn the_shim_modules_show_a_token_near_or_at_lockout() {
    let Some(hsm) = SoftHsm::try_new("the_shim_modules_show_a_token_near_or_at_lockout") else {
        return;
    };
    hsm.init_token("erin", softhsm::SO_PIN, "123456");
    let (Some(final_try), Some(locked)) = (hsm.final_try_module(), hsm.locked_module()) else {
        return;
    };
    let run = |module: &std::path::Path, args: &[&str]| {
        std::process::Command::new("pkcs11-tool")
            .arg("--module")
            .arg(module)
            .args(args)
            .env("SOFTHSM2_CONF", hsm.conf())
            .output()
            .unwrap()
    };
    let listed = run(&final_try, &["--list-token-slots"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("final user PIN try"), "{text}");
    let listed = run(&locked, &["--list-token-slots"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("user PIN locked"), "{text}");
    // The locked token refuses even the right PIN.
    let login = [
        "--token-label",
        "erin",
        "--list-objects",
        "--login",
        "--pin",
        "123456",
    ];
    assert!(!run(&locked, &login).status.success());
    assert_eq!(hsm.logins(), ["C_Login 1 0xa4"]);
    assert!(run(&final_try, &login).status.success());
}
