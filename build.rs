//! Records what an auditor compares in `sdctl --version`: the commit the sources came from
//! and the compiler that built them (src/build_info.rs reads these at compile time).
//!
//! Nothing here depends on where or when the build runs: two checkouts of one commit, in
//! different directories, give the same values, so the binary stays reproducible
//! (docs/reproducible-build.md).

use std::path::Path;
use std::process::Command;

/// What the build reads from the checkout: a change to any of them is a change to the binary.
const SOURCES: &[&str] = &["src", "Cargo.toml", "Cargo.lock", "build.rs"];

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&manifest_dir);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = run(Command::new(rustc).arg("-V")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SDCTL_BUILD_RUSTC={rustc_version}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=SDCTL_BUILD_TARGET={target}");
    println!("cargo:rustc-env=SDCTL_BUILD_COMMIT={}", commit(dir));
    // Run again when the sources or the checked-out commit change (not on every `git status`,
    // which rewrites the index: that would rebuild the crate for nothing).
    for path in SOURCES {
        println!("cargo:rerun-if-changed={path}");
    }
    for path in git_paths(dir) {
        println!("cargo:rerun-if-changed={path}");
    }
}

/// The commit the sources are, "+ uncommitted changes" when src/ or the cargo files differ
/// from it; "unknown (...)" when this is not the top of a git work tree (a source archive).
fn commit(dir: &Path) -> String {
    let toplevel = git(dir, &["rev-parse", "--show-toplevel"]);
    let is_top = toplevel
        .as_deref()
        .and_then(|t| Path::new(t).canonicalize().ok())
        .zip(dir.canonicalize().ok())
        .is_some_and(|(top, here)| top == here);
    if !is_top {
        return "unknown (not built from a git checkout)".into();
    }
    let Some(hash) = git(dir, &["rev-parse", "HEAD"]) else {
        return "unknown (git could not name the commit)".into();
    };
    let changes = git(dir, &[&["status", "--porcelain", "--"], SOURCES].concat());
    // Files git is told not to look at (assume-unchanged, skip-worktree): `git status`
    // cannot vouch for them.
    let unvouched = git(dir, &[&["ls-files", "-v", "--"], SOURCES].concat()).is_some_and(|list| {
        list.lines()
            .any(|l| l.starts_with(|c: char| c.is_ascii_lowercase() || c == 'S'))
    });
    match changes {
        Some(_) if unvouched => format!("{hash} + uncommitted changes"),
        Some(list) if list.is_empty() => hash,
        Some(_) => format!("{hash} + uncommitted changes"),
        None => format!("{hash} (git could not tell whether the sources were changed)"),
    }
}

/// The files whose change means another commit is checked out: HEAD, the branch it names,
/// and the packed refs (in a linked work tree, git names where they are).
fn git_paths(dir: &Path) -> Vec<String> {
    // refs/heads: a new loose ref (a branch's first commit after `git gc` packed it);
    // logs/HEAD: every commit and checkout appends to it.
    let mut names: Vec<String> = ["HEAD", "packed-refs", "refs/heads", "logs/HEAD"]
        .map(String::from)
        .to_vec();
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        names.push(branch);
    }
    names
        .iter()
        .filter_map(|name| {
            git(
                dir,
                &["rev-parse", "--path-format=absolute", "--git-path", name],
            )
        })
        // A missing file would make cargo run this script on every build.
        .filter(|path| Path::new(path).exists())
        .collect()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    // --no-optional-locks: `git status` must not rewrite the index of the checkout.
    run(Command::new("git")
        .arg("--no-optional-locks")
        .arg("-C")
        .arg(dir)
        .args(args))
}

/// The command's standard output, trimmed, if it ran and succeeded.
fn run(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
