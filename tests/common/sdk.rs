//! Runs the official-SDK scripts of tests/interop/sdk/ against a test emulator, signed in
//! as the emulator's administrator with `ClientSecretCredential`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::emulator::TestEmulator;
use super::interop::{repo_file, sdk_venv};
use super::Fixture;

/// What an SDK script returned: exit code, its JSON (if any) and its stderr.
pub struct ScriptRun {
    pub code: i32,
    pub json: Value,
    pub stderr: String,
}

impl ScriptRun {
    /// The JSON result, insisting that the script succeeded.
    pub fn ok(self) -> Value {
        assert_eq!(self.code, 0, "SDK script failed: {}", self.stderr);
        self.json
    }
}

/// Runs `tests/interop/sdk/SCRIPT ARGS` for HSM `hsm`, in the fixture directory (relative
/// paths in `args` are the fixture's), with a 5-minute bound.
pub fn script(e: &TestEmulator, fx: &Fixture, hsm: &str, name: &str, args: &[&str]) -> ScriptRun {
    let out = command(e, fx, hsm, name, args);
    let text = String::from_utf8_lossy(&out.stdout);
    ScriptRun {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(text.trim()).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn command(e: &TestEmulator, fx: &Fixture, hsm: &str, name: &str, args: &[&str]) -> Output {
    let secret_file = fx.path("sdk-secret");
    let c = e.credentials();
    std::fs::write(&secret_file, c["client_secret"].as_str().unwrap()).unwrap();
    let ca = e.dir.join("ca.pem");
    let mut cmd = Command::new("timeout");
    cmd.arg("300")
        .arg(sdk_venv().join("bin/python"))
        .arg(repo_file(&format!("tests/interop/sdk/{name}")))
        .args(["--vault-url", &e.hsm(hsm), "--authority", &e.url])
        .args(["--tenant", c["tenant_id"].as_str().unwrap()])
        .args(["--client-id", c["client_id"].as_str().unwrap()])
        .arg("--secret-file")
        .arg(&secret_file)
        .arg("--ca")
        .arg(&ca)
        .args(args)
        .current_dir(fx.dir.path())
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env_remove("AZURE_AUTHORITY_HOST")
        .env_remove("PYTHONPATH")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

/// Reads a fixture file as JSON.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The built-in Crypto User role (key use) and Crypto Officer role (key management).
pub const CRYPTO_USER: &str = "21dbd100-6940-42c2-9190-5d6cb909625b";
pub const CRYPTO_OFFICER: &str = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778";

/// Makes custodians a, b, c (once) and activates `hsm` with the SDK's `begin_download`
/// (quorum 2), the security domain written to `sd`.
pub fn activate(e: &TestEmulator, fx: &Fixture, hsm: &str, sd: &str) {
    for n in ["a", "b", "c"] {
        if !fx.path(&format!("{n}.key")).exists() {
            fx.openssl_custodian(n, 2048);
        }
    }
    let args = [
        "download", "--cert", "a.cer", "--cert", "b.cer", "--cert", "c.cer", "--out", sd,
    ];
    let r = script(e, fx, hsm, "sd.py", &args).ok();
    assert_eq!(r["download_status"], "Success", "{r}");
}

/// Recovers the new HSM `hsm` with security domain `sd` (custodians a and b): the SDK's
/// `get_transfer_key`, `sdctl sd restore-blob`, the SDK's `begin_upload`.
pub fn recover(e: &TestEmulator, fx: &Fixture, hsm: &str, sd: &str) {
    let cert = format!("{hsm}-exchange.cer");
    let jwk = format!("{hsm}-exchange.jwk");
    let blob = format!("{hsm}-blob.json");
    script(
        e,
        fx,
        hsm,
        "sd.py",
        &["transfer-key", "--out-jwk", &jwk, "--out-cert", &cert],
    )
    .ok();
    let run = fx.sdctl(&[
        "sd",
        "restore-blob",
        "--sd-file",
        sd,
        "--sd-exchange-key",
        &cert,
        "--sd-wrapping-keys",
        "a.key",
        "b.key",
        "--sd-file-restore-blob",
        &blob,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = script(e, fx, hsm, "sd.py", &["upload", "--blob", &blob]).ok();
    assert_eq!(r["upload_status"], "Success", "{r}");
}

/// Gives the administrator built-in role `role` at `/` of `hsm` (plain REST; `/`, as the
/// random-number route is authorised there).
pub fn grant(e: &TestEmulator, hsm: &str, role: &str) {
    e.assign(hsm, &e.admin_oid(), role, "/");
}
