//! `sdctl completions SHELL` and `sdctl man`: the generated completion scripts load in
//! bash, zsh and fish, and the manual pages render with `man -l`.
//!
//! A shell or `man` missing on a developer's machine skips its test with a notice; in CI
//! (`CI=true`, where `.ci/run` installs them) a missing tool fails the test.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{mode_of, Fixture};

/// Whether `tool` runs here; without it, a notice (and a failure in CI).
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "{tool} is not installed, and CI=true requires it (.ci/run installs it)"
        );
        eprintln!("NOTICE: {tool} is not installed; this test is skipped here");
    }
    found
}

/// Runs `program args` in `dir`; returns (exit code, stdout, stderr).
fn run_in(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `sdctl completions SHELL` into the fixture and returns its path.
fn script(fx: &Fixture, shell: &str, name: &str) -> String {
    let run = fx.sdctl(&["completions", shell]);
    assert_eq!(run.code, 0, "completions {shell}: {}", run.stderr);
    assert!(run.stdout.contains("sdctl"), "{shell} script names sdctl");
    fs::write(fx.path(name), &run.stdout).unwrap();
    fx.path(name).display().to_string()
}

#[test]
fn bash_completion_loads_and_registers_sdctl() {
    if !have("bash") {
        return;
    }
    let fx = Fixture::new();
    let file = script(&fx, "bash", "sdctl.bash");
    let (code, out, err) = run_in(
        fx.dir.path(),
        "bash",
        &["-c", &format!("source {file} && complete -p sdctl")],
        &[],
    );
    assert_eq!(code, 0, "bash could not load the script: {err}");
    assert!(err.is_empty(), "bash complained: {err}");
    assert!(out.contains("complete") && out.contains("sdctl"), "{out}");
    // It completes real subcommands: ask it for the words after `sdctl ceremony log `.
    let (code, out, err) = run_in(
        fx.dir.path(),
        "bash",
        &[
            "-c",
            &format!(
                "source {file}; COMP_WORDS=(sdctl ceremony log ''); COMP_CWORD=3; \
                 COMP_LINE='sdctl ceremony log '; COMP_POINT=${{#COMP_LINE}}; \
                 _sdctl sdctl '' log; printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let words: Vec<&str> = out.lines().collect();
    assert!(
        words.contains(&"verify") && words.contains(&"record"),
        "bash completes 'sdctl ceremony log ' with {words:?}"
    );
}

#[test]
fn zsh_completion_loads() {
    if !have("zsh") {
        return;
    }
    let fx = Fixture::new();
    let file = script(&fx, "zsh", "_sdctl");
    let (code, _, err) = run_in(fx.dir.path(), "zsh", &["-n", &file], &[]);
    assert_eq!(code, 0, "zsh -n refused the script: {err}");
    // Loaded through compinit, as a user's fpath would: the function is then defined.
    let (code, out, err) = run_in(
        fx.dir.path(),
        "zsh",
        &[
            "-f",
            "-c",
            "fpath=(. $fpath); autoload -U compinit; compinit -u -D; \
             source ./_sdctl; whence -w _sdctl",
        ],
        &[("HOME", &fx.dir.path().display().to_string())],
    );
    assert_eq!(code, 0, "zsh could not load the script: {err}");
    assert!(out.contains("_sdctl: function"), "{out} {err}");
}

#[test]
fn fish_completion_loads() {
    if !have("fish") {
        return;
    }
    let fx = Fixture::new();
    let file = script(&fx, "fish", "sdctl.fish");
    let (code, _, err) = run_in(fx.dir.path(), "fish", &["-n", &file], &[]);
    assert_eq!(code, 0, "fish -n refused the script: {err}");
    let home = fx.dir.path().display().to_string();
    let (code, out, err) = run_in(
        fx.dir.path(),
        "fish",
        &[
            "--no-config",
            "-c",
            &format!("source {file}; and complete -C 'sdctl ceremony log '"),
        ],
        &[
            ("HOME", &home),
            ("XDG_CONFIG_HOME", &home),
            ("XDG_DATA_HOME", &home),
        ],
    );
    assert_eq!(code, 0, "fish could not load the script: {err}");
    assert!(
        out.lines().any(|l| l.starts_with("verify"))
            && out.lines().any(|l| l.starts_with("record")),
        "fish completes 'sdctl ceremony log ' with {out:?}"
    );
}

#[test]
fn every_shell_gets_a_script_and_unknown_shells_are_usage_errors() {
    let fx = Fixture::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = fx.sdctl(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("sdctl"), "{shell}");
    }
    fx.sdctl(&["completions", "tcsh"]).assert_error(2, "tcsh");
    let json = fx
        .sdctl(&["completions", "bash", "--output", "json"])
        .json();
    assert_eq!(json["status"], "ok");
    assert!(json["result"]["script"]
        .as_str()
        .unwrap()
        .contains("_sdctl"));
}

/// `MANWIDTH=80 man -l FILE | col -b`: the page as a reader sees it.
fn render(dir: &Path, file: &str) -> String {
    let (code, out, err) = run_in(
        dir,
        "sh",
        &["-c", &format!("man -l {file} | col -b")],
        &[("MANWIDTH", "80"), ("MANPAGER", "cat"), ("PAGER", "cat")],
    );
    assert_eq!(code, 0, "man -l {file}: {err}");
    out
}

#[test]
fn man_pages_render_with_man() {
    if !have("man") || !have("col") {
        return;
    }
    let fx = Fixture::new();
    // sdctl.1 on stdout.
    let run = fx.sdctl(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    fs::write(fx.path("stdout.1"), &run.stdout).unwrap();
    let page = render(fx.dir.path(), "stdout.1");
    for needle in ["NAME", "SYNOPSIS", "sdctl", "ceremony", "completions"] {
        assert!(page.contains(needle), "sdctl.1 lacks {needle}: {page}");
    }

    // One page per command in a directory.
    fs::create_dir(fx.path("man1")).unwrap();
    let run = fx.sdctl(&["man", "--out-dir", "man1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pages = fx.listing("man1");
    for expected in [
        "sdctl.1",
        "sdctl-keys-generate.1",
        "sdctl-ceremony-log-verify.1",
        "sdctl-completions.1",
        "sdctl-man.1",
    ] {
        assert!(
            pages.iter().any(|p| p == expected),
            "{expected} in {pages:?}"
        );
    }
    assert!(!pages.iter().any(|p| p.contains("help")), "{pages:?}");
    assert_eq!(mode_of(&fx.path("man1/sdctl.1")), 0o644);
    let leaf = render(fx.dir.path(), "man1/sdctl-keys-generate.1");
    for needle in [
        "NAME",
        "SYNOPSIS",
        "--count",
        "--output",
        "EXAMPLES",
        // An example line appears whole, as typed (not filled, not hyphenated).
        "sdctl keys generate --count 3 --names alice,bob,carol --out-dir custodians",
        "NOTES",
    ] {
        assert!(
            leaf.contains(needle),
            "sdctl-keys-generate.1 lacks {needle}: {leaf}"
        );
    }

    // Pages already there are kept unless --force.
    fs::write(fx.path("man1/sdctl.1"), "mine").unwrap();
    fx.sdctl(&["man", "--out-dir", "man1"])
        .assert_error(2, "sdctl.1");
    assert_eq!(fs::read_to_string(fx.path("man1/sdctl.1")).unwrap(), "mine");
    let run = fx.sdctl(&["man", "--out-dir", "man1", "--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(render(fx.dir.path(), "man1/sdctl.1").contains("SYNOPSIS"));

    // A directory that is not there: nothing is written.
    fx.sdctl(&["man", "--out-dir", "absent"])
        .assert_error(2, "absent");
    assert!(!fx.path("absent").exists());
}
