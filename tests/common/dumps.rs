//! Seeing from the outside whether a process may dump core: its RLIMIT_CORE and whether it
//! is dumpable, for a process started with core dumps allowed.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The uid to run sdctl as: PR_SET_DUMPABLE shows in the ownership of /proc/PID only for a
/// process of another user than root, so a test running as root runs sdctl as nobody (in
/// files it owns, see [`give_to`]).
pub fn test_uid() -> Option<u32> {
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    (me == 0).then_some(65534)
}

/// Gives `root` and everything under it to `uid` (when given), so sdctl running as that
/// user can read and write there.
pub fn give_to(root: &Path, uid: Option<u32>) {
    let Some(uid) = uid else { return };
    std::os::unix::fs::chown(root, Some(uid), Some(uid)).unwrap();
    if root.is_dir() {
        for entry in fs::read_dir(root).unwrap() {
            give_to(&entry.unwrap().path(), Some(uid));
        }
    }
}

/// Runs the child as `uid` (if given) with core dumps allowed (soft limit raised to the
/// hard one), so that only sdctl itself can turn them off.
pub fn allow_core_dumps(cmd: &mut Command, uid: Option<u32>) {
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    // SAFETY: getrlimit/setrlimit are async-signal-safe and use a local struct.
    unsafe {
        cmd.pre_exec(|| {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_CORE, &mut lim);
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
            Ok(())
        });
    }
}

/// The soft and hard "Max core file size" of a process.
pub fn core_limit(pid: u32) -> (String, String) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let mut values = line["Max core file size".len()..].split_whitespace();
    let soft = values.next().unwrap_or_default().to_owned();
    let hard = values.next().unwrap_or_default().to_owned();
    (soft, hard)
}

/// Owner of the process's /proc files: the process's own uid while it is dumpable, root
/// once it has set PR_SET_DUMPABLE 0 (proc(5)).
pub fn proc_owner(pid: u32) -> u32 {
    fs::metadata(format!("/proc/{pid}/status")).unwrap().uid()
}

/// The control: a process that does not disable core dumps, started as sdctl is, may dump
/// core and is dumpable, so the checks of [`DumpState::assert_off`] can fail.
pub fn check_control(dir: &Path, uid: Option<u32>) {
    let mut control = Command::new("sleep");
    control.arg("30").current_dir(dir);
    allow_core_dumps(&mut control, uid);
    let mut control = control.spawn().unwrap();
    let (limit, owner) = (core_limit(control.id()), proc_owner(control.id()));
    control.kill().unwrap();
    control.wait().unwrap();
    assert_ne!(limit.0, "0", "the control may dump core");
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    assert_eq!(owner, uid.unwrap_or(me), "the control is dumpable");
}

/// What a process's core-dump settings were when [`dump_state`] looked.
pub struct DumpState {
    /// Soft and hard RLIMIT_CORE.
    pub limit: (String, String),
    /// Owner of its /proc files (root once it is not dumpable).
    pub owner: u32,
}

/// Reads process `pid`'s core-dump settings (while it runs; assert after stopping it).
pub fn dump_state(pid: u32) -> DumpState {
    DumpState {
        limit: core_limit(pid),
        owner: proc_owner(pid),
    }
}

impl DumpState {
    /// Asserts RLIMIT_CORE 0/0 and not dumpable; `at` names the process in the message.
    pub fn assert_off(&self, at: &str) {
        assert_eq!(
            self.limit,
            ("0".into(), "0".into()),
            "{at}: RLIMIT_CORE while it holds secrets"
        );
        assert_eq!(
            self.owner, 0,
            "{at}: still dumpable (its /proc files belong to uid {})",
            self.owner
        );
    }
}
