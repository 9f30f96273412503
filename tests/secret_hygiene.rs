//! Secret hygiene of the sdctl program, checked from the outside on realistic data (keys
//! made by the `openssl` CLI in the formats custodians bring, a security domain made as the
//! HSM makes it):
//!
//! - No passphrase (right or wrong), no private-key PEM body line, no 24-byte run of any
//!   decrypted private key's DER, no master key, share, datum key, HSM state or split secret
//!   (raw, hex or base64) appears on stdout, on stderr (error messages included), or in any
//!   file a command writes other than its intended secret output: for every offline command
//!   that touches secrets, on successful and failing runs (wrong passphrase, wrong key,
//!   corrupt security domain, damaged share), human and `--output json`.
//! - argv: no flag takes a secret as its value (every subcommand's `--help` is walked); the
//!   source reads no passphrase from the environment (every environment read is allowed by
//!   name) and spawns no child process; the CLI opens keys only after disabling core dumps.
//! - Temporaries: `keys generate`, stopped between fsync and rename by the kill-test hook
//!   `SDCTL_TEST_PAUSE_BEFORE_RENAME`, holds its private keys in temporaries that are 0600
//!   (created so, seen with strace when it is installed) and encrypted; killed there, it
//!   leaves nothing secret that others can read.
//! - Modes: key files, session keys, share exports and share files are 0600 and the
//!   directories made for them 0700. Every sdctl here runs with umask 0, so a mode is never
//!   the umask's doing.
//! - Core dumps: each command that holds key material (keys generated or opened, a master
//!   key rebuilt, a secret split or combined), stopped by the same hook, has RLIMIT_CORE 0/0
//!   and is not dumpable (its /proc files belong to root, which the kernel does only for a
//!   process with PR_SET_DUMPABLE 0), although it was started with core dumps allowed; and
//!   it has started no child process.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use common::{mode_of, tamper_jwe, Fixture};
use sdctl::passphrase::{PassphraseFile, PassphraseSource};
use sdctl::primitives::jwe::CompactJwe;

/// Length of the runs of binary secrets searched for.
const RUN: usize = 24;

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn manifest_file(rel: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

// ---------------------------------------------------------------------------------------
// Secrets and the search for them.

/// The secrets that must not appear, each named.
#[derive(Default)]
struct Needles {
    list: Vec<(String, Vec<u8>)>,
}

impl Needles {
    fn add(&mut self, what: &str, bytes: &[u8]) {
        assert!(bytes.len() >= 16, "{what}: too short to search for");
        self.list.push((what.to_owned(), bytes.to_vec()));
    }

    /// The `RUN`-byte runs of `secret` found in none of `public`.
    fn add_runs(&mut self, what: &str, secret: &[u8], public: &[&[u8]]) {
        for run in secret.chunks_exact(RUN) {
            if !public.iter().any(|p| p.windows(RUN).any(|w| w == run)) {
                self.add(what, run);
            }
        }
    }

    /// A binary secret, raw and as sdctl could print it: hex, base64, base64url.
    fn add_binary(&mut self, what: &str, secret: &[u8]) {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let std64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let url64 = sdctl::primitives::base64url::encode(secret);
        self.add_runs(what, secret, &[]);
        for text in [hex, std64, url64] {
            self.add_runs(&format!("{what} (encoded)"), text.as_bytes(), &[]);
        }
    }

    /// A private key in `file` (relative to `dir`): the runs of its decrypted DER that are
    /// not in its public key, and the body lines of its unencrypted PEM and of the file.
    fn add_key(&mut self, dir: &Path, what: &str, file: &str, pass_file: Option<&str>) {
        let passin = pass_file.map(|p| format!("file:{p}"));
        let mut args = vec!["pkey", "-in", file];
        if let Some(p) = &passin {
            args.extend_from_slice(&["-passin", p]);
        }
        let with = |extra: &[&str]| openssl(dir, &[&args[..], extra].concat());
        let (pem, public_pem) = (with(&[]), with(&["-pubout"]));
        let der = with(&["-outform", "DER"]);
        let public_der = with(&["-outform", "DER", "-pubout"]);
        self.add_runs(&format!("{what} (DER)"), &der[2 * RUN..], &[&public_der]);
        for text in [pem, fs::read(dir.join(file)).unwrap()] {
            for line in text.split(|&b| b == b'\n').filter(|l| l.len() == 64) {
                if !public_pem.windows(RUN).any(|w| line.starts_with(w)) {
                    self.add(&format!("{what} (PEM line)"), line);
                }
            }
        }
    }

    /// The name of the first secret found in `hay`.
    fn find(&self, hay: &[u8]) -> Option<&str> {
        let mut index: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for (i, (_, n)) in self.list.iter().enumerate() {
            index.entry(&n[..16]).or_default().push(i);
        }
        (0..hay.len().saturating_sub(15)).find_map(|at| {
            let candidates = index.get(&hay[at..at + 16])?;
            let i = candidates
                .iter()
                .find(|&&i| hay[at..].starts_with(&self.list[i].1))?;
            Some(self.list[*i].0.as_str())
        })
    }

    fn assert_absent(&self, where_: &str, hay: &[u8]) {
        if let Some(what) = self.find(hay) {
            panic!("{what} found in {where_}");
        }
    }

    /// The control: the search does find secrets in files that hold them.
    fn assert_found_in(&self, dir: &Path, files: &str) {
        for f in words(files) {
            let bytes = fs::read(dir.join(f)).unwrap();
            assert!(self.find(&bytes).is_some(), "no secret found in {f}");
        }
    }

    /// Scans every file under `root` except `skip` (inputs and intended secret outputs,
    /// relative to `root`); returns how many were scanned. No temporary may remain.
    fn assert_tree_clean(&self, root: &Path, skip: &str) -> usize {
        let skip = words(skip);
        let mut scanned = 0;
        for file in files_under(root) {
            let rel = file.strip_prefix(root).unwrap().display().to_string();
            assert!(!rel.ends_with(".tmp"), "temporary file left behind: {rel}");
            if !skip.contains(&rel.as_str()) {
                self.assert_absent(&rel, &fs::read(&file).unwrap());
                scanned += 1;
            }
        }
        scanned
    }
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A distinctive passphrase (accepted by the default strength rule).
fn passphrase(word: &str) -> String {
    let mut bytes = [0u8; 12];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{word} Quokka {hex}")
}

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    common::openssl_in(dir, args).stdout
}

// ---------------------------------------------------------------------------------------
// Running sdctl.

/// `sdctl ARGS` in `dir` with umask 0, without the machine's credential variables.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdctl"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") || name.starts_with("IDENTITY_") || name == "MSI_ENDPOINT" {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove(sdctl::files::PAUSE_HOOK)
        .args(args)
        .current_dir(dir);
    umask_zero(&mut cmd);
    cmd
}

fn umask_zero(cmd: &mut Command) {
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
}

/// A finished sdctl run: its exit code and everything it printed.
struct Out {
    code: i32,
    printed: Vec<u8>,
    label: String,
}

fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Out {
    let mut child = command(dir, args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sdctl runs");
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let mut printed = out.stdout;
    printed.extend_from_slice(b"\n--- stderr ---\n");
    printed.extend_from_slice(&out.stderr);
    let text = String::from_utf8_lossy(&printed);
    assert!(!text.contains("panicked"), "sdctl panicked: {text}");
    Out {
        code: out.status.code().unwrap_or(-1),
        printed,
        label: format!("the output of sdctl {}", args.join(" ")),
    }
}

/// Every run of a scenario, kept so that all are scanned with every secret, also those
/// learnt only at the end (a restore blob's new master key).
#[derive(Default)]
struct Runs {
    all: Vec<Out>,
}

impl Runs {
    /// Runs each line "CODE ARGS..." and checks its exit code; a failing run must say why.
    /// Each is run again with `--output json`: a failure must fail the same way, and a
    /// command that wrote its output now fails on finding it there (also scanned).
    fn script(&mut self, dir: &Path, lines: &[&str]) {
        for line in lines {
            let (code, args) = line.split_once(' ').unwrap();
            self.expect(dir, code.parse().unwrap(), &words(args), None);
        }
    }

    fn expect(&mut self, dir: &Path, code: i32, args: &[&str], stdin: Option<&[u8]>) {
        let out = run(dir, args, stdin, &[]);
        let text = String::from_utf8_lossy(&out.printed);
        assert_eq!(out.code, code, "{}:\n{text}", out.label);
        assert!(code == 0 || text.contains("sdctl: "), "{text}");
        if stdin.is_none() {
            let again = run(dir, &[&["--output", "json"], args].concat(), None, &[]);
            let json = String::from_utf8_lossy(&again.printed);
            assert!(code == 0 || again.code == code, "{}:\n{json}", again.label);
            self.all.push(again);
        }
        self.all.push(out);
    }

    fn assert_clean(&self, needles: &Needles) {
        assert!(self.all.len() >= 4, "the scenario ran");
        for out in &self.all {
            needles.assert_absent(&out.label, &out.printed);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The security-domain bed: custodians a (encrypted PKCS#8), b (PKCS#12), c (plain PKCS#1),
// a key d of no custodian, new custodians n1..n3, exchange key x; an SD for a, b, c with
// quorum 2. Its needles: every passphrase and private key, the master key, the shares, the
// datum keys and the HSM state.

struct SdBed {
    fx: Fixture,
    needles: Needles,
}

/// Inputs of the bed that hold secrets by design; never scanned.
const SD_INPUTS: &str = "a.key b.p12 c.key d.key n1.key n2.key n3.key x.key pa.txt pb.txt \
                         pass.txt two.txt bd.txt wrong.txt session/session.key";

fn sd_bed() -> SdBed {
    let fx = Fixture::new();
    let d = fx.dir.path();
    for n in words("a b c d n1 n2 n3 x") {
        fx.openssl_custodian(n, 2048);
    }
    let (pass_a, pass_b, wrong) = (
        passphrase("Alpha"),
        passphrase("Bravo"),
        passphrase("Wrong"),
    );
    fx.pass_file("pa.txt", &[&pass_a]);
    fx.pass_file("pb.txt", &[&pass_b]);
    fx.pass_file("pass.txt", &[&pass_a, &pass_b, ""]);
    fx.pass_file("two.txt", &[&pass_a, ""]);
    fx.pass_file("bd.txt", &[&pass_b, ""]);
    fx.pass_file("wrong.txt", &[&wrong, &pass_b, ""]);
    let mut needles = Needles::default();
    needles.add("a's passphrase", pass_a.as_bytes());
    needles.add("b's passphrase", pass_b.as_bytes());
    needles.add("a wrong passphrase", wrong.as_bytes());
    for n in words("b c d n1 n2 n3 x") {
        needles.add_key(d, &format!("{n}'s key"), &format!("{n}.key"), None);
    }
    // a: encrypted PKCS#8; b: PKCS#12 (its key file removed); c: PKCS#1.
    fx.pkcs8_encrypt("a.key", "pa.txt", "a-enc.key", &["-v2", "aes-256-cbc"]);
    fs::rename(d.join("a-enc.key"), d.join("a.key")).unwrap();
    needles.add_key(d, "a's key", "a.key", Some("pa.txt"));
    fx.pkcs12_export("b.key", "b.cer", "pb.txt", "b.p12", &[]);
    fs::remove_file(d.join("b.key")).unwrap();
    openssl(d, &words("pkey -in c.key -traditional -out c1.key"));
    fs::rename(d.join("c1.key"), d.join("c.key")).unwrap();
    needles.add_key(d, "c's key", "c.key", None);

    let state = fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    // The master key, the shares and the datum keys, found with the library.
    let paths: Vec<PathBuf> = words("a.key b.p12 c.key")
        .iter()
        .map(|k| d.join(k))
        .collect();
    let source = PassphraseSource::File(PassphraseFile::read(&d.join("pass.txt")).unwrap());
    let keys = sdctl::keys::load_wrapping_keys(&paths, &source).unwrap();
    let file = sdctl::domain::SdFile::read(&d.join("sd.json")).unwrap();
    let unlocked = sdctl::domain::unlock::unlock(&file.path, &file.domain, &keys).unwrap();
    needles.add_binary("the master key", &unlocked.master_key);
    for (tag, plain) in &state {
        needles.add_binary("HSM state", plain);
        let key = sdctl::domain::data::datum_key(&unlocked.master_key, tag).unwrap();
        needles.add_binary("a datum key", &key);
    }
    for ((_, share), key) in file.domain.shares().iter().zip(&keys) {
        let jwe = CompactJwe::parse(&share.enc_key).unwrap();
        needles.add_binary("a share", &jwe.decrypt_rsa(&key.key).unwrap());
    }
    SdBed { fx, needles }
}

impl SdBed {
    /// A copy of sd.json with the JWE at `pointer` altered.
    fn tampered(&self, name: &str, pointer: &str) {
        let mut sd = self.fx.read_json("sd.json");
        let field = sd.pointer_mut(pointer).unwrap();
        *field = tamper_jwe(field.as_str().unwrap(), 3).into();
        self.fx.write_json(name, &sd);
    }
}

#[test]
fn keys_check_and_sd_commands_keep_secrets_out_of_outputs_and_messages() {
    let bed = sd_bed();
    let d = bed.fx.dir.path();
    bed.tampered("bad-datum.json", "/EncData/data/1/compact_jwe");
    bed.tampered("bad-share.json", "/SharedKeys/enc_shares/0/enc_key");
    let sd = fs::read(d.join("sd.json")).unwrap();
    fs::write(d.join("cut.json"), &sd[..sd.len() / 2]).unwrap();

    let mut runs = Runs::default();
    let (keys, wrong) = (
        "a.key b.p12 c.key --passphrase-file",
        "a.key b.p12 c.key --passphrase-file wrong.txt",
    );
    let (blob, new) = (
        "--sd-exchange-key x.cer --sd-file-restore-blob",
        "--new-wrapping-keys n1.cer n2.cer n3.cer --new-quorum 2 --out",
    );
    runs.script(
        d,
        &[
            &format!("0 keys check --sd-wrapping-keys a.cer b.cer c.cer --keys {keys} pass.txt"),
            &format!("1 keys check --sd-wrapping-keys a.cer b.cer c.cer --keys {wrong}"),
            &format!("0 sd verify --sd-file sd.json --sd-wrapping-keys {keys} pass.txt --each-custodian"),
            &format!("3 sd verify --sd-file sd.json --sd-wrapping-keys {wrong}"),
            "3 sd verify --sd-file sd.json --sd-wrapping-keys b.p12 d.key --passphrase-file bd.txt",
            &format!("1 sd verify --sd-file bad-datum.json --sd-wrapping-keys {keys} pass.txt"),
            &format!("3 sd verify --sd-file bad-share.json --sd-wrapping-keys {keys} pass.txt"),
            &format!("2 sd verify --sd-file cut.json --sd-wrapping-keys {keys} pass.txt"),
            &format!("0 sd restore-blob --sd-file sd.json --sd-wrapping-keys {keys} pass.txt {blob} blob.json"),
            &format!("3 sd restore-blob --sd-file sd.json --sd-wrapping-keys {wrong} {blob} blob2.json"),
            &format!("3 sd restore-blob --sd-file bad-datum.json --sd-wrapping-keys {keys} pass.txt {blob} blob3.json"),
            &format!("0 sd rewrap --sd-file sd.json --sd-wrapping-keys a.key c.key --passphrase-file two.txt {new} new.json"),
            &format!("3 sd rewrap --sd-file bad-share.json --sd-wrapping-keys {keys} pass.txt {new} new2.json"),
        ],
    );
    for never in words("blob2.json blob3.json new2.json") {
        assert!(!d.join(never).exists(), "a failed command wrote {never}");
    }
    // Passphrases come only from the file: the right one in the environment is not used.
    let pass_a = fs::read_to_string(d.join("pa.txt")).unwrap();
    let env: Vec<(&str, &str)> = words("SDCTL_PASSPHRASE PASSPHRASE PASSWORD SD_PASSPHRASE")
        .into_iter()
        .map(|n| (n, pass_a.trim_end()))
        .collect();
    let out = run(
        d,
        &words("sd verify --sd-file sd.json --sd-wrapping-keys a.key c.key"),
        None,
        &env,
    );
    let text = String::from_utf8_lossy(&out.printed);
    assert!(
        out.code == 2 && text.contains("--passphrase-file"),
        "{text}"
    );

    // Secrets learnt from the outputs: the blob's new master key, the new shares.
    let mut needles = bed.needles;
    let new_master = open_jwe(&bed.fx, "blob.json", "/WrappedKey/enc_key", "x.key");
    needles.add_binary("the restore blob's new master key", &new_master);
    for (i, key) in words("n1.key n2.key n3.key").into_iter().enumerate() {
        let share = open_jwe(
            &bed.fx,
            "new.json",
            &format!("/SharedKeys/enc_shares/{i}/enc_key"),
            key,
        );
        needles.add_binary("a rewrapped share", &share);
    }
    assert!(needles.list.len() > 300, "{} secrets", needles.list.len());
    needles.assert_found_in(d, "a.key c.key pass.txt wrong.txt");
    runs.assert_clean(&needles);
    let scanned = needles.assert_tree_clean(d, SD_INPUTS);
    assert!(scanned >= 14, "scanned {scanned} files");
}

/// The secret inside the JWE at `pointer` of the JSON file `file`, made to `key`.
fn open_jwe(fx: &Fixture, file: &str, pointer: &str, key: &str) -> Vec<u8> {
    let json = fx.read_json(file);
    let jwe = json.pointer(pointer).and_then(|v| v.as_str()).unwrap();
    let pkey = openssl::pkey::PKey::private_key_from_pem(&fs::read(fx.path(key)).unwrap());
    let plain = CompactJwe::parse(jwe)
        .unwrap()
        .decrypt_rsa(&pkey.unwrap())
        .unwrap();
    plain.to_vec()
}

#[test]
fn distributed_quorum_keeps_secrets_out_and_session_keys_private() {
    let bed = sd_bed();
    let d = bed.fx.dir.path();
    let mut runs = Runs::default();
    runs.script(d, &["0 sd session new --out-dir session --bits 2048"]);
    assert_eq!(mode_of(&d.join("session")), 0o700, "session directory");
    assert_eq!(
        mode_of(&d.join("session/session.key")),
        0o600,
        "session key"
    );
    let mut needles = bed.needles;
    needles.add_key(&d.join("session"), "the session key", "session.key", None);

    let to = "--sd-file sd.json --to session/session.cer --out";
    let quorum = "--sd-file sd.json --shares a.jwe c.jwe --session-key session/session.key";
    runs.script(
        d,
        &[
            &format!("0 sd share-export --key a.key --passphrase-file pa.txt {to} a.jwe"),
            &format!("0 sd share-export --key c.key {to} c.jwe"),
            &format!("3 sd share-export --key a.key --passphrase-file pb.txt {to} a2.jwe"),
            &format!("3 sd share-export --key d.key {to} d.jwe"),
            &format!("0 sd verify {quorum} --keep-session"),
            &format!("0 sd restore-blob {quorum} --sd-exchange-key x.cer --sd-file-restore-blob blob.json"),
        ],
    );
    for export in ["a.jwe", "c.jwe"] {
        assert_eq!(mode_of(&d.join(export)), 0o600, "{export}");
    }
    assert!(
        !d.join("session/session.key").exists(),
        "the session key is destroyed"
    );
    let new_master = open_jwe(&bed.fx, "blob.json", "/WrappedKey/enc_key", "x.key");
    needles.add_binary("the restore blob's new master key", &new_master);
    needles.assert_found_in(d, "a.key pa.txt");
    runs.assert_clean(&needles);
    // The exports are sealed: they hold no share in the clear either.
    needles.assert_tree_clean(d, SD_INPUTS);
}

// ---------------------------------------------------------------------------------------
// Key shares of any secret, new custodian keys.

#[test]
fn shares_split_and_combine_keep_the_secret_in_its_output_only() {
    let fx = Fixture::new();
    let d = fx.dir.path();
    for n in ["a", "b", "c"] {
        fx.openssl_custodian(n, 2048);
    }
    let (pass, wrong) = (passphrase("Sierra"), passphrase("Wrong"));
    fx.pass_file("p.txt", &[&pass]);
    fx.pass_file("two.txt", &[&pass, ""]);
    fx.pass_file("wrong.txt", &[&wrong, ""]);
    fx.pkcs8_encrypt("a.key", "p.txt", "a-enc.key", &[]);
    let mut secret = vec![0u8; 300];
    openssl::rand::rand_bytes(&mut secret).unwrap();
    secret.extend_from_slice(b"break-glass password: Tango Uniform Victor 2187 Whiskey");
    fs::write(d.join("secret.bin"), &secret).unwrap();
    let mut needles = Needles::default();
    needles.add_binary("the secret", &secret);
    needles.add("the secret's text", &secret[300..]);
    needles.add("a's passphrase", pass.as_bytes());
    needles.add("a wrong passphrase", wrong.as_bytes());
    needles.add_key(d, "a's key", "a-enc.key", Some("p.txt"));
    needles.assert_found_in(d, "secret.bin a-enc.key p.txt wrong.txt");

    let mut runs = Runs::default();
    let split = "shares split --threshold 2 --shares 3 --in secret.bin --out-dir";
    runs.script(
        d,
        &[
            &format!("0 {split} plain"),
            &format!("0 {split} paper --format qr"),
            &format!("0 {split} sealed --to-certs a.cer b.cer c.cer"),
        ],
    );
    let from_stdin = words("shares split --threshold 2 --shares 3 --in - --out-dir piped");
    runs.expect(d, 0, &from_stdin, Some(&secret));
    for dir in words("plain paper sealed piped") {
        assert_eq!(mode_of(&d.join(dir)), 0o700, "{dir}/");
        for file in files_under(&d.join(dir)) {
            let manifest = file.ends_with("shares.json");
            let want = if manifest { 0o644 } else { 0o600 };
            assert_eq!(mode_of(&file), want, "{}", file.display());
        }
    }
    let mut damaged = fs::read(d.join("plain/share-2.share")).unwrap();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x20;
    fs::write(d.join("damaged.share"), &damaged).unwrap();
    let sealed = "shares combine sealed/a.share.jwe sealed/c.share.jwe --keys a-enc.key c.key";
    runs.script(
        d,
        &[
            "0 shares combine plain/share-1.share plain/share-3.share --out out1.bin",
            "0 shares combine paper/share-2.share.txt paper/share-3.share.txt --out out2.bin",
            &format!("0 {sealed} --passphrase-file two.txt --out out3.bin"),
            &format!("3 {sealed} --passphrase-file wrong.txt --out bad1.bin"),
            "2 shares combine plain/share-1.share damaged.share --out bad2.bin",
            "2 shares combine plain/share-1.share --out bad3.bin",
        ],
    );
    for out in words("out1.bin out2.bin out3.bin") {
        assert_eq!(fs::read(d.join(out)).unwrap(), secret, "{out}");
        assert_eq!(mode_of(&d.join(out)), 0o600, "{out}");
    }
    for never in words("bad1.bin bad2.bin bad3.bin") {
        assert!(!d.join(never).exists(), "a failed combine wrote {never}");
    }
    runs.assert_clean(&needles);
    let inputs = "secret.bin out1.bin out2.bin out3.bin a-enc.key a.key b.key c.key p.txt \
                  wrong.txt two.txt";
    let scanned = needles.assert_tree_clean(d, inputs);
    assert!(scanned >= 20, "scanned {scanned} files");
}

#[test]
fn keys_generate_writes_private_keys_0600_and_prints_no_secret() {
    let fx = Fixture::new();
    let d = fx.dir.path();
    let names = ["alice", "bob", "carol"];
    let passes = names.map(passphrase);
    let weak = "abababababababababababababab";
    fx.pass_file("p.txt", &[&passes[0], &passes[1], &passes[2]]);
    fx.pass_file("weak.txt", &[&passes[0], weak, &passes[2]]);
    fx.pass_file("short.txt", &[&passes[0], &passes[1]]);
    let gen = "keys generate --count 3 --names alice,bob,carol --bits 2048 --passphrase-file";
    let mut runs = Runs::default();
    runs.script(
        d,
        &[
            &format!("0 {gen} p.txt --out-dir keys"),
            &format!("2 {gen} weak.txt --out-dir weak"),
            &format!("2 {gen} short.txt --out-dir short"),
        ],
    );
    assert!(!d.join("weak").exists() && !d.join("short").exists());
    assert_eq!(mode_of(&d.join("keys")), 0o700, "key directory");
    let mut needles = Needles::default();
    for (name, pass) in names.iter().zip(&passes) {
        let key = format!("keys/{name}.key");
        assert_eq!(mode_of(&d.join(&key)), 0o600, "{key}");
        let pem = fs::read_to_string(d.join(&key)).unwrap();
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{pem}"
        );
        fx.pass_file(&format!("{name}.pass"), &[pass]);
        needles.add_key(
            d,
            &format!("{name}'s key"),
            &key,
            Some(&format!("{name}.pass")),
        );
        needles.add(&format!("{name}'s passphrase"), pass.as_bytes());
    }
    needles.add("a weak passphrase", weak.as_bytes());
    needles.assert_found_in(d, "keys/alice.key p.txt weak.txt");
    runs.assert_clean(&needles);
    let inputs = "p.txt weak.txt short.txt alice.pass bob.pass carol.pass keys/alice.key \
                  keys/bob.key keys/carol.key";
    let scanned = needles.assert_tree_clean(d, inputs);
    assert!(scanned >= 4, "the certificates and manifest were scanned");

    // Every directory sdctl creates for secrets is 0700, however deep (umask 0 here).
    runs.script(
        d,
        &[
            "0 keys generate --count 3 --bits 2048 --passphrase-file p.txt --out-dir deep/keys",
            "0 sd session new --out-dir deeper/session --bits 2048",
        ],
    );
    for dir in words("deep deep/keys deeper deeper/session") {
        assert_eq!(mode_of(&d.join(dir)), 0o700, "{dir}");
    }
    for key in words("deep/keys/custodian1.key deep/keys/custodian3.key deeper/session/session.key")
    {
        assert_eq!(mode_of(&d.join(key)), 0o600, "{key}");
    }
    for public in
        words("deep/keys/custodian1.cer deep/keys/manifest.json deeper/session/session.cer")
    {
        assert_eq!(mode_of(&d.join(public)), 0o644, "{public}");
    }
}

// ---------------------------------------------------------------------------------------
// argv, the environment, child processes, core dumps in the source.

/// Each subcommand path (`["sd", "verify"]`) and its `--help` text.
fn all_help() -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let args = [&path[..], &["--help".to_owned()]].concat();
        let o = Command::new(env!("CARGO_BIN_EXE_sdctl"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "sdctl {args:?}");
        let help = String::from_utf8(o.stdout).unwrap();
        let mut in_commands = false;
        for line in help.lines() {
            if !line.starts_with(' ') {
                in_commands = line == "Commands:";
                continue;
            }
            // A command is indented two spaces; wrapped descriptions more.
            let name = line[2..].split_whitespace().next().unwrap_or("");
            if in_commands && !line[2..].starts_with(' ') && name != "help" {
                todo.push([path.clone(), vec![name.to_owned()]].concat());
            }
        }
        out.push((path, help));
    }
    out
}

/// The options of one help text: (flag, value placeholder, description).
fn options(help: &str) -> Vec<(String, Option<String>, String)> {
    let mut found: Vec<(String, Option<String>, String)> = Vec::new();
    let mut in_options = false;
    for line in help.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_options = line == "Options:";
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let text = line.trim_start();
        let text = text
            .strip_prefix("-h, ")
            .or(text.strip_prefix("-V, "))
            .unwrap_or(text);
        if !in_options {
            continue;
        } else if indent <= 6 && text.starts_with("--") {
            let mut parts = text.split_whitespace();
            let flag = parts.next().unwrap().to_owned();
            let value = parts
                .next()
                .filter(|w| w.starts_with('<'))
                .map(str::to_owned);
            found.push((flag, value, String::new()));
        } else if let Some(last) = found.last_mut() {
            last.2.push_str(text);
            last.2.push(' ');
        }
    }
    found
}

#[test]
fn no_flag_takes_a_secret_as_its_value() {
    let secretish = words("pass secret token pwd pin credential material private master seed");
    let key_files = words("<FILE> <FILE>... <KEY> <KEY>... <CERT>... <EXCH> <OUT>");
    let helps = all_help();
    assert!(helps.len() > 30, "walked {} subcommands", helps.len());
    let mut checked = 0;
    for (path, help) in &helps {
        for (flag, value, description) in options(help) {
            let Some(value) = value else { continue };
            // A value chosen from a fixed list cannot carry a secret.
            if description.contains("Possible values") || description.contains("[possible values:")
            {
                continue;
            }
            let at = format!("sdctl {} {flag} {value}", path.join(" "));
            let name = flag.trim_start_matches("--");
            let parts: Vec<&str> = name.split('-').collect();
            if parts
                .iter()
                .any(|w| secretish.iter().any(|s| w.starts_with(s)))
            {
                let file = name.ends_with("-file") && value == "<FILE>";
                assert!(
                    file,
                    "{at}: a flag about a secret must take a FILE, not the secret"
                );
                checked += 1;
            }
            if parts.iter().any(|w| w.starts_with("key")) {
                assert!(
                    key_files.contains(&value.as_str()),
                    "{at}: keys come in files"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "checked {checked} secret and key flags");
}

/// The Rust sources of the crate that go into the program, with their paths relative to
/// `src/`: unit-test files (`*_tests.rs`) are left out, and each is checked to be included
/// only under `#[cfg(test)]` (so a test may, say, run the openssl CLI to make a CA).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rust: Vec<(String, String)> = files_under(&root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, fs::read_to_string(&p).unwrap())
        })
        .collect();
    let (tests, program): (Vec<_>, Vec<_>) = rust
        .into_iter()
        .partition(|(rel, _)| rel.ends_with("_tests.rs"));
    for (rel, _) in &tests {
        let name = Path::new(rel).file_name().unwrap().to_string_lossy();
        let include = format!("#[cfg(test)]\n#[path = \"{name}\"]");
        assert!(
            program.iter().any(|(_, text)| text.contains(&include)),
            "src/{rel} is not included under #[cfg(test)] only"
        );
    }
    program
}

/// Every line of the sources containing one of `needles`: (file, line number, line).
fn lines_with(needles: &[&str]) -> Vec<(String, usize, String)> {
    let mut hits = Vec::new();
    for (file, text) in sources() {
        for (n, line) in text.lines().enumerate() {
            if needles.iter().any(|s| line.contains(s)) {
                hits.push((file.clone(), n + 1, line.trim().to_owned()));
            }
        }
    }
    hits
}

#[test]
fn passphrases_are_never_read_from_the_environment() {
    // Every environment read in the source, each allowed by file and purpose.
    let allowed = [
        // The kill-test hook names a file, not a secret.
        ("files.rs", "std::env::var_os(PAUSE_HOOK)"),
        // Azure credential selection (AZURE_* only, checked below); online build only.
        ("hsm/credential.rs", "std::env::var(name)"),
        // The terminal's width when it cannot be asked (a number, not a secret).
        ("ceremony/ui.rs", "std::env::var(\"COLUMNS\")"),
    ];
    let reads = lines_with(&["env::var", "var_os(", "env::vars", "getenv", "option_env!"]);
    for (file, n, line) in &reads {
        let ok = allowed.iter().any(|(f, l)| file == f && line.contains(l));
        assert!(ok, "src/{file}:{n}: reads the environment: {line}");
    }
    assert!(
        reads.len() >= 2,
        "the allowed reads are still there: {reads:?}"
    );
    // No flag falls back to a variable (clap's `env`), no child gets one.
    let flags = lines_with(&["env = \"", ".env("]);
    assert!(flags.is_empty(), "{flags:?}");

    // The credential code reads only Azure's own variables, by literal name.
    let credential = manifest_file("src/hsm/credential.rs");
    let mut names = Vec::new();
    for call in ["env(\"", "has(\""] {
        for part in credential.split(call).skip(1) {
            names.push(part.split('"').next().unwrap().to_owned());
        }
    }
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        let azure = name.starts_with("AZURE_") || name.starts_with("IDENTITY_");
        assert!(
            azure,
            "src/hsm/credential.rs reads {name} from the environment"
        );
    }
}

#[test]
fn sdctl_spawns_no_child_process() {
    // No file may spawn a process (allow-list: empty): a secret on a child's argv would be
    // visible to every user of the machine.
    let spawns = lines_with(&[
        "Command::new",
        "process::Command",
        "libc::fork",
        "libc::exec",
        "posix_spawn",
        "libc::system",
        "libc::popen",
    ]);
    assert!(spawns.is_empty(), "spawns a process: {spawns:?}");
}

#[test]
fn the_cli_opens_private_keys_only_after_disabling_core_dumps() {
    // The CLI opens custodian keys only through secrets::load_keys, which hardens first
    // (the stopped commands below show it at run time); the ceremonies disable core dumps
    // themselves before opening keys.
    let loaders = lines_with(&["load_wrapping_key", "open_private_key", "private_key_from"]);
    for (file, n, line) in &loaders {
        let cli = file.starts_with("cli/") && file != "cli/secrets.rs";
        assert!(
            !cli,
            "src/{file}:{n}: opens a key without secrets::load_keys: {line}"
        );
    }
    let secrets = manifest_file("src/cli/secrets.rs");
    let load = &secrets[secrets.find("pub fn load_keys(").unwrap()..];
    assert!(load.find("harden(rep)").unwrap() < load.find("load_wrapping_keys_with(").unwrap());
    let custodians = manifest_file("src/ceremony/custodians.rs");
    let open = &custodians[custodians.find("pub fn open_keys(").unwrap()..];
    assert!(open.find("disable_core_dumps()").unwrap() < open.find("load_wrapping_key(").unwrap());
}

// ---------------------------------------------------------------------------------------
// Processes stopped inside a write: temporaries, core dumps, children.
// The kill-test hook is compiled into debug builds only (src/files.rs): these tests run
// where `cargo test` runs, against the debug binary.

#[cfg(debug_assertions)]
mod paused {
    use std::io::{BufRead, BufReader};
    use std::process::Child;

    use super::*;
    use common::dumps::{allow_core_dumps, check_control, dump_state, give_to, test_uid};

    /// A running sdctl stopped by the kill-test hook before it renames its outputs.
    struct Paused {
        child: Child,
        /// sdctl's own pid (the child is strace when traced).
        pid: u32,
        stderr: String,
    }

    /// Starts sdctl with the hook on `hook`, as `uid` (when given), with core dumps allowed and
    /// umask 0, and waits until it says it paused. With `strace_to`, under strace.
    fn start_paused(
        dir: &Path,
        args: &[&str],
        hook: &str,
        uid: Option<u32>,
        strace_to: Option<&Path>,
    ) -> Paused {
        let mut cmd = match strace_to {
            Some(trace) => {
                let mut c = Command::new("strace");
                c.args(words("-f -e trace=openat,open,creat -o")).arg(trace);
                c.arg(env!("CARGO_BIN_EXE_sdctl"))
                    .args(args)
                    .current_dir(dir);
                umask_zero(&mut c);
                c
            }
            None => command(dir, args),
        };
        cmd.env(sdctl::files::PAUSE_HOOK, hook)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        allow_core_dumps(&mut cmd, uid);
        let mut child = cmd.spawn().expect("sdctl starts");
        let mut stderr = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        while !stderr.contains("test hook: paused") {
            if lines.read_line(&mut stderr).unwrap() == 0 {
                let status = child.wait().unwrap();
                panic!("sdctl {args:?} ended ({status}) without pausing before {hook}:\n{stderr}");
            }
        }
        let pid = match strace_to {
            Some(_) => children_of(child.id())[0],
            None => child.id(),
        };
        Paused { child, pid, stderr }
    }

    impl Paused {
        /// SIGKILLs sdctl (inside its write) and reaps the child.
        fn kill(mut self) {
            // SAFETY: kill(2) with a pid of a process this test started.
            assert_eq!(unsafe { libc::kill(self.pid as i32, libc::SIGKILL) }, 0);
            self.child.wait().unwrap();
        }
    }

    /// Processes whose parent is `pid`.
    fn children_of(pid: u32) -> Vec<u32> {
        let mut kids = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // Field 4 (ppid) follows the parenthesised command name and the state.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            if words(after).get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
                kids.extend(entry.file_name().to_string_lossy().parse::<u32>().ok());
            }
        }
        kids
    }

    #[test]
    fn key_generation_temporaries_are_0600_encrypted_and_safe_when_killed() {
        let fx = Fixture::new();
        let d = fx.dir.path();
        let names = ["alice", "bob", "carol"];
        let passes = names.map(passphrase);
        fx.pass_file("p.txt", &[&passes[0], &passes[1], &passes[2]]);
        let strace = Command::new("strace")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        let trace = d.join("strace.txt");
        let args = words("keys generate --count 3 --names alice,bob,carol --bits 2048 --passphrase-file p.txt --out-dir keys");
        let paused = start_paused(
            d,
            &args,
            "alice.key",
            None,
            strace.then_some(trace.as_path()),
        );
        assert!(
            paused.stderr.contains("keys/alice.key"),
            "{}",
            paused.stderr
        );

        // Inside the write: every output is a complete, synced temporary; nothing renamed yet.
        let out = d.join("keys");
        assert_eq!(mode_of(&out), 0o700, "the key directory");
        let temps = files_under(&out);
        let name_of = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let listing: Vec<String> = temps.iter().map(|p| name_of(p)).collect();
        assert_eq!(
            temps.len(),
            7,
            "3 keys, 3 certificates, the manifest: {listing:?}"
        );
        assert!(
            listing
                .iter()
                .all(|n| n.starts_with('.') && n.ends_with(".tmp")),
            "{listing:?}"
        );
        let mut needles = Needles::default();
        for (name, pass) in names.iter().zip(&passes) {
            let temp = temps
                .iter()
                .find(|p| name_of(p).starts_with(&format!(".{name}.key.")))
                .unwrap();
            assert_eq!(mode_of(temp), 0o600, "{}", temp.display());
            let text = fs::read_to_string(temp).unwrap();
            let (begin, end) = (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
                "-----END ENCRYPTED PRIVATE KEY-----\n",
            );
            assert!(text.starts_with(begin) && text.ends_with(end), "{text}");
            // It is the real key, complete: it opens with the custodian's passphrase.
            fx.pass_file(&format!("{name}.pass"), &[pass]);
            let rel = temp.strip_prefix(d).unwrap().display().to_string();
            needles.add_key(
                d,
                &format!("{name}'s key"),
                &rel,
                Some(&format!("{name}.pass")),
            );
            needles.add(&format!("{name}'s passphrase"), pass.as_bytes());
        }
        // No temporary holds an unencrypted key (its own encrypted PEM lines are allowed).
        let plain = Needles {
            list: needles
                .list
                .iter()
                .filter(|(w, _)| !w.contains("PEM line"))
                .cloned()
                .collect(),
        };
        for temp in &temps {
            let text = String::from_utf8_lossy(&fs::read(temp).unwrap()).into_owned();
            assert!(!text.contains("BEGIN PRIVATE KEY") && !text.contains("BEGIN RSA PRIVATE"));
            plain.assert_absent(&temp.display().to_string(), text.as_bytes());
        }
        let pid = paused.pid;
        paused.kill();

        // Killed inside the write, it leaves the temporaries (nothing could remove them), in a
        // 0700 directory; the keys are not in place; what others could read holds no secret.
        assert_eq!(mode_of(&out), 0o700);
        for path in files_under(&out) {
            let name = name_of(&path);
            assert!(!name.ends_with(".key"), "{name} was renamed into place");
            if mode_of(&path) & 0o077 != 0 {
                assert!(!name.contains(".key."), "{name} is readable by others");
                needles.assert_absent(&name, &fs::read(&path).unwrap());
            }
        }

        // The key temporaries were created 0600 (O_CREAT|O_EXCL), not narrowed afterwards.
        if strace {
            let calls = fs::read_to_string(&trace).unwrap();
            let creates: Vec<&str> = calls
                .lines()
                .filter(|l| l.contains(".key.") && l.contains(".tmp\"") && l.contains("O_CREAT"))
                .collect();
            assert_eq!(creates.len(), 3, "pid {pid}: {calls}");
            for call in creates {
                assert!(
                    call.contains("O_EXCL") && call.contains(", 0600) = "),
                    "{call}"
                );
            }
        } else {
            eprintln!("strace is not installed: the creation mode is checked only after the fact");
        }
    }

    #[test]
    fn core_dumps_are_off_while_keys_are_loaded() {
        let bed = sd_bed();
        let d = bed.fx.dir.path();
        let mut setup = Runs::default();
        setup.script(
            d,
            &[
                "0 sd session new --out-dir s0 --bits 2048",
                "0 shares split --threshold 2 --shares 3 --in pa.txt --out-dir sh",
            ],
        );
        bed.fx.pass_file(
            "gen.txt",
            &["One Quokka 12345", "Two Quokka 12345", "Six Quokka 12345"],
        );

        // When the test runs as root, sdctl runs as nobody, in files it owns (see test_uid).
        let uid = test_uid();
        give_to(d, uid);
        check_control(d, uid);

        // Each command holding key material, stopped inside the write of an output: HOOK ARGS.
        let cases = [
            "custodian1.key keys generate --count 3 --bits 2048 --passphrase-file gen.txt --out-dir k",
            "blob.json sd restore-blob --sd-file sd.json --sd-wrapping-keys a.key b.p12 c.key --passphrase-file pass.txt --sd-exchange-key x.cer --sd-file-restore-blob blob.json",
            "new.json sd rewrap --sd-file sd.json --sd-wrapping-keys a.key c.key --passphrase-file two.txt --new-wrapping-keys n1.cer n2.cer n3.cer --new-quorum 2 --out new.json",
            "a.jwe sd share-export --sd-file sd.json --key a.key --passphrase-file pa.txt --to s0/session.cer --out a.jwe",
            "session.key sd session new --out-dir s1 --bits 2048",
            "share-1.share shares split --threshold 2 --shares 3 --in pb.txt --out-dir sh2",
            "secret.out shares combine sh/share-1.share sh/share-2.share --out secret.out",
        ];
        for case in cases {
            let (hook, line) = case.split_once(' ').unwrap();
            let paused = start_paused(d, &words(line), hook, uid, None);
            let pid = paused.pid;
            let (dumps, kids) = (dump_state(pid), children_of(pid));
            let argv = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
            paused.kill();
            let at = format!("sdctl {line}");
            dumps.assert_off(&at);
            assert!(kids.is_empty(), "{at}: started processes {kids:?}");
            bed.needles
                .assert_absent(&format!("the argv of {at}"), &argv);
        }
    }
}
