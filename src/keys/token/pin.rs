//! Where token PINs come from: a hidden prompt per token, or `--pin-file` (one line per
//! token, in the order the tokens are first used), or a URI's `pin-source` file. A PIN is
//! never read from argv or the environment, and lives in wiped memory.

use std::path::Path;

use cryptoki::types::RawAuthPin;

use super::module::TokenDescription;
use super::TokenError;
use crate::passphrase::{self, PassphraseFile};

/// A PIN in wiped memory, in the form cryptoki's login takes.
pub struct Pin(RawAuthPin);

impl Pin {
    fn new(bytes: &[u8]) -> Self {
        Pin(RawAuthPin::new(Box::new(bytes.to_vec())))
    }

    /// The PIN for `Session::login_with_raw`.
    pub fn raw(&self) -> &RawAuthPin {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(..)")
    }
}

/// Where PINs come from.
pub enum PinSource {
    /// Lines of a `--pin-file`, one per token in the order the tokens are first used.
    File(PassphraseFile),
    /// A hidden prompt on the terminal, per token.
    Prompt,
    /// None: logging in is an error naming `--pin-file`.
    Unavailable,
}

impl std::fmt::Debug for PinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PinSource::File(_) => "PinSource::File",
            PinSource::Prompt => "PinSource::Prompt",
            PinSource::Unavailable => "PinSource::Unavailable",
        })
    }
}

impl PinSource {
    /// Reads a PIN file (one PIN per line).
    pub fn file(path: &Path) -> Result<Self, TokenError> {
        PassphraseFile::read(path)
            .map(PinSource::File)
            .map_err(|e| TokenError::Pin {
                token: path.display().to_string(),
                detail: e.to_string(),
            })
    }

    /// The PIN for token number `index` (0-based, in the order tokens are first used).
    pub fn pin(&self, index: usize, token: &TokenDescription) -> Result<Pin, TokenError> {
        let fail = |detail: String| TokenError::Pin {
            token: token.describe(),
            detail,
        };
        match self {
            PinSource::File(file) => {
                let line = file.lines().get(index).ok_or_else(|| {
                    fail(format!(
                        "{} has {} line(s), but this is token number {} to log in to; give one PIN per token, in the order the tokens are first used",
                        file.path().display(),
                        file.len(),
                        index + 1
                    ))
                })?;
                if line.is_empty() {
                    return Err(fail(format!(
                        "line {} of {} is empty",
                        index + 1,
                        file.path().display()
                    )));
                }
                Ok(Pin::new(line.expose().as_bytes()))
            }
            PinSource::Prompt => {
                let typed = passphrase::prompt(&format!(
                    "Insert {} and type its user PIN (hidden): ",
                    token.describe()
                ))
                .map_err(|e| fail(format!("no PIN could be read from the terminal ({e}); use --pin-file")))?;
                Ok(Pin::new(typed.expose().as_bytes()))
            }
            PinSource::Unavailable => Err(fail(
                "a PIN is needed and no terminal is available; use --pin-file FILE (mode 0600, one line per token)".into(),
            )),
        }
    }

    /// Whether the PIN file may be read by other users (worth a warning).
    pub fn readable_by_others(&self) -> bool {
        matches!(self, PinSource::File(f) if f.readable_by_others())
    }
}

/// Reads the PIN from a URI's `pin-source` file (its first line).
pub fn pin_from_source(path: &Path, token: &TokenDescription) -> Result<Pin, TokenError> {
    let file = PassphraseFile::read(path).map_err(|e| TokenError::Pin {
        token: token.describe(),
        detail: format!("pin-source: {e}"),
    })?;
    match file.lines().first() {
        Some(line) if !line.is_empty() => Ok(Pin::new(line.expose().as_bytes())),
        _ => Err(TokenError::Pin {
            token: token.describe(),
            detail: format!("pin-source {} holds no PIN", path.display()),
        }),
    }
}
