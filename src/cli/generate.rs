//! `sdctl completions SHELL` and `sdctl man`: shell completion scripts and manual pages,
//! generated from the same clap definition the parser uses (never written by hand).

use std::io;
use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;
use sdctl::files::{FileError, WriteBatch, MODE_PUBLIC};
use sdctl::Error;
use serde::Serialize;

use super::{definition, OutputFormat, Reporter};

/// The program's name in completions and manual pages.
const BIN: &str = "sdctl";

/// Arguments of `completions`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sdctl completions bash > ~/.local/share/bash-completion/completions/sdctl
  sdctl completions zsh > ~/.zfunc/_sdctl
  sdctl completions fish > ~/.config/fish/completions/sdctl.fish

bash, for this shell only: source <(sdctl completions bash)")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

/// Arguments of `man`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sdctl man | man -l -
  sdctl man --out-dir /usr/local/share/man/man1
  sdctl man --out-dir man1 --force")]
pub struct ManArgs {
    /// Write sdctl.1 and one page per command (sdctl-keys-generate.1, ...) into this
    /// existing directory, instead of printing sdctl.1 on stdout.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Replace pages already in DIR.
    #[arg(long, requires = "out_dir")]
    force: bool,
}

/// What `completions` reports with --output json.
#[derive(Serialize)]
struct CompletionsResult {
    shell: String,
    script: String,
}

/// What `man --out-dir` reports with --output json.
#[derive(Serialize)]
struct ManResult {
    out_dir: Option<String>,
    files: Vec<String>,
    page: Option<String>,
}

/// `sdctl completions SHELL`: the script on stdout (in the JSON envelope with --output json).
pub fn completions(args: CompletionsArgs, format: OutputFormat) -> i32 {
    let rep = Reporter::new(format, "completions");
    let script = completion_script(args.shell);
    let result = CompletionsResult {
        shell: args.shell.to_string(),
        script: String::from_utf8_lossy(&script).into_owned(),
    };
    rep.finish(&result, true, || print_bytes(&script))
}

/// The completion script of `shell` for the whole command line.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut command = definition();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    script
}

/// `sdctl man [--out-dir DIR [--force]]`.
pub fn man(args: ManArgs, format: OutputFormat) -> i32 {
    let rep = Reporter::new(format, "man");
    match write_man(&rep, args) {
        Ok(code) => code,
        Err(e) => rep.fail(&e),
    }
}

fn write_man(rep: &Reporter, args: ManArgs) -> Result<i32, Error> {
    let pages = manual_pages().map_err(|source| FileError::Write {
        path: PathBuf::from("sdctl.1"),
        source,
    })?;
    let Some(dir) = args.out_dir else {
        let (_, top) = pages
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::other("no manual page was made"))
            .map_err(|source| FileError::Write {
                path: PathBuf::from("sdctl.1"),
                source,
            })?;
        let result = ManResult {
            out_dir: None,
            files: Vec::new(),
            page: Some(String::from_utf8_lossy(&top).into_owned()),
        };
        return Ok(rep.finish(&result, true, || print_bytes(&top)));
    };
    if !dir.is_dir() {
        return Err(FileError::Write {
            path: dir,
            source: io::Error::new(io::ErrorKind::NotFound, "is not an existing directory"),
        }
        .into());
    }
    let mut batch = WriteBatch::new(args.force);
    let mut files = Vec::new();
    for (name, _) in &pages {
        batch.check_free(&dir.join(name))?;
    }
    for (name, page) in &pages {
        let dest = dir.join(name);
        batch.stage(&dest, page, MODE_PUBLIC)?;
        files.push(dest.display().to_string());
    }
    batch.commit()?;
    let result = ManResult {
        out_dir: Some(dir.display().to_string()),
        files,
        page: None,
    };
    Ok(rep.finish(&result, true, || {
        println!(
            "Wrote {} manual pages into {} (sdctl.1 and one per command).",
            result.files.len(),
            dir.display()
        );
        println!("Read one with: man -l {}", dir.join("sdctl.1").display());
    }))
}

/// Every manual page, `sdctl.1` first: (file name, roff text). Hidden commands and clap's
/// own `help` are left out.
pub fn manual_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut root = definition().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    add_pages(&root, &mut pages)?;
    Ok(pages)
}

fn add_pages(command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
    // The text after the options (examples, notes) gets its own sections below: clap_mangen
    // would fill and hyphenate the example command lines like prose.
    let after = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(|s| s.to_string());
    let man = clap_mangen::Man::new(
        command
            .clone()
            .after_help(None::<&str>)
            .after_long_help(None::<&str>),
    );
    let mut text = Vec::new();
    man.render(&mut text)?;
    if let Some(after) = after {
        text.extend_from_slice(after_help_roff(&after).as_bytes());
    }
    pages.push((man.get_filename(), text));
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        add_pages(sub, pages)?;
    }
    Ok(())
}

/// The text after a command's options as roff: the `Examples:` paragraph as an EXAMPLES
/// section printed as written (no filling, no hyphenation, plain ASCII hyphens, so a
/// line copied from the page runs), the other paragraphs as NOTES.
fn after_help_roff(text: &str) -> String {
    let mut examples = String::new();
    let mut notes = String::new();
    for paragraph in text.split("\n\n") {
        let mut lines = paragraph.lines();
        if paragraph.trim_start().starts_with("Examples:") {
            lines.next();
            examples.push_str(".nf\n");
            for line in lines {
                examples.push_str(&roff_line(line));
            }
            examples.push_str(".fi\n");
        } else if !paragraph.trim().is_empty() {
            notes.push_str(".PP\n");
            for line in lines {
                notes.push_str(&roff_line(line.trim()));
            }
        }
    }
    let mut out = String::new();
    if !examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        out.push_str(&examples);
    }
    if !notes.is_empty() {
        out.push_str(".SH NOTES\n");
        out.push_str(&notes);
    }
    out
}

/// One line of text as roff source: backslashes and hyphens escaped, and a leading `.` or
/// `'` (a control character) neutralised.
fn roff_line(line: &str) -> String {
    let mut out = String::new();
    if line.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// Writes generated text to stdout; a closed stdout can only show in the exit code.
fn print_bytes(bytes: &[u8]) {
    use std::io::Write;
    let mut out = io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}
