//! The online commands run through the CLI against an in-process emulator: a fixture
//! directory for keys and outputs, and the connection flags for each HSM.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::emulator::TestEmulator;
use super::{Fixture, Run};

/// The audience of the HSM's data plane, as tokens for it carry it.
pub const HSM_AUDIENCE: &str = "https://managedhsm.azure.net";

/// The passphrase file for two custodians' keys that [`Online::custodians`] writes.
pub const PASSPHRASES: &str = "pp2";

/// The three custodians' certificates that [`Online::custodians`] makes.
pub const CERTS: [&str; 3] = [
    "keys/custodian1.cer",
    "keys/custodian2.cer",
    "keys/custodian3.cer",
];

/// `download --sd-wrapping-keys CERTS... --sd-quorum 2 --security-domain-file OUT EXTRA...`:
/// a 2-of-3 security domain into `out`.
pub fn download_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["download", "--sd-wrapping-keys"];
    args.extend_from_slice(&CERTS);
    args.extend_from_slice(&["--sd-quorum", "2", "--security-domain-file", out]);
    args.extend_from_slice(extra);
    args
}

/// The `--output json` envelope of a failure: status error, exit code `code`, and the
/// same message as the error line on stderr.
pub fn assert_error_envelope(run: &Run, code: i32) {
    let envelope = run.json();
    assert_eq!(envelope["status"], "error", "{envelope}");
    assert_eq!(envelope["exit_code"], code, "{envelope}");
    let message = envelope["error"]["message"].as_str().unwrap();
    let line = run
        .stderr
        .lines()
        .find(|l| !l.starts_with("sdctl: warning:"))
        .unwrap();
    assert_eq!(line, format!("sdctl: {message}"));
}

/// An emulator and a scratch directory for one test.
pub struct Online {
    pub fx: Fixture,
    pub emu: TestEmulator,
}

impl Online {
    /// An emulator with HSMs `hsms`, and the administrator's token in `admin.token` (0600).
    pub fn start(hsms: &[&str]) -> Self {
        let fx = Fixture::new();
        let emu = TestEmulator::start(hsms);
        let online = Online { fx, emu };
        online.token_file("admin.token", &online.emu.admin_token());
        online
    }

    /// Writes `token` to `name` in the fixture, mode 0600.
    pub fn token_file(&self, name: &str, token: &str) -> PathBuf {
        let path = self.fx.path(name);
        fs::write(&path, token).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// A token file `file` (0600) for principal `oid` and `audience`, issued `age` seconds
    /// ago with the emulator's signing key.
    pub fn minted_token(&self, file: &str, oid: &str, audience: &str, age: u64) -> PathBuf {
        self.token_file(file, &self.emu.mint(oid, audience, age))
    }

    /// A fresh token file `file` (0600) for principal `oid`, for the HSM.
    pub fn token_for(&self, file: &str, oid: &str) -> PathBuf {
        self.minted_token(file, oid, HSM_AUDIENCE, 0)
    }

    /// The emulator's CA certificate.
    pub fn ca(&self) -> String {
        self.emu.dir.join("ca.pem").display().to_string()
    }

    /// `--hsm-url URL --ca-cert CA` for HSM `hsm`.
    pub fn endpoint(&self, hsm: &str) -> Vec<String> {
        vec![
            "--hsm-url".into(),
            self.emu.hsm(hsm),
            "--ca-cert".into(),
            self.ca(),
        ]
    }

    /// `--hsm-url URL --ca-cert CA --access-token-file FILE` for HSM `hsm`.
    pub fn conn(&self, hsm: &str, token_file: &str) -> Vec<String> {
        let mut conn = self.endpoint(hsm);
        conn.push("--access-token-file".into());
        conn.push(self.fx.path(token_file).display().to_string());
        conn
    }

    /// Runs `sdctl hsm WORDS... CONN...` with the administrator's token file.
    pub fn hsm(&self, hsm: &str, words: &[&str]) -> Run {
        self.hsm_as(hsm, "admin.token", words)
    }

    /// Runs `sdctl hsm WORDS... CONN...` with the token in `token_file`.
    pub fn hsm_as(&self, hsm: &str, token_file: &str, words: &[&str]) -> Run {
        let conn = self.conn(hsm, token_file);
        let mut args: Vec<&str> = vec!["hsm"];
        args.extend_from_slice(words);
        args.extend(conn.iter().map(String::as_str));
        self.fx.sdctl(&args)
    }

    /// Runs `sdctl hsm WORDS... --hsm-url URL --ca-cert CA EXTRA...` with environment `env`
    /// and no token file: the credential chain signs in.
    pub fn hsm_env(&self, hsm: &str, words: &[&str], extra: &[&str], env: &[(&str, &str)]) -> Run {
        let endpoint = self.endpoint(hsm);
        let mut args: Vec<&str> = vec!["hsm"];
        args.extend_from_slice(words);
        args.extend(endpoint.iter().map(String::as_str));
        args.extend_from_slice(extra);
        self.fx.sdctl_env(&args, env)
    }

    /// Runs `sdctl hsm WORDS... CONN...` signed in at the emulator (`--authority-host`)
    /// through the environment `env` (from [`Online::service_principal_env`]).
    pub fn hsm_signed_in(&self, hsm: &str, words: &[&str], env: &[(String, String)]) -> Run {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.hsm_env(hsm, words, &["--authority-host", &self.emu.url], &env)
    }

    /// `hsm download` (see [`download_args`]) from `hsm` into `out` with the
    /// administrator's token file.
    pub fn download(&self, hsm: &str, out: &str, extra: &[&str]) -> Run {
        self.download_as(hsm, "admin.token", out, extra)
    }

    /// `hsm download` (see [`download_args`]) from `hsm` into `out` with the token in
    /// `token_file`.
    pub fn download_as(&self, hsm: &str, token_file: &str, out: &str, extra: &[&str]) -> Run {
        self.hsm_as(hsm, token_file, &download_args(out, extra))
    }

    /// The environment of a service principal holding the emulator administrator's
    /// client secret (`secret` replaces it when given).
    pub fn service_principal_env(&self, secret: Option<&str>) -> Vec<(String, String)> {
        let c = self.emu.credentials();
        let text = |k: &str| c[k].as_str().unwrap().to_owned();
        vec![
            ("AZURE_TENANT_ID".into(), text("tenant_id")),
            ("AZURE_CLIENT_ID".into(), text("client_id")),
            (
                "AZURE_CLIENT_SECRET".into(),
                secret
                    .map(str::to_owned)
                    .unwrap_or_else(|| text("client_secret")),
            ),
        ]
    }

    /// Sets a fault on the emulator at run time (`POST /_emulator/faults`).
    pub fn fault(&self, route: &str, kind: &str, remaining: u32) {
        let r = self
            .emu
            .post(
                &format!("{}/_emulator/faults", self.emu.url),
                &self.emu.admin_token(),
                &serde_json::json!({"route": route, "kind": kind, "remaining": remaining}),
            )
            .send()
            .unwrap();
        assert!(r.status().is_success(), "fault not set: {}", r.status());
    }

    /// The faults the emulator still holds, as `(route, kind, remaining)`.
    pub fn faults_left(&self) -> Vec<(String, String, u64)> {
        let answer = self.emu.get_json(
            &format!("{}/_emulator/faults", self.emu.url),
            &self.emu.admin_token(),
        );
        answer["faults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["route"].as_str().unwrap().to_owned(),
                    f["kind"].as_str().unwrap().to_owned(),
                    f["remaining"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// Generates three custodians (2048-bit, passphrase-protected) in `keys/` and returns
    /// the passphrase file's name.
    pub fn custodians(&self) -> &'static str {
        let line = "correct horse battery staple";
        self.fx.pass_file("pp", &[line, line, line]);
        self.fx.pass_file("pp2", &[line, line]);
        let run = self.fx.generate_keys("keys", "pp", &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        PASSPHRASES
    }

    /// `sd restore-blob --sd-file SD --sd-exchange-key EXCHANGE --sd-wrapping-keys KEYS...
    /// --passphrase-file pp2 --sd-file-restore-blob blob.json` (offline), asserted to succeed.
    pub fn restore_blob(&self, sd: &str, exchange: &str, keys: [&str; 2]) {
        let run = self.fx.sdctl(&[
            "sd",
            "restore-blob",
            "--sd-file",
            sd,
            "--sd-exchange-key",
            exchange,
            "--sd-wrapping-keys",
            keys[0],
            keys[1],
            "--passphrase-file",
            PASSPHRASES,
            "--sd-file-restore-blob",
            "blob.json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
}
