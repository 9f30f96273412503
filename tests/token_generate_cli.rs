//! `sdctl keys generate --pkcs11 URI...` on SoftHSM2 tokens this test initialises in its
//! own temporary directory (its own SOFTHSM2_CONF, given to each process it runs, never set
//! in this one): keys made on the tokens, certificates and a manifest with token blocks
//! written (no key file, no PIN), the keys usable by their manifest URIs; a failure on one
//! token leaves no key on the others and no file; a wrong PIN stops before any key is made.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SO_PIN: &str = "87654321";
const USER_PIN: &str = "123456";

/// A SoftHSM2 directory with its own configuration and tokens.
struct Tokens {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Tokens {
    fn new(labels: &[&str]) -> Tokens {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("tokens");
        std::fs::create_dir(&store).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                store.display()
            ),
        )
        .unwrap();
        let tokens = Tokens { dir, conf };
        for label in labels {
            let out = Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &tokens.conf)
                .args(["--init-token", "--free", "--label", label])
                .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
                .output()
                .unwrap();
            assert!(out.status.success(), "softhsm2-util: {out:?}");
        }
        tokens
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A PIN file (0600) with these lines.
    fn pin_file(&self, name: &str, pins: &[&str]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(
            &path,
            pins.iter().map(|p| format!("{p}\n")).collect::<String>(),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn sdctl(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_sdctl"))
            .env("SOFTHSM2_CONF", &self.conf)
            .current_dir(self.dir.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    /// `pkcs11-tool --list-objects` on a token (logged in), as text.
    fn objects(&self, token: &str) -> String {
        let out = self.pkcs11_tool(token, &["--login", "--pin", USER_PIN, "--list-objects"]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pkcs11_tool(&self, token: &str, args: &[&str]) -> std::process::Output {
        Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["--module", MODULE, "--token-label", token])
            .args(args)
            .output()
            .unwrap()
    }
}

fn generate(tokens: &Tokens, labels: &[&str], pins: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["keys", "generate", "--pkcs11-module", MODULE]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for label in labels {
        args.push("--pkcs11".into());
        args.push(format!("pkcs11:token={label}"));
    }
    args.extend(["--pin-file".into(), pins.display().to_string()]);
    args.extend(["--bits".into(), "2048".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tokens.sdctl(&args)
}

#[test]
fn keys_are_made_on_the_tokens_and_recorded_by_uri() {
    let labels = ["alice", "bob", "carol"];
    let tokens = Tokens::new(&labels);
    let pins = tokens.pin_file("pins.txt", &[USER_PIN, USER_PIN, USER_PIN]);
    let run = generate(
        &tokens,
        &labels,
        &pins,
        &["--out-dir", "custodians", "--subject", "/O=Contoso"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for label in labels {
        assert!(
            run.stderr.contains(&format!(
                "{label}: generating an RSA-2048 key pair on token '{label}'"
            )),
            "{}",
            run.stderr
        );
    }

    // Only certificates and the manifest: no key file.
    let dir = tokens.path("custodians");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["alice.cer", "bob.cer", "carol.cer", "manifest.json"]
    );

    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(!text.contains(USER_PIN), "a PIN in the manifest: {text}");
    assert!(!run.stdout.contains(USER_PIN) && !run.stderr.contains(USER_PIN));
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let custodians = manifest["custodians"].as_array().unwrap();
    assert_eq!(custodians.len(), 3);
    let mut uris = Vec::new();
    for (c, label) in custodians.iter().zip(labels) {
        assert_eq!(c["name"], label);
        assert!(c.get("key_file").is_none(), "{c}");
        assert_eq!(c["certificate_file"], format!("{label}.cer"));
        assert_eq!(c["subject"], format!("CN={label},O=Contoso"));
        assert_eq!(c["key_bits"], 2048);
        let t = &c["token"];
        assert_eq!(t["label"], label);
        assert_eq!(t["manufacturer"], "SoftHSM project");
        assert_eq!(t["model"], "SoftHSM v2");
        assert_eq!(t["object"], format!("sdctl-{label}"));
        let id = t["id"].as_str().unwrap();
        assert_eq!(id.len(), 32, "16-byte id: {id}");
        let serial = t["serial"].as_str().unwrap();
        let uri = t["uri"].as_str().unwrap();
        assert!(
            uri.starts_with(&format!(
                "pkcs11:token={label};serial={serial};object=sdctl-{label};id="
            )),
            "{uri}"
        );
        assert!(run.stdout.contains(uri), "{}", run.stdout);
        uris.push(uri.to_owned());

        // The token holds private key, public key and certificate under that id; the
        // private key is sensitive and never extractable.
        let listing = tokens.objects(label);
        assert_eq!(
            listing.matches(&format!("ID:         {id}")).count(),
            3,
            "{listing}"
        );
        assert!(
            listing.contains("Access:     sensitive, always sensitive, never extractable, local"),
            "{listing}"
        );
        // The certificate on the token is the file's.
        let cert_file = dir.join(format!("{label}.cer"));
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert_file)
            .output()
            .unwrap()
            .stdout;
        let on_token = tokens.pkcs11_tool(label, &["--read-object", "--type", "cert", "--id", id]);
        assert!(on_token.status.success(), "{on_token:?}");
        assert_eq!(on_token.stdout, der);
        // Its self-signature holds.
        let cert = cert_file.to_str().unwrap();
        let verify = Command::new("openssl")
            .args(["verify", "-check_ss_sig", "-CAfile", cert, cert])
            .output()
            .unwrap();
        assert!(verify.status.success(), "{verify:?}");
    }

    // The keys open by their manifest URIs: keys check matches each to its certificate.
    let mut args: Vec<String> = vec![
        "keys".into(),
        "check".into(),
        "--pkcs11-module".into(),
        MODULE.into(),
        "--pin-file".into(),
        pins.display().to_string(),
        "--sd-wrapping-keys".into(),
    ];
    args.extend(labels.iter().map(|l| format!("custodians/{l}.cer")));
    args.push("--keys".into());
    args.extend(uris);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = tokens.sdctl(&args);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);

    // A second run over the same tokens is refused before anything is made (the outputs
    // exist); with --force it is refused by the tokens, which already hold sdctl-NAME.
    let again = generate(&tokens, &labels, &pins, &["--out-dir", "custodians"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    let forced = generate(
        &tokens,
        &labels,
        &pins,
        &["--out-dir", "custodians", "--force"],
    );
    assert_eq!(forced.code, 2, "{}", forced.stderr);
    assert!(forced.stderr.contains("already holds"), "{}", forced.stderr);
    assert_eq!(
        tokens
            .objects("alice")
            .matches("label:      sdctl-alice")
            .count(),
        3
    );
}

#[test]
fn a_failure_on_one_token_undoes_the_others() {
    let labels = ["dave", "erin", "frank"];
    let tokens = Tokens::new(&labels);
    let pins = tokens.pin_file("pins.txt", &[USER_PIN, USER_PIN, USER_PIN]);
    // erin's token already holds an object labelled sdctl-erin.
    let data = tokens.path("data.bin");
    std::fs::write(&data, b"not a key").unwrap();
    let out = tokens.pkcs11_tool(
        "erin",
        &[
            "--login",
            "--pin",
            USER_PIN,
            "--write-object",
            data.to_str().unwrap(),
            "--type",
            "data",
            "--label",
            "sdctl-erin",
        ],
    );
    assert!(out.status.success(), "{out:?}");

    let run = generate(&tokens, &labels, &pins, &["--out-dir", "set"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("already holds 1 object(s)"),
        "{}",
        run.stderr
    );
    // dave's key was made, then destroyed; frank's never made; no file written.
    assert!(run.stderr.contains("dave: generating"), "{}", run.stderr);
    assert!(!run.stderr.contains("frank: generating"), "{}", run.stderr);
    assert!(!tokens.objects("dave").contains("sdctl-dave"));
    assert!(!tokens.objects("frank").contains("sdctl-frank"));
    assert!(!tokens.path("set/manifest.json").exists());
    assert!(!tokens.path("set/dave.cer").exists());
}

#[test]
fn a_wrong_pin_stops_before_any_key_is_made() {
    let labels = ["grace", "heidi", "ivan"];
    let tokens = Tokens::new(&labels);
    let pins = tokens.pin_file("pins.txt", &[USER_PIN, "999999", USER_PIN]);
    let run = generate(&tokens, &labels, &pins, &["--out-dir", "set"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("wrong PIN"), "{}", run.stderr);
    assert!(!run.stderr.contains("generating"), "{}", run.stderr);
    for label in labels.iter().filter(|l| **l != "heidi") {
        assert!(!tokens.objects(label).contains("sdctl-"), "{label}");
    }
    assert!(!tokens.path("set/manifest.json").exists());
}

#[test]
fn refusals_are_usage_errors() {
    let labels = ["judy", "mallory"];
    let tokens = Tokens::new(&labels);
    let pins = tokens.pin_file("pins.txt", &[USER_PIN, USER_PIN]);
    let cases: [(&[&str], &str); 8] = [
        (
            &["--pkcs11", "pkcs11:token=judy;object=k", "--out-dir", "o"],
            "names an object",
        ),
        (
            &[
                "--pkcs11",
                "pkcs11:token=judy",
                "--pkcs11",
                "pkcs11:token=judy",
                "--out-dir",
                "o",
            ],
            "the token 'judy' is given twice",
        ),
        (
            &[
                "--pkcs11",
                "pkcs11:token=judy",
                "--pkcs11",
                "pkcs11:token=judy",
                "--names",
                "a,b",
                "--out-dir",
                "o",
            ],
            "is already the token of custodian a",
        ),
        (
            &[
                "--pkcs11",
                "pkcs11:token=judy",
                "--names",
                "a,b",
                "--out-dir",
                "o",
            ],
            "--names has 2 name(s) for 1 token(s)",
        ),
        (
            &["--pkcs11", "pkcs11:token=nobody", "--out-dir", "o"],
            "no token matching it is present",
        ),
        (
            &["--pkcs11", "pkcs11:serial=0", "--out-dir", "o"],
            "give --names",
        ),
        (
            &[
                "--pkcs11",
                "pkcs11:token=judy",
                "--count",
                "3",
                "--out-dir",
                "o",
            ],
            "cannot be used with",
        ),
        (
            &[
                "--pkcs11",
                "pkcs11:token=judy;pin-value=1234",
                "--out-dir",
                "o",
            ],
            "pin-value",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec![
            "keys",
            "generate",
            "--pkcs11-module",
            MODULE,
            "--bits",
            "2048",
        ];
        all.extend(["--pin-file", pins.to_str().unwrap()]);
        all.extend(args);
        let run = tokens.sdctl(&all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    for label in labels {
        assert!(!tokens.objects(label).contains("sdctl-"), "{label}");
    }
}
