//! The `sdctl keys` commands end to end: outputs, refusals (message, exit code, no partial
//! file, no panic), and the JSON envelope; also the program's usage errors and `--version`.

mod common;

use common::{mode_of, Fixture};

const PASSES: [&str; 3] = [
    "first custodian passphrase",
    "second custodian passphrase",
    "third custodian passphrase",
];

fn generate(fx: &Fixture, dir: &str, extra: &[&str]) -> common::Run {
    fx.pass_file("pw.txt", &PASSES);
    fx.generate_keys(dir, "pw.txt", extra)
}

#[test]
fn generate_writes_keys_certs_and_manifest() {
    let fx = Fixture::new();
    let run = generate(
        &fx,
        "set",
        &[
            "--names",
            "ann,ben,cat",
            "--days",
            "90",
            "--subject",
            "/O=Contoso",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fx.listing("set"),
        [
            "ann.cer",
            "ann.key",
            "ben.cer",
            "ben.key",
            "cat.cer",
            "cat.key",
            "manifest.json"
        ]
    );
    assert_eq!(mode_of(&fx.path("set")), 0o700);
    assert!(run.stdout.contains("Generated 3 custodian key pairs"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fx.path("set/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["format"], "sdctl-custodian-keys");
    let ann = &manifest["custodians"][0];
    assert_eq!(ann["name"], "ann");
    assert_eq!(ann["subject"], "CN=ann,O=Contoso");
    assert_eq!(ann["key_bits"], 2048);
    let days = fx.openssl(&[
        "x509",
        "-in",
        "set/ann.cer",
        "-noout",
        "-checkend",
        &(89 * 86400).to_string(),
    ]);
    assert!(
        days.status.success(),
        "certificate should be valid for 90 days"
    );
    let serials: std::collections::HashSet<_> = (0..3)
        .map(|i| manifest["custodians"][i]["serial"].to_string())
        .collect();
    assert_eq!(serials.len(), 3, "serials must be random and distinct");
}

#[test]
fn generate_refuses_bad_counts() {
    let fx = Fixture::new();
    for count in ["2", "11"] {
        let run = fx.sdctl(&["keys", "generate", "--count", count, "--out-dir", "set"]);
        run.assert_error(
            2,
            &format!("--count {count}: a Managed HSM security domain needs 3 to 10 custodians"),
        );
        assert!(!fx.path("set").exists());
    }
}

#[test]
fn generate_refuses_bad_options() {
    let fx = Fixture::new();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--bits", "1024"],
            "--bits 1024: choose 2048, 3072 or 4096",
        ),
        (&["--days", "0"], "--days 0"),
        (
            &["--names", "a,b"],
            "--names has 2 name(s) but --count is 3",
        ),
        (&["--names", "a,a,b"], "'a' is given twice"),
        (&["--subject", "/CN=boss"], "leave CN out"),
    ];
    for (extra, needle) in cases {
        let run = generate(&fx, "set", extra);
        run.assert_error(2, needle);
        assert!(!fx.path("set").exists(), "{extra:?} left output");
    }
}

#[test]
fn generate_never_overwrites_without_force() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("set")).unwrap();
    std::fs::write(fx.path("set/custodian2.key"), "precious").unwrap();
    let run = generate(&fx, "set", &[]);
    run.assert_error(
        2,
        "custodian2.key: already exists; choose another path or pass --force",
    );
    assert_eq!(
        fx.listing("set"),
        ["custodian2.key"],
        "partial output left behind"
    );
    assert_eq!(
        std::fs::read_to_string(fx.path("set/custodian2.key")).unwrap(),
        "precious"
    );

    let run = generate(&fx, "set", &["--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fx.listing("set").len(), 7);
    assert!(std::fs::read_to_string(fx.path("set/custodian2.key"))
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(mode_of(&fx.path("set/custodian2.key")), 0o600);
}

#[test]
fn generate_passphrase_rules() {
    let fx = Fixture::new();
    fx.pass_file(
        "short.txt",
        &["long enough passphrase", "short", "another long passphrase"],
    );
    let run = fx.generate_keys("set", "short.txt", &[]);
    run.assert_error(
        2,
        "short.txt line 2 (custodian custodian2): passphrase is too weak: fewer than 12 characters",
    );
    assert!(!fx.path("set").exists());

    let relaxed = fx.generate_keys("set", "short.txt", &["--allow-weak-passphrases"]);
    assert_eq!(relaxed.code, 0);

    fx.pass_file(
        "two.txt",
        &["long enough passphrase", "another long passphrase"],
    );
    let run = fx.generate_keys("other", "two.txt", &[]);
    run.assert_error(2, "two.txt: has 2 line(s) but 3 key(s) were given");

    // No file and no terminal: refuse rather than write unencrypted keys or hang.
    let run = fx.run("keys generate --count 3 --out-dir other");
    run.assert_error(
        2,
        "there is no terminal to ask on; use --passphrase-file FILE",
    );
    assert!(!fx.path("other").exists());
}

#[test]
fn world_readable_passphrase_file_earns_a_warning() {
    let fx = Fixture::new();
    fx.pass_file("pw.txt", &PASSES);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fx.path("pw.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = fx.generate_keys("set", "pw.txt", &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("sdctl: warning: pw.txt: passphrase file is readable by other users"),
        "{}",
        run.stderr
    );
}

#[test]
fn inspect_tells_formats_and_encryption_without_a_passphrase() {
    let fx = Fixture::new();
    fx.openssl_custodian("plain", 2048);
    fx.pass_file("p.txt", &["inspect passphrase"]);
    fx.pkcs8_encrypt("plain.key", "p.txt", "des.key", &["-v2", "des3"]);
    fx.genrsa_legacy("p.txt", "legacy.key");
    fx.pkcs12_export("plain.key", "plain.cer", "p.txt", "plain.pfx", &[]);
    fx.openssl(&[
        "x509",
        "-in",
        "plain.cer",
        "-outform",
        "DER",
        "-out",
        "plain.der",
    ]);
    fx.openssl(&["pkey", "-in", "plain.key", "-pubout", "-out", "plain.pub"]);
    let run = fx.run(
        "--output json keys inspect plain.key des.key legacy.key plain.pfx plain.der plain.pub",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["status"], "ok");
    let items: Vec<&serde_json::Value> = v["result"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["items"][0])
        .collect();
    assert_eq!(items[0]["kind"], "private_key");
    assert_eq!(items[0]["encrypted"], false);
    assert_eq!(items[0]["key"]["bits"], 2048);
    assert_eq!(items[0]["certificate"]["matches"], true);
    assert_eq!(items[1]["encrypted"], true);
    assert!(items[1]["encryption"]
        .as_str()
        .unwrap()
        .contains("DES-EDE3-CBC"));
    assert_eq!(items[2]["syntax"], "PKCS#1");
    assert!(items[2]["encryption"]
        .as_str()
        .unwrap()
        .contains("AES-256-CBC"));
    assert_eq!(items[3]["kind"], "pkcs12");
    assert_eq!(items[4]["kind"], "certificate");
    assert_eq!(items[4]["key"]["bits"], 2048);
    let fp = fx.openssl(&[
        "x509",
        "-in",
        "plain.cer",
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    let fp = String::from_utf8_lossy(&fp.stdout);
    assert_eq!(
        items[4]["sha256_fingerprint"],
        fp.trim().split_once('=').unwrap().1
    );
    assert_eq!(items[5]["kind"], "public_key");

    let human = fx.run("keys inspect des.key plain.cer");
    assert_eq!(human.code, 0);
    assert!(
        human.stdout.contains("encrypted:   yes, PBES2"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("x5t_256:"));
}

#[test]
fn inspect_refuses_bad_files_with_one_line() {
    let fx = Fixture::new();
    fx.openssl_custodian("k", 2048);
    let key = std::fs::read_to_string(fx.path("k.key")).unwrap();
    std::fs::write(fx.path("cut.key"), &key[..key.len() - 40]).unwrap();
    std::fs::write(fx.path("empty.key"), "").unwrap();
    std::fs::write(fx.path("junk.bin"), [0x30u8, 0x82, 0xff, 0x00, 1, 2, 3]).unwrap();
    std::fs::create_dir(fx.path("adir")).unwrap();
    let cases = [
        (
            "cut.key",
            "cut.key: truncated PEM: '-----BEGIN PRIVATE KEY-----' has no matching END line",
        ),
        ("empty.key", "empty.key: file is empty"),
        (
            "junk.bin",
            "junk.bin: not a key or certificate sdctl can read",
        ),
        ("adir", "adir: is a directory, not a regular file"),
        ("missing.key", "missing.key: cannot read"),
    ];
    for (file, needle) in cases {
        fx.sdctl(&["keys", "inspect", file]).assert_error(2, needle);
        let json = fx.sdctl(&["--output", "json", "keys", "inspect", file]);
        let v = json.json();
        assert_eq!(v["status"], "error");
        assert_eq!(v["exit_code"], 2);
        assert!(v["error"]["message"].as_str().unwrap().contains(needle));
    }
}

/// Three openssl-made custodians a, b, c with unencrypted keys.
fn custodians() -> Fixture {
    let fx = Fixture::new();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    fx
}

#[test]
fn check_passes_a_good_set_with_keys() {
    let fx = custodians();
    fx.pass_file("p.txt", &["", "", ""]);
    let run = fx.run("keys check --sd-wrapping-keys a.cer b.cer c.cer --keys c.key a.key b.key --passphrase-file p.txt");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PASSED"));
    let json = fx.run("--output json keys check --sd-wrapping-keys a.cer b.cer c.cer --keys b.key");
    let v = json.json();
    assert_eq!(v["sdctl_output"], 1);
    assert_eq!(v["command"], "keys check");
    assert_eq!(v["result"]["passed"], true);
    assert_eq!(v["result"]["custodians"][1]["key_status"], "ok");
    assert_eq!(v["result"]["custodians"][0]["key_status"], "not_given");
    assert_eq!(
        v["result"]["custodians"][0]["findings"][0]["code"],
        "no_private_key"
    );
}

fn assert_check_fails(fx: &Fixture, args: &[&str], code: &str, needle: &str) {
    let mut full = vec!["keys", "check"];
    full.extend_from_slice(args);
    let human = fx.sdctl(&full);
    assert_eq!(human.code, 1, "{args:?}: {}{}", human.stdout, human.stderr);
    assert!(human.stdout.contains("FAILED"), "{}", human.stdout);
    assert!(
        human.stdout.contains(needle),
        "{args:?}: {} lacks {needle}",
        human.stdout
    );
    let mut json = vec!["--output", "json"];
    json.extend_from_slice(&full);
    let v = fx.sdctl(&json).json();
    assert_eq!(v["status"], "check_failed");
    assert_eq!(v["exit_code"], 1);
    let codes = v.to_string();
    assert!(
        codes.contains(&format!("\"code\":\"{code}\"")),
        "{code} not in {codes}"
    );
}

#[test]
fn check_refusals() {
    let fx = custodians();
    fx.openssl_custodian("d", 2048);
    fx.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ec.key",
        "-out",
        "ec.cer",
        "-subj",
        "/CN=ec",
    ]);
    // The same key pair under a second certificate.
    fx.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "a.key",
        "-subj",
        "/CN=a-again",
        "-out",
        "a2.cer",
    ]);
    // An expired certificate, made with 'openssl ca' and explicit dates.
    std::fs::write(fx.path("index.txt"), "").unwrap();
    std::fs::write(fx.path("serial"), "01\n").unwrap();
    std::fs::write(
        fx.path("ca.cnf"),
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n",
    )
    .unwrap();
    fx.openssl(&[
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "old.key", "-subj", "/CN=old",
        "-out", "old.csr",
    ]);
    fx.openssl(&[
        "ca",
        "-batch",
        "-notext",
        "-config",
        "ca.cnf",
        "-selfsign",
        "-keyfile",
        "old.key",
        "-in",
        "old.csr",
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20210101000000Z",
        "-out",
        "old.cer",
    ]);
    fx.pass_file("p.txt", &["encrypted key passphrase"]);
    fx.pkcs8_encrypt("b.key", "p.txt", "benc.key", &["-v2", "aes-256-cbc"]);
    std::fs::copy(fx.path("b.cer"), fx.path("benc.cer")).unwrap();
    fx.pass_file("wrong.txt", &["not this one"]);

    let cases = [
        (
            "--sd-wrapping-keys a.cer b.cer",
            "custodian_count",
            "2 certificate(s) given",
        ),
        (
            "--sd-wrapping-keys a.cer b.cer ec.cer",
            "unusable_key",
            "must be RSA",
        ),
        (
            "--sd-wrapping-keys a.cer b.cer old.cer",
            "expired",
            "certificate expired on 2021-01-01",
        ),
        (
            "--sd-wrapping-keys a.cer b.cer c.cer a.cer",
            "duplicate_certificate",
            "is the same certificate as #1",
        ),
        (
            "--sd-wrapping-keys a.cer b.cer a2.cer",
            "duplicate_key",
            "carries the same public key as #1",
        ),
        (
            "--sd-wrapping-keys a.cer b.cer c.cer --keys d.key",
            "key_matches_no_certificate",
            "d.key: private key matches none of the certificates given",
        ),
        (
            "--sd-wrapping-keys a.cer b.cer c.cer --keys ec.key",
            "unusable_key",
            "ec.key: EC P-256 key",
        ),
        (
            "--sd-wrapping-keys a.cer benc.cer c.cer --keys benc.key --passphrase-file wrong.txt",
            "wrong_passphrase",
            "benc.key: wrong passphrase",
        ),
    ];
    for (args, code, needle) in cases {
        let args: Vec<&str> = args.split_whitespace().collect();
        assert_check_fails(&fx, &args, code, needle);
    }
    // The right passphrase passes.
    let ok = fx.run("keys check --sd-wrapping-keys a.cer benc.cer c.cer --keys benc.key --passphrase-file p.txt");
    assert_eq!(ok.code, 0, "{}", ok.stdout);
}

#[test]
fn check_bad_input_is_exit_2() {
    let fx = custodians();
    // A weak key is refused as its certificate is loaded (tests/weak_public_keys.rs has the
    // full table).
    fx.openssl_custodian("small", 1024);
    let key = std::fs::read_to_string(fx.path("a.key")).unwrap();
    std::fs::write(fx.path("cut.key"), &key[..200]).unwrap();
    fx.pass_file("p.txt", &["x", "y"]);
    let cases = [
        (
            "keys check --sd-wrapping-keys a.cer b.cer a.key",
            "a.key: holds no certificate (found a private key)",
        ),
        (
            "keys check --sd-wrapping-keys a.cer b.cer c.cer --keys cut.key",
            "cut.key: truncated PEM",
        ),
        (
            "keys check --sd-wrapping-keys a.cer b.cer nope.cer",
            "nope.cer: cannot read",
        ),
        (
            "keys check --sd-wrapping-keys a.cer b.cer small.cer",
            "small.cer: RSA key of 1024 bits is too small",
        ),
        (
            "keys check --sd-wrapping-keys a.cer b.cer c.cer --keys a.key --passphrase-file p.txt",
            "p.txt: has 2 line(s) but 1 key(s) were given",
        ),
    ];
    for (args, needle) in cases {
        fx.run(args).assert_error(2, needle);
    }
}

#[test]
fn usage_errors_exit_2() {
    let fx = Fixture::new();
    let run = fx.run("keys generate --out-dir x");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--count"));
    let help = fx.run("keys generate --help");
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--passphrase-file"));
}

#[test]
fn version_names_the_build_and_the_openssl_it_runs_on() {
    let fx = Fixture::new();
    let short = fx.run("-V");
    assert_eq!(short.code, 0, "{}", short.stderr);
    assert_eq!(
        short.stdout.trim(),
        format!("sdctl {}", env!("CARGO_PKG_VERSION"))
    );

    let long = fx.run("--version");
    assert_eq!(long.code, 0, "{}", long.stderr);
    let lines: Vec<&str> = long.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", long.stdout);
    assert_eq!(lines[0], format!("sdctl {}", env!("CARGO_PKG_VERSION")));
    let build = if cfg!(feature = "online") {
        "online (HSM client and emulator)"
    } else {
        "air-gapped (no network code)"
    };
    assert_eq!(lines[1], format!("build:   {build}"));
    assert!(lines[2].starts_with("OpenSSL: OpenSSL "), "{}", lines[2]);
    if !cfg!(feature = "vendored") {
        // The system library: the same one the openssl CLI reports it runs on
        // ("OpenSSL 3.0.17 1 Jul 2025 (Library: OpenSSL 3.0.17 1 Jul 2025)").
        let cli = fx.openssl(&["version"]);
        let cli = String::from_utf8_lossy(&cli.stdout).trim().to_owned();
        let library = cli
            .split_once("(Library: ")
            .map_or(cli.as_str(), |(_, l)| l.trim_end_matches(')'));
        assert_eq!(
            lines[2],
            format!("OpenSSL: {library} (system shared library)"),
            "openssl version says {cli:?}"
        );
    }
    // The commit: one git knows in this checkout's history (HEAD, or an ancestor when
    // commits were made since the build); the compiler, as rustc names itself.
    let commit = lines[3].strip_prefix("commit:  ").expect(lines[3]);
    let hex = commit.split(' ').next().unwrap_or_default();
    if hex.len() == 40 {
        let known = std::process::Command::new("git")
            .args([
                "-C",
                env!("CARGO_MANIFEST_DIR"),
                "merge-base",
                "--is-ancestor",
                hex,
                "HEAD",
            ])
            .status();
        if let Ok(status) = known {
            assert!(
                status.success(),
                "{commit} is not HEAD or an ancestor of it"
            );
        }
    } else {
        assert!(commit.starts_with("unknown ("), "{commit}");
    }
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
        .arg("-V")
        .output()
        .expect("rustc runs");
    let rustc = String::from_utf8_lossy(&rustc.stdout).trim().to_owned();
    assert!(
        lines[4].starts_with(&format!("rustc:   {rustc} (")),
        "{} vs {rustc}",
        lines[4]
    );
}
