//! The guided ceremonies driven by hand through a real pseudo-terminal, as people run them:
//! each step announced and confirmed with y, every custodian typing their passphrase at a
//! hidden prompt (never echoed), a "no" that stops cleanly and a rerun that continues, a
//! wrong passphrase that fails the step without recording it. One test per ceremony kind
//! (activate, drill, rotate, recover), against the in-process emulator; and the hidden
//! prompt of `shares split`.
//!
//! The driver is small: `openpty`, sdctl spawned as a session leader with the pty's slave
//! as its stdin, stdout, stderr and controlling terminal (so `/dev/tty` is the pty, which
//! rpassword opens), and the master kept here: a thread copies what sdctl prints into a
//! screen buffer, [`Pty::expect`] waits (bounded) for text, [`Pty::send`] types.

#![cfg(all(feature = "online", target_os = "linux"))]

mod common;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::ceremony::{passphrase, transcript, transcript_path, Bed, PlanSpec};
use common::Run;

/// The longest wait for anything sdctl is expected to print (key generation, the emulator).
const WAIT: Duration = Duration::from_secs(60);

/// What sdctl printed on the terminal so far (carriage returns dropped), and whether the
/// terminal was hung up (sdctl and every copy of the slave gone).
#[derive(Default)]
struct Screen {
    bytes: Vec<u8>,
    closed: bool,
}

type Shared = Arc<(Mutex<Screen>, Condvar)>;

/// sdctl running on a pseudo-terminal.
struct Pty {
    child: Child,
    master: File,
    screen: Shared,
    /// Where the last match ended.
    pos: usize,
    /// Everything typed at hidden prompts: none of it may ever appear on the screen.
    secrets: Vec<String>,
}

fn last_os_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl Pty {
    /// Starts `sdctl ARGS...` in `dir` on a new pseudo-terminal.
    fn spawn(dir: &Path, args: &[&str]) -> Pty {
        Pty::spawn_sized(dir, args, 200, 50)
    }

    /// Starts `sdctl ARGS...` in `dir` on a new pseudo-terminal of `cols` x `rows`.
    fn spawn_sized(dir: &Path, args: &[&str], cols: u16, rows: u16) -> Pty {
        let (mut m, mut s) = (-1, -1);
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: out-pointers to two ints; no name buffer; default termios; a valid winsize.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "{}", last_os_error("openpty"));
        // SAFETY: openpty returned two new descriptors that nothing else owns.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        for fd in [m, s] {
            // Other tests spawn processes concurrently: they must not inherit these.
            // SAFETY: fcntl on a descriptor we own.
            assert_ne!(
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) },
                -1
            );
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_sdctl"));
        for (name, _) in std::env::vars() {
            if name.starts_with("AZURE_") || name.starts_with("IDENTITY_") || name == "MSI_ENDPOINT"
            {
                command.env_remove(name);
            }
        }
        let end = || Stdio::from(slave.try_clone().expect("dup the pty slave"));
        command
            .args(args)
            .current_dir(dir)
            .env("TERM", "dumb")
            .stdin(end())
            .stdout(end())
            .stderr(end());
        // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(last_os_error("setsid"));
                }
                // The slave (now fd 0) becomes the controlling terminal: /dev/tty is the pty.
                if libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(last_os_error("TIOCSCTTY"));
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("sdctl starts on the pty");
        drop(command);
        drop(slave);
        let screen: Shared = Arc::default();
        let reader = File::from(master.try_clone().expect("dup the pty master"));
        let shared = Arc::clone(&screen);
        thread::spawn(move || copy_screen(reader, &shared));
        Pty {
            child,
            master: File::from(master),
            screen,
            pos: 0,
            secrets: Vec::new(),
        }
    }

    /// The whole screen so far.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.0.lock().unwrap().bytes).into_owned()
    }

    /// The screen since `from` (a byte offset).
    fn text_since(&self, from: usize) -> String {
        let screen = self.screen.0.lock().unwrap();
        String::from_utf8_lossy(&screen.bytes[from.min(screen.bytes.len())..]).into_owned()
    }

    /// Waits until `needle` appears after the last match; panics with the screen if it does
    /// not within [`WAIT`] or sdctl ends first.
    #[track_caller]
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        let (lock, ready) = &*self.screen;
        let mut screen = lock.lock().unwrap();
        loop {
            if let Some(i) = find(&screen.bytes[self.pos..], needle.as_bytes()) {
                self.pos += i + needle.len();
                break;
            }
            let now = Instant::now();
            if screen.closed || now >= deadline {
                let why = if screen.closed {
                    "sdctl ended"
                } else {
                    "timed out"
                };
                let all = String::from_utf8_lossy(&screen.bytes).into_owned();
                drop(screen);
                panic!(
                    "{why} waiting for {needle:?}; the screen so far:\n{all}\n---- (end of screen)"
                );
            }
            screen = ready.wait_timeout(screen, deadline - now).unwrap().0;
        }
        drop(screen);
        self.assert_no_secret_shown();
    }

    /// Types `text` (as is).
    fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Answers the confirmation of step `n` with `answer`.
    #[track_caller]
    fn answer(&mut self, n: usize, answer: &str) {
        self.expect(&format!("Proceed with step {n}? [y/N] "));
        self.send(&format!("{answer}\n"));
    }

    /// Answers the witnesses' question about what the step just showed.
    #[track_caller]
    fn witnesses(&mut self, answer: &str) {
        self.expect("Witnesses: ");
        self.expect(" [y/N] ");
        self.send(&format!("{answer}\n"));
    }

    /// Answers y to the confirmations of steps `steps`.
    #[track_caller]
    fn yes(&mut self, steps: std::ops::RangeInclusive<usize>) {
        for n in steps {
            self.answer(n, "y");
        }
    }

    /// Types `secret` at the hidden prompt just shown, once the terminal no longer echoes.
    #[track_caller]
    fn type_hidden(&mut self, secret: &str) {
        self.wait_hidden();
        let from = self.screen.0.lock().unwrap().bytes.len();
        self.secrets.push(secret.to_owned());
        self.send(&format!("{secret}\n"));
        // What the terminal shows in answer to the keystrokes: at most a new line.
        thread::sleep(Duration::from_millis(50));
        assert!(
            !self.text_since(from).contains(secret),
            "the passphrase was echoed"
        );
    }

    /// Waits until the prompt has turned echo off (rpassword prints its prompt first).
    #[track_caller]
    fn wait_hidden(&self) {
        let deadline = Instant::now() + WAIT;
        while echoes(&self.master) {
            assert!(
                Instant::now() < deadline,
                "the prompt did not turn echo off; the screen so far:\n{}",
                self.text()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Custodian `name` chooses `first` and confirms it with `second`.
    #[track_caller]
    fn new_passphrase(&mut self, name: &str, first: &str, second: &str) {
        self.expect(&format!("Custodian {name} (attempt "));
        self.expect(&format!("): new passphrase for {name}'s key (hidden): "));
        self.type_hidden(first);
        self.expect(&format!("Custodian {name}: type it again: "));
        self.type_hidden(second);
    }

    /// Custodian `name` opens their key in `out` with `pass`.
    #[track_caller]
    fn open_key(&mut self, out: &Path, name: &str, pass: &str) {
        self.expect(&format!(
            "Custodian {name}: your passphrase opens custodians/{name}.key."
        ));
        self.expect(&format!(
            "Passphrase for {}: ",
            out.join("custodians").join(format!("{name}.key")).display()
        ));
        self.type_hidden(pass);
    }

    /// Waits (bounded) for sdctl to end; returns its exit code and the whole screen.
    #[track_caller]
    fn finish(mut self) -> Run {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                panic!("sdctl did not end; the screen so far:\n{}", self.text());
            }
            thread::sleep(Duration::from_millis(20));
        };
        // The terminal hangs up once sdctl is gone: everything it printed is then here.
        let (lock, ready) = &*self.screen;
        let screen = lock.lock().unwrap();
        let _ = ready
            .wait_timeout_while(screen, Duration::from_secs(10), |s| !s.closed)
            .unwrap();
        self.assert_no_secret_shown();
        let text = self.text();
        assert!(!text.contains("panicked"), "sdctl panicked:\n{text}");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: text,
            stderr: String::new(),
        }
    }

    #[track_caller]
    fn assert_no_secret_shown(&self) {
        let text = self.text();
        for secret in &self.secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a passphrase typed at a hidden prompt appears on the screen:\n{text}"
            );
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Copies the master's output into the screen until the terminal hangs up.
fn copy_screen(mut master: File, shared: &Shared) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match master.read(&mut buf) {
            Ok(0) => 0,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0, // EIO: every slave descriptor is closed
        };
        let (lock, ready) = &**shared;
        let mut screen = lock.lock().unwrap();
        if n == 0 {
            screen.closed = true;
            ready.notify_all();
            return;
        }
        screen
            .bytes
            .extend(buf[..n].iter().copied().filter(|&b| b != b'\r'));
        ready.notify_all();
    }
}

/// Whether the terminal echoes what is typed (the master reports the slave's modes).
fn echoes(master: &File) -> bool {
    // SAFETY: termios is plain data; tcgetattr fills it for a descriptor we own.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::tcgetattr(master.as_raw_fd(), &mut term) };
    assert_eq!(rc, 0, "{}", last_os_error("tcgetattr"));
    term.c_lflag & libc::ECHO != 0
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Runs `sdctl ceremony KIND --plan PLAN` interactively in the bed's fixture.
fn ceremony(bed: &Bed, kind: &str, plan: &Path) -> Pty {
    let plan = plan.display().to_string();
    Pty::spawn(
        bed.online.fx.dir.path(),
        &["ceremony", kind, "--plan", &plan],
    )
}

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "exit code; the screen:\n{}", run.stdout);
}

/// Lines of the screen that are errors (`sdctl: ...`, warnings excepted).
fn error_lines(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("sdctl: ") && !l.starts_with("sdctl: warning:"))
        .map(str::to_owned)
        .collect()
}

/// The step ids a run's transcript records as finished.
fn recorded_steps(out: &Path, run: &str) -> Vec<String> {
    transcript(&transcript_path(out, run))
        .iter()
        .filter(|e| {
            sdctl::ceremony::engine::FINISHING_EVENTS.contains(&e["event"].as_str().unwrap())
        })
        .map(|e| e["step"].as_str().unwrap().to_owned())
        .collect()
}

/// The `event` of each entry of a run's transcript that does not finish a step, with its
/// step id.
fn recorded_events(out: &Path, run: &str) -> Vec<(String, String)> {
    transcript(&transcript_path(out, run))
        .iter()
        .filter(|e| {
            !sdctl::ceremony::engine::FINISHING_EVENTS.contains(&e["event"].as_str().unwrap())
        })
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["step"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The final digest and the closing lines of a complete run.
#[track_caller]
fn expect_complete(pty: &mut Pty, kind: &str, run: &str) {
    pty.expect("TRANSCRIPT FINAL DIGEST (write it down by hand; sign the printed record):\n   ");
    pty.expect(&format!("Ceremony {kind} ({run}) complete"));
}

/// A bed with a one-machine plan in `dir` whose activation ran unattended; returns the
/// plan and the output directory.
fn activated(bed: &Bed, dir: &str) -> (PathBuf, PathBuf) {
    let plan = bed.plan(dir, &PlanSpec::default());
    let pass = bed.passphrases(&format!("{dir}-pass"), &["alice", "bob", "carol"]);
    let run = bed.unattended("activate", &plan, &pass, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    (plan, bed.path(&format!("{dir}/ceremony")))
}

/// Activation by hand: every step confirmed, each custodian's new passphrase typed twice
/// at hidden prompts (a too-weak one and a mismatched confirmation asked again), the
/// witnesses' digests shown, the quorum's passphrases typed for the drill.
#[test]
fn activate_by_hand_through_a_terminal() {
    let bed = Bed::start();
    let plan = bed.plan("act", &PlanSpec::default());
    let out = bed.path("act/ceremony");
    let mut pty = ceremony(&bed, "activate", &plan);

    pty.expect("Ceremony 'test-ceremony': activate (run activate), 13 steps");
    pty.expect("== Step 1/13: Open the ceremony");
    // Ordinary answers are echoed (which makes the hidden prompts' silence meaningful).
    pty.expect("Proceed with step 1? [y/N] ");
    assert!(echoes(&pty.master));
    pty.send("y\n");
    pty.expect("y\n   Ceremony: test-ceremony");
    pty.expect("Custodian alice");
    pty.expect("Plan SHA-256 (compare it with the one printed on the plan):\n   ");
    pty.witnesses("y");

    // alice: too weak, then a confirmation that differs, then right.
    pty.expect("== Step 2/13: alice makes their key pair  [who: custodian alice");
    pty.answer(2, "y");
    pty.expect("Custodian alice (attempt 1 of 3): new passphrase for alice's key (hidden): ");
    pty.type_hidden("aaaaaaaaaaaaaaaa");
    pty.expect(
        "Attempt 1 of 3 failed: that passphrase is too weak: fewer than 6 different characters",
    );
    pty.new_passphrase(
        "alice",
        &passphrase("alice"),
        "a different passphrase typed by alice",
    );
    pty.expect("Attempt 2 of 3 failed: the two passphrases differ. Please try again.");
    pty.new_passphrase("alice", &passphrase("alice"), &passphrase("alice"));
    pty.expect("Done: alice's key pair made: RSA 2048 bits");
    assert!(out.join("custodians/alice.key").exists());

    for (n, name) in [(3, "bob"), (4, "carol")] {
        pty.expect(&format!("== Step {n}/13: {name} makes their key pair"));
        pty.answer(n, "y");
        pty.new_passphrase(name, &passphrase(name), &passphrase(name));
        pty.expect(&format!("Done: {name}'s key pair made"));
    }
    pty.answer(5, "y");
    pty.witnesses("y");
    pty.expect("Done: 3 certificates checked");
    pty.answer(6, "y");
    pty.expect("Bundle written: ");
    pty.expect("   BUNDLE SHA-256 ");
    pty.yes(7..=9);
    pty.expect("Done: HSM activated");
    pty.answer(10, "y");
    pty.expect("security-domain-bundle.json\n   BUNDLE SHA-256 ");
    pty.answer(11, "y");

    pty.expect("== Step 12/13: Recovery drill: a quorum rebuilds the security domain  [who: custodians alice, bob");
    pty.answer(12, "y");
    keep_plan_quorum(&mut pty, "drill", "alice, bob");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "bob", &passphrase("bob"));
    pty.expect("Done: recovery drill passed: quorum 2 of 3 rebuilt the master key");
    pty.answer(13, "y");
    expect_complete(&mut pty, "activate", "activate");
    let run = pty.finish();
    ok(&run);
    assert!(error_lines(&run).is_empty(), "{}", run.stdout);
    assert_eq!(recorded_steps(&out, "activate").len(), 13);
    assert!(out.join("sd/security-domain.json").exists());
    // The keys are encrypted under what was typed: an unattended drill opens them all.
    let pass = bed.passphrases("act-pass", &["alice", "bob", "carol"]);
    let drill = bed.unattended("drill", &plan, &pass, &[]);
    assert_eq!(drill.code, 0, "{}{}", drill.stdout, drill.stderr);
}

/// A "no" stops cleanly before the step (nothing of it done, exit 0); the same command
/// with a passphrase file continues there and completes.
#[test]
fn no_stops_activation_cleanly_and_a_rerun_continues() {
    let bed = Bed::start();
    let plan = bed.plan("no", &PlanSpec::default());
    let out = bed.path("no/ceremony");
    let mut pty = ceremony(&bed, "activate", &plan);
    pty.answer(1, "y");
    pty.witnesses("y");
    pty.answer(2, "y");
    pty.new_passphrase("alice", &passphrase("alice"), &passphrase("alice"));
    pty.expect("== Step 3/13: bob makes their key pair");
    pty.answer(3, "n");
    pty.expect("Stopped before step 3 (bob makes their key pair); nothing of it was done. Run the same command again to continue.");
    let run = pty.finish();
    ok(&run);
    assert!(error_lines(&run).is_empty(), "{}", run.stdout);
    assert!(run.stdout.contains("Stopped (2 of 13 steps finished)."));
    assert!(!run.stdout.contains("new passphrase for bob"));
    assert!(out.join("custodians/alice.key").exists());
    assert!(!out.join("custodians/bob.key").exists());
    assert!(!out.join("custodians/bob.cer").exists());
    assert_eq!(recorded_steps(&out, "activate"), ["open", "key:alice"]);

    // An answer that is not yes stops as well, and so does the end of input.
    let mut pty = ceremony(&bed, "activate", &plan);
    pty.expect("Resuming activate run activate: 2 of 13 steps are finished.");
    pty.answer(3, "maybe");
    pty.expect("Stopped before step 3");
    ok(&pty.finish());
    let mut pty = ceremony(&bed, "activate", &plan);
    pty.expect("Proceed with step 3? [y/N] ");
    pty.send("\x04"); // Ctrl-D at the start of a line: end of input
    pty.expect("Stopped before step 3");
    ok(&pty.finish());
    // Ctrl-D at bob's hidden prompt: nothing typed, a recorded stop (never "bad usage"),
    // nothing made, and the way on.
    let mut pty = ceremony(&bed, "activate", &plan);
    pty.answer(3, "y");
    pty.expect("Custodian bob (attempt 1 of 3): new passphrase for bob's key (hidden): ");
    pty.wait_hidden();
    pty.send("\x04");
    pty.expect("Next: Custodian bob did not set a passphrase; nothing was made for them.");
    let run = pty.finish();
    ok(&run);
    assert!(error_lines(&run).is_empty(), "{}", run.stdout);
    assert!(!out.join("custodians/bob.key").exists());
    assert_eq!(recorded_steps(&out, "activate"), ["open", "key:alice"]);
    // Every "no" to a step was recorded, and the end of input at the prompt.
    assert_eq!(
        recorded_events(&out, "activate"),
        [
            ("stopped".to_owned(), "key:bob".to_owned()),
            ("stopped".to_owned(), "key:bob".to_owned()),
            ("stopped".to_owned(), "key:bob".to_owned()),
            ("stopped".to_owned(), "key:bob".to_owned()),
        ]
    );

    let pass = bed.passphrases("no-pass", &["alice", "bob", "carol"]);
    let rerun = bed.unattended("activate", &plan, &pass, &[]);
    assert_eq!(rerun.code, 0, "{}{}", rerun.stdout, rerun.stderr);
    assert!(rerun
        .stdout
        .contains("Resuming activate run activate: 2 of 13 steps are finished."));
    assert!(rerun
        .stdout
        .contains("Ceremony activate (activate) complete: 13 of 13"));
    // alice's key, made by hand, is kept and opens with what she typed (the drill).
    assert!(rerun.stdout.contains("recovery drill passed"));
    let steps = recorded_steps(&out, "activate");
    assert_eq!(steps.len(), 13);
    assert_eq!(steps[2], "key:bob");
}

/// The drill by hand: each custodian types their passphrase at their own step; a wrong one
/// fails the ceremony (exit 3, one error line) without recording the step; the rerun
/// continues there and completes.
#[test]
fn drill_by_hand_with_a_wrong_passphrase() {
    let bed = Bed::start();
    let (plan, out) = activated(&bed, "drill");

    let mut pty = ceremony(&bed, "drill", &plan);
    pty.expect("Ceremony 'test-ceremony': drill (run drill-1), 6 steps");
    pty.answer(1, "y");
    pty.witnesses("y");
    pty.expect("== Step 2/6: alice proves their key opens their share  [who: custodian alice");
    pty.answer(2, "y");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.expect("Done: alice's key opened their share");
    pty.answer(3, "y");
    // A wrong passphrase is asked again, naming the custodian and counting; the right one
    // then opens the key and the step passes.
    pty.open_key(&out, "bob", "not bob's passphrase at all");
    pty.expect("That passphrase does not open custodians/bob.key (custodian bob, attempt 1 of 3).");
    pty.expect("Custodian bob: type your passphrase again (attempt 2 of 3).");
    pty.expect(&format!(
        "Passphrase for {}: ",
        out.join("custodians/bob.key").display()
    ));
    pty.type_hidden(&passphrase("bob"));
    pty.expect("Done: bob's key opened their share");
    pty.answer(4, "y");
    pty.open_key(&out, "carol", &passphrase("carol"));
    pty.expect("Done: carol's key opened their share");
    pty.answer(5, "y");
    keep_plan_quorum(&mut pty, "drill", "alice, bob");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "bob", &passphrase("bob"));
    pty.expect("Done: recovery drill passed");
    pty.answer(6, "y");
    expect_complete(&mut pty, "drill", "drill-1");
    let run = pty.finish();
    ok(&run);
    assert!(error_lines(&run).is_empty(), "{}", run.stdout);
    let entries = transcript(&transcript_path(&out, "drill-1"));
    let failed: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["event"] == "failed-attempt")
        .collect();
    assert_eq!(failed.len(), 1, "{entries:?}");
    assert_eq!(failed[0]["step"], "prove:bob");
    assert_eq!(failed[0]["actor"], "custodian bob");
    assert_eq!(failed[0]["facts"]["custodian"], "bob");
    assert_eq!(failed[0]["facts"]["what"], "passphrase");
    assert_eq!(failed[0]["facts"]["attempt"], 1);
    assert_eq!(failed[0]["facts"]["of"], 3);
    assert_eq!(
        recorded_steps(&out, "drill-1"),
        [
            "open",
            "prove:alice",
            "prove:bob",
            "prove:carol",
            "drill",
            "close"
        ]
    );
}

/// The rotation by hand (bob retired, dave added): dave chooses his passphrase, the old
/// quorum opens the security domain in force, the new quorum proves the new one; a "no"
/// on the way stops it and the rerun continues.
#[test]
fn rotate_by_hand_with_a_stop_on_the_way() {
    let bed = Bed::start();
    let (_, out) = activated(&bed, "rot");
    // The rotation's plan replaces the old one in the same directory.
    let plan = bed.plan(
        "rot",
        &PlanSpec {
            custodians: &["alice", "carol", "dave"],
            ..PlanSpec::default()
        },
    );

    let mut pty = ceremony(&bed, "rotate", &plan);
    pty.expect("Ceremony 'test-ceremony': rotate (run rotate-1), 10 steps");
    pty.answer(1, "y");
    pty.witnesses("y");
    pty.answer(2, "y");
    pty.expect("Done: rotation of sd/security-domain.json: 1 added, 1 retired, quorum 2 -> 2");
    pty.answer(3, "y");
    pty.expect("Done: alice already has a key pair; it is kept");
    pty.answer(4, "y");
    pty.expect("Done: carol already has a key pair; it is kept");
    pty.expect("== Step 5/10: dave makes their key pair  [who: custodian dave");
    pty.answer(5, "y");
    pty.new_passphrase("dave", &passphrase("dave"), &passphrase("dave"));
    pty.expect("Done: dave's key pair made");
    pty.answer(6, "y");
    pty.witnesses("y");
    pty.expect("Done: 3 certificates checked");
    pty.expect("== Step 7/10: Re-split the security domain");
    pty.answer(7, "n");
    pty.expect("Stopped before step 7");
    let run = pty.finish();
    ok(&run);
    assert!(!out.join("sd/security-domain-rotate-1.json").exists());
    assert_eq!(recorded_steps(&out, "rotate-1").len(), 6);

    let mut pty = ceremony(&bed, "rotate", &plan);
    pty.expect("Resuming rotate run rotate-1: 6 of 10 steps are finished.");
    pty.answer(7, "y");
    pty.expect("Opening the security domain in force with: alice, carol");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "carol", &passphrase("carol"));
    pty.expect("Done: security domain re-split to 3 custodians, quorum 2");
    pty.expect("== Step 8/10: The new quorum proves the new file  [who: custodians alice, carol");
    pty.answer(8, "y");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "carol", &passphrase("carol"));
    pty.expect("Done: new security domain verified by alice, carol");
    pty.answer(9, "y");
    pty.expect("sd/security-domain-rotate-1.json is in force");
    pty.answer(10, "y");
    expect_complete(&mut pty, "rotate", "rotate-1");
    ok(&pty.finish());
    assert!(out.join("sd/security-domain-rotate-1.json").exists());

    // dave's key opens with what he typed: a drill by the new custodians (file order:
    // alice, carol, dave) passes.
    let pass = bed.passphrases("rot-pass-2", &["alice", "carol", "dave"]);
    let drill = bed.unattended("drill", &plan, &pass, &[]);
    assert_eq!(drill.code, 0, "{}{}", drill.stdout, drill.stderr);
    assert!(drill.stdout.contains("dave's key opened their share"));
}

/// The recovery into HSM B by hand: the quorum types its passphrases for the restore blob,
/// a "no" at the upload stops before anything is sent, the rerun uploads and HSM B is
/// active.
#[test]
fn recover_by_hand_with_a_stop_at_the_upload() {
    let bed = Bed::start();
    let (plan, out) = activated(&bed, "rec");

    let mut pty = ceremony(&bed, "recover", &plan);
    pty.expect("Ceremony 'test-ceremony': recover (run recover-1), 12 steps");
    pty.answer(1, "y");
    pty.witnesses("y");
    pty.yes(2..=4);
    pty.expect("exchange-key-bundle.json\n   BUNDLE SHA-256 ");
    pty.answer(5, "y");
    pty.expect("== Step 6/12: A quorum builds the restore blob  [who: custodians alice, bob");
    pty.answer(6, "y");
    keep_plan_quorum(&mut pty, "restore blob", "alice, bob");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "bob", &passphrase("bob"));
    pty.expect("Done: restore blob built from 2 share(s)");
    pty.answer(7, "y");
    pty.expect("restore-blob-bundle.json\n   BUNDLE SHA-256 ");
    pty.answer(8, "y");
    pty.expect("== Step 9/12: Upload the restore blob to the new HSM");
    pty.answer(9, "n");
    pty.expect(
        "Stopped before step 9 (Upload the restore blob to the new HSM); nothing of it was done.",
    );
    ok(&pty.finish());
    let status = bed.online.hsm("hsm-b", &["status"]);
    assert!(
        status.stdout.contains("Activation: "),
        "{}{}",
        status.stdout,
        status.stderr
    );
    assert!(
        !status.stdout.contains("Activation: Active"),
        "{}",
        status.stdout
    );

    let mut pty = ceremony(&bed, "recover", &plan);
    pty.expect("Resuming recover run recover-1: 8 of 12 steps are finished.");
    pty.answer(9, "y");
    pty.expect("Done: restore blob uploaded to ");
    pty.answer(10, "y");
    pty.expect(&format!("{} is active", bed.online.emu.hsm("hsm-b")));
    pty.answer(11, "y");
    pty.expect("restore skipped");
    pty.answer(12, "y");
    expect_complete(&mut pty, "recover", "recover-1");
    ok(&pty.finish());
    let status = bed.online.hsm("hsm-b", &["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("Activation: Active (data plane)"),
        "{}",
        status.stdout
    );
    assert_eq!(recorded_steps(&out, "recover-1").len(), 12);
}

/// `shares split --in -` at a terminal reads the secret at a hidden prompt, twice: nothing
/// typed, or two different entries, are refused (exit 2, one error line, nothing written);
/// a secret typed twice the same is split, never shown, and `shares combine` gives it back.
#[test]
fn shares_split_reads_the_secret_at_a_hidden_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let split = [
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--in",
        "-",
        "--out-dir",
        "sh",
    ];
    let secret = "wifi of the vault room: 7 quiet otters";
    let refusals: [(&str, &str, &str); 2] = [
        ("", "", "no secret was typed; nothing was split"),
        (secret, "wifi of the vault room: 7 quiet otter", "differ"),
    ];
    for (first, second, expect) in refusals {
        let mut pty = Pty::spawn(d, &split);
        for (prompt, typed) in [
            ("Secret to split (hidden, one line): ", first),
            ("The same secret again: ", second),
        ] {
            pty.expect(prompt);
            if typed.is_empty() {
                pty.wait_hidden();
                pty.send("\n");
            } else {
                pty.type_hidden(typed);
            }
        }
        let run = pty.finish();
        assert_eq!(
            run.code, 2,
            "{first:?}/{second:?}; the screen:\n{}",
            run.stdout
        );
        let errors = error_lines(&run);
        assert_eq!(errors.len(), 1, "{}", run.stdout);
        assert!(errors[0].contains(expect), "{}", errors[0]);
        assert!(!d.join("sh").exists(), "{first:?}/{second:?} wrote shares");
    }

    let mut pty = Pty::spawn(d, &split);
    pty.expect("Secret to split (hidden, one line): ");
    pty.type_hidden(secret);
    pty.expect("The same secret again: ");
    pty.type_hidden(secret);
    ok(&pty.finish());
    let combine = Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args(["shares", "combine", "sh/share-1.share", "sh/share-3.share"])
        .args(["--out", "secret.out"])
        .current_dir(d)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        combine.status.success(),
        "{}",
        String::from_utf8_lossy(&combine.stderr)
    );
    assert_eq!(fs::read(d.join("secret.out")).unwrap(), secret.as_bytes());
}

/// An operator's 80x24 terminal: the whole activation by hand; no line is longer than 80
/// columns, and every digest read aloud (the plan's, the fingerprints, the bundles', the
/// final one) appears in whole groups of four, eight to a line, as the record shows them.
#[test]
fn an_80_column_terminal_never_cuts_a_line_or_a_digest_group() {
    let bed = Bed::start();
    let plan = bed.plan("narrow", &PlanSpec::default());
    let out = bed.path("narrow/ceremony");
    let plan_arg = plan.display().to_string();
    let mut pty = Pty::spawn_sized(
        bed.online.fx.dir.path(),
        &["ceremony", "activate", "--plan", &plan_arg],
        80,
        24,
    );
    pty.answer(1, "y");
    pty.witnesses("y");
    for (n, name) in [(2, "alice"), (3, "bob"), (4, "carol")] {
        pty.answer(n, "y");
        pty.new_passphrase(name, &passphrase(name), &passphrase(name));
    }
    pty.answer(5, "y");
    pty.witnesses("y");
    pty.yes(6..=11);
    pty.answer(12, "y");
    keep_plan_quorum(&mut pty, "drill", "alice, bob");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "bob", &passphrase("bob"));
    pty.answer(13, "y");
    expect_complete(&mut pty, "activate", "activate");
    let run = pty.finish();
    ok(&run);
    let screen = run.stdout.clone();
    for line in screen.lines() {
        assert!(
            line.chars().count() <= 80,
            "a line of {} columns: {line}",
            line.chars().count()
        );
    }
    let entries = transcript(&transcript_path(&out, "activate"));
    let mut digests = vec![entries.last().unwrap()["hash"].as_str().unwrap().to_owned()];
    for e in &entries {
        for key in ["plan_sha256", "bundle_sha256", "sha256_fingerprint"] {
            if let Some(d) = e["facts"][key].as_str() {
                digests.push(d.to_owned());
            }
        }
    }
    assert!(digests.len() >= 6, "{digests:?}");
    for digest in digests {
        let lines = sdctl::ceremony::ui::spoken_lines(&digest);
        let block = lines.join(&format!("\n{}", " ".repeat(6)));
        let shown = lines.iter().all(|l| screen.contains(l.as_str()));
        assert!(shown, "{digest} is not shown whole ({block}):\n{screen}");
    }
}

/// Mistakes a ceremony recovers from, each recorded: the witnesses do not confirm the plan
/// (a refusal); three failed passphrase attempts (counted, then a stop with the way on);
/// Ctrl-C at a hidden prompt (where the run stands, how to resume, the terminal given back);
/// the rerun notes the interruption and goes on.
#[test]
fn mistakes_are_counted_recorded_and_resumable() {
    let bed = Bed::start();
    let plan = bed.plan("oops", &PlanSpec::default());
    let out = bed.path("oops/ceremony");
    // An operator's 80x24 terminal, as in the test above.
    let plan_arg = plan.display().to_string();
    let ceremony = |_: &Bed, _: &str, _: &Path| {
        Pty::spawn_sized(
            bed.online.fx.dir.path(),
            &["ceremony", "activate", "--plan", &plan_arg],
            80,
            24,
        )
    };
    let narrow = |run: &Run| {
        for line in run.stdout.lines() {
            // Error lines stay one line each (scripts read them); everything else fits.
            let long = line.chars().count() > 80 && !line.starts_with("sdctl: ");
            assert!(!long, "a line of {} columns: {line}", line.chars().count());
        }
    };

    let mut pty = ceremony(&bed, "activate", &plan);
    pty.answer(1, "y");
    pty.witnesses("n");
    let run = pty.finish();
    narrow(&run);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        error_lines(&run),
        ["sdctl: refused: the witnesses did not confirm the plan: print the plan file in use (and its SHA-256, 'sha256sum PLAN'), check it, then run the same command again"]
    );

    let mut pty = ceremony(&bed, "activate", &plan);
    pty.answer(1, "y");
    pty.witnesses("y");
    pty.answer(2, "y");
    for attempt in 1..=3 {
        pty.expect(&format!(
            "Custodian alice (attempt {attempt} of 3): new passphrase"
        ));
        pty.type_hidden("aaaaaaaaaaaaaaaa");
        pty.expect(&format!(
            "Attempt {attempt} of 3 failed: that passphrase is too weak"
        ));
    }
    pty.expect("Next: Custodian alice did not set a passphrase; nothing was made for them.");
    let run = pty.finish();
    narrow(&run);
    ok(&run);
    assert!(
        run.stdout.contains("Stopped (1 of 13 steps finished)."),
        "{}",
        run.stdout
    );
    assert!(!out.join("custodians/alice.key").exists());

    let mut pty = ceremony(&bed, "activate", &plan);
    pty.answer(2, "y");
    pty.expect("Custodian alice (attempt 1 of 3): new passphrase");
    pty.wait_hidden();
    pty.send("\x03");
    pty.expect("Interrupted at step 2/13 (alice makes their key pair) of activate run");
    pty.expect("Nothing of that step is kept. To resume, run the same command again:");
    let master_echoes_again = {
        pty.expect("sdctl ceremony activate --plan ");
        thread::sleep(Duration::from_millis(100));
        echoes(&pty.master)
    };
    let run = pty.finish();
    narrow(&run);
    assert_eq!(run.code, 130, "{}", run.stdout);
    assert!(master_echoes_again, "the terminal was left without echo");

    let mut pty = ceremony(&bed, "activate", &plan);
    pty.expect("Note: step key:alice (alice makes their key pair) was interrupted");
    pty.answer(2, "y");
    pty.new_passphrase("alice", &passphrase("alice"), &passphrase("alice"));
    pty.answer(3, "n");
    let run = pty.finish();
    narrow(&run);
    ok(&run);
    assert_eq!(recorded_steps(&out, "activate"), ["open", "key:alice"]);
    let events: Vec<(String, String)> = recorded_events(&out, "activate");
    let expect = |e: &str, s: &str| (e.to_owned(), s.to_owned());
    assert_eq!(
        events,
        [
            expect("refused", "open"),
            expect("failed-attempt", "key:alice"),
            expect("failed-attempt", "key:alice"),
            expect("failed-attempt", "key:alice"),
            expect("stopped", "key:alice"),
            expect("interrupted", "key:alice"),
            expect("stopped", "key:bob"),
        ]
    );
    let attempts: Vec<serde_json::Value> = transcript(&transcript_path(&out, "activate"))
        .into_iter()
        .filter(|e| e["event"] == "failed-attempt")
        .collect();
    assert_eq!(attempts[2]["facts"]["attempt"], 3);
    assert_eq!(attempts[2]["facts"]["of"], 3);
    assert_eq!(attempts[0]["facts"]["custodian"], "alice");
}

/// Keeps the plan's quorum at the question of a drill or restore-blob step (`what`).
#[track_caller]
fn keep_plan_quorum(pty: &mut Pty, what: &str, default: &str) {
    pty.expect(&format!("Custodians for the {what} [{default}]: "));
    pty.send("\n");
}

/// Three wrong passphrases in a drill stop the step (exit 0, a `Next:` line saying to run
/// the same command again), each attempt and the stop recorded; the same command then
/// continues with the step, where carol stands in for bob, chosen at the question.
#[test]
fn a_drill_stopped_by_wrong_passphrases_continues_with_a_substitute() {
    let bed = Bed::start();
    let (plan, out) = activated(&bed, "stop");
    let key = |name: &str| out.join("custodians").join(format!("{name}.key"));

    let mut pty = ceremony(&bed, "drill", &plan);
    pty.answer(1, "y");
    pty.witnesses("y");
    for (n, name) in [(2, "alice"), (3, "bob"), (4, "carol")] {
        pty.answer(n, "y");
        pty.open_key(&out, name, &passphrase(name));
        pty.expect(&format!("Done: {name}'s key opened their share"));
    }
    pty.answer(5, "y");
    keep_plan_quorum(&mut pty, "drill", "alice, bob");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "bob", "wrong one");
    for attempt in 2..=3 {
        pty.expect(&format!(
            "Custodian bob: type your passphrase again (attempt {attempt} of 3)."
        ));
        pty.expect(&format!("Passphrase for {}: ", key("bob").display()));
        pty.type_hidden(&format!("wrong again {attempt}"));
    }
    pty.expect("That passphrase does not open custodians/bob.key (custodian bob, attempt 3 of 3).");
    pty.expect("Next: Custodian bob's passphrase was typed wrong 3 times (recorded)");
    // (The Next: line is wrapped to the terminal, at a space.)
    pty.expect("run the same command again: sdctl ceremony drill --plan");
    pty.expect(&plan.display().to_string());
    let run = pty.finish();
    ok(&run);
    assert!(error_lines(&run).is_empty(), "{}", run.stdout);
    let drill: Vec<(String, serde_json::Value)> = transcript(&transcript_path(&out, "drill-1"))
        .into_iter()
        .filter(|e| e["step"] == "drill")
        .map(|e| (e["event"].as_str().unwrap().to_owned(), e["facts"].clone()))
        .collect();
    let kinds: Vec<&str> = drill.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "failed-attempt",
            "failed-attempt",
            "failed-attempt",
            "stopped"
        ]
    );
    assert_eq!(drill[2].1["attempt"], 3);
    assert_eq!(drill[3].1["custodian"], "bob");

    let mut pty = ceremony(&bed, "drill", &plan);
    pty.expect("Resuming drill run drill-1: 4 of 6 steps are finished.");
    pty.answer(5, "y");
    pty.expect("Custodians for the drill [alice, bob]: ");
    pty.send("alice, carol\n");
    pty.expect("The drill is done by alice, carol.");
    pty.open_key(&out, "alice", &passphrase("alice"));
    pty.open_key(&out, "carol", &passphrase("carol"));
    pty.expect("Done: recovery drill passed");
    pty.answer(6, "y");
    expect_complete(&mut pty, "drill", "drill-1");
    ok(&pty.finish());
    let done = transcript(&transcript_path(&out, "drill-1"))
        .into_iter()
        .find(|e| e["step"] == "drill" && e["event"] == "step")
        .unwrap();
    assert_eq!(
        done["facts"]["quorum_chosen"],
        serde_json::json!(["alice", "carol"])
    );
    assert_eq!(done["facts"]["substitutes"], true);
}
