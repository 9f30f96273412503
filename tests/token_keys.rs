//! Custodian keys generated on PKCS#11 tokens (SoftHSM2) through the CLI: `keys generate
//! --pkcs11` makes each key pair on its custodian's token, non-extractable (proven by asking
//! the token for the private exponent and the primes, in a process of our own with cryptoki,
//! and by OpenSC's pkcs11-tool), the certificates are accepted by openssl and match the
//! token's public key, the manifest names the tokens and holds no PIN; `keys list-token`,
//! `keys inspect` and `keys check` with token keys; a token that would let the key out is
//! refused and the objects made are destroyed; and (online) an HSM on the emulator activated
//! for three token custodians, then recovered into a second HSM with a quorum of tokens.

mod common;

use std::fs;

use common::softhsm::{self, SoftHsm};
use common::{Fixture, Run};

/// The custodians' tokens and PINs.
const CUSTODIANS: [(&str, &str); 3] = [("alice", "111111"), ("bob", "222222"), ("carol", "333333")];

/// Run by [`SoftHsm::probe_private_key`] in a child process; does nothing otherwise.
#[test]
fn probe() {
    softhsm::probe_main();
}

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// No custodian PIN in what sdctl printed.
fn assert_no_pin(run: &Run) {
    for (_, pin) in CUSTODIANS {
        assert!(
            !run.stdout.contains(pin) && !run.stderr.contains(pin),
            "a PIN was printed: {}{}",
            run.stdout,
            run.stderr
        );
    }
}

/// Initialises the three custodians' tokens and writes their PIN file `pins.txt` in `fx`.
fn tokens(hsm: &SoftHsm, fx: &Fixture) -> String {
    for (token, pin) in CUSTODIANS {
        hsm.init_token(token, softhsm::SO_PIN, pin);
    }
    softhsm::write_pin_file(&fx.path("pins.txt"), &CUSTODIANS.map(|(_, p)| p));
    "pins.txt".to_owned()
}

/// `keys generate --pkcs11-module MODULE --pkcs11 pkcs11:token=T ... --out-dir DIR
/// --bits 2048 --pin-file PINS` for the three custodians.
fn generate(hsm: &SoftHsm, fx: &Fixture, module: &str, dir: &str, pins: &str) -> Run {
    let uris: Vec<String> = CUSTODIANS
        .iter()
        .map(|(t, _)| format!("pkcs11:token={t}"))
        .collect();
    let mut args = vec![
        "--output",
        "json",
        "keys",
        "generate",
        "--pkcs11-module",
        module,
    ];
    for uri in &uris {
        args.extend(["--pkcs11", uri.as_str()]);
    }
    args.extend(["--out-dir", dir, "--bits", "2048", "--pin-file", pins]);
    let run = hsm.sdctl(fx, &args);
    assert_no_pin(&run);
    run
}

#[test]
fn keys_generated_on_tokens_never_leave_them() {
    let Some(hsm) = SoftHsm::try_new("keys_generated_on_tokens_never_leave_them") else {
        return;
    };
    let fx = Fixture::new();
    let pins = tokens(&hsm, &fx);
    let run = generate(&hsm, &fx, softhsm::MODULE, "set", &pins);
    ok(&run);
    // Certificates and the manifest: no private key file.
    assert_eq!(
        fx.listing("set"),
        ["alice.cer", "bob.cer", "carol.cer", "manifest.json"]
    );
    let manifest_text = fs::read_to_string(fx.path("set/manifest.json")).unwrap();
    for (_, pin) in CUSTODIANS {
        assert!(!manifest_text.contains(pin), "a PIN in the manifest");
    }
    let manifest: serde_json::Value = serde_json::from_str(&manifest_text).unwrap();
    let mut uris = Vec::new();
    for (i, (token, _)) in CUSTODIANS.iter().enumerate() {
        let c = &manifest["custodians"][i];
        assert_eq!(c["name"], *token, "{c}");
        let t = &c["token"];
        assert_eq!(t["label"], *token, "{t}");
        assert_eq!(t["object"], format!("sdctl-{token}"), "{t}");
        assert_eq!(t["manufacturer"], "SoftHSM project", "{t}");
        assert_eq!(t["model"], "SoftHSM v2", "{t}");
        let id = t["id"].as_str().unwrap();
        assert_eq!(id.len(), 32, "16-byte CKA_ID in hex: {t}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{t}");
        let serial = t["serial"].as_str().unwrap();
        assert!(!serial.is_empty(), "{t}");
        let uri = t["uri"].as_str().unwrap().to_owned();
        assert!(uri.starts_with("pkcs11:"), "{uri}");
        assert!(uri.contains(&format!("token={token}")), "{uri}");
        assert!(!uri.contains("pin-value"), "{uri}");

        // The private key, as the token itself describes it: generated there, sensitive,
        // never extractable; it refuses the private exponent and the primes.
        let probe = hsm.probe_private_key(token, &format!("sdctl-{token}"));
        for want in [
            "sensitive=true",
            "extractable=false",
            "always_sensitive=true",
            "never_extractable=true",
            "local=true",
            "private_exponent=sensitive",
            "prime_1=sensitive",
        ] {
            assert!(probe.lines().any(|l| l == want), "{token}: {want}: {probe}");
        }
        assert!(!probe.contains("=available"), "{token}: {probe}");

        // What pkcs11-tool sees: the key pair and the certificate, one label, one id.
        let objects = hsm.list_objects(token);
        for class in [
            "Private Key Object; RSA",
            "Public Key Object; RSA 2048 bits",
            "Certificate Object; type = X.509 cert",
        ] {
            assert!(objects.contains(class), "{token}: {class}: {objects}");
        }
        assert_eq!(
            objects
                .matches(&format!("label:      sdctl-{token}"))
                .count(),
            3,
            "{objects}"
        );
        assert_eq!(
            objects.matches(&format!("ID:         {id}")).count(),
            3,
            "{objects}"
        );

        // The certificate: openssl reads it, it is self-signed by the key on the token,
        // and the token holds the same certificate.
        let cert_path = fx.path(&format!("set/{token}.cer"));
        let text = fx.openssl(&[
            "x509",
            "-in",
            &format!("set/{token}.cer"),
            "-noout",
            "-text",
        ]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
        assert!(text.contains("sha256WithRSAEncryption"), "{text}");
        let cert_bytes = fs::read(&cert_path).unwrap();
        let cert = openssl::x509::X509::from_pem(&cert_bytes)
            .or_else(|_| openssl::x509::X509::from_der(&cert_bytes))
            .unwrap();
        assert!(
            cert.verify(&cert.public_key().unwrap()).unwrap(),
            "{token}: self-signature"
        );
        let on_token = hsm.path(&format!("{token}-cert.der"));
        hsm.pkcs11_tool(&[
            "--token-label",
            token,
            "--read-object",
            "--type",
            "cert",
            "--id",
            id,
            "--output-file",
            &on_token.display().to_string(),
        ]);
        assert_eq!(
            fs::read(&on_token).unwrap(),
            cert.to_der().unwrap(),
            "{token}"
        );
        uris.push(uri);
    }
    // Fresh ids and fresh keys: no two custodians share either.
    let ids: std::collections::BTreeSet<&str> = (0..3)
        .map(|i| manifest["custodians"][i]["token"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);

    // The keys work: a 2-of-3 SD for the certificates, verified with two tokens.
    fx.make_sd(
        &["set/alice.cer", "set/bob.cer", "set/carol.cer"],
        2,
        "sd.json",
    );
    softhsm::write_pin_file(&fx.path("pins-ca.txt"), &["333333", "111111"]);
    let run = hsm.sdctl(
        &fx,
        &[
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pins-ca.txt",
            "--sd-wrapping-keys",
            &uris[2],
            &uris[0],
        ],
    );
    assert_no_pin(&run);
    ok(&run);

    // keys check: every certificate's key is on its token.
    let mut args = vec![
        "keys",
        "check",
        "--pkcs11-module",
        softhsm::MODULE,
        "--pin-file",
        "pins.txt",
        "--sd-wrapping-keys",
        "set/alice.cer",
        "set/bob.cer",
        "set/carol.cer",
        "--keys",
    ];
    args.extend(uris.iter().map(String::as_str));
    let run = hsm.sdctl(&fx, &args);
    assert_no_pin(&run);
    ok(&run);
}

#[test]
fn list_token_and_inspect_show_what_a_token_holds() {
    let Some(hsm) = SoftHsm::try_new("list_token_and_inspect_show_what_a_token_holds") else {
        return;
    };
    let fx = Fixture::new();
    let pins = tokens(&hsm, &fx);
    ok(&generate(&hsm, &fx, softhsm::MODULE, "set", &pins));
    let manifest = fx.read_json("set/manifest.json");
    let alice = &manifest["custodians"][0]["token"];
    let serial = alice["serial"].as_str().unwrap();
    let id = alice["id"].as_str().unwrap();

    // The tokens present, without logging in.
    let run = hsm.sdctl(
        &fx,
        &["keys", "list-token", "--pkcs11-module", softhsm::MODULE],
    );
    ok(&run);
    for (token, _) in CUSTODIANS {
        assert!(run.stdout.contains(token), "{token}: {}", run.stdout);
    }
    assert!(run.stdout.contains(serial), "{}", run.stdout);
    assert!(run.stdout.contains("SoftHSM"), "{}", run.stdout);

    // One token's public objects without login: the certificate and the public key.
    let run = hsm.sdctl(
        &fx,
        &[
            "keys",
            "list-token",
            "--pkcs11-module",
            softhsm::MODULE,
            "pkcs11:token=alice",
        ],
    );
    ok(&run);
    assert!(run.stdout.contains("sdctl-alice"), "{}", run.stdout);
    assert!(run.stdout.contains(id), "{}", run.stdout);
    assert!(!run.stdout.contains("sdctl-bob"), "{}", run.stdout);

    // keys inspect: the key on the token, its size, not extractable.
    softhsm::write_pin_file(&fx.path("pin-alice.txt"), &["111111"]);
    let uri = alice["uri"].as_str().unwrap();
    let run = hsm.sdctl(
        &fx,
        &[
            "keys",
            "inspect",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pin-alice.txt",
            uri,
        ],
    );
    assert_no_pin(&run);
    ok(&run);
    assert!(run.stdout.contains("2048"), "{}", run.stdout);
    assert!(run.stdout.contains("alice"), "{}", run.stdout);
}

#[test]
fn a_token_that_would_let_the_key_out_is_refused() {
    let Some(hsm) = SoftHsm::try_new("a_token_that_would_let_the_key_out_is_refused") else {
        return;
    };
    // A module that says every key is extractable (a token ignoring the template).
    let Some(lying) = hsm.lying_module() else {
        return;
    };
    let fx = Fixture::new();
    let pins = tokens(&hsm, &fx);
    let run = generate(&hsm, &fx, &lying.display().to_string(), "set", &pins);
    run.assert_error(2, "extractable");
    // Nothing written, and the objects made on the token were destroyed.
    assert!(
        fx.listing("set").iter().all(|n| !n.ends_with(".cer")),
        "{:?}",
        fx.listing("set")
    );
    assert!(!fx.path("set/manifest.json").exists());
    for (token, _) in CUSTODIANS {
        let objects = hsm.list_objects(token);
        assert!(
            !objects.contains("Private Key Object")
                && !objects.contains("Public Key Object")
                && !objects.contains("Certificate Object"),
            "{token} still holds: {objects}"
        );
    }
}

#[cfg(feature = "online")]
#[test]
fn an_hsm_activated_for_three_token_custodians_is_recovered_with_them() {
    use common::online::Online;

    let Some(hsm) =
        SoftHsm::try_new("an_hsm_activated_for_three_token_custodians_is_recovered_with_them")
    else {
        return;
    };
    let online = Online::start(&["hsm-a", "hsm-b", "hsm-c"]);
    let fx = &online.fx;
    let pins = tokens(&hsm, fx);
    ok(&generate(&hsm, fx, softhsm::MODULE, "keys", &pins));

    // Activation: the certificates made on the tokens go to the HSM.
    ok(&online.hsm(
        "hsm-a",
        &[
            "download",
            "--sd-wrapping-keys",
            "keys/alice.cer",
            "keys/bob.cer",
            "keys/carol.cer",
            "--sd-quorum",
            "2",
            "--security-domain-file",
            "sd.json",
        ],
    ));
    let manifest = fx.read_json("keys/manifest.json");
    let uri = |i: usize| {
        manifest["custodians"][i]["token"]["uri"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (bob, carol) = (uri(1), uri(2));
    softhsm::write_pin_file(&fx.path("pins-bc.txt"), &["222222", "333333"]);
    let run = hsm.sdctl(
        fx,
        &[
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pins-bc.txt",
            "--sd-wrapping-keys",
            &bob,
            &carol,
        ],
    );
    assert_no_pin(&run);
    ok(&run);

    // Recovery into HSM B with two tokens.
    ok(&online.hsm(
        "hsm-b",
        &["init-recovery", "--sd-exchange-key", "exchange.pem"],
    ));
    let run = hsm.sdctl(
        fx,
        &[
            "sd",
            "restore-blob",
            "--sd-file",
            "sd.json",
            "--sd-exchange-key",
            "exchange.pem",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pins-bc.txt",
            "--sd-wrapping-keys",
            &bob,
            &carol,
            "--sd-file-restore-blob",
            "blob.json",
        ],
    );
    assert_no_pin(&run);
    ok(&run);
    ok(&online.hsm(
        "hsm-b",
        &[
            "upload",
            "--sd-file",
            "blob.json",
            "--restore-blob",
            "--no-wait",
        ],
    ));
    let run = online.hsm("hsm-b", &["wait", "--target", "upload", "--output", "json"]);
    ok(&run);
    assert_eq!(run.json()["result"]["state"], "Succeeded");
    let run = online.hsm("hsm-b", &["status", "--output", "json"]);
    ok(&run);
    assert_eq!(run.json()["result"]["activation"], "Active");

    // hsm upload can build the blob itself from the tokens (it warns: keys on an online
    // machine); HSM C is recovered that way.
    ok(&online.hsm(
        "hsm-c",
        &["init-recovery", "--sd-exchange-key", "exchange-c.pem"],
    ));
    let conn = online.conn("hsm-c", "admin.token");
    let mut args = vec![
        "hsm",
        "upload",
        "--sd-file",
        "sd.json",
        "--sd-exchange-key",
        "exchange-c.pem",
        "--pkcs11-module",
        softhsm::MODULE,
        "--pin-file",
        "pins-bc.txt",
        "--sd-wrapping-keys",
        &bob,
        &carol,
    ];
    args.extend(conn.iter().map(String::as_str));
    let run = hsm.sdctl(fx, &args);
    assert_no_pin(&run);
    ok(&run);
    assert!(run.stderr.contains("defeats the air gap"), "{}", run.stderr);
    let run = online.hsm("hsm-c", &["status", "--output", "json"]);
    ok(&run);
    assert_eq!(run.json()["result"]["activation"], "Active");
}
