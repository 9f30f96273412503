//! Passphrases: a zeroizing type, the `--passphrase-file` format (one line per key, in the
//! order of the keys, an empty line for an unencrypted key), a hidden terminal prompt, and
//! the minimum-strength rule for new keys. Passphrases never come from argv or the
//! environment.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::exit_code::ExitCode;
use crate::files::{self, FileError};

/// Largest passphrase file accepted (one line per key; 10 keys at most in practice).
const MAX_PASSPHRASE_FILE: u64 = 64 * 1024;

/// A passphrase, wiped from memory when dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase; the string's buffer is moved, not copied.
    pub fn new(text: String) -> Self {
        Passphrase(Zeroizing::new(text))
    }

    /// The passphrase text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the passphrase is empty (an unencrypted key).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// Its only field is a `Zeroizing<String>`, wiped when the passphrase is dropped.
impl zeroize::ZeroizeOnDrop for Passphrase {}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A passphrase could not be obtained or was refused.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    /// The passphrase file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The passphrase file is not UTF-8 text.
    #[error("{}: passphrase file is not UTF-8 text", path.display())]
    NotText {
        /// The passphrase file.
        path: PathBuf,
    },
    /// The number of lines does not match the number of keys.
    #[error("{}: has {lines} line(s) but {keys} key(s) were given; write one line per key, in the order of the keys (an empty line for an unencrypted key)", path.display())]
    LineCount {
        /// The passphrase file.
        path: PathBuf,
        /// Lines found.
        lines: usize,
        /// Keys given.
        keys: usize,
    },
    /// An encrypted key's line is empty.
    #[error("{}: line {line} is empty but {} is encrypted; put its passphrase on that line", path.display(), key.display())]
    EmptyForEncrypted {
        /// The passphrase file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The encrypted key.
        key: PathBuf,
    },
    /// A new passphrase does not meet the minimum-strength rule.
    #[error("{origin}: passphrase is too weak: {reason}; choose a longer one (a few random words work well) or pass --allow-weak-passphrases")]
    Weak {
        /// Where the passphrase came from ("line 2 of FILE", "custodian alice").
        origin: String,
        /// What rule it breaks.
        reason: String,
    },
    /// No terminal is available to ask for a passphrase.
    #[error("{what}: a passphrase is needed but there is no terminal to ask on; use --passphrase-file FILE")]
    NoTerminal {
        /// What the passphrase is for.
        what: String,
    },
    /// The passphrase was not typed the same twice, or was refused too often.
    #[error("{what}: {reason}")]
    Prompt {
        /// What the passphrase is for.
        what: String,
        /// What went wrong.
        reason: String,
    },
}

impl PassphraseError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::BadInput
    }
}

/// The minimum-strength rule for passphrases protecting new private keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrengthRule {
    /// Fewest characters (Unicode scalar values).
    pub min_chars: usize,
    /// Fewest distinct characters (refuses "aaaaaaaaaaaa", "121212121212").
    pub min_distinct: usize,
}

impl StrengthRule {
    /// The default rule: at least 12 characters, at least 6 of them distinct.
    pub const DEFAULT: StrengthRule = StrengthRule {
        min_chars: 12,
        min_distinct: 6,
    };
    /// The relaxed rule (`--allow-weak-passphrases`): anything but an empty passphrase.
    pub const RELAXED: StrengthRule = StrengthRule {
        min_chars: 1,
        min_distinct: 1,
    };

    /// Returns why `passphrase` breaks the rule, or `None` when it meets it.
    pub fn weakness(&self, passphrase: &Passphrase) -> Option<String> {
        let text = passphrase.expose();
        let chars = text.chars().count();
        if chars == 0 {
            return Some("it is empty (new private keys are always encrypted)".into());
        }
        if chars < self.min_chars {
            return Some(format!("fewer than {} characters", self.min_chars));
        }
        // Sized up front and wiped whole on drop (spare capacity too): collecting into a
        // growing Vec would leave copies of the passphrase in freed memory.
        let mut distinct = Zeroizing::new(Vec::with_capacity(chars));
        distinct.extend(text.chars());
        distinct.sort_unstable();
        distinct.dedup();
        let count = distinct.len();
        if count < self.min_distinct {
            return Some(format!(
                "fewer than {} different characters",
                self.min_distinct
            ));
        }
        None
    }
}

/// The lines of a `--passphrase-file`.
pub struct PassphraseFile {
    path: PathBuf,
    lines: Vec<Passphrase>,
    readable_by_others: bool,
}

impl PassphraseFile {
    /// Reads a passphrase file: one passphrase per line (LF or CRLF), a final newline optional.
    pub fn read(path: &Path) -> Result<Self, PassphraseError> {
        let bytes = Zeroizing::new(files::read_bounded(
            path,
            MAX_PASSPHRASE_FILE,
            "a passphrase file",
        )?);
        let text = std::str::from_utf8(&bytes).map_err(|_| PassphraseError::NotText {
            path: path.to_owned(),
        })?;
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines = if body.is_empty() && text.is_empty() {
            Vec::new()
        } else {
            body.split('\n')
                .map(|l| Passphrase::new(l.strip_suffix('\r').unwrap_or(l).to_owned()))
                .collect()
        };
        Ok(PassphraseFile {
            path: path.to_owned(),
            lines,
            readable_by_others: files::readable_by_others(path),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether users other than the owner may read the file (worth a warning).
    pub fn readable_by_others(&self) -> bool {
        self.readable_by_others
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the file has no lines at all.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The lines, in order.
    pub fn lines(&self) -> &[Passphrase] {
        &self.lines
    }

    /// Fails unless the file has exactly one line per key.
    pub fn expect_lines(&self, keys: usize) -> Result<(), PassphraseError> {
        if self.lines.len() != keys {
            return Err(PassphraseError::LineCount {
                path: self.path.clone(),
                lines: self.lines.len(),
                keys,
            });
        }
        Ok(())
    }

    fn line(&self, index: usize) -> Result<&Passphrase, PassphraseError> {
        self.lines
            .get(index)
            .ok_or_else(|| PassphraseError::LineCount {
                path: self.path.clone(),
                lines: self.lines.len(),
                keys: index + 1,
            })
    }
}

/// Where passphrases come from: a file, a hidden prompt, or nowhere.
pub enum PassphraseSource {
    /// Lines of a `--passphrase-file`, one per key in order.
    File(PassphraseFile),
    /// A hidden prompt on the controlling terminal.
    Prompt,
    /// None available: asking for one is an error (keys must be unencrypted).
    Unavailable,
}

impl PassphraseSource {
    /// The passphrase that opens existing key number `index` (0-based) at `key`, which is
    /// known to be encrypted.
    pub fn for_existing(&self, index: usize, key: &Path) -> Result<Passphrase, PassphraseError> {
        match self {
            PassphraseSource::File(file) => {
                let line = file.line(index)?;
                if line.is_empty() {
                    return Err(PassphraseError::EmptyForEncrypted {
                        path: file.path.clone(),
                        line: index + 1,
                        key: key.to_owned(),
                    });
                }
                Ok(line.clone())
            }
            PassphraseSource::Prompt => prompt(&format!("Passphrase for {}: ", key.display()))
                .map_err(|e| prompt_failed(key.display().to_string(), &e)),
            PassphraseSource::Unavailable => Err(PassphraseError::NoTerminal {
                what: key.display().to_string(),
            }),
        }
    }

    /// The passphrase for an existing key that may be unprotected (PKCS#12 files can carry
    /// an empty password): a file line is returned as it is, even empty.
    pub fn for_container(&self, index: usize, key: &Path) -> Result<Passphrase, PassphraseError> {
        match self {
            PassphraseSource::File(file) => Ok(file.line(index)?.clone()),
            _ => self.for_existing(index, key),
        }
    }

    /// A new passphrase for custodian `name` (key number `index`), checked against `rule`.
    /// At the prompt it is asked twice, and asked again (three tries) when the two differ
    /// or the rule refuses it.
    pub fn for_new(
        &self,
        index: usize,
        name: &str,
        rule: StrengthRule,
    ) -> Result<Passphrase, PassphraseError> {
        match self {
            PassphraseSource::File(file) => {
                let pass = file.line(index)?.clone();
                match rule.weakness(&pass) {
                    None => Ok(pass),
                    Some(reason) => Err(PassphraseError::Weak {
                        origin: format!(
                            "{} line {} (custodian {name})",
                            file.path.display(),
                            index + 1
                        ),
                        reason,
                    }),
                }
            }
            PassphraseSource::Prompt => prompt_new(name, rule),
            PassphraseSource::Unavailable => Err(PassphraseError::NoTerminal {
                what: format!("custodian {name}"),
            }),
        }
    }
}

/// One attempt at a new passphrase.
pub enum NewAttempt {
    /// Typed twice alike and strong enough (or read from the file).
    Accepted(Passphrase),
    /// Not accepted, and why (never the passphrase itself).
    Rejected(String),
}

impl PassphraseSource {
    /// One attempt (`attempt` of `of`) at custodian `name`'s new passphrase: the file's line
    /// (a weak line is an error, not an attempt), or typed at the prompt (twice). Input
    /// ended at the prompt is [`PassphraseError::Prompt`].
    pub fn new_attempt(
        &self,
        index: usize,
        name: &str,
        rule: StrengthRule,
        attempt: (usize, usize),
    ) -> Result<NewAttempt, PassphraseError> {
        match self {
            PassphraseSource::Prompt => prompt_new_once(name, rule, attempt),
            _ => self.for_new(index, name, rule).map(NewAttempt::Accepted),
        }
    }
}

/// A hidden prompt that failed: input ended (Ctrl-D) or there is no terminal at all.
fn prompt_failed(what: String, error: &std::io::Error) -> PassphraseError {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        PassphraseError::Prompt {
            what,
            reason: "no passphrase was typed (input ended)".into(),
        }
    } else {
        PassphraseError::NoTerminal { what }
    }
}

/// A hidden prompt on the terminal (rpassword); the answer in zeroizing memory.
pub(crate) fn prompt(text: &str) -> std::io::Result<Passphrase> {
    let answer = rpassword::prompt_password(text).map(Passphrase::new);
    if answer
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::UnexpectedEof)
    {
        // The prompt's line is still open: end it before the error is printed.
        eprintln!();
    }
    answer
}

fn prompt_new(name: &str, rule: StrengthRule) -> Result<Passphrase, PassphraseError> {
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        match prompt_new_once(name, rule, (attempt, ATTEMPTS))? {
            NewAttempt::Accepted(pass) => return Ok(pass),
            NewAttempt::Rejected(why) => eprintln!(
                "Attempt {attempt} of {ATTEMPTS} failed: {why}.{}",
                if attempt < ATTEMPTS {
                    " Please try again."
                } else {
                    ""
                }
            ),
        }
    }
    Err(PassphraseError::Prompt {
        what: format!("custodian {name}"),
        reason: format!("no acceptable passphrase in {ATTEMPTS} attempts"),
    })
}

/// One attempt at the prompt: typed, checked against the rule, typed again.
fn prompt_new_once(
    name: &str,
    rule: StrengthRule,
    (attempt, of): (usize, usize),
) -> Result<NewAttempt, PassphraseError> {
    let what = format!("custodian {name}");
    let no_tty = |e: std::io::Error| prompt_failed(what.clone(), &e);
    let count = if of > 1 {
        format!(" (attempt {attempt} of {of})")
    } else {
        String::new()
    };
    let first = prompt(&format!(
        "Custodian {name}{count}: new passphrase for {name}'s key (hidden): "
    ))
    .map_err(no_tty)?;
    if let Some(reason) = rule.weakness(&first) {
        return Ok(NewAttempt::Rejected(format!(
            "that passphrase is too weak: {reason}"
        )));
    }
    let second = prompt(&format!("Custodian {name}: type it again: ")).map_err(no_tty)?;
    if first == second {
        Ok(NewAttempt::Accepted(first))
    } else {
        Ok(NewAttempt::Rejected("the two passphrases differ".into()))
    }
}

#[cfg(test)]
#[path = "passphrase_tests.rs"]
mod tests;
