//! How a ceremony talks to the people running it: what each step does and who acts, a
//! confirmation before it runs, digests for witnesses, and passphrases. Unattended runs
//! (`--yes`, `--passphrase-file`) answer every confirmation yes and never prompt.

use std::io::{BufRead, IsTerminal, Write};

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
        for line in wrap(step.explain, 88) {
            self.say(&format!("   {line}"));
        }
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
}

/// The terminal: narration on stdout (stderr when stdout carries JSON), questions on
/// stderr, answers read from standard input; `yes` answers every question itself.
pub struct Console {
    /// Answer every confirmation yes (`--yes`).
    pub yes: bool,
    /// Narrate on stderr (stdout is reserved for `--output json`).
    pub narrate_on_stderr: bool,
    /// Passphrase source.
    pub passphrases: PassphraseSource,
}

impl Ui for Console {
    fn say(&mut self, text: &str) {
        if self.narrate_on_stderr {
            eprintln!("{text}");
        } else {
            println!("{text}");
            let _ = std::io::stdout().flush();
        }
    }

    fn confirm(&mut self, question: &str) -> bool {
        if self.yes {
            self.say(&format!("{question} [y/N] yes (--yes)"));
            return true;
        }
        let _ = std::io::stdout().flush();
        eprint!("{question} [y/N] ");
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
        eprint!("{question} ");
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

/// A digest grouped in fours for reading aloud: `3f2a 91c0 ...`.
pub fn spoken(digest: &str) -> String {
    digest
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
