//! Custodian keys on PKCS#11 tokens (SoftHSM2) through the CLI: `sd verify` and
//! `sd restore-blob` with a quorum of token keys, mixed token and file keys, `shares split
//! --to-certs` + `shares combine --keys` with token keys, a token custodian exporting their
//! share for a distributed quorum, and shares opened by trial decryption after a custodian
//! renewed their certificate (same key pair, new certificate) for a file key and a token key.
//!
//! Every test makes its own data: RSA keys and certificates with the openssl CLI, a fresh
//! SoftHSM2 in a temporary directory with its own `SOFTHSM2_CONF` (set on the sdctl process
//! only), tokens initialised by `softhsm2-util` and the keys imported onto them. PINs reach
//! sdctl only through a 0600 `--pin-file`; no test passes a PIN on sdctl's argv or in its
//! environment, and every test checks that no PIN comes back in sdctl's output.

mod common;

use std::fs;

use common::softhsm::{self, SoftHsm};
use common::{Fixture, Run};
use sdctl::domain::hsm::open_restore_blob;

/// Custodian tokens: (token label, user PIN, CKA_ID hex) for custodians a, b, c.
const TOKENS: [(&str, &str, &str); 3] = [
    ("tok-a", "100001", "a1"),
    ("tok-b", "200002", "b2"),
    ("tok-c", "300003", "c3"),
];

/// Five custodians a..e and an exchange key x made by openssl, a 3-of-5 SD for a..e
/// (`sd.json`, its state returned), and the keys of a, b, c on tokens tok-a, tok-b, tok-c
/// with their certificates on the token too. Returns the tokens' key URIs.
struct Setup {
    fx: Fixture,
    hsm: SoftHsm,
    uris: Vec<String>,
    state: Vec<(String, Vec<u8>)>,
}

fn setup(test: &str) -> Option<Setup> {
    let hsm = SoftHsm::try_new(test)?;
    let fx = Fixture::new();
    for n in ["a", "b", "c", "d", "e", "x"] {
        fx.openssl_custodian(n, 2048);
    }
    let state = fx.make_sd(&["a.cer", "b.cer", "c.cer", "d.cer", "e.cer"], 3, "sd.json");
    let uris = ["a", "b", "c"]
        .iter()
        .zip(TOKENS)
        .map(|(n, (token, pin, id))| {
            hsm.custodian_token(
                token,
                pin,
                id,
                &fx.path(&format!("{n}.key")),
                Some(&fx.path(&format!("{n}.cer"))),
            )
        })
        .collect();
    Some(Setup {
        fx,
        hsm,
        uris,
        state,
    })
}

impl Setup {
    /// Runs sdctl seeing the tokens, with `--pkcs11-module SOFTHSM` added.
    fn sdctl(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--pkcs11-module", softhsm::MODULE]);
        let run = self.hsm.sdctl(&self.fx, &all);
        self.assert_no_pin(&run);
        run
    }

    /// `sd verify --sd-file SD --pin-file PINS [EXTRA...] --sd-wrapping-keys KEYS...`.
    fn verify(&self, sd: &str, pins: &str, extra: &[&str], keys: &[&str]) -> Run {
        let mut args = vec!["sd", "verify", "--sd-file", sd, "--pin-file", pins];
        args.extend_from_slice(extra);
        args.push("--sd-wrapping-keys");
        args.extend_from_slice(keys);
        self.sdctl(&args)
    }

    /// `sd restore-blob` of `sd` for `x.cer` into `blob.json` with `keys`.
    fn restore_blob(&self, sd: &str, pins: &str, keys: &[&str]) -> Run {
        let mut args = vec![
            "sd",
            "restore-blob",
            "--sd-file",
            sd,
            "--sd-exchange-key",
            "x.cer",
            "--sd-file-restore-blob",
            "blob.json",
            "--pin-file",
            pins,
            "--sd-wrapping-keys",
        ];
        args.extend_from_slice(keys);
        self.sdctl(&args)
    }

    /// Writes the PIN file `name` (0600) with these lines.
    fn pins(&self, name: &str, pins: &[&str]) -> String {
        softhsm::write_pin_file(&self.fx.path(name), pins);
        name.to_owned()
    }

    /// No token's PIN appears in what sdctl printed.
    fn assert_no_pin(&self, run: &Run) {
        for (_, pin, _) in TOKENS {
            assert!(
                !run.stdout.contains(pin) && !run.stderr.contains(pin),
                "a PIN was printed: {}{}",
                run.stdout,
                run.stderr
            );
        }
    }

    /// Opens a restore blob with the exchange key as the new HSM would.
    fn open_blob(&self, blob: &str) -> Vec<(String, Vec<u8>)> {
        let fx = &self.fx;
        let key = openssl::pkey::PKey::private_key_from_pem(&fs::read(fx.path("x.key")).unwrap())
            .unwrap();
        let bytes = fs::read(fx.path(blob)).unwrap();
        open_restore_blob(&fx.path(blob), &bytes, &key)
            .unwrap()
            .into_iter()
            .map(|d| (d.tag, d.plaintext.to_vec()))
            .collect()
    }
}

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// The decryption path sdctl reports for a SoftHSM2 key: SoftHSM2 does RSA-OAEP with SHA-1
/// only, so a share (RSA-OAEP-256) is decrypted raw on the token and OAEP-decoded on the host.
const SOFTHSM_PATH: &str = "token-raw+host-oaep";

#[test]
fn verify_and_restore_blob_with_a_quorum_of_token_keys() {
    let Some(s) = setup("verify_and_restore_blob_with_a_quorum_of_token_keys") else {
        return;
    };
    let pins = s.pins("pins.txt", &["100001", "200002", "300003"]);
    let keys: Vec<&str> = s.uris.iter().map(String::as_str).collect();
    let run = s.verify("sd.json", &pins, &["--output", "json"], &keys);
    ok(&run);
    let v = run.json();
    assert_eq!(v["result"]["verified"], true, "{}", run.stdout);
    assert_eq!(v["result"]["required"], 3);
    assert_eq!(v["result"]["shares"], 5);
    let used = v["result"]["custodians_used"].as_array().unwrap();
    assert_eq!(used.len(), 3, "{}", run.stdout);
    for (i, m) in used.iter().enumerate() {
        // The certificate on the token names the share.
        assert_eq!(m["matched_by"], "thumbprint", "{m}");
        assert_eq!(m["location"], format!("SharedKeys.enc_shares[{i}]"), "{m}");
    }
    assert!(
        run.stdout.contains(SOFTHSM_PATH),
        "the decryption path is reported: {}",
        run.stdout
    );

    // The same keys, in another order, make a restore blob that the new HSM opens to the
    // same state; the PIN file follows the order in which the tokens appear.
    let reordered = s.pins("pins-cab.txt", &["300003", "100001", "200002"]);
    let run = s.restore_blob("sd.json", &reordered, &[&s.uris[2], &s.uris[0], &s.uris[1]]);
    ok(&run);
    assert_eq!(s.open_blob("blob.json"), s.state);
}

#[test]
fn module_path_and_pin_source_in_the_uri() {
    let Some(s) = setup("module_path_and_pin_source_in_the_uri") else {
        return;
    };
    // One PIN per file, named by pin-source; the module named by module-path.
    let mut keys = Vec::new();
    for (uri, (token, pin, _)) in s.uris.iter().zip(TOKENS) {
        let file = s.fx.path(&format!("pin-{token}"));
        softhsm::write_pin_file(&file, &[pin]);
        keys.push(format!(
            "{uri}?module-path={}&pin-source=file:{}",
            softhsm::MODULE,
            file.display()
        ));
    }
    let mut args = vec!["sd", "verify", "--sd-file", "sd.json", "--sd-wrapping-keys"];
    args.extend(keys.iter().map(String::as_str));
    let run = s.hsm.sdctl(&s.fx, &args);
    s.assert_no_pin(&run);
    ok(&run);
    assert!(run.stdout.contains("VERIFIED"), "{}", run.stdout);
}

#[test]
fn mixed_token_and_file_keys() {
    let Some(s) = setup("mixed_token_and_file_keys") else {
        return;
    };
    // Two tokens and a file key; the PIN file has one line per token.
    let pins = s.pins("pins.txt", &["200002", "100001"]);
    let run = s.verify(
        "sd.json",
        &pins,
        &["--output", "json"],
        &[&s.uris[1], "e.key", &s.uris[0]],
    );
    ok(&run);
    let v = run.json();
    assert_eq!(v["result"]["verified"], true);
    let locations: Vec<&str> = v["result"]["custodians_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["location"].as_str().unwrap())
        .collect();
    for want in [
        "SharedKeys.enc_shares[0]",
        "SharedKeys.enc_shares[1]",
        "SharedKeys.enc_shares[4]",
    ] {
        assert!(locations.contains(&want), "{locations:?}");
    }
    assert!(run.stdout.contains(SOFTHSM_PATH), "{}", run.stdout);

    // A token key whose certificate is not on the token is matched by trial decryption.
    s.hsm.delete_cert("tok-c", "c3");
    let pins = s.pins("pins2.txt", &["300003"]);
    let run = s.restore_blob("sd.json", &pins, &["d.key", &s.uris[2], "e.key"]);
    ok(&run);
    assert_eq!(s.open_blob("blob.json"), s.state);
}

#[test]
fn shares_sealed_to_certificates_combine_with_token_keys() {
    let Some(s) = setup("shares_sealed_to_certificates_combine_with_token_keys") else {
        return;
    };
    let fx = &s.fx;
    let mut secret = vec![0u8; 3000];
    openssl::rand::rand_bytes(&mut secret).unwrap();
    fs::write(fx.path("secret.bin"), &secret).unwrap();
    ok(&fx.run(
        "shares split --threshold 2 --shares 3 --in secret.bin --out-dir sealed --to-certs a.cer b.cer c.cer",
    ));

    // Two token keys.
    let pins = s.pins("pins.txt", &["300003", "100001"]);
    let run = s.sdctl(&[
        "shares",
        "combine",
        "sealed/a.share.jwe",
        "sealed/c.share.jwe",
        "--out",
        "back.bin",
        "--pin-file",
        &pins,
        "--keys",
        &s.uris[2],
        &s.uris[0],
    ]);
    ok(&run);
    assert_eq!(fs::read(fx.path("back.bin")).unwrap(), secret);

    // A token key and a file key.
    let pins = s.pins("pins-b.txt", &["200002"]);
    let run = s.sdctl(&[
        "shares",
        "combine",
        "sealed/b.share.jwe",
        "sealed/c.share.jwe",
        "--out",
        "back2.bin",
        "--pin-file",
        &pins,
        "--keys",
        "c.key",
        &s.uris[1],
    ]);
    ok(&run);
    assert_eq!(fs::read(fx.path("back2.bin")).unwrap(), secret);
}

#[test]
fn a_token_custodian_exports_their_share_for_a_distributed_quorum() {
    let Some(s) = setup("a_token_custodian_exports_their_share_for_a_distributed_quorum") else {
        return;
    };
    let fx = &s.fx;
    ok(&fx.run("sd session new --out-dir s --bits 2048"));
    // Custodians a and b export from their tokens, d from a key file.
    for (i, uri) in s.uris.iter().take(2).enumerate() {
        let pins = s.pins(&format!("pin{i}"), &[TOKENS[i].1]);
        let out = format!("share{i}.jwe");
        ok(&s.sdctl(&[
            "sd",
            "share-export",
            "--sd-file",
            "sd.json",
            "--key",
            uri,
            "--to",
            "s/session.cer",
            "--out",
            &out,
            "--pin-file",
            &pins,
        ]));
        let text = fs::read_to_string(fx.path(&out)).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
    }
    ok(&fx
        .run("sd share-export --sd-file sd.json --key d.key --to s/session.cer --out share3.jwe"));
    ok(&fx.run(
        "sd restore-blob --sd-file sd.json --sd-exchange-key x.cer --shares share0.jwe share1.jwe share3.jwe --session-key s/session.key --sd-file-restore-blob blob.json",
    ));
    assert_eq!(s.open_blob("blob.json"), s.state);
}

/// `openssl req -x509 -new -key KEY -subj /CN=NAME -days 400 -out OUT`: a renewed
/// certificate for the same key pair (a new serial, new dates, so a new thumbprint).
fn renew(fx: &Fixture, key: &str, name: &str, out: &str) {
    fx.openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        key,
        "-subj",
        &format!("/CN={name}"),
        "-days",
        "400",
        "-out",
        out,
    ]);
}

/// The warning line on stderr naming the share `index` opened by trial decryption.
fn trial_warning(run: &Run, index: usize) -> String {
    let want = format!("opened SharedKeys.enc_shares[{index}]");
    run.stderr
        .lines()
        .find(|l| l.contains(&want) && l.contains("by trial decryption"))
        .unwrap_or_else(|| panic!("no warning {want:?} on stderr: {}", run.stderr))
        .to_owned()
}

#[test]
fn renewed_certificates_open_their_share_by_trial_decryption_with_a_warning() {
    let Some(s) = setup("renewed_certificates_open_their_share_by_trial_decryption_with_a_warning")
    else {
        return;
    };
    let fx = &s.fx;
    // File custodian a renews: the certificate beside a.key is replaced.
    renew(fx, "a.key", "a", "a-renewed.cer");
    let old = fs::read(fx.path("a.cer")).unwrap();
    fs::copy(fx.path("a-renewed.cer"), fx.path("a.cer")).unwrap();
    assert_ne!(fs::read(fx.path("a.cer")).unwrap(), old);
    // Token custodian b renews: the certificate on the token is replaced.
    renew(fx, "b.key", "b", "b-renewed.cer");
    s.hsm.delete_cert("tok-b", "b2");
    s.hsm
        .import_cert("tok-b", "sdctl-b", "b2", &fx.path("b-renewed.cer"));

    let pins = s.pins("pins.txt", &["200002"]);
    let run = s.verify(
        "sd.json",
        &pins,
        &["--output", "json"],
        &["a.key", &s.uris[1], "c.key"],
    );
    ok(&run);
    assert_eq!(run.json()["result"]["verified"], true);
    let a = trial_warning(&run, 0);
    assert!(a.starts_with("sdctl: warning: "), "{a}");
    assert!(a.contains("a.key"), "{a}");
    assert!(
        a.contains("its certificate's thumbprint matches no share of"),
        "{a}"
    );
    assert!(a.contains("sd.json"), "{a}");
    let b = trial_warning(&run, 1);
    assert!(b.contains("tok-b"), "{b}");
    assert!(
        b.contains("its certificate's thumbprint matches no share of"),
        "{b}"
    );
    // c's certificate still matches: no warning for it.
    assert!(
        !run.stderr.contains("opened SharedKeys.enc_shares[2]"),
        "{}",
        run.stderr
    );
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("opened SharedKeys.enc_shares[0]"),
        "{warnings}"
    );
    assert!(
        warnings.contains("opened SharedKeys.enc_shares[1]"),
        "{warnings}"
    );

    // The same holds for restore-blob and for shares combine.
    let run = s.restore_blob("sd.json", &pins, &["a.key", &s.uris[1], "c.key"]);
    ok(&run);
    trial_warning(&run, 0);
    trial_warning(&run, 1);
    assert_eq!(s.open_blob("blob.json"), s.state);
}

#[test]
fn one_pin_line_per_distinct_token() {
    let Some(s) = setup("one_pin_line_per_distinct_token") else {
        return;
    };
    let fx = &s.fx;
    // Custodian d's key goes onto tok-a too (another object): two keys, one token, one PIN.
    s.hsm
        .import_key("tok-a", "sdctl-d", "d4", &fx.path("d.key"));
    s.hsm
        .import_cert("tok-a", "sdctl-d", "d4", &fx.path("d.cer"));
    let d = softhsm::uri("tok-a", "sdctl-d");
    let pins = s.pins("pins.txt", &["100001", "200002"]);
    let run = s.verify(
        "sd.json",
        &pins,
        &["--output", "json"],
        &[&s.uris[0], &d, &s.uris[1]],
    );
    ok(&run);
    let used = run.json()["result"]["custodians_used"].clone();
    assert_eq!(used[1]["location"], "SharedKeys.enc_shares[3]", "{used}");

    // A token whose URI names its PIN file (pin-source) takes no line of --pin-file.
    softhsm::write_pin_file(&fx.path("pin-c"), &["300003"]);
    let c = format!(
        "{}?pin-source=file:{}",
        s.uris[2],
        fx.path("pin-c").display()
    );
    let pins = s.pins("pins-b.txt", &["200002"]);
    let run = s.verify("sd.json", &pins, &[], &[&c, &s.uris[1], "e.key"]);
    ok(&run);
}

#[test]
fn a_token_that_offers_oaep_sha256_decrypts_the_shares_itself() {
    let Some(s) = setup("a_token_that_offers_oaep_sha256_decrypts_the_shares_itself") else {
        return;
    };
    // No token here offers CKM_RSA_PKCS_OAEP with SHA-256 (SoftHSM2 takes SHA-1 only): a test
    // double of the PKCS#11 interface does (see SoftHsm::oaep_sha256_module).
    let Some(oaep) = s.hsm.oaep_sha256_module() else {
        return;
    };
    let oaep = oaep.display().to_string();
    // c's certificate is not on its token: its share is found by trial decryption, so the
    // double also answers failed decryptions (CKR_ENCRYPTED_DATA_INVALID) first.
    s.hsm.delete_cert("tok-c", "c3");
    let pins = s.pins("pins.txt", &["300003", "100001", "200002"]);
    let run = s.hsm.sdctl(
        &s.fx,
        &[
            "--output",
            "json",
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--pkcs11-module",
            &oaep,
            "--pin-file",
            &pins,
            "--sd-wrapping-keys",
            &s.uris[2],
            &s.uris[0],
            &s.uris[1],
        ],
    );
    s.assert_no_pin(&run);
    ok(&run);
    let v = run.json();
    assert_eq!(v["result"]["verified"], true);
    let used = v["result"]["custodians_used"].as_array().unwrap();
    assert_eq!(used[0]["location"], "SharedKeys.enc_shares[2]", "{used:?}");
    assert_eq!(used[0]["matched_by"], "trial_decryption", "{used:?}");
    assert!(run.stdout.contains("\"token-oaep\""), "{}", run.stdout);
    assert!(!run.stdout.contains(SOFTHSM_PATH), "{}", run.stdout);
    // The token's OAEP ran: one successful C_DecryptInit per share opened at least, and
    // sdctl never fell back to raw RSA.
    let inits = s
        .hsm
        .logins()
        .into_iter()
        .filter(|l| l == "C_DecryptInit OAEP-SHA256 0x0")
        .count();
    assert!(inits >= 3, "{:?}", s.hsm.logins());

    let run = s.hsm.sdctl(
        &s.fx,
        &[
            "sd",
            "restore-blob",
            "--sd-file",
            "sd.json",
            "--sd-exchange-key",
            "x.cer",
            "--sd-file-restore-blob",
            "blob.json",
            "--pkcs11-module",
            &oaep,
            "--pin-file",
            &pins,
            "--sd-wrapping-keys",
            &s.uris[2],
            &s.uris[0],
            &s.uris[1],
        ],
    );
    ok(&run);
    assert_eq!(s.open_blob("blob.json"), s.state);
}

#[test]
fn rewrap_from_token_keys_to_new_custodians() {
    let Some(s) = setup("rewrap_from_token_keys_to_new_custodians") else {
        return;
    };
    // The current quorum (three tokens) hands the domain to new custodians c, d, e.
    let pins = s.pins("pins.txt", &["100001", "200002", "300003"]);
    let mut args = vec![
        "sd",
        "rewrap",
        "--sd-file",
        "sd.json",
        "--pin-file",
        &pins,
        "--new-wrapping-keys",
        "c.cer",
        "d.cer",
        "e.cer",
        "--new-quorum",
        "2",
        "--out",
        "new.json",
        "--sd-wrapping-keys",
    ];
    args.extend(s.uris.iter().map(String::as_str));
    let run = s.sdctl(&args);
    ok(&run);
    assert_eq!(
        s.fx.read_json("new.json")["EncData"],
        s.fx.read_json("sd.json")["EncData"]
    );
    // The new custodians open it, token c among them.
    let pin_c = s.pins("pin-c.txt", &["300003"]);
    let run = s.restore_blob("new.json", &pin_c, &[&s.uris[2], "e.key"]);
    ok(&run);
    assert_eq!(s.open_blob("blob.json"), s.state);
}
