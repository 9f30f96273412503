//! How a ceremony talks to the people running it: what each step does and who acts, a
//! confirmation before it runs, digests for witnesses, and passphrases. Unattended runs
//! (`--yes`, `--passphrase-file`) answer every confirmation yes and never prompt.

use std::io::{BufRead, IsTerminal, Write};

use crate::keys::token::TokenAccess;
use crate::passphrase::PassphraseSource;

/// What a person is told before a step runs.
pub struct Announcement<'a> {
    /// Position of the step in the ceremony (1-based).
    pub number: usize,
    /// Number of steps in the ceremony.
    pub total: usize,
    /// Step id.
    pub id: &'a str,
    /// Short title.
    pub title: &'a str,
    /// Who acts.
    pub actor: &'a str,
    /// Which machine ("air-gapped" or "online").
    pub machine: &'a str,
    /// What happens, in a sentence or two.
    pub explain: &'a str,
}

/// The people side of a ceremony.
pub trait Ui {
    /// Tells the people something (a line of narration).
    fn say(&mut self, text: &str);
    /// Announces a step.
    fn announce(&mut self, step: &Announcement<'_>) {
        self.say("");
        self.say(&format!(
            "== Step {}/{}: {}  [who: {}; machine: {}]",
            step.number, step.total, step.title, step.actor, step.machine
        ));
        self.say(&format!("   {}", step.explain));
    }
    /// Asks a yes/no question; `false` stops the ceremony cleanly.
    fn confirm(&mut self, question: &str) -> bool;
    /// Asks for a line of text (the transfer code); `None` when nobody answers (unattended,
    /// or the input ended). The answer is wiped when dropped.
    fn ask(&mut self, question: &str) -> Option<zeroize::Zeroizing<String>>;
    /// Whether a person answers (false with `--yes`).
    fn attended(&self) -> bool;
    /// Where passphrases come from.
    fn passphrases(&self) -> &PassphraseSource;
    /// How tokens are reached (module given on the command line, PINs).
    fn tokens(&self) -> &TokenAccess;
}

/// The terminal: narration on stdout (stderr when stdout carries JSON), questions on
/// stderr, answers read from standard input; `yes` answers every question itself. Every
/// line is wrapped to the terminal's width at spaces, so a digest shown in groups is never
/// cut inside a group.
pub struct Console {
    /// Answer every confirmation yes (`--yes`).
    pub yes: bool,
    /// Narrate on stderr (stdout is reserved for `--output json`).
    pub narrate_on_stderr: bool,
    /// Passphrase source.
    pub passphrases: PassphraseSource,
    /// Token access (module from `--pkcs11-module`, PINs from `--pin-file` or prompts).
    pub tokens: TokenAccess,
    /// Columns to wrap at ([`terminal_width`]; `usize::MAX` for no wrapping).
    pub width: usize,
}

impl Console {
    /// A console for this process's terminal (its width read now).
    pub fn new(yes: bool, narrate_on_stderr: bool, passphrases: PassphraseSource) -> Console {
        Console {
            yes,
            narrate_on_stderr,
            passphrases,
            tokens: TokenAccess::default(),
            width: terminal_width(if narrate_on_stderr { 2 } else { 1 }),
        }
    }

    /// The same console reaching tokens through `tokens`.
    pub fn with_tokens(mut self, tokens: TokenAccess) -> Console {
        self.tokens = tokens;
        self
    }
}

impl Ui for Console {
    fn say(&mut self, text: &str) {
        let mut out = String::new();
        for line in text.split('\n') {
            for piece in wrap_line(line, self.width) {
                out.push_str(&piece);
                out.push('\n');
            }
        }
        if self.narrate_on_stderr {
            eprint!("{out}");
        } else {
            print!("{out}");
            let _ = std::io::stdout().flush();
        }
    }

    fn confirm(&mut self, question: &str) -> bool {
        if self.yes {
            self.say(&format!("{question} [y/N] yes (--yes)"));
            return true;
        }
        let _ = std::io::stdout().flush();
        eprint!("{}", prompt_text(&format!("{question} [y/N]"), self.width));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer);
        // A terminal echoes the answer and its newline; from a pipe (or at the end of
        // input) the prompt's line is still open: end it, so what follows starts a line.
        if !std::io::stdin().is_terminal() || !matches!(read, Ok(n) if n > 0) {
            eprintln!();
        }
        match read {
            Ok(0) | Err(_) => false,
            Ok(_) => matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        }
    }

    fn ask(&mut self, question: &str) -> Option<zeroize::Zeroizing<String>> {
        if self.yes {
            return None;
        }
        let _ = std::io::stdout().flush();
        eprint!("{}", prompt_text(question, self.width));
        let _ = std::io::stderr().flush();
        let mut answer = zeroize::Zeroizing::new(String::with_capacity(128));
        let read = std::io::stdin().lock().read_line(&mut answer);
        if !std::io::stdin().is_terminal() || !matches!(read, Ok(n) if n > 0) {
            eprintln!();
        }
        match read {
            Ok(n) if n > 0 => Some(answer),
            _ => None,
        }
    }

    fn attended(&self) -> bool {
        !self.yes
    }

    fn passphrases(&self) -> &PassphraseSource {
        &self.passphrases
    }

    fn tokens(&self) -> &TokenAccess {
        &self.tokens
    }
}

/// Splits `text` into lines of at most `width` characters at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The width to wrap narration written to descriptor `fd` at: the terminal's columns (at
/// least 40). Output that goes to a file or a pipe is not wrapped unless `COLUMNS` is set.
pub fn terminal_width(fd: i32) -> usize {
    // SAFETY: TIOCGWINSZ writes a winsize struct for a valid descriptor, or fails.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
    let columns = if rc == 0 && size.ws_col > 0 {
        Some(usize::from(size.ws_col))
    } else {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
    };
    columns.map_or(usize::MAX, |c: usize| c.max(40))
}

/// `line` wrapped at spaces to `width` columns: continuation lines keep the line's
/// indentation and two more spaces. A word longer than the width stands alone.
pub fn wrap_line(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_owned()];
    }
    let indent = line.len() - line.trim_start().len();
    let lead = &line[..indent];
    let more = format!("{lead}  ");
    let mut out = Vec::new();
    let mut current = lead.to_owned();
    for word in line.split_whitespace() {
        let pad = if current.trim().is_empty() { 0 } else { 1 };
        if current.trim().is_empty()
            || current.chars().count() + pad + word.chars().count() <= width
        {
            if pad == 1 {
                current.push(' ');
            }
            current.push_str(word);
        } else {
            out.push(std::mem::take(&mut current));
            current = format!("{more}{word}");
        }
    }
    out.push(current);
    out
}

/// A question for a prompt: all but its last wrapped line end with a new line, the last
/// ends with a space for the answer.
fn prompt_text(question: &str, width: usize) -> String {
    // Lines joined by new lines; the last one (where the answer is typed) ends in a space.
    let mut text = wrap_line(question, width.saturating_sub(2)).join("\n");
    text.push(' ');
    text
}

/// A digest or fingerprint (hex, any case, colons allowed) as people read it aloud:
/// lowercase, in groups of four, eight groups to a line (`3f2a 91c0 ...`). The same
/// notation is used on screen, in the record and by `ceremony log verify`.
pub fn spoken_lines(digest: &str) -> Vec<String> {
    let clean: String = digest
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    clean.as_bytes().chunks(32).map(spoken_bytes).collect()
}

fn spoken_bytes(chunk: &[u8]) -> String {
    chunk
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A digest or fingerprint in the notation read aloud, on one line that wraps between
/// groups ([`spoken_lines`] joined).
pub fn spoken_inline(digest: &str) -> String {
    spoken_lines(digest).join(" ")
}

/// `label`, then the value read aloud on its own indented lines ([`spoken_lines`]).
pub fn labelled_digest(indent: &str, label: &str, digest: &str) -> String {
    let mut text = format!("{indent}{label}");
    for line in spoken_lines(digest) {
        text.push_str(&format!("\n{indent}   {line}"));
    }
    text
}

/// A path as the operator can type it from where they stand: relative to the current
/// directory when it lies below it, else absolute.
pub fn path_from_here(path: &std::path::Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_owned())
    };
    match std::env::current_dir() {
        Ok(here) => absolute
            .strip_prefix(&here)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| absolute.display().to_string()),
        Err(_) => absolute.display().to_string(),
    }
}

/// A digest grouped in fours for reading aloud, on one line: `3f2a 91c0 ...`.
pub fn spoken(digest: &str) -> String {
    spoken_bytes(digest.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_spaces_keeping_their_indentation_and_digest_groups_whole() {
        let digest = "ab".repeat(32);
        let line = format!("   BUNDLE SHA-256 {}", spoken(&digest));
        let lines = wrap_line(&line, 40);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
        assert!(
            lines[1..].iter().all(|l| l.starts_with("     ")),
            "{lines:?}"
        );
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert!(words.iter().filter(|w| w.len() == 4).all(|w| *w == "abab"));
        assert_eq!(wrap_line("short", usize::MAX), ["short"]);
        assert_eq!(prompt_text("Proceed? [y/N]", 80), "Proceed? [y/N] ");
        assert!(prompt_text(&"word ".repeat(30), 40).contains('\n'));
    }

    #[test]
    fn digests_are_read_aloud_in_one_notation() {
        let lines = spoken_lines("AB:CD:EF:01:23:45:67:89");
        assert_eq!(lines, ["abcd ef01 2345 6789"]);
        let full = spoken_lines(&"0f".repeat(32));
        assert_eq!(full.len(), 2);
        assert_eq!(full[0].split(' ').count(), 8);
        assert_eq!(spoken_inline(&"0f".repeat(32)), full.join(" "));
        assert_eq!(
            labelled_digest("  ", "X:", "00112233"),
            "  X:\n     0011 2233"
        );
    }
}
