//! Secret hygiene of token PINs, checked from the outside on SoftHSM2 tokens: a running sdctl
//! (stopped inside its output write by the debug-build hook `SDCTL_TEST_PAUSE_BEFORE_RENAME`,
//! after the tokens have decrypted the shares) has no PIN on its argv or in its environment
//! and has started no process (the PKCS#11 module runs inside sdctl); no PIN appears on
//! stdout, on stderr (error messages of a wrong PIN included), in the restore blob, in a
//! share export, or in a temporary file left by a killed write; a PIN file that others may
//! read earns a warning naming it, never its content.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::softhsm::{self, SoftHsm};
use common::{Fixture, Run};

const PIN_A: &str = "581302";
const PIN_B: &str = "947716";
const WRONG: &str = "360027";

/// Whether `haystack` holds any of the PINs (as text, or as the bytes of the text).
fn holds_pin(haystack: &[u8]) -> Option<&'static str> {
    [PIN_A, PIN_B, WRONG]
        .into_iter()
        .find(|pin| haystack.windows(pin.len()).any(|w| w == pin.as_bytes()))
}

fn assert_no_pin(what: &str, bytes: &[u8]) {
    if let Some(pin) = holds_pin(bytes) {
        panic!("{what} holds the PIN {pin}");
    }
}

fn assert_run_clean(what: &str, run: &Run) {
    assert_no_pin(&format!("stdout of {what}"), run.stdout.as_bytes());
    assert_no_pin(&format!("stderr of {what}"), run.stderr.as_bytes());
}

/// The two-token bed (common::softhsm::two_tokens) and the PIN file `pins.txt` (0600).
fn setup(test: &str) -> Option<(Fixture, SoftHsm, String, String)> {
    let bed = softhsm::two_tokens(test, PIN_A, PIN_B)?;
    softhsm::write_pin_file(&bed.fx.path("pins.txt"), &[PIN_A, PIN_B]);
    Some((bed.fx, bed.hsm, bed.a, bed.b))
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
        let ppid = after.split_whitespace().nth(1);
        if ppid.and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            kids.extend(entry.file_name().to_string_lossy().parse::<u32>().ok());
        }
    }
    kids
}

#[test]
fn a_running_sdctl_holds_no_pin_on_argv_or_in_its_environment() {
    let Some((fx, hsm, a, b)) = setup("a_running_sdctl_holds_no_pin_on_argv_or_in_its_environment")
    else {
        return;
    };
    let (conf_name, conf) = hsm.env();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args([
            "sd",
            "restore-blob",
            "--sd-file",
            "sd.json",
            "--sd-exchange-key",
            "x.cer",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pins.txt",
            "--sd-wrapping-keys",
            &a,
            &b,
            "--sd-file-restore-blob",
            "blob.json",
        ])
        .env(conf_name, &conf)
        .env(sdctl::files::PAUSE_HOOK, "blob.json")
        .current_dir(fx.path(""))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sdctl starts");
    let mut stderr = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    while !stderr.contains("test hook: paused") {
        if lines.read_line(&mut stderr).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!("sdctl ended ({status}) without pausing before blob.json:\n{stderr}");
        }
    }
    let pid = child.id();
    // The shares were decrypted on the tokens by now; the blob is written, not yet renamed.
    let argv = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let environ = fs::read(format!("/proc/{pid}/environ"));
    let kids = children_of(pid);
    // SAFETY: kill(2) with the pid of a process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    child.wait().unwrap();

    assert_no_pin("sdctl's argv", &argv);
    assert!(
        String::from_utf8_lossy(&argv).contains("pins.txt"),
        "the argv read is sdctl's"
    );
    match environ {
        Ok(environ) => {
            assert_no_pin("sdctl's environment", &environ);
            assert!(String::from_utf8_lossy(&environ).contains("SOFTHSM2_CONF="));
        }
        // A process that is not dumpable keeps its environ from other users; as root (CI)
        // it is read.
        Err(e) => eprintln!("/proc/{pid}/environ not readable here ({e}): not checked"),
    }
    assert!(kids.is_empty(), "sdctl started processes {kids:?}");
    assert_no_pin("sdctl's stderr", stderr.as_bytes());
    // Killed inside the write: no blob, and whatever temporary is left holds no PIN.
    assert!(!fx.path("blob.json").exists());
    for name in fx.listing("") {
        let path = fx.path(&name);
        if path.is_file() && name != "pins.txt" {
            assert_no_pin(&name, &fs::read(&path).unwrap());
        }
    }
}

#[test]
fn no_pin_in_any_output_of_a_token_run() {
    let Some((fx, hsm, a, b)) = setup("no_pin_in_any_output_of_a_token_run") else {
        return;
    };
    let token_args = ["--pkcs11-module", softhsm::MODULE, "--pin-file", "pins.txt"];
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&token_args);
        hsm.sdctl(&fx, &all)
    };
    for output in [&[][..], &["--output", "json"][..]] {
        let mut args = output.to_vec();
        args.extend([
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--sd-wrapping-keys",
            &a,
            &b,
        ]);
        let run = with(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_run_clean("sd verify", &run);
    }
    let run = with(&[
        "--output",
        "json",
        "sd",
        "restore-blob",
        "--sd-file",
        "sd.json",
        "--sd-exchange-key",
        "x.cer",
        "--sd-wrapping-keys",
        &a,
        &b,
        "--sd-file-restore-blob",
        "blob.json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_run_clean("sd restore-blob", &run);
    assert_no_pin("blob.json", &fs::read(fx.path("blob.json")).unwrap());

    // A share export from a token.
    let session = fx.run("sd session new --out-dir s --bits 2048");
    assert_eq!(session.code, 0, "{}", session.stderr);
    softhsm::write_pin_file(&fx.path("pin-a.txt"), &[PIN_A]);
    let run = hsm.sdctl(
        &fx,
        &[
            "sd",
            "share-export",
            "--sd-file",
            "sd.json",
            "--key",
            &a,
            "--to",
            "s/session.cer",
            "--out",
            "a.jwe",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pin-a.txt",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_run_clean("sd share-export", &run);
    assert_no_pin("a.jwe", &fs::read(fx.path("a.jwe")).unwrap());

    // A wrong PIN: the refusal does not quote it, in either output form.
    softhsm::write_pin_file(&fx.path("wrong.txt"), &[WRONG, PIN_B]);
    for output in [&[][..], &["--output", "json"][..]] {
        let mut args = output.to_vec();
        args.extend([
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "wrong.txt",
            "--sd-wrapping-keys",
            &a,
            &b,
        ]);
        let run = hsm.sdctl(&fx, &args);
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert_run_clean("sd verify with a wrong PIN", &run);
    }
}

#[test]
fn a_pin_file_others_can_read_earns_a_warning() {
    let Some((fx, hsm, a, b)) = setup("a_pin_file_others_can_read_earns_a_warning") else {
        return;
    };
    fs::set_permissions(fx.path("pins.txt"), fs::Permissions::from_mode(0o644)).unwrap();
    let run = hsm.sdctl(
        &fx,
        &[
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            "pins.txt",
            "--sd-wrapping-keys",
            &a,
            &b,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_run_clean("sd verify with a 0644 PIN file", &run);
    let warning = run
        .stderr
        .lines()
        .find(|l| l.starts_with("sdctl: warning:") && l.contains("pins.txt"))
        .unwrap_or_else(|| panic!("no warning about pins.txt: {}", run.stderr));
    assert!(warning.contains("readable"), "{warning}");
}
