//! The tamper-evident ceremony transcript: an append-only JSON-lines file, `transcript.jsonl`.
//!
//! Each line is one [`Entry`] in compact JSON followed by its own hash: the line is the
//! entry's JSON with its final `}` replaced by `,"hash":"<sha256 hex>"}`. The hash is the
//! SHA-256 of the entry's compact JSON (without the `hash` field), and every entry's `prev`
//! is the hash of the entry before it (64 zeros for the first). Changing, removing,
//! inserting or reordering any line breaks the chain at that line; removing lines from the
//! end is caught only by the **final digest** (the hash of the last entry), which the
//! witnesses write down. Entries name files by digest, never by content.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::exit_code::ExitCode;
use crate::files::{read_bounded, FileError};

pub use chain::{verify_bytes, verify_entries, verify_text, ChainError, ChainReport};
pub use file::Transcript;

/// Size limit of a transcript file.
pub const TRANSCRIPT_LIMIT: u64 = 64 << 20;
/// Size limit of a file whose digest a transcript records.
pub const DIGEST_FILE_LIMIT: u64 = 256 << 20;
/// The `prev` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One input or output of a step, by digest (never the content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file's name as the ceremony knows it ("alice.cer", "sd.json").
    pub name: String,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The file's size in bytes.
    pub bytes: u64,
}

impl FileDigest {
    /// The digest of `bytes`, recorded under `name`.
    pub fn of_bytes(name: &str, bytes: &[u8]) -> FileDigest {
        FileDigest {
            name: name.to_owned(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        }
    }

    /// The digest of the file at `path` (at most 256 MiB), recorded under `name`.
    pub fn of_file(path: &Path, name: &str) -> Result<FileDigest, TranscriptError> {
        let data = read_bounded(path, DIGEST_FILE_LIMIT, "a ceremony file")?;
        Ok(FileDigest::of_bytes(name, &data))
    }
}

/// One line of the transcript. The field order is the serialization order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1-based line number.
    pub seq: u64,
    /// Hash of the previous entry; 64 zeros for the first.
    pub prev: String,
    /// When the entry was written, RFC 3339 UTC ("2026-11-22T10:04:05Z").
    pub time: String,
    /// The plan's ceremony name.
    pub ceremony: String,
    /// The run within the ceremony ("activate", "drill-2").
    pub run: String,
    /// "activate", "recover", "rotate" or "drill".
    pub kind: String,
    /// "offline", "online" or "single".
    pub machine: String,
    /// Who acted: "operator", "custodian alice", "witnesses"...
    pub actor: String,
    /// The step id ("key:alice").
    pub step: String,
    /// "opened", "step", "handoff", "imported", "refused", "retired", "resumed" or "closed".
    pub event: String,
    /// One human sentence.
    pub summary: String,
    /// Files the step read, by digest.
    pub inputs: Vec<FileDigest>,
    /// Files the step wrote, by digest.
    pub outputs: Vec<FileDigest>,
    /// Public facts only (names, counts, fingerprints); never secrets.
    pub facts: Map<String, Value>,
}

impl Entry {
    /// The entry's hash: lowercase hex SHA-256 of its compact JSON.
    pub fn hash(&self) -> Result<String, TranscriptError> {
        Ok(sha256_hex(self.compact()?.as_bytes()))
    }

    fn compact(&self) -> Result<String, TranscriptError> {
        serde_json::to_string(self).map_err(|e| TranscriptError::Encode(e.to_string()))
    }
}

/// What a caller gives for a new entry; `seq`, `prev` and `time` are filled in by
/// [`Transcript::append`].
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    /// The plan's ceremony name.
    pub ceremony: String,
    /// The run within the ceremony.
    pub run: String,
    /// The ceremony kind.
    pub kind: String,
    /// The machine the step ran on.
    pub machine: String,
    /// Who acted.
    pub actor: String,
    /// The step id.
    pub step: String,
    /// What happened ("step", "handoff"...).
    pub event: String,
    /// One human sentence.
    pub summary: String,
    /// Files the step read.
    pub inputs: Vec<FileDigest>,
    /// Files the step wrote.
    pub outputs: Vec<FileDigest>,
    /// Public facts.
    pub facts: Map<String, Value>,
}

/// A transcript could not be read, trusted, extended or written.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The transcript on disk fails verification.
    #[error(
        "{}: {error}; do not edit the transcript: the ceremony stops until the operator and \
         the witnesses understand how it changed",
        path.display()
    )]
    Broken {
        /// The transcript file.
        path: PathBuf,
        /// The first problem found.
        error: ChainError,
    },
    /// A transcript carried from the other machine does not extend this one.
    #[error(
        "{}: the transcript carried in the bundle does not continue this machine's transcript \
         at line {line}: {detail}; keep both files and find out which machine ran which step \
         before going on",
        path.display()
    )]
    Diverged {
        /// This machine's transcript file.
        path: PathBuf,
        /// The first line where the two differ.
        line: usize,
        /// How they differ.
        detail: String,
    },
    /// The file changed on disk after it was opened (another sdctl writing to it?).
    #[error(
        "{}: the transcript changed on disk since it was opened (is another sdctl running \
         this ceremony?); nothing was written: stop the other one, then run the step again",
        path.display()
    )]
    Changed {
        /// The transcript file.
        path: PathBuf,
    },
    /// An entry could not be written as JSON that verifies.
    #[error("cannot record the transcript entry: {0}; record the fact as a string instead")]
    Encode(String),
}

impl TranscriptError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TranscriptError::File(e) => e.exit_code(),
            TranscriptError::Broken { .. }
            | TranscriptError::Diverged { .. }
            | TranscriptError::Changed { .. } => ExitCode::CheckFailed,
            TranscriptError::Encode(_) => ExitCode::BadInput,
        }
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[path = "transcript_chain.rs"]
mod chain;
#[path = "transcript_file.rs"]
mod file;

#[cfg(test)]
#[path = "transcript_tests.rs"]
mod tests;
