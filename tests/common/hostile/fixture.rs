//! The valid files the hostile-input cases start from, made once per test process the way
//! users make them: custodian keys and certificates with `openssl req`, an encrypted key
//! with `openssl pkcs8`, security domains as the HSM makes them, and everything else with
//! sdctl itself (session, share exports, shares, restore blob, a ceremony's transcript and
//! bundle).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::{random_bytes, Files};
use crate::common::{Fixture, Run};

/// The ten custodians (distinct names, so an error line names exactly one of them).
pub const CUSTODIANS: [&str; 10] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
];
/// Bob's key is encrypted with this passphrase (line 2 of `pass.txt`).
pub const BOB_PASSPHRASE: &str = "bob's own passphrase";
/// The two-machine ceremony plan; its HSMs are at a closed port of 127.0.0.1.
pub const PLAN: &str = r#"[ceremony]
name = "hostile"
output_dir = "ceremony"
machines = "two"
operator = "Olivia Operator"

[hsm]
url = "https://127.0.0.1:9/hsm/hsm-a"

[keys]
bits = 2048
days = 30

[security_domain]
quorum = 2
quorum_mode = "together"

[[custodian]]
name = "alice"
[[custodian]]
name = "bob"
[[custodian]]
name = "carol"

[[witness]]
name = "Walter Witness"
role = "Internal audit"

[recovery]
hsm = { url = "https://127.0.0.1:9/hsm/hsm-b" }
"#;

/// Every valid file, by name.
pub struct Library {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Library {
    /// The library, made on first use.
    pub fn get() -> &'static Library {
        static LIBRARY: OnceLock<Library> = OnceLock::new();
        LIBRARY.get_or_init(make)
    }

    /// The files `names` (each must exist), for a case's directory.
    pub fn pick(&self, names: &[&str]) -> Files {
        let mut out = BTreeMap::new();
        for n in names {
            let bytes = self
                .files
                .get(*n)
                .unwrap_or_else(|| panic!("no fixture file {n}"));
            out.insert(n.to_string(), bytes.clone());
        }
        Arc::new(out)
    }

    /// The bytes of one file.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        self.files[name].clone()
    }

    /// A JSON file, parsed.
    pub fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.files[name]).unwrap()
    }
}

/// `files` plus `extra` (name, bytes).
pub fn with(files: &Files, extra: &[(&str, Vec<u8>)]) -> Files {
    let mut out = (**files).clone();
    for (n, b) in extra {
        out.insert(n.to_string(), b.clone());
    }
    Arc::new(out)
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.code, 0, "{what}: {}", run.stderr);
}

fn make() -> Library {
    let fx = Fixture::new();
    for name in CUSTODIANS.iter().chain(["exchange"].iter()) {
        fx.openssl_custodian(name, 2048);
    }
    // Bob's key, encrypted as `openssl pkcs8 -topk8` does.
    fx.pass_file("bob-pass.txt", &[BOB_PASSPHRASE]);
    fx.pkcs8_encrypt(
        "bob.key",
        "bob-pass.txt",
        "bob-enc.key",
        &["-v2", "aes-256-cbc"],
    );
    fs::rename(fx.path("bob-enc.key"), fx.path("bob.key")).unwrap();
    fx.pass_file("pass.txt", &["", BOB_PASSPHRASE]);
    // A file with two private keys (alice's, then carol's) and alice's certificate beside.
    let two = [
        fs::read(fx.path("alice.key")).unwrap(),
        fs::read(fx.path("carol.key")).unwrap(),
    ]
    .concat();
    fs::write(fx.path("two-keys.key"), two).unwrap();
    fs::copy(fx.path("alice.cer"), fx.path("two-keys.cer")).unwrap();

    // Security domains: the real one, another HSM's for the same custodians, ten of ten.
    fx.make_sd(&["alice.cer", "bob.cer", "carol.cer"], 2, "sd.json");
    fx.make_sd(&["alice.cer", "bob.cer", "carol.cer"], 2, "other-sd.json");
    let ten: Vec<String> = CUSTODIANS.iter().map(|c| format!("{c}.cer")).collect();
    let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
    fx.make_sd(&ten, 10, "sd10.json");

    // A restore blob, as `sd restore-blob` writes it.
    ok(
        &fx.run("sd restore-blob --sd-file sd.json --sd-exchange-key exchange.cer --sd-wrapping-keys alice.key carol.key --sd-file-restore-blob blob.json"),
        "restore blob",
    );

    // A distributed quorum: the session, alice's and carol's exports, and alice's export
    // of the other HSM's security domain (a foreign share).
    ok(
        &fx.run("sd session new --out-dir session --bits 2048"),
        "session",
    );
    for (sd, key, out) in [
        ("sd.json", "alice.key", "alice.jwe"),
        ("sd.json", "carol.key", "carol.jwe"),
        ("other-sd.json", "alice.key", "alice-other.jwe"),
    ] {
        ok(
            &fx.run(&format!(
                "sd share-export --sd-file {sd} --key {key} --to session/session.cer --out {out}"
            )),
            out,
        );
    }

    // Key shares of a secret: a 2-of-3 set, another set of the same secret (foreign), and
    // a set sealed to alice, bob and carol.
    fs::write(fx.path("secret.bin"), random_bytes(100)).unwrap();
    for (dir, extra) in [
        ("set", ""),
        ("other-set", ""),
        ("sealed", " --to-certs alice.cer bob.cer carol.cer"),
    ] {
        ok(
            &fx.run(&format!(
                "shares split --threshold 2 --shares 3 --in secret.bin --out-dir {dir}{extra}"
            )),
            dir,
        );
    }

    // A ceremony's offline part: keys made, certificates checked, the public bundle
    // exported, a transcript written.
    fs::write(fx.path("plan.toml"), PLAN).unwrap();
    let lines: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| format!("correct horse {n} battery staple"))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    fx.pass_file("ceremony-pass.txt", &lines);
    ok(
        &fx.run("ceremony transfer-code --out transfer.code"),
        "transfer code",
    );
    ok(
        &fx.run("ceremony activate --plan plan.toml --machine offline --allow-network --yes --passphrase-file ceremony-pass.txt --transfer-code-file transfer.code"),
        "offline activation",
    );
    fs::copy(
        fx.path("ceremony/transfer/public-bundle.json"),
        fx.path("public-bundle.json"),
    )
    .unwrap();
    fs::copy(
        fx.path("ceremony/runs/activate/transcript.jsonl"),
        fx.path("transcript.jsonl"),
    )
    .unwrap();

    // Online inputs: a token, a SAS token, a role definition, a CA certificate.
    fs::write(
        fx.path("admin.token"),
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
    )
    .unwrap();
    fs::write(fx.path("sas.token"), "sv=2024-01-01&sp=crdw&sig=abc").unwrap();
    fs::write(
        fx.path("role.json"),
        r#"{"roleName": "Hostile reader", "description": "reads keys", "dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"], "notDataActions": []}"#,
    )
    .unwrap();
    fs::copy(fx.path("exchange.cer"), fx.path("ca.pem")).unwrap();

    let mut files = BTreeMap::new();
    collect(fx.dir.path(), fx.dir.path(), &mut files);
    Library { files }
}

/// Every regular file under `dir` (ceremony workspace excluded), by relative path.
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let path = e.path();
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "ceremony" {
                collect(root, &path, out);
            }
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, fs::read(&path).unwrap());
        }
    }
}
