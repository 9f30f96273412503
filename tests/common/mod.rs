//! Shared helpers for integration tests: a scratch directory, the openssl CLI run the way
//! users run it, and the sdctl binary with no terminal and no stdin.

#![allow(dead_code)]

#[cfg(feature = "online")]
pub mod ceremony;
pub mod dumps;
#[cfg(feature = "online")]
pub mod emulator;
pub mod interop;
#[cfg(feature = "online")]
pub mod online;
pub mod opencryptoki;
#[cfg(feature = "online")]
pub mod sdk;
pub mod softhsm;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch directory where tests make keys with openssl and run sdctl.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

/// What a finished sdctl run printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Fixture {
    pub fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `openssl ARGS` in the fixture directory and insists that it succeeds.
    pub fn openssl(&self, args: &[&str]) -> Output {
        openssl_in(self.dir.path(), args)
    }

    /// `openssl genpkey` of a P-256 EC key into `out` (`extra`: e.g. a cipher and `-pass`),
    /// for the refusals of keys that are not RSA; panics when openssl fails.
    pub fn openssl_ec_key(&self, out: &str, extra: &[&str]) {
        let mut args = vec![
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            out,
        ];
        args.extend_from_slice(extra);
        let run = self.openssl(&args);
        assert!(run.status.success(), "openssl genpkey EC: {run:?}");
    }

    /// Writes a passphrase file with mode 0600, one line per entry.
    pub fn pass_file(&self, name: &str, lines: &[&str]) -> PathBuf {
        let path = self.path(name);
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// Makes an RSA key (unencrypted PKCS#8 PEM, NAME.key) and a self-signed certificate
    /// (NAME.cer) with `openssl req -newkey rsa:BITS -nodes -x509`, as the Azure docs do.
    pub fn openssl_custodian(&self, name: &str, bits: u32) {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            &format!("rsa:{bits}"),
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.cer"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "365",
        ]);
    }

    /// `openssl pkcs8 -topk8 -in INPUT -passout file:PASS -out OUT EXTRA...` (encrypts a key).
    pub fn pkcs8_encrypt(&self, input: &str, pass: &str, out: &str, extra: &[&str]) {
        let passout = format!("file:{pass}");
        let mut args = vec![
            "pkcs8", "-topk8", "-in", input, "-passout", &passout, "-out", out,
        ];
        args.extend_from_slice(extra);
        self.openssl(&args);
    }

    /// `openssl pkcs12 -export -inkey KEY -in CERT -passout file:PASS -out OUT EXTRA...`.
    pub fn pkcs12_export(&self, key: &str, cert: &str, pass: &str, out: &str, extra: &[&str]) {
        let passout = format!("file:{pass}");
        let mut args = vec![
            "pkcs12", "-export", "-inkey", key, "-in", cert, "-passout", &passout, "-out", out,
        ];
        args.extend_from_slice(extra);
        self.openssl(&args);
    }

    /// `openssl genrsa -traditional -aes256 -passout file:PASS -out OUT 2048` (legacy PEM).
    pub fn genrsa_legacy(&self, pass: &str, out: &str) {
        let passout = format!("file:{pass}");
        self.openssl(&[
            "genrsa",
            "-traditional",
            "-aes256",
            "-passout",
            &passout,
            "-out",
            out,
            "2048",
        ]);
    }

    /// `sdctl keys generate --count 3 --out-dir DIR --passphrase-file PASS [--bits 2048] EXTRA...`
    /// (2048 bits unless EXTRA names --bits: fast, and as real as any other size).
    pub fn generate_keys(&self, dir: &str, pass: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "keys",
            "generate",
            "--count",
            "3",
            "--out-dir",
            dir,
            "--passphrase-file",
            pass,
        ];
        if !extra.contains(&"--bits") {
            args.extend_from_slice(&["--bits", "2048"]);
        }
        args.extend_from_slice(extra);
        self.sdctl(&args)
    }

    /// Runs sdctl with a command line split on white space (no argument contains a space).
    pub fn run(&self, line: &str) -> Run {
        self.sdctl(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Runs sdctl with `args` in the fixture directory, stdin closed.
    pub fn sdctl(&self, args: &[&str]) -> Run {
        self.sdctl_env(args, &[])
    }

    /// Runs sdctl with `args` and environment `env`; credential variables of the machine
    /// running the tests (`AZURE_*`, `IDENTITY_*`) are removed so that only `env` counts.
    pub fn sdctl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        sdctl_in(self.dir.path(), args, env, None)
    }

    /// The names of the files in a directory of the fixture, sorted.
    pub fn listing(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = match fs::read_dir(self.path(dir)) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

impl Run {
    /// Asserts the exit code and that stderr is exactly one error line containing `needle`.
    pub fn assert_error(&self, code: i32, needle: &str) {
        assert_eq!(self.code, code, "exit code; stderr: {}", self.stderr);
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.starts_with("sdctl: warning:"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "want one error line, got: {:?}",
            self.stderr
        );
        assert!(errors[0].starts_with("sdctl: "), "{}", errors[0]);
        assert!(
            errors[0].contains(needle),
            "error line {:?} lacks {needle:?}",
            errors[0]
        );
    }

    /// Parses stdout as the JSON envelope.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

pub fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// HSM state blobs for test security domains: realistic sizes, random contents.
pub fn hsm_state() -> Vec<(String, Vec<u8>)> {
    let mut state = Vec::new();
    for (tag, len) in [
        ("mhsm-partition-config", 300usize),
        ("mhsm-key-store", 4096),
        ("mhsm-rbac", 17),
    ] {
        let mut bytes = vec![0u8; len];
        openssl::rand::rand_bytes(&mut bytes).unwrap();
        state.push((tag.to_owned(), bytes));
    }
    state
}

impl Fixture {
    /// Makes a version 2 security domain for the certificates `certs` (file names) with
    /// `quorum`, as the HSM would, writes it to `out`, and returns the state it holds.
    pub fn make_sd(&self, certs: &[&str], quorum: usize, out: &str) -> Vec<(String, Vec<u8>)> {
        let certs: Vec<_> = certs
            .iter()
            .map(|c| sdctl::keys::load_certificate(&self.path(c)).unwrap())
            .collect();
        let state = hsm_state();
        let sd = sdctl::domain::hsm::make_security_domain(&certs, quorum, &state).unwrap();
        fs::write(self.path(out), sd.to_json().unwrap()).unwrap();
        state
    }

    /// Reads a JSON file of the fixture.
    pub fn read_json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&fs::read(self.path(name)).unwrap()).unwrap()
    }

    /// Writes a JSON file into the fixture.
    pub fn write_json(&self, name: &str, value: &serde_json::Value) {
        fs::write(self.path(name), serde_json::to_vec(value).unwrap()).unwrap();
    }
}

/// Flips one byte of part `part` (0 header, 1 key, 2 IV, 3 ciphertext, 4 tag) of a compact JWE.
pub fn tamper_jwe(jwe: &str, part: usize) -> String {
    use sdctl::primitives::base64url;
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let mut bytes = base64url::decode(&parts[part]).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x40;
    parts[part] = base64url::encode(&bytes);
    parts.join(".")
}

/// Runs `openssl ARGS` in `dir` and insists that it succeeds.
pub fn openssl_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs sdctl with `args` in `dir`, with `stdin` on its standard input (closed after it;
/// none: no input at all) and environment `env`. The credential variables of the machine
/// running the tests (`AZURE_*`, `IDENTITY_*`, `MSI_ENDPOINT`) are removed so that only
/// `env` counts. Asserts that sdctl did not panic.
pub fn sdctl_in(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_sdctl"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") || name.starts_with("IDENTITY_") || name == "MSI_ENDPOINT" {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("sdctl runs");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // sdctl may stop reading early (a refusal): a broken pipe is its answer, not ours.
        let _ = pipe.write_all(bytes);
    }
    let out = child.wait_with_output().expect("sdctl runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stdout.contains("panicked"),
        "sdctl panicked: {}",
        run.stderr
    );
    run
}
