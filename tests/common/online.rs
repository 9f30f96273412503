//! The online commands run through the CLI against an in-process emulator: a fixture
//! directory for keys and outputs, and the connection flags for each HSM.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::emulator::TestEmulator;
use super::{Fixture, Run};

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

    /// The emulator's CA certificate.
    pub fn ca(&self) -> String {
        self.emu.dir.join("ca.pem").display().to_string()
    }

    /// `--hsm-url URL --ca-cert CA --access-token-file FILE` for HSM `hsm`.
    pub fn conn(&self, hsm: &str, token_file: &str) -> Vec<String> {
        vec![
            "--hsm-url".into(),
            self.emu.hsm(hsm),
            "--ca-cert".into(),
            self.ca(),
            "--access-token-file".into(),
            self.fx.path(token_file).display().to_string(),
        ]
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

    /// Generates three custodians (2048-bit, passphrase-protected) in `keys/` and returns
    /// the passphrase file's name.
    pub fn custodians(&self) -> &'static str {
        let line = "correct horse battery staple";
        self.fx.pass_file("pp", &[line, line, line]);
        self.fx.pass_file("pp2", &[line, line]);
        let run = self.fx.generate_keys("keys", "pp", &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        "pp2"
    }
}
