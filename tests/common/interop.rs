//! The interop harness (tests/interop/): a venv with the pinned Azure CLI, jwcrypto and
//! azure-identity, made on first use, and the Azure CLI run offline; a second venv with
//! Microsoft's official Key Vault SDK clients (`setup.sh sdk`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::Fixture;

/// The harness's venv, installed once per machine (tests/interop/setup.sh).
pub fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| install(&[])).clone()
}

/// The official Azure SDK for Python clients' venv (tests/interop/setup.sh sdk).
pub fn sdk_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| install(&["sdk"])).clone()
}

fn install(args: &[&str]) -> PathBuf {
    let out = Command::new("bash")
        .arg(repo_file("tests/interop/setup.sh"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "interop setup {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

pub fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs the Azure CLI offline (tests/interop/az.sh) in the fixture directory.
pub fn az(fx: &Fixture, args: &[&str]) {
    venv();
    let out = Command::new("bash")
        .arg(repo_file("tests/interop/az.sh"))
        .args(args)
        .current_dir(fx.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "az {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `az keyvault security-domain restore-blob` offline, in the fixture directory.
pub fn az_restore_blob(fx: &Fixture, sd: &str, exchange: &str, keys: &[&str], out: &str) {
    let mut args = vec![
        "keyvault",
        "security-domain",
        "restore-blob",
        "--sd-file",
        sd,
        "--sd-exchange-key",
        exchange,
        "--sd-wrapping-keys",
    ];
    args.extend_from_slice(keys);
    args.extend_from_slice(&["--sd-file-restore-blob", out]);
    az(fx, &args);
}
