//! The hostile-input harness: one case puts a hostile file where a command expects a
//! file, runs sdctl in a directory of its own, and checks the outcome: the documented exit
//! code, exactly one error line on stderr that names the file and the problem, no panic,
//! nothing written (the directory is the same before and after), and a bounded peak
//! memory (VmHWM of the sdctl process itself, read at its exit under ptrace).

pub mod cases;
pub mod fixture;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

/// The unprivileged user the unreadable-file cases run as (root reads mode-000 files).
pub const NOBODY: u32 = 65534;
/// Size of the huge input: 100 MB, larger than any size cap of sdctl.
pub const HUGE_BYTES: u64 = 100_000_000;
/// Peak memory allowed to a run, in MiB. A debug sdctl uses 15 to 25 MiB; a file refused
/// by its size is never read, and every cap that is read whole is at most 1 MiB except
/// the SD (32 MiB), shares (32 MiB), bundles, blobs and transcripts (64 MiB): reading any
/// of those to its cap, let alone the 100 MB input, would exceed this.
pub const RSS_LIMIT_MIB: u64 = 40;
/// Peak memory allowed where sdctl must read up to its cap from a pipe (16 MiB secret).
pub const RSS_LIMIT_STDIN_MIB: u64 = 72;
/// Longest error line that is still one clear line (hostile files must not be echoed).
pub const MAX_LINE_BYTES: usize = 1024;
/// Warning lines that may precede the error line: (text every such line contains).
pub const KNOWN_WARNINGS: &[&str] = &[
    // `hsm upload` building the blob on the online machine says so, every time.
    "sdctl: warning: building the restore blob here puts custodians' private keys on an online machine",
];

/// A hostile thing put where a command expects a file.
#[derive(Clone, Debug)]
pub enum Input {
    /// A file of zero bytes.
    Empty,
    /// The first half of the valid file.
    Truncated,
    /// 4 KiB of random bytes.
    Random,
    /// A sparse 100 MB file.
    Huge,
    /// 100000 `[`: nesting where JSON is expected.
    DeepJson,
    /// `a = ` and 100000 `[`: nesting where TOML is expected.
    DeepToml,
    /// Bytes that are not UTF-8 where text is expected.
    NonUtf8,
    /// A directory.
    Directory,
    /// A symbolic link to a directory.
    LinkToDirectory,
    /// A symbolic link to nothing.
    DanglingLink,
    /// The valid file, mode 000, read by an unprivileged user.
    Unreadable,
    /// Specific bytes (a semantic case: wrong JSON types, a foreign share, ...).
    Content(Vec<u8>),
    /// The valid inputs as they are (the case is in the command line or in stdin).
    AsIs,
}

impl Input {
    /// A short name for the case list.
    pub fn label(&self) -> &'static str {
        match self {
            Input::Empty => "empty",
            Input::Truncated => "truncated",
            Input::Random => "random binary",
            Input::Huge => "100 MB",
            Input::DeepJson => "deep JSON",
            Input::DeepToml => "deep TOML",
            Input::NonUtf8 => "not UTF-8",
            Input::Directory => "directory",
            Input::LinkToDirectory => "symlink to directory",
            Input::DanglingLink => "dangling symlink",
            Input::Unreadable => "unreadable",
            Input::Content(_) => "content",
            Input::AsIs => "as is",
        }
    }
}

/// What a case must end with.
#[derive(Clone, Debug)]
pub enum Expect {
    /// Exit `code`; the one error line contains every one of `names` and at least one of
    /// `problem`; nothing in the case directory changed.
    Fail {
        code: i32,
        names: Vec<String>,
        problem: Vec<String>,
    },
    /// Exit 0 and no error line (a boundary that is allowed).
    Succeed,
}

/// Valid input files, by path relative to a case directory.
pub type Files = Arc<BTreeMap<String, Vec<u8>>>;

/// One run of sdctl with one hostile input.
#[derive(Clone, Debug)]
pub struct Case {
    /// What is tested, for the list printed on stdout.
    pub name: String,
    /// sdctl's arguments (paths relative to the case directory).
    pub args: Vec<String>,
    /// The valid inputs to lay out first.
    pub files: Files,
    /// Empty directories to make (outputs go there).
    pub dirs: Vec<String>,
    /// The file that `input` replaces (or adds).
    pub target: String,
    /// The hostile input.
    pub input: Input,
    /// The outcome.
    pub expect: Expect,
    /// Bytes streamed to standard input (closed when `None`).
    pub stdin_bytes: Option<u64>,
    /// Peak memory allowed, in MiB.
    pub rss_limit_mib: u64,
}

impl Case {
    /// A case that must fail with `code`, naming `target` and one of `problem`.
    pub fn fail(
        name: impl Into<String>,
        args: Vec<String>,
        files: &Files,
        target: &str,
        input: Input,
        code: i32,
        problem: &[&str],
    ) -> Case {
        Case {
            name: name.into(),
            args,
            files: files.clone(),
            dirs: vec!["out".into()],
            target: target.to_owned(),
            input,
            expect: Expect::Fail {
                code,
                names: vec![file_name(target)],
                problem: problem.iter().map(|p| p.to_string()).collect(),
            },
            stdin_bytes: None,
            rss_limit_mib: RSS_LIMIT_MIB,
        }
    }

    /// A boundary case that must succeed.
    pub fn succeed(name: impl Into<String>, args: Vec<String>, files: &Files) -> Case {
        Case {
            name: name.into(),
            args,
            files: files.clone(),
            dirs: vec!["out".into()],
            target: String::new(),
            input: Input::AsIs,
            expect: Expect::Succeed,
            stdin_bytes: None,
            rss_limit_mib: RSS_LIMIT_MIB,
        }
    }

    /// The same case, expecting exit `code` and one of `problem`.
    pub fn expecting(mut self, code: i32, problem: &[&str]) -> Case {
        if let Expect::Fail {
            code: c,
            problem: p,
            ..
        } = &mut self.expect
        {
            *c = code;
            *p = problem.iter().map(|s| s.to_string()).collect();
        }
        self
    }

    /// The error line must name `name` instead of the target's file name.
    pub fn naming(mut self, names: &[&str]) -> Case {
        if let Expect::Fail { names: n, .. } = &mut self.expect {
            *n = names.iter().map(|s| s.to_string()).collect();
        }
        self
    }
}

/// The last component of a relative path.
pub fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}

/// Splits a command line on white space (no argument of the tables has a space).
pub fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// What a finished run did.
pub struct Finished {
    /// Exit status, or `None` when killed by a signal.
    pub code: Option<i32>,
    /// The signal that killed it.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory of sdctl in KiB.
    pub peak_kib: u64,
    /// Where `peak_kib` comes from.
    pub peak_source: &'static str,
    /// What `peak_kib` may include that is not sdctl's: without ptrace, rusage's maxrss
    /// counts the test process's memory copied at the fork (its VmHWM then), in KiB.
    pub inherited_kib: u64,
}

/// Runs table `name` in a temporary directory; panics listing every case that misbehaved.
pub fn run(name: &str, cases: Vec<Case>) {
    let root = tempfile::tempdir().unwrap();
    let failures = run_table(root.path(), &cases);
    assert_all_passed(name, &failures);
}

/// Runs every case in a fresh directory under `root`, prints one line per case, and
/// returns the failures (empty when every case behaved).
pub fn run_table(root: &Path, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let dir = root.join(format!("case-{i:03}"));
        let result = run_case(root, &dir, case);
        match result {
            Ok(line) => println!("ok    {line}"),
            Err(problem) => {
                println!("FAIL  {problem}");
                failures.push(problem);
            }
        }
    }
    failures
}

/// Panics with every failure of a table, one per line.
pub fn assert_all_passed(table: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{table}: {} case(s) misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_case(root: &Path, dir: &Path, case: &Case) -> Result<String, String> {
    lay_out(dir, case);
    let as_nobody = matches!(case.input, Input::Unreadable) && is_root();
    if as_nobody {
        hand_to_nobody(root, dir, &case.target);
    }
    if matches!(case.input, Input::Unreadable) {
        if let Some(why) = unreadable_impossible(dir, as_nobody) {
            let _ = fs::remove_dir_all(dir);
            return Ok(format!("{} [unreadable] | SKIPPED: {why}", case.name));
        }
    }
    let before = snapshot(dir);
    let run = run_sdctl(dir, &case.args, case.stdin_bytes, as_nobody);
    let after = snapshot(dir);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !KNOWN_WARNINGS.iter().any(|w| l.contains(w)))
        .collect();
    let shown = errors.first().copied().unwrap_or("");
    let status = match (run.code, run.signal) {
        (Some(c), _) => format!("exit {c}"),
        (None, s) => format!("killed by signal {}", s.unwrap_or(0)),
    };
    let line = format!(
        "{} [{}] | {status} | {} KiB peak ({}) | {shown}",
        case.name,
        case.input.label(),
        run.peak_kib,
        run.peak_source
    );
    let mut problems = Vec::new();
    if run.stderr.contains("panicked") || run.stdout.contains("panicked") {
        problems.push("sdctl panicked".to_owned());
    }
    if run.code == Some(101) || run.signal.is_some() {
        problems.push(format!("{status}: a crash, not a refusal"));
    }
    // Without ptrace the figure is max(sdctl's peak, the test process's): the bound can
    // then only be checked above the latter.
    let bound = (case.rss_limit_mib * 1024).max(run.inherited_kib);
    if run.peak_kib > bound {
        problems.push(format!(
            "peak memory {} KiB is over the {} MiB bound",
            run.peak_kib, case.rss_limit_mib
        ));
    }
    match &case.expect {
        Expect::Succeed => {
            if run.code != Some(0) || !errors.is_empty() {
                problems.push(format!("expected success, stderr: {:?}", run.stderr));
            }
        }
        Expect::Fail {
            code,
            names,
            problem,
        } => {
            if run.code != Some(*code) {
                problems.push(format!("expected exit {code}"));
            }
            if errors.len() != 1 {
                problems.push(format!(
                    "expected exactly one error line, stderr: {:?}",
                    run.stderr
                ));
            }
            if shown.len() > MAX_LINE_BYTES {
                problems.push(format!(
                    "the error line is {} bytes long, not a clear line",
                    shown.len()
                ));
            }
            if !shown.starts_with("sdctl: ") {
                problems.push("the error line does not start with 'sdctl: '".into());
            }
            for n in names {
                if !shown.contains(n.as_str()) {
                    problems.push(format!("the error line does not name {n:?}"));
                }
            }
            if !problem.iter().any(|p| shown.contains(p.as_str())) {
                problems.push(format!(
                    "the error line names none of the problems {problem:?}"
                ));
            }
            if before != after {
                problems.push(format!(
                    "the directory changed: {}",
                    describe_changes(&before, &after)
                ));
            }
        }
    }
    if problems.is_empty() {
        // Case directories with a 100 MB file are removed at once (sparse, but tidy).
        let _ = fs::remove_dir_all(dir);
        Ok(line)
    } else {
        Err(format!("{line}\n      -> {}", problems.join("; ")))
    }
}

/// Writes the valid inputs, the output directories, and the hostile input.
fn lay_out(dir: &Path, case: &Case) {
    fs::create_dir_all(dir).unwrap();
    for (rel, bytes) in case.files.iter() {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    }
    for d in &case.dirs {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    if case.target.is_empty() {
        return;
    }
    let target = dir.join(&case.target);
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    let valid = case.files.get(&case.target).cloned().unwrap_or_default();
    let replace = |bytes: &[u8]| {
        let _ = fs::remove_file(&target);
        fs::write(&target, bytes).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    };
    match &case.input {
        Input::Empty => replace(b""),
        Input::Truncated => replace(&valid[..valid.len() / 2]),
        Input::Random => replace(&random_bytes(4096)),
        Input::Huge => {
            replace(b"");
            let file = fs::OpenOptions::new().write(true).open(&target).unwrap();
            file.set_len(HUGE_BYTES).unwrap();
        }
        Input::DeepJson => replace("[".repeat(100_000).as_bytes()),
        Input::DeepToml => replace(format!("a = {}", "[".repeat(100_000)).as_bytes()),
        Input::NonUtf8 => replace(b"passphrase \xff\xfe one\nline \xc3\x28 two\n"),
        Input::Directory => {
            let _ = fs::remove_file(&target);
            fs::create_dir(&target).unwrap();
        }
        Input::LinkToDirectory => {
            let _ = fs::remove_file(&target);
            fs::create_dir_all(target.parent().unwrap().join("a-directory")).unwrap();
            symlink("a-directory", &target).unwrap();
        }
        Input::DanglingLink => {
            let _ = fs::remove_file(&target);
            symlink("no-such-file", &target).unwrap();
        }
        Input::Unreadable => {
            replace(&valid);
            fs::set_permissions(&target, fs::Permissions::from_mode(0o000)).unwrap();
        }
        Input::Content(bytes) => replace(bytes),
        Input::AsIs => {}
    }
}

/// Why a mode-000 file cannot be made unreadable to sdctl here, if it cannot: not root
/// (so no other user to run as) yet able to read it anyway (CAP_DAC_OVERRIDE), or, as
/// root, nobody cannot enter the case directory.
fn unreadable_impossible(dir: &Path, as_nobody: bool) -> Option<String> {
    if as_nobody {
        let entered = Command::new(sdctl_binary(true))
            .arg("--version")
            .current_dir(dir)
            .uid(NOBODY)
            .gid(NOBODY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        return match entered {
            Ok(s) if s.success() => None,
            _ => Some(format!("user {NOBODY} cannot enter {}", dir.display())),
        };
    }
    let probe = dir.join(".mode-000-probe");
    fs::write(&probe, b"x").unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&probe).is_ok();
    let _ = fs::remove_file(&probe);
    readable.then(|| "not root, and this user reads mode-000 files (CAP_DAC_OVERRIDE)".into())
}

/// The case directory and everything in it but `target` belong to nobody, so the only
/// file nobody cannot read is the mode-000 target (root's). The directories from `root`
/// down are made traversable; nothing above `root` is touched.
fn hand_to_nobody(root: &Path, dir: &Path, target: &str) {
    let target = dir.join(target);
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        if p != target {
            std::os::unix::fs::lchown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        if p.is_dir() && !p.is_symlink() {
            for e in fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    // The directories between the case directory and the table's root (included).
    let mut up = dir.parent();
    while let Some(p) = up.filter(|p| p.starts_with(root)) {
        let mode = fs::metadata(p).unwrap().permissions().mode();
        if mode & 0o001 == 0 {
            fs::set_permissions(p, fs::Permissions::from_mode(mode | 0o711)).unwrap();
        }
        up = p.parent();
    }
}

/// Every entry under `dir`: path, kind, size, mode and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (char, u64, u32, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let kind = if meta.file_type().is_symlink() {
                'l'
            } else if meta.is_dir() {
                stack.push(path.clone());
                'd'
            } else {
                'f'
            };
            let size = if kind == 'd' { 0 } else { meta.len() };
            let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
            let key = path.strip_prefix(dir).unwrap().to_owned();
            out.insert(key, (kind, size, meta.mode(), mtime));
        }
    }
    out
}

fn describe_changes(
    before: &BTreeMap<PathBuf, (char, u64, u32, i64)>,
    after: &BTreeMap<PathBuf, (char, u64, u32, i64)>,
) -> String {
    let mut out = Vec::new();
    for (p, v) in after {
        match before.get(p) {
            None => out.push(format!("new {}", p.display())),
            Some(old) if old != v => out.push(format!("changed {}", p.display())),
            _ => {}
        }
    }
    for p in before.keys() {
        if !after.contains_key(p) {
            out.push(format!("removed {}", p.display()));
        }
    }
    out.join(", ")
}

/// Random bytes (OpenSSL's generator).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    bytes
}

/// Whether the tests run as root (CI does).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The sdctl binary, at a path nobody can execute too (copied to a world-readable
/// directory when the build directory is private).
fn sdctl_binary(as_nobody: bool) -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_sdctl"));
    if !as_nobody {
        return built;
    }
    static COPY: OnceLock<PathBuf> = OnceLock::new();
    COPY.get_or_init(|| {
        let probe = Command::new(&built)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .uid(NOBODY)
            .gid(NOBODY)
            .status();
        if probe.is_ok_and(|s| s.success()) {
            return built.clone();
        }
        let dir = std::env::temp_dir().join(format!("sdctl-hostile-bin-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("sdctl");
        fs::copy(&built, &copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        println!(
            "note: sdctl copied to {} for the unprivileged runs",
            copy.display()
        );
        copy
    })
    .clone()
}

/// Runs sdctl in `dir` with `args`, stdin closed or fed `stdin_bytes` bytes, as nobody when
/// asked; its peak memory is read under ptrace at its exit (see [`trace_to_exit`]).
// The child is reaped by `trace_to_exit` (wait4), which std's Child cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_sdctl(
    dir: &Path,
    args: &[String],
    stdin_bytes: Option<u64>,
    as_nobody: bool,
) -> Finished {
    let mut command = Command::new(sdctl_binary(as_nobody));
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") || name.starts_with("IDENTITY_") || name == "MSI_ENDPOINT" {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .current_dir(dir)
        .stdin(if stdin_bytes.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if as_nobody {
        // std drops the supplementary groups too when root changes the uid.
        command.uid(NOBODY).gid(NOBODY);
    }
    // SAFETY: the closure only makes one async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            // Stop at exec so the parent can ask for a stop at exit. If ptrace is not
            // allowed here, the run goes on untraced and the rusage bound is used.
            libc::ptrace(
                libc::PTRACE_TRACEME,
                0,
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::c_void>(),
            );
            Ok(())
        });
    }
    let mut child = command.spawn().expect("sdctl starts");
    let pid = child.id() as libc::pid_t;
    let feeder = child.stdin.take().map(|mut stdin| {
        let n = stdin_bytes.unwrap_or(0);
        std::thread::spawn(move || {
            let chunk = vec![b's'; 1 << 20];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len() as u64) as usize;
                // sdctl stops reading at its cap: a broken pipe is expected.
                if stdin.write_all(&chunk[..k]).is_err() {
                    break;
                }
                left -= k as u64;
            }
        })
    });
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = read_all(Box::new(child.stdout.take().unwrap()));
    let err = read_all(Box::new(child.stderr.take().unwrap()));
    let (done, watchdog) = mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        if watchdog.recv_timeout(Duration::from_secs(120)) == Err(mpsc::RecvTimeoutError::Timeout) {
            // SAFETY: kill with a pid this thread's caller has not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let (status, rusage_kib, hwm_kib) = trace_to_exit(pid);
    drop(done);
    let _ = killer.join();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let (peak_kib, peak_source, inherited_kib) = match hwm_kib {
        Some(k) => (k, "VmHWM at exit", 0),
        None => (rusage_kib, "rusage: no ptrace here", own_vm_hwm()),
    };
    Finished {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_kib,
        peak_source,
        inherited_kib,
    }
}

/// The test process's own peak resident set, in KiB.
fn own_vm_hwm() -> u64 {
    read_vm_hwm(std::process::id() as libc::pid_t).unwrap_or(0)
}

/// Follows a child that asked to be traced until it is gone: at its exec stop, asks for a
/// stop at exit; at the exit stop, reads its VmHWM (the peak resident set of sdctl's own
/// address space: unlike rusage's maxrss, it does not include the memory of the test
/// process that was copied at the fork); passes every other signal on. Returns the wait
/// status, rusage's maxrss, and VmHWM when the child was traced.
fn trace_to_exit(pid: libc::pid_t) -> (i32, u64, Option<u64>) {
    let mut hwm = None;
    let mut traced = false;
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("wait4 on sdctl: {e}");
        }
        if !libc::WIFSTOPPED(status) {
            return (status, usage.ru_maxrss as u64, hwm);
        }
        let signal = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        let mut deliver = 0;
        if signal == libc::SIGTRAP && event == libc::PTRACE_EVENT_EXIT {
            hwm = read_vm_hwm(pid);
        } else if signal == libc::SIGTRAP && event == 0 && !traced {
            traced = true;
            let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;
            // SAFETY: pid is our stopped tracee.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_SETOPTIONS,
                    pid,
                    std::ptr::null_mut::<libc::c_void>(),
                    options as usize as *mut libc::c_void,
                )
            };
        } else {
            deliver = signal;
        }
        // SAFETY: pid is our stopped tracee; the data argument is a signal number.
        unsafe {
            libc::ptrace(
                libc::PTRACE_CONT,
                pid,
                std::ptr::null_mut::<libc::c_void>(),
                deliver as usize as *mut libc::c_void,
            )
        };
    }
}

fn read_vm_hwm(pid: libc::pid_t) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
