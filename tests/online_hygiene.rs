//! Core dumps of the online side, checked from the outside as `secret_hygiene.rs` checks the
//! offline commands: `sdctl emulator serve` (the emulated HSMs' master keys, exchange keys
//! and token-signing key are in its memory) and `sdctl hsm ...` holding an access token or a
//! client certificate's private key are started with core dumps allowed, and each must have
//! RLIMIT_CORE 0/0 and not be dumpable while it holds them.
//!
//! The HSM side of the `hsm` cases is a listener on 127.0.0.1 that accepts and never answers:
//! once it has a connection, sdctl has read its credential, and it waits there until killed.
#![cfg(feature = "online")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::dumps::{allow_core_dumps, check_control, dump_state, give_to, test_uid, DumpState};
use common::Fixture;

/// How long a case may take to reach the point where it is looked at.
const DEADLINE: Duration = Duration::from_secs(30);

/// sdctl started in `dir` as `uid` with core dumps allowed, no terminal, and `env` set.
fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)], uid: Option<u32>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdctl"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    allow_core_dumps(&mut cmd, uid);
    cmd.spawn().expect("sdctl starts")
}

/// Kills and reaps `child`, returning what it wrote on stderr (for failure messages).
fn stop(mut child: Child) -> String {
    child.kill().ok();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits (bounded) until sdctl connects to `hsm`, then reads its core-dump settings.
fn state_when_connected(hsm: &TcpListener, mut child: Child, at: &str) -> DumpState {
    hsm.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match hsm.accept() {
            Ok((_held_open, _)) => {
                let state = dump_state(child.id());
                stop(child);
                return state;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{at}: accept failed: {e}"),
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{at}: ended ({status}) before connecting:\n{}", stop(child));
        }
        if start.elapsed() > DEADLINE {
            panic!("{at}: no connection within {DEADLINE:?}:\n{}", stop(child));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A self-signed CA certificate for `--ca-cert` (no TLS handshake ever happens here) and a
/// client certificate with its private key in one PEM file, made with the openssl CLI.
fn credentials(fx: &Fixture) {
    for (key, cert, cn) in [
        ("ca.key", "ca.pem", "test CA"),
        ("client.key", "client.crt", "app"),
    ] {
        let subject = format!("/CN={cn}");
        let args = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days",
            "2", "-subj", &subject,
        ];
        assert!(fx.openssl(&args).status.success(), "openssl {args:?}");
    }
    let pem = [fx.path("client.key"), fx.path("client.crt")]
        .map(|p| std::fs::read_to_string(p).unwrap())
        .concat();
    std::fs::write(fx.path("client.pem"), pem).unwrap();
    std::fs::write(
        fx.path("token.txt"),
        "eyJ0eXAiOiJKV1QifQ.e30.c2lnbmF0dXJl\n",
    )
    .unwrap();
}

#[test]
fn hsm_commands_holding_tokens_or_client_keys_cannot_dump_core() {
    let fx = Fixture::new();
    let d = fx.dir.path();
    credentials(&fx);
    let uid = test_uid();
    give_to(d, uid);
    check_control(d, uid);

    let hsm = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://127.0.0.1:{}", hsm.local_addr().unwrap().port());
    let url = format!("{base}/hsm/a");
    let connection = ["--hsm-url", &url, "--ca-cert", "ca.pem"];
    let client_cert = [
        ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001"),
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "client.pem"),
    ];
    let access_token: [&str; 2] = ["--access-token-file", "token.txt"];
    let environment = ["--credential", "environment", "--authority-host", &base];
    for (credential, env) in [
        (&access_token[..], &[][..]),
        (&environment[..], &client_cert[..]),
    ] {
        let mut args = vec!["hsm", "status"];
        args.extend(connection);
        args.extend(credential);
        let at = format!("sdctl {}", args.join(" "));
        let child = spawn(d, &args, env, uid);
        state_when_connected(&hsm, child, &at).assert_off(&at);
    }
}

#[test]
fn the_emulator_cannot_dump_core() {
    let fx = Fixture::new();
    let d = fx.dir.path();
    let uid = test_uid();
    give_to(d, uid);
    check_control(d, uid);

    let args = [
        "emulator",
        "serve",
        "--state-dir",
        "state",
        "--hsm",
        "hsm-a",
        "--listen",
        "127.0.0.1:0",
    ];
    let mut child = spawn(d, &args, &[], uid);
    // The emulator prints its address once it listens; a reader thread lets the wait end at
    // the deadline even if it never does.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("listening on") => break,
            Ok(_) => {}
            Err(e) => panic!("emulator serve did not listen ({e}):\n{}", stop(child)),
        }
    }
    let state = dump_state(child.id());
    stop(child);
    state.assert_off("sdctl emulator serve");
}
