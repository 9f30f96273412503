//! The per-run transfer code that authenticates what crosses the air gap.
//!
//! The machine that opens a two-machine run makes a random code (100 bits, 20 characters of
//! Crockford's base 32) and shows it once, in groups, with four check characters; the
//! operator types it on the other machine when the run's first bundle arrives. It never
//! goes on the transfer medium, on argv or in the environment. Every bundle of the run
//! carries an HMAC-SHA-256 under a key derived from the code, the ceremony, the run and
//! the plan's SHA-256 (SP 800-108), so an attacker who can change the files on the medium
//! cannot make a bundle the other machine accepts.

use std::path::{Path, PathBuf};

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::exit_code::ExitCode;
use crate::files::{read_bounded_nonempty, write_atomic, FileError, MODE_SECRET};
use crate::primitives::sp800_108;

/// Crockford's base 32: no I, L, O or U, so a code read aloud or copied by hand is not
/// mistaken.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random characters in a code (5 bits each: 100 bits).
const RANDOM_CHARS: usize = 20;
/// Check characters after them (20 bits: a mistyped code is told apart from a forgery).
const CHECK_CHARS: usize = 4;
/// Characters per group as shown.
const GROUP: usize = 4;
const KEY_LABEL: &[u8] = b"sdctl ceremony bundle key v2";
const MAC_DOMAIN: &[u8] = b"sdctl-bundle-mac-v2\n";

/// A transfer code could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum TransferCodeError {
    /// The text is not a transfer code (wrong length, characters, or check group).
    #[error("{0}")]
    Malformed(String),
    /// A transfer-code file is unusable.
    #[error("{}: {detail}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        detail: String,
    },
    /// Reading or writing the file failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// OpenSSL failed (randomness, HMAC).
    #[error("transfer code: {0}")]
    Crypto(String),
}

impl TransferCodeError {
    /// The documented exit code: bad input (2), or an OpenSSL failure (3).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TransferCodeError::Io(e) => e.exit_code(),
            TransferCodeError::Crypto(_) => ExitCode::Crypto,
            TransferCodeError::Malformed(_) | TransferCodeError::File { .. } => ExitCode::BadInput,
        }
    }
}

fn crypto(e: openssl::error::ErrorStack) -> TransferCodeError {
    TransferCodeError::Crypto(e.to_string())
}

/// A run's transfer code: its 20 random characters (the check characters are derived).
#[derive(Clone)]
pub struct TransferCode {
    chars: Zeroizing<String>,
}

impl std::fmt::Debug for TransferCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransferCode(<hidden>)")
    }
}

impl PartialEq for TransferCode {
    fn eq(&self, other: &Self) -> bool {
        openssl::memcmp::eq(self.chars.as_bytes(), other.chars.as_bytes())
    }
}

impl TransferCode {
    /// A new random code (OpenSSL's generator).
    pub fn generate() -> Result<TransferCode, TransferCodeError> {
        let mut bytes = Zeroizing::new([0u8; RANDOM_CHARS]);
        openssl::rand::rand_bytes(bytes.as_mut()).map_err(crypto)?;
        // 256 is a multiple of 32: each byte's low five bits are uniform.
        let chars: String = bytes
            .iter()
            .map(|b| ALPHABET[(b & 31) as usize] as char)
            .collect();
        Ok(TransferCode {
            chars: Zeroizing::new(chars),
        })
    }

    /// Reads a code as a person typed or wrote it: case, spaces and dashes do not matter,
    /// `O` is read as zero and `I`/`L` as one; the check group must match.
    pub fn parse(text: &str) -> Result<TransferCode, TransferCodeError> {
        let mut chars = Zeroizing::new(String::with_capacity(RANDOM_CHARS + CHECK_CHARS));
        for c in text.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(TransferCodeError::Malformed(format!(
                    "a transfer code has only the characters 0-9 and A-Z without U; '{}' is not one of them",
                    c.escape_default()
                )));
            }
            chars.push(c);
        }
        if chars.len() != RANDOM_CHARS + CHECK_CHARS {
            return Err(TransferCodeError::Malformed(format!(
                "a transfer code has {} characters ({} groups of {GROUP}); this has {}",
                RANDOM_CHARS + CHECK_CHARS,
                (RANDOM_CHARS + CHECK_CHARS) / GROUP,
                chars.len()
            )));
        }
        let code = TransferCode {
            chars: Zeroizing::new(chars[..RANDOM_CHARS].to_owned()),
        };
        if !openssl::memcmp::eq(code.check().as_bytes(), chars[RANDOM_CHARS..].as_bytes()) {
            return Err(TransferCodeError::Malformed(
                "the transfer code's last group does not match the others: a character was mistyped; compare it with the code written down".into(),
            ));
        }
        Ok(code)
    }

    /// The code as shown and typed: six groups of four characters.
    pub fn grouped(&self) -> Zeroizing<String> {
        let full = Zeroizing::new(format!("{}{}", self.chars.as_str(), self.check()));
        let groups: Vec<&str> = full
            .as_bytes()
            .chunks(GROUP)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        Zeroizing::new(groups.join(" "))
    }

    fn check(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"sdctl transfer code check\0")
            .chain_update(self.chars.as_bytes())
            .finalize();
        let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        (0..CHECK_CHARS)
            .map(|i| ALPHABET[((bits >> (27 - 5 * i)) & 31) as usize] as char)
            .collect()
    }

    /// The key of one run's bundles: SP 800-108 (HMAC-SHA-512) of the code, bound to the
    /// ceremony, the run and the plan.
    pub fn bundle_key(&self, binding: &Binding<'_>) -> Result<BundleKey, TransferCodeError> {
        let context = [
            binding.ceremony.as_bytes(),
            binding.run.as_bytes(),
            binding.plan_sha256.as_bytes(),
        ]
        .join(&0u8);
        let key = sp800_108::derive(self.chars.as_bytes(), KEY_LABEL, &context, 256)
            .map_err(|e| TransferCodeError::Crypto(e.to_string()))?;
        Ok(BundleKey { key })
    }

    /// Reads a code from a file that only its owner can read (`--transfer-code-file`).
    pub fn read_file(path: &Path) -> Result<TransferCode, TransferCodeError> {
        let bad = |detail: String| TransferCodeError::File {
            path: path.to_owned(),
            detail,
        };
        let bytes = Zeroizing::new(read_bounded_nonempty(path, 4096, "a transfer code file")?);
        let meta = std::fs::metadata(path).map_err(|e| FileError::Read {
            path: path.to_owned(),
            source: e,
        })?;
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "other users can read it (mode {mode:04o}); a transfer code file must be private: chmod 600 {}",
                path.display()
            )));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| bad("not text; expected the transfer code on one line".into()))?;
        TransferCode::parse(text.trim()).map_err(|e| bad(e.to_string()))
    }

    /// Writes the code to a new private file (mode 0600; an existing file is kept unless
    /// `overwrite`).
    pub fn write_file(&self, path: &Path, overwrite: bool) -> Result<(), TransferCodeError> {
        let mut line = self.grouped();
        line.push('\n');
        write_atomic(path, line.as_bytes(), MODE_SECRET, overwrite)?;
        Ok(())
    }
}

/// What a run's bundle key is bound to.
pub struct Binding<'a> {
    /// The ceremony's name (the plan's).
    pub ceremony: &'a str,
    /// The run.
    pub run: &'a str,
    /// The plan's SHA-256.
    pub plan_sha256: &'a str,
}

/// The key that authenticates one run's bundles.
pub struct BundleKey {
    key: Zeroizing<Vec<u8>>,
}

impl BundleKey {
    /// HMAC-SHA-256 of `message` (domain-separated), as lowercase hex.
    pub fn mac(&self, message: &[u8]) -> Result<String, TransferCodeError> {
        let key = PKey::hmac(&self.key).map_err(crypto)?;
        let mut signer = Signer::new(MessageDigest::sha256(), &key).map_err(crypto)?;
        signer.update(MAC_DOMAIN).map_err(crypto)?;
        signer.update(message).map_err(crypto)?;
        let tag = signer.sign_to_vec().map_err(crypto)?;
        Ok(crate::domain::model::hex(&tag))
    }

    /// Whether `tag` (hex) is the MAC of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &str) -> Result<bool, TransferCodeError> {
        let ours = self.mac(message)?;
        Ok(ours.len() == tag.len() && openssl::memcmp::eq(ours.as_bytes(), tag.as_bytes()))
    }
}

#[cfg(test)]
#[path = "transfer_code_tests.rs"]
mod tests;
