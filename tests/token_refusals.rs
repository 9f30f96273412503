//! Refusals of token keys (SoftHSM2) through the CLI, each with its exit code and one line
//! on stderr, and no output file left behind: a wrong PIN (exit 3, tried once per run, the
//! token's failed-login count going up by one at most), a token that is not present, a
//! module that is missing or not given, an object that is not on the token, and a PIN
//! written into the URI (refused without echoing it).

mod common;

use std::fs;

use common::softhsm::{self, TwoTokens as Setup};
use common::Run;

const PIN_A: &str = "100001";
const PIN_B: &str = "200002";
/// A wrong PIN; it must never be echoed either.
const WRONG: &str = "987123";
/// A PIN written into a URI; refused, never echoed.
const URI_PIN: &str = "424242";

/// Custodians a, b, c, a 2-of-3 SD, a's key on tok-a and b's on tok-b.
fn setup(test: &str) -> Option<Setup> {
    softhsm::two_tokens(test, PIN_A, PIN_B)
}

impl Setup {
    /// `sd restore-blob` to `out.json` with these keys, then `sd verify` with them, both
    /// with `extra` (e.g. `--pkcs11-module M --pin-file F`); both must be refused with
    /// `code` and `needle`, print no PIN, and leave no out.json. Returns the first run.
    fn refused(&self, keys: &[&str], extra: &[&str], code: i32, needle: &str) -> Run {
        let mut blob = vec![
            "sd",
            "restore-blob",
            "--sd-file",
            "sd.json",
            "--sd-exchange-key",
            "x.cer",
            "--sd-file-restore-blob",
            "out.json",
            "--sd-wrapping-keys",
        ];
        blob.extend_from_slice(keys);
        blob.extend_from_slice(extra);
        let run = self.hsm.sdctl(&self.fx, &blob);
        self.check(&run, code, needle);
        assert!(
            !self.fx.path("out.json").exists(),
            "a refused restore-blob left out.json"
        );
        assert!(
            self.fx.listing("").iter().all(|n| !n.contains("out.json")),
            "a temporary file was left: {:?}",
            self.fx.listing("")
        );
        let mut verify = vec!["sd", "verify", "--sd-file", "sd.json", "--sd-wrapping-keys"];
        verify.extend_from_slice(keys);
        verify.extend_from_slice(extra);
        let second = self.hsm.sdctl(&self.fx, &verify);
        self.check(&second, code, needle);
        run
    }

    fn check(&self, run: &Run, code: i32, needle: &str) {
        run.assert_error(code, needle);
        for pin in [PIN_A, PIN_B, WRONG, URI_PIN] {
            assert!(
                !run.stdout.contains(pin) && !run.stderr.contains(pin),
                "a PIN was printed: {}{}",
                run.stdout,
                run.stderr
            );
        }
    }

    fn pins(&self, name: &str, pins: &[&str]) -> String {
        softhsm::write_pin_file(&self.fx.path(name), pins);
        name.to_owned()
    }

    /// `--pkcs11-module SOFTHSM --pin-file NAME`, the PIN file NAME written with `pins`.
    fn softhsm_with_pins(&self, name: &str, pins: &[&str]) -> Vec<String> {
        let file = self.pins(name, pins);
        ["--pkcs11-module", softhsm::MODULE, "--pin-file", &file]
            .map(String::from)
            .to_vec()
    }
}

/// `args` as the `&str` slice [`Setup::refused`] takes.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn a_wrong_pin_is_tried_once_and_refused_with_exit_3() {
    let Some(s) = setup("a_wrong_pin_is_tried_once_and_refused_with_exit_3") else {
        return;
    };
    // The module that counts C_Login calls, when a C compiler is here (CI has one).
    let counting = s.hsm.counting_module();
    let module = counting
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| softhsm::MODULE.to_owned());
    let wrong = s.pins("wrong.txt", &[WRONG, PIN_B]);
    let extra = ["--pkcs11-module", module.as_str(), "--pin-file", &wrong];
    let run = s.refused(&[&s.a, &s.b], &extra, 3, "wrong PIN");
    assert!(
        run.stderr.contains("tok-a"),
        "names the token: {}",
        run.stderr
    );
    // SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a wrong PIN: the message passes it on.
    assert!(
        run.stderr.contains("retry count"),
        "the token's retry state is reported: {}",
        run.stderr
    );
    if counting.is_some() {
        // Two runs (restore-blob, verify), one failed C_Login each: no retry.
        let failed: Vec<String> = s
            .hsm
            .logins()
            .into_iter()
            .filter(|l| l.ends_with(" 0xa0"))
            .collect();
        assert_eq!(failed.len(), 2, "one C_Login per run: {:?}", s.hsm.logins());
    }
    let flags = s.hsm.token_flags("tok-a");
    assert!(flags.contains("user PIN count low"), "{flags}");
    assert!(!flags.contains("user PIN locked"), "{flags}");

    // The right PIN still works (the token was not locked by retries).
    let right = s.pins("right.txt", &[PIN_A, PIN_B]);
    let run = s.hsm.sdctl(
        &s.fx,
        &[
            "sd",
            "verify",
            "--sd-file",
            "sd.json",
            "--pkcs11-module",
            &module,
            "--pin-file",
            &right,
            "--sd-wrapping-keys",
            &s.a,
            &s.b,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A wrong PIN in shares combine: exit 3, no output.
    let wrong_a = s.pins("wrong-a.txt", &[WRONG]);
    fs::write(s.fx.path("secret.bin"), b"break-glass secret").unwrap();
    let split = s.fx.run(
        "shares split --threshold 2 --shares 3 --in secret.bin --out-dir sealed --to-certs a.cer b.cer c.cer",
    );
    assert_eq!(split.code, 0, "{}", split.stderr);
    let run = s.hsm.sdctl(
        &s.fx,
        &[
            "shares",
            "combine",
            "sealed/a.share.jwe",
            "sealed/c.share.jwe",
            "--out",
            "back.bin",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            &wrong_a,
            "--keys",
            &s.a,
            "c.key",
        ],
    );
    s.check(&run, 3, "wrong PIN");
    assert!(!s.fx.path("back.bin").exists());
}

#[test]
fn a_missing_token_or_object_is_bad_input() {
    let Some(s) = setup("a_missing_token_or_object_is_bad_input") else {
        return;
    };
    let pins = s.pins("pins.txt", &[PIN_A, PIN_B]);
    let extra = ["--pkcs11-module", softhsm::MODULE, "--pin-file", &pins];
    // No token has that label.
    let nobody = softhsm::uri("nobody", "sdctl-a");
    let run = s.refused(&[&nobody, &s.b], &extra, 2, "token=nobody");
    assert!(run.stderr.contains("no token"), "{}", run.stderr);
    // A serial no token has.
    let serial = format!("{};serial=0000000000000000", s.a);
    s.refused(&[&serial, &s.b], &extra, 2, "serial=0000000000000000");
    // The token is there, the object is not (by label, by id).
    let no_object = softhsm::uri("tok-a", "sdctl-zzz");
    s.refused(&[&no_object, &s.b], &extra, 2, "sdctl-zzz");
    let no_id = "pkcs11:token=tok-a;id=%ff%ee";
    let run = s.refused(&[no_id, &s.b], &extra, 2, "tok-a");
    assert!(
        run.stderr.to_ascii_lowercase().contains("%ff%ee"),
        "names the id: {}",
        run.stderr
    );
}

#[test]
fn a_missing_module_is_bad_input() {
    let Some(s) = setup("a_missing_module_is_bad_input") else {
        return;
    };
    let pins = s.pins("pins.txt", &[PIN_A, PIN_B]);
    // A module path that does not exist.
    let extra = [
        "--pkcs11-module",
        "/nonexistent/libnothing.so",
        "--pin-file",
        &pins,
    ];
    s.refused(&[&s.a, &s.b], &extra, 2, "/nonexistent/libnothing.so");
    // A file that is not a PKCS#11 module.
    let not_a_module = s.fx.path("a.cer").display().to_string();
    let extra = ["--pkcs11-module", &not_a_module, "--pin-file", &pins];
    s.refused(&[&s.a, &s.b], &extra, 2, "a.cer");
    // module-path in the URI that does not exist.
    let in_uri = format!("{}?module-path=/nonexistent/libother.so", s.a);
    let pin_a = s.pins("pin-a.txt", &[PIN_A]);
    s.refused(
        &[&in_uri, "c.key"],
        &["--pin-file", &pin_a],
        2,
        "/nonexistent/libother.so",
    );
    // No module named at all.
    s.refused(&[&s.a, &s.b], &["--pin-file", &pins], 2, "--pkcs11-module");
}

#[test]
fn a_pin_in_the_uri_is_refused_and_not_echoed() {
    let Some(s) = setup("a_pin_in_the_uri_is_refused_and_not_echoed") else {
        return;
    };
    let pins = s.pins("pins.txt", &[PIN_B]);
    let extra = ["--pkcs11-module", softhsm::MODULE, "--pin-file", &pins];
    let with_pin = format!("{}?pin-value={URI_PIN}", s.a);
    let run = s.refused(&[&with_pin, &s.b], &extra, 2, "pin-value");
    assert!(!run.stderr.contains(URI_PIN), "{}", run.stderr);
    // Also beside module-path, and for shares combine.
    let with_pin = format!(
        "{}?module-path={}&pin-value={URI_PIN}",
        s.a,
        softhsm::MODULE
    );
    s.refused(&[&with_pin, &s.b], &["--pin-file", &pins], 2, "pin-value");
    fs::write(s.fx.path("secret.bin"), b"break-glass secret").unwrap();
    let split = s.fx.run(
        "shares split --threshold 2 --shares 3 --in secret.bin --out-dir sealed --to-certs a.cer b.cer c.cer",
    );
    assert_eq!(split.code, 0, "{}", split.stderr);
    let run = s.hsm.sdctl(
        &s.fx,
        &[
            "shares",
            "combine",
            "sealed/a.share.jwe",
            "sealed/b.share.jwe",
            "--out",
            "back.bin",
            "--pkcs11-module",
            softhsm::MODULE,
            "--pin-file",
            &pins,
            "--keys",
            &with_pin,
            &s.b,
        ],
    );
    s.check(&run, 2, "pin-value");
    assert!(!s.fx.path("back.bin").exists());
}

#[test]
fn a_token_near_or_at_lockout_is_reported_and_not_retried() {
    let Some(s) = setup("a_token_near_or_at_lockout_is_reported_and_not_retried") else {
        return;
    };
    let (Some(final_try), Some(locked)) = (s.hsm.final_try_module(), s.hsm.locked_module()) else {
        return;
    };
    // The token says the next wrong PIN locks it: a PIN from a file (a misplaced line would
    // lock it) is not tried at all; the message says so and asks for the prompt (exit 2).
    let final_try = final_try.display().to_string();
    let wrong = s.pins("wrong.txt", &[WRONG, PIN_B]);
    let extra = ["--pkcs11-module", final_try.as_str(), "--pin-file", &wrong];
    let run = s.refused(&[&s.a, &s.b], &extra, 2, "tok-a");
    assert!(
        run.stderr.contains("next wrong PIN locks it") && run.stderr.contains("prompt"),
        "the lockout is reported: {}",
        run.stderr
    );
    assert!(
        s.hsm.logins().is_empty(),
        "no C_Login at the final try with a PIN file: {:?}",
        s.hsm.logins()
    );
    // The real token behind the shim still accepts the right PIN: nothing was locked.
    let flags = s.hsm.token_flags("tok-a");
    assert!(!flags.contains("locked"), "{flags}");

    // A locked token: refused with exit 3 and "locked", whatever the PIN, and no retry.
    fs::remove_file(s.hsm.login_log()).ok();
    let locked = locked.display().to_string();
    let right = s.pins("right.txt", &[PIN_A, PIN_B]);
    let extra = ["--pkcs11-module", locked.as_str(), "--pin-file", &right];
    let run = s.refused(&[&s.a, &s.b], &extra, 3, "locked");
    assert!(run.stderr.contains("tok-a"), "{}", run.stderr);
    let logins = s.hsm.logins();
    assert!(
        logins.iter().filter(|l| l.ends_with(" 0xa4")).count() <= 2,
        "at most one C_Login per run (two runs): {logins:?}"
    );
}

/// `keys check` goes on after a failed key: two keys on one token with a wrong PIN cost the
/// token one try, not two (the failed login is remembered for the run).
#[test]
fn keys_check_tries_a_token_once_however_many_keys_it_holds() {
    let Some(s) = setup("keys_check_tries_a_token_once_however_many_keys_it_holds") else {
        return;
    };
    let Some(counting) = s.hsm.counting_module() else {
        return;
    };
    let module = counting.display().to_string();
    // A second key on tok-a, under another label and id.
    let pem = s.fx.path("extra.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem)
        .status()
        .unwrap();
    assert!(status.success());
    s.hsm.import_key("tok-a", "second", "7e", &pem);
    let second = softhsm::uri("tok-a", "second");
    let wrong = s.pins("wrong-check.txt", &[WRONG, PIN_B]);
    let run = s.hsm.sdctl(
        &s.fx,
        &[
            "keys",
            "check",
            "--sd-wrapping-keys",
            "a.cer",
            "b.cer",
            "c.cer",
            "--keys",
            &s.a,
            &second,
            "--pkcs11-module",
            &module,
            "--pin-file",
            &wrong,
        ],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("wrong PIN") || run.stderr.contains("wrong PIN"),
        "{}",
        run.stderr
    );
    let failed: Vec<String> = s
        .hsm
        .logins()
        .into_iter()
        .filter(|l| l.ends_with(" 0xa0"))
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "one failed C_Login for tok-a: {:?}",
        s.hsm.logins()
    );
}

/// The module runs inside sdctl with every secret it holds: one another user could have
/// replaced (a writable file or directory), or one named by a relative path, is refused
/// before it is loaded.
#[test]
fn a_module_others_could_replace_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let Some(s) = setup("a_module_others_could_replace_is_refused") else {
        return;
    };
    let open = s.fx.path("open-dir");
    fs::create_dir_all(&open).unwrap();
    let copy = open.join("libsofthsm2.so");
    fs::copy(softhsm::MODULE, &copy).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let module = copy.display().to_string();
    let extra = ["--pkcs11-module", module.as_str()];
    let run = s.refused(&[&s.a, &s.b], &extra, 2, "writable by other users");
    assert!(run.stderr.contains("open-dir"), "{}", run.stderr);
    fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o666)).unwrap();
    s.refused(&[&s.a, &s.b], &extra, 2, "writable by other users");
    // A relative path (the fixture's directory is the working directory).
    let extra = ["--pkcs11-module", "open-dir/libsofthsm2.so"];
    s.refused(&[&s.a, &s.b], &extra, 2, "absolute path");
}

/// A PIN file short of a line, two tokens under one label, and a key that is not RSA: each
/// refused with exit 2 and a line saying what to do, before any output is written.
#[test]
fn short_pin_files_ambiguous_tokens_and_non_rsa_keys_are_bad_input() {
    let Some(s) = setup("short_pin_files_ambiguous_tokens_and_non_rsa_keys_are_bad_input") else {
        return;
    };
    // One line for two tokens.
    let extra = s.softhsm_with_pins("short.txt", &[PIN_A]);
    s.refused(&[&s.a, &s.b], &strs(&extra), 2, "this is token number 2");

    // An EC key on a third token: Managed HSM wrapping keys are RSA.
    let ec = s.fx.path("ec.pem");
    s.fx.openssl_ec_key("ec.pem", &[]);
    s.hsm.init_token("tok-ec", softhsm::SO_PIN, PIN_A);
    s.hsm.import_key("tok-ec", "ec", "e1", &ec);
    let extra = s.softhsm_with_pins("pins-ec.txt", &[PIN_A]);
    s.refused(
        &[&softhsm::uri("tok-ec", "ec")],
        &strs(&extra),
        2,
        "not an RSA key",
    );

    // A second token labelled tok-a: the URI must say which (serial=).
    s.hsm.init_token("tok-a", softhsm::SO_PIN, PIN_A);
    let extra = s.softhsm_with_pins("pins-a.txt", &[PIN_A, PIN_B]);
    s.refused(
        &[&s.a, &s.b],
        &strs(&extra),
        2,
        "2 tokens match it; add serial=",
    );
}

/// A PIN that cannot be had (an empty line; no PIN file and no terminal), and a token whose
/// certificate under the key's id carries another key: exit 2, nothing written.
#[test]
fn missing_pins_and_a_mismatched_token_certificate_are_bad_input() {
    let Some(s) = setup("missing_pins_and_a_mismatched_token_certificate_are_bad_input") else {
        return;
    };
    let module = ["--pkcs11-module", softhsm::MODULE];
    let extra = s.softhsm_with_pins("empty.txt", &["", PIN_B]);
    s.refused(
        &[&s.a, &s.b],
        &strs(&extra),
        2,
        "line 1 of empty.txt is empty",
    );
    // The tests run without a terminal on stdin.
    s.refused(
        &[&s.a, &s.b],
        &module,
        2,
        "no terminal is available; use --pin-file",
    );

    // tok-m holds a's key, but b's certificate under the same id.
    s.hsm.init_token("tok-m", softhsm::SO_PIN, PIN_A);
    s.hsm
        .import_key("tok-m", "mixed", "4d", &s.fx.path("a.key"));
    s.hsm
        .import_cert("tok-m", "mixed", "4d", &s.fx.path("b.cer"));
    let extra = s.softhsm_with_pins("pins-m.txt", &[PIN_A]);
    s.refused(
        &[&softhsm::uri("tok-m", "mixed")],
        &strs(&extra),
        2,
        "carries another key",
    );
}
