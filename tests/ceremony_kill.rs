//! Kill tests of the guided ceremonies: `ceremony activate` and `ceremony recover` are
//! killed with SIGKILL at every step boundary (at the `Proceed with step K?` prompt, after
//! step K-1's transcript entry is written) and inside a write (the test hook pauses an
//! atomic write with its temporary file complete), then resumed unattended. Every resumed
//! run must end in the state an uninterrupted run ends in: the same steps, in order, each
//! finished once; one key per custodian (the one that existed at the kill, if any); no
//! temporary files; a transcript that verifies; the security domain proven (activate) or
//! the new HSM active (recover).

// The kill-test hook (src/files.rs) is compiled into debug builds only.
#![cfg(all(feature = "online", debug_assertions))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::ceremony::{files_under, transcript, transcript_path, Bed, PlanSpec, CUSTODIANS};
use common::mode_of;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The longest any one sdctl process may take.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);
/// The test hook of `src/files.rs` (`pause_for_kill_tests`).
const PAUSE_HOOK: &str = "SDCTL_TEST_PAUSE_BEFORE_RENAME";
/// What the hook prints on stderr when it pauses.
const PAUSED: &str = "sdctl: test hook: paused before renaming into ";
/// Transcript events that finish a step.
const FINISHING: [&str; 6] = ["step", "opened", "handoff", "imported", "retired", "closed"];
/// Transcript events that may appear besides the finishing ones.
const OTHER_EVENTS: [&str; 4] = ["refused", "resumed", "interrupted", "stopped"];

// ---------------------------------------------------------------------------------------
// A child process with its output collected by reader threads.

/// Bytes read from one of a child's pipes so far, and whether the pipe is closed.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    closed: bool,
}

type Shared = Arc<(Mutex<Captured>, Condvar)>;

/// Reads `from` to its end on a thread, into a shared buffer (prompts have no newline, so
/// bytes are collected, not lines).
fn collect(mut from: impl Read + Send + 'static) -> Shared {
    let shared: Shared = Arc::default();
    let writer = Arc::clone(&shared);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            let (lock, ready) = &*writer;
            let mut captured = lock.lock().unwrap();
            if n == 0 {
                captured.closed = true;
                ready.notify_all();
                return;
            }
            captured.bytes.extend_from_slice(&buf[..n]);
            ready.notify_all();
        }
    });
    shared
}

fn text_of(shared: &Shared) -> String {
    String::from_utf8_lossy(&shared.0.lock().unwrap().bytes).into_owned()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A running sdctl; killed (SIGKILL) and reaped when dropped, so no failure path leaves it.
struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Shared,
    stderr: Shared,
    what: String,
    deadline: Instant,
}

/// How a finished sdctl ended.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Live {
    /// Starts sdctl with `args` in the bed's fixture directory, stdin, stdout and stderr
    /// piped; `pause` sets the kill-test hook to that file name.
    fn spawn(bed: &Bed, args: &[String], pause: Option<&str>) -> Live {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sdctl"));
        for (name, _) in std::env::vars() {
            if name.starts_with("AZURE_")
                || name.starts_with("IDENTITY_")
                || name == "MSI_ENDPOINT"
                || name == PAUSE_HOOK
            {
                command.env_remove(name);
            }
        }
        if let Some(file) = pause {
            command.env(PAUSE_HOOK, file);
        }
        let mut child = command
            .args(args)
            .current_dir(bed.online.fx.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sdctl starts");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Live {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            what: args.join(" "),
            deadline: Instant::now() + CHILD_TIMEOUT,
        }
    }

    /// Waits until stderr holds `needle`; fails (the guard kills the child) if the child
    /// ends first or the deadline passes.
    fn wait_stderr(&self, needle: &str) {
        let (lock, ready) = &*self.stderr;
        let mut captured = lock.lock().unwrap();
        loop {
            if contains(&captured.bytes, needle.as_bytes()) {
                return;
            }
            let now = Instant::now();
            if captured.closed || now >= self.deadline {
                let why = if captured.closed {
                    "ended"
                } else {
                    "timed out"
                };
                let err = String::from_utf8_lossy(&captured.bytes).into_owned();
                drop(captured);
                panic!(
                    "`sdctl {}` {why} before printing {needle:?}\nstdout: {}\nstderr: {err}",
                    self.what,
                    text_of(&self.stdout)
                );
            }
            captured = ready.wait_timeout(captured, self.deadline - now).unwrap().0;
        }
    }

    /// Waits until stderr holds a whole line starting with `prefix`; returns the rest of it.
    fn wait_stderr_line(&self, prefix: &str) -> String {
        self.wait_stderr(prefix);
        let (lock, ready) = &*self.stderr;
        let mut captured = lock.lock().unwrap();
        loop {
            let text = String::from_utf8_lossy(&captured.bytes).into_owned();
            let start = text.find(prefix).unwrap() + prefix.len();
            if let Some(end) = text[start..].find('\n') {
                return text[start..start + end].to_owned();
            }
            let now = Instant::now();
            assert!(
                !captured.closed && now < self.deadline,
                "`sdctl {}`: no whole line after {prefix:?}: {text}",
                self.what
            );
            captured = ready.wait_timeout(captured, self.deadline - now).unwrap().0;
        }
    }

    /// Answers the pending question.
    fn answer(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes standard input (EOF answers "no").
    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// SIGKILL, then reaps the child.
    fn kill(mut self) -> Ended {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reaped");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "`sdctl {}` was not killed by SIGKILL: {status:?}",
            self.what
        );
        self.ended(status)
    }

    /// Waits (bounded) for the child to end by itself.
    fn finish(mut self) -> Ended {
        self.stdin = None;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return self.ended(status);
            }
            if Instant::now() >= self.deadline {
                panic!(
                    "`sdctl {}` did not end within {CHILD_TIMEOUT:?}\nstdout: {}\nstderr: {}",
                    self.what,
                    text_of(&self.stdout),
                    text_of(&self.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The output once both pipes are closed (bounded).
    fn ended(&self, status: ExitStatus) -> Ended {
        for shared in [&self.stdout, &self.stderr] {
            let (lock, ready) = &**shared;
            let mut captured = lock.lock().unwrap();
            while !captured.closed {
                let now = Instant::now();
                assert!(
                    now < self.deadline,
                    "`sdctl {}`: pipes never closed",
                    self.what
                );
                captured = ready.wait_timeout(captured, self.deadline - now).unwrap().0;
            }
        }
        let ended = Ended {
            code: status.code(),
            stdout: text_of(&self.stdout),
            stderr: text_of(&self.stderr),
        };
        assert!(
            !ended.stderr.contains("panicked") && !ended.stdout.contains("panicked"),
            "`sdctl {}` panicked: {}",
            self.what,
            ended.stderr
        );
        ended
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs sdctl with `args` to its end (bounded), stdin closed.
fn run_sdctl(bed: &Bed, args: &[String]) -> Ended {
    let mut live = Live::spawn(bed, args, None);
    live.close_stdin();
    live.finish()
}

/// Runs sdctl with `args` and insists on exit 0.
fn run_ok(bed: &Bed, args: &[String]) -> Ended {
    let ended = run_sdctl(bed, args);
    assert_eq!(
        ended.code,
        Some(0),
        "`sdctl {}`\nstdout: {}\nstderr: {}",
        args.join(" "),
        ended.stdout,
        ended.stderr
    );
    ended
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `ceremony KIND --plan PLAN --passphrase-file PASS [--yes]`.
fn ceremony_args(kind: &str, plan: &Path, pass: &Path, yes: bool) -> Vec<String> {
    let mut args = strings(&["ceremony", kind, "--plan"]);
    args.push(plan.display().to_string());
    args.push("--passphrase-file".into());
    args.push(pass.display().to_string());
    if yes {
        args.push("--yes".into());
    } else {
        // Attended, the quorum step would ask who forms the quorum: the option answers.
        args.extend(strings(&["--quorum-custodians", "alice,bob"]));
    }
    args
}

/// The prompt of step `n`.
fn prompt(n: usize) -> String {
    format!("Proceed with step {n}?")
}

/// The witnesses' question step `n` of `kind` asks after showing what they confirm, if any
/// (the plan at the opening; the fingerprints at the activation's certificate check).
fn witness_question(kind: &str, n: usize) -> Option<&'static str> {
    match (kind, n) {
        (_, 1) => Some("Witnesses: does what was read out match the printed plan"),
        ("activate", 5) => Some("Witnesses: does each fingerprint above match"),
        _ => None,
    }
}

/// Answers yes to step `n` of `kind`, and to its witnesses' question.
fn yes_to_step(live: &mut Live, kind: &str, n: usize) {
    live.wait_stderr(&prompt(n));
    live.answer("y\n");
    if let Some(question) = witness_question(kind, n) {
        live.wait_stderr(question);
        live.answer("y\n");
    }
}

// ---------------------------------------------------------------------------------------
// A workspace: a fresh bed with the default one-machine plan.

struct Workspace {
    bed: Bed,
    plan: PathBuf,
    pass: PathBuf,
    out: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let bed = Bed::start();
        let plan = bed.plan("c", &PlanSpec::default());
        let pass = bed.passphrases("pass", &CUSTODIANS);
        let out = bed.path("c/ceremony");
        Workspace {
            bed,
            plan,
            pass,
            out,
        }
    }

    fn args(&self, kind: &str, yes: bool) -> Vec<String> {
        ceremony_args(kind, &self.plan, &self.pass, yes)
    }

    /// The unattended run (`--yes`) of `kind` to its end, which must be complete; what it
    /// printed on stdout.
    fn unattended(&self, kind: &str) -> String {
        let ended = run_ok(&self.bed, &self.args(kind, true));
        assert!(
            ended.stdout.contains(&format!("Ceremony {kind} ("))
                && ended.stdout.contains("complete"),
            "{kind} not complete:\n{}",
            ended.stdout
        );
        ended.stdout
    }

    /// Starts `kind` attended (no `--yes`), answers yes to steps 1..K-1 and kills it at
    /// the prompt of step K; `total` is checked against the announcements.
    fn kill_at_boundary(&self, kind: &str, k: usize, total: usize) -> Ended {
        let mut live = Live::spawn(&self.bed, &self.args(kind, false), None);
        for i in 1..k {
            yes_to_step(&mut live, kind, i);
        }
        live.wait_stderr(&prompt(k));
        let ended = live.kill();
        let announced = format!("== Step {k}/{total}:");
        assert!(
            ended.stdout.contains(&announced),
            "{kind}: step {k} was not announced as {announced:?}:\n{}",
            ended.stdout
        );
        for i in 1..k {
            assert!(
                ended.stdout.contains(&format!("== Step {i}/{total}:")),
                "{kind}: step {i} was not run before the kill"
            );
        }
        ended
    }

    /// Runs `kind` with `--yes` and the hook pausing the write of `file`, and kills it
    /// there; the path it paused in is returned.
    fn kill_inside_write(&self, kind: &str, file: &str) -> PathBuf {
        let live = Live::spawn(&self.bed, &self.args(kind, true), Some(file));
        let line = live.wait_stderr_line(PAUSED);
        let ended = live.kill();
        let dest = PathBuf::from(line.trim());
        assert_eq!(
            dest.file_name().and_then(|n| n.to_str()),
            Some(file),
            "{}",
            ended.stderr
        );
        let temps = temporaries(dest.parent().unwrap());
        assert!(
            temps.iter().any(|t| t
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!(".{file}."))),
            "the killed write left no temporary file beside {}: {temps:?}",
            dest.display()
        );
        dest
    }

    /// SHA-256 of each custodian's key and certificate that exists now.
    fn custodian_files(&self) -> BTreeMap<String, String> {
        let mut digests = BTreeMap::new();
        for name in CUSTODIANS {
            for ext in ["key", "cer"] {
                let path = self.out.join(format!("custodians/{name}.{ext}"));
                if path.exists() {
                    digests.insert(format!("{name}.{ext}"), sha256_file(&path));
                }
            }
        }
        digests
    }

    fn state(&self) -> Value {
        serde_json::from_slice(&fs::read(self.out.join("state.json")).unwrap()).unwrap()
    }
}

fn sha256_file(path: &Path) -> String {
    let digest = Sha256::digest(fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The temporary files of atomic writes (`.NAME.RANDOM.tmp`) in `dir`, recursively.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with('.') && name.ends_with(".tmp")
        })
        .collect()
}

/// Every file under `out`, relative to it.
fn relative_files(out: &Path) -> BTreeSet<String> {
    files_under(out)
        .iter()
        .map(|p| p.strip_prefix(out).unwrap().display().to_string())
        .collect()
}

/// `N` from `... N steps ...` in the first line of a fresh run's narration.
fn total_steps(stdout: &str) -> usize {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Ceremony '") && l.contains(" steps, "))
        .unwrap_or_else(|| panic!("no step count in:\n{stdout}"));
    let before = line.split(" steps, ").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// The uninterrupted reference runs.

/// What uninterrupted activate and recover runs end with.
struct Reference {
    activate_total: usize,
    /// The activate run's steps, in order (state.json).
    activate_steps: Vec<String>,
    /// The files under OUT after the activation.
    activate_files: BTreeSet<String>,
    recover_total: usize,
    recover_steps: Vec<String>,
    /// The files under OUT after the recovery.
    recover_files: BTreeSet<String>,
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let ws = Workspace::new();
        let stdout = ws.unattended("activate");
        let activate_total = total_steps(&stdout);
        let activate_steps = closed_run_steps(&ws.state(), "activate");
        assert_eq!(activate_steps.len(), activate_total);
        let activate_files = relative_files(&ws.out);
        let stdout = ws.unattended("recover");
        let recover_total = total_steps(&stdout);
        let recover_steps = closed_run_steps(&ws.state(), "recover-1");
        assert_eq!(recover_steps.len(), recover_total);
        let recover_files = relative_files(&ws.out);
        for (run, steps) in [("activate", &activate_steps), ("recover-1", &recover_steps)] {
            let entries = transcript(&transcript_path(&ws.out, run));
            assert_eq!(&finishing_steps(&entries, run), steps, "reference {run}");
        }
        Reference {
            activate_total,
            activate_steps,
            activate_files,
            recover_total,
            recover_steps,
            recover_files,
        }
    })
}

/// The steps of run `id` in state.json, which must be closed and the only run of its id.
fn closed_run_steps(state: &Value, id: &str) -> Vec<String> {
    let runs: Vec<&Value> = state["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == id)
        .collect();
    assert_eq!(runs.len(), 1, "run {id} in state.json: {state:#}");
    assert_eq!(runs[0]["closed"], true, "run {id} not closed: {state:#}");
    runs[0]["steps_done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The step ids of run `run`'s finishing entries, in transcript order; every other entry
/// must be a refusal or a resumption note.
fn finishing_steps(entries: &[Value], run: &str) -> Vec<String> {
    let mut steps = Vec::new();
    for e in entries.iter().filter(|e| e["run"] == run) {
        let event = e["event"].as_str().unwrap();
        if FINISHING.contains(&event) {
            steps.push(e["step"].as_str().unwrap().to_owned());
        } else {
            assert!(OTHER_EVENTS.contains(&event), "unexpected event: {e}");
        }
    }
    steps
}

/// The finishing entry of `step` in run `run`.
fn entry<'e>(entries: &'e [Value], run: &str, step: &str) -> &'e Value {
    entries
        .iter()
        .find(|e| {
            e["run"] == run
                && e["step"] == step
                && FINISHING.contains(&e["event"].as_str().unwrap())
        })
        .unwrap_or_else(|| panic!("no finishing entry for {step} in {run}"))
}

// ---------------------------------------------------------------------------------------
// The final state.

/// The resumed run `run` ended as the reference did: closed with `steps` in order, each
/// finished once in a transcript that verifies; no temporary file; the same files.
fn assert_run_final(
    ws: &Workspace,
    run: &str,
    steps: &[String],
    files: &BTreeSet<String>,
    case: &str,
) -> Vec<Value> {
    let state = ws.state();
    assert_eq!(closed_run_steps(&state, run), steps, "{case}: state.json");
    let path = transcript_path(&ws.out, run);
    let verify = run_sdctl(
        &ws.bed,
        &strings(&["ceremony", "log", "verify", &path.display().to_string()]),
    );
    assert_eq!(
        verify.code,
        Some(0),
        "{case}: transcript does not verify: {}{}",
        verify.stdout,
        verify.stderr
    );
    let entries = transcript(&path);
    assert_eq!(
        finishing_steps(&entries, run),
        steps,
        "{case}: finishing entries of the transcript"
    );
    let temps = temporaries(&ws.out);
    assert!(temps.is_empty(), "{case}: temporary files left: {temps:?}");
    assert_eq!(&relative_files(&ws.out), files, "{case}: files under OUT");
    entries
}

/// The activation ended as the reference did; `at_kill` holds the custodians' key and
/// certificate digests at the kill, which must have been kept.
fn assert_activated(ws: &Workspace, at_kill: &BTreeMap<String, String>, case: &str) {
    let r = reference();
    let entries = assert_run_final(ws, "activate", &r.activate_steps, &r.activate_files, case);
    let now = ws.custodian_files();
    let listing: BTreeSet<String> = fs::read_dir(ws.out.join("custodians"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = CUSTODIANS
        .iter()
        .flat_map(|n| [format!("{n}.key"), format!("{n}.cer")])
        .collect();
    assert_eq!(listing, expected, "{case}: custodians/");
    for (file, digest) in at_kill {
        if file.ends_with(".key") {
            assert_eq!(
                now.get(file),
                Some(digest),
                "{case}: {file} was replaced: a custodian got a second key"
            );
            let cer = file.replace(".key", ".cer");
            assert_eq!(now.get(&cer), at_kill.get(&cer), "{case}: {cer} replaced");
        }
    }
    for name in CUSTODIANS {
        let key = ws.out.join(format!("custodians/{name}.key"));
        assert_eq!(mode_of(&key), 0o600, "{case}: {name}.key mode");
        // The key the transcript recorded is the key on disk, and the certificate the HSM
        // got is its certificate.
        let made = entry(&entries, "activate", &format!("key:{name}"));
        let recorded = |rel: &str| {
            made["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == rel)
                .unwrap_or_else(|| panic!("{case}: {rel} not in {made}"))["sha256"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            recorded(&format!("custodians/{name}.key")),
            now[&format!("{name}.key")],
            "{case}: {name}.key is not the key the transcript recorded"
        );
        assert_eq!(
            recorded(&format!("custodians/{name}.cer")),
            now[&format!("{name}.cer")],
            "{case}: {name}.cer"
        );
        assert_eq!(
            fs::read(ws.out.join(format!("custodians/{name}.cer"))).unwrap(),
            fs::read(ws.out.join(format!("certs/{name}.cer"))).unwrap(),
            "{case}: the online machine's copy of {name}'s certificate"
        );
    }
    let sd = ws.out.join("sd/security-domain.json");
    assert!(sd.exists(), "{case}: no security domain");
    assert_eq!(
        ws.state()["current_sd"]["sha256"].as_str(),
        Some(sha256_file(&sd).as_str()),
        "{case}: state.json's current security domain"
    );
    let drill = entry(&entries, "activate", "drill");
    assert_eq!(drill["facts"]["verified"], true, "{case}: {drill}");
}

/// The recovery ended as the reference did, HSM B is active, and the activation and the
/// custodians' keys (`keys`, taken before the recovery) are untouched.
fn assert_recovered(ws: &Workspace, keys: &BTreeMap<String, String>, case: &str) {
    let r = reference();
    let entries = assert_run_final(ws, "recover-1", &r.recover_steps, &r.recover_files, case);
    assert_eq!(
        closed_run_steps(&ws.state(), "activate"),
        r.activate_steps,
        "{case}: the activation"
    );
    assert_eq!(&ws.custodian_files(), keys, "{case}: custodians' files");
    let upload = entry(&entries, "recover-1", "upload");
    assert!(
        upload["summary"].as_str().unwrap().contains("uploaded"),
        "{case}: {upload}"
    );
    let status = entry(&entries, "recover-1", "status");
    assert_eq!(status["facts"]["activation"], "Active", "{case}: {status}");
    let mut args = strings(&["hsm", "status"]);
    args.extend(ws.bed.online.conn("hsm-b", "admin.token"));
    let hsm = run_ok(&ws.bed, &args);
    assert!(
        hsm.stdout.contains("Activation: Active"),
        "{case}: HSM B: {}",
        hsm.stdout
    );
}

/// The resumed run says where it resumed and runs only the steps from `first` on.
fn assert_resumed_from(stdout: &str, kind: &str, run: &str, first: usize, total: usize) {
    if first > 1 {
        let line = format!(
            "Resuming {kind} run {run}: {} of {total} steps are finished.",
            first - 1
        );
        assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
    }
    for i in 1..=total {
        let announced = stdout.contains(&format!("== Step {i}/{total}:"));
        assert_eq!(
            announced,
            i >= first,
            "{kind} resumed at step {first}: step {i} announced = {announced}:\n{stdout}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The tests.

/// Which of a ceremony's step boundaries a test covers (the two halves run in parallel).
fn half(total: usize, second: bool) -> std::ops::RangeInclusive<usize> {
    let middle = total / 2;
    if second {
        middle + 1..=total
    } else {
        1..=middle
    }
}

/// `ceremony activate` killed at the prompt of each step of `half`, each on a fresh bed,
/// resumes to the reference's final state.
fn activate_killed_at_boundaries(second_half: bool) {
    let total = reference().activate_total;
    for k in half(total, second_half) {
        let case = format!("activate killed at step {k}/{total}");
        let ws = Workspace::new();
        ws.kill_at_boundary("activate", k, total);
        let at_kill = ws.custodian_files();
        let stdout = ws.unattended("activate");
        assert_resumed_from(&stdout, "activate", "activate", k, total);
        assert_activated(&ws, &at_kill, &case);
    }
}

/// `ceremony recover` (after an unattended activation) killed at the prompt of each step
/// of `half`, each on a fresh bed, resumes to the reference's final state.
fn recover_killed_at_boundaries(second_half: bool) {
    let total = reference().recover_total;
    for k in half(total, second_half) {
        let case = format!("recover killed at step {k}/{total}");
        let ws = Workspace::new();
        ws.unattended("activate");
        let keys = ws.custodian_files();
        ws.kill_at_boundary("recover", k, total);
        let stdout = ws.unattended("recover");
        assert_resumed_from(&stdout, "recover", "recover-1", k, total);
        assert_recovered(&ws, &keys, &case);
    }
}

#[test]
fn activate_killed_at_each_boundary_of_the_first_half_resumes() {
    activate_killed_at_boundaries(false);
}

#[test]
fn activate_killed_at_each_boundary_of_the_second_half_resumes() {
    activate_killed_at_boundaries(true);
}

#[test]
fn recover_killed_at_each_boundary_of_the_first_half_resumes() {
    recover_killed_at_boundaries(false);
}

#[test]
fn recover_killed_at_each_boundary_of_the_second_half_resumes() {
    recover_killed_at_boundaries(true);
}

/// Killed inside the write of bob's private key (certificate written, key not yet renamed
/// into place): the resumed run makes bob's key pair again, keeps alice's.
#[test]
fn activate_killed_inside_a_custodians_key_write_resumes() {
    let ws = Workspace::new();
    let dest = ws.kill_inside_write("activate", "bob.key");
    assert_eq!(dest, ws.out.join("custodians/bob.key"));
    assert!(
        !dest.exists(),
        "bob.key renamed into place although killed before"
    );
    let at_kill = ws.custodian_files();
    assert!(at_kill.contains_key("alice.key"), "{at_kill:?}");
    assert!(!at_kill.contains_key("bob.key"), "{at_kill:?}");
    ws.unattended("activate");
    assert_activated(&ws, &at_kill, "activate killed inside bob.key's write");
}

/// Stopped cleanly before bob's step, then resumed with the hook on the transcript and
/// killed inside the write of bob's entry (his key is on disk, the step unrecorded): the
/// resumed run keeps that key and records it.
#[test]
fn activate_killed_inside_a_transcript_write_keeps_the_key_made() {
    let ws = Workspace::new();
    let mut live = Live::spawn(&ws.bed, &ws.args("activate", false), None);
    for i in 1..3 {
        yes_to_step(&mut live, "activate", i);
    }
    live.wait_stderr(&prompt(3));
    live.close_stdin();
    let stopped = live.finish();
    assert_eq!(
        stopped.code,
        Some(0),
        "EOF must stop cleanly: {}",
        stopped.stderr
    );
    assert!(stopped.stdout.contains("Stopped"), "{}", stopped.stdout);
    assert!(!ws.out.join("custodians/bob.key").exists());

    let dest = ws.kill_inside_write("activate", "transcript.jsonl");
    assert_eq!(dest, transcript_path(&ws.out, "activate"));
    let at_kill = ws.custodian_files();
    assert!(at_kill.contains_key("bob.key"), "{at_kill:?}");
    let before = transcript(&dest);
    assert_eq!(finishing_steps(&before, "activate"), ["open", "key:alice"]);

    ws.unattended("activate");
    let case = "activate killed inside the transcript write of key:bob";
    assert_activated(&ws, &at_kill, case);
    let entries = transcript(&dest);
    let bob = entry(&entries, "activate", "key:bob");
    assert_eq!(bob["facts"]["kept_existing_key"], true, "{case}: {bob}");
}

/// `ceremony recover` killed inside the write of the restore blob resumes.
#[test]
fn recover_killed_inside_the_restore_blob_write_resumes() {
    let ws = Workspace::new();
    ws.unattended("activate");
    let keys = ws.custodian_files();
    let dest = ws.kill_inside_write("recover", "restore-blob.json");
    assert_eq!(dest, ws.out.join("runs/recover-1/restore-blob.json"));
    assert!(
        !dest.exists(),
        "restore-blob.json renamed into place although killed before"
    );
    ws.unattended("recover");
    assert_recovered(
        &ws,
        &keys,
        "recover killed inside restore-blob.json's write",
    );
}
