//! The transcript file: opened and verified, extended one entry at a time, and replaced by
//! a longer transcript carried back from the other machine. Every write rewrites the whole
//! file atomically, so a kill never leaves a partial line.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::chain;
use super::{Entry, NewEntry, TranscriptError, GENESIS, TRANSCRIPT_LIMIT};
use crate::files::{read_bounded, write_atomic, FileError, MODE_PUBLIC};

/// A transcript file, verified when opened and extended one entry at a time.
#[derive(Debug)]
pub struct Transcript {
    path: PathBuf,
    entries: Vec<Entry>,
    lines: Vec<String>,
}

impl Transcript {
    /// Reads and verifies the transcript at `path`; a missing file is an empty transcript.
    pub fn open(path: &Path) -> Result<Transcript, TranscriptError> {
        let data = read_or_empty(path)?;
        let (entries, lines) = if data.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let checked = chain::check_bytes(&data).map_err(|error| TranscriptError::Broken {
                path: path.to_owned(),
                error,
            })?;
            (checked.entries, checked.lines)
        };
        Ok(Transcript {
            path: path.to_owned(),
            entries,
            lines,
        })
    }

    /// The transcript file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The exact content of the file.
    pub fn text(&self) -> String {
        self.lines.concat()
    }

    /// The hash of the last entry (what witnesses write down); `None` when empty.
    pub fn final_digest(&self) -> Option<String> {
        self.lines.last().map(|l| chain::line_hash(l).to_owned())
    }

    /// Appends an entry (filling `seq`, `prev` and `time`) and rewrites the file atomically.
    pub fn append(&mut self, new: NewEntry) -> Result<&Entry, TranscriptError> {
        self.append_then(new, |_| Ok(()))
    }

    /// Appends an entry like [`Transcript::append`], but first hands the whole new text
    /// (this entry included) to `carry`, e.g. to write the bundle that carries the
    /// transcript to the other machine; nothing is appended unless `carry` succeeds.
    pub fn append_with(
        &mut self,
        new: NewEntry,
        carry: impl FnOnce(&str) -> Result<(), crate::Error>,
    ) -> Result<&Entry, crate::Error> {
        self.append_then(new, carry)
    }

    fn append_then<E: From<TranscriptError>>(
        &mut self,
        new: NewEntry,
        carry: impl FnOnce(&str) -> Result<(), E>,
    ) -> Result<&Entry, E> {
        let entry = Entry {
            seq: self.entries.len() as u64 + 1,
            prev: self.final_digest().unwrap_or_else(|| GENESIS.to_owned()),
            time: crate::keys::generate::now_rfc3339(),
            ceremony: new.ceremony,
            run: new.run,
            kind: new.kind,
            machine: new.machine,
            actor: new.actor,
            step: new.step,
            event: new.event,
            summary: new.summary,
            inputs: new.inputs,
            outputs: new.outputs,
            facts: sorted(new.facts),
        };
        let line = chain::line_of(&entry)?;
        // Never write what the verifier would refuse (a float that does not round-trip).
        chain::check_line(&line, self.lines.len() + 1, &entry.prev)
            .map_err(|e| TranscriptError::Encode(e.problem))?;
        self.ensure_unchanged()?;
        let text = self.text() + &line;
        carry(&text)?;
        write_atomic(&self.path, text.as_bytes(), MODE_PUBLIC, true)
            .map_err(TranscriptError::from)?;
        self.lines.push(line);
        self.entries.push(entry);
        let last = self.entries.len() - 1;
        Ok(&self.entries[last])
    }

    /// The entries of `other_text`, the transcript carried back from the other machine, if
    /// it verifies and extends this one; nothing is written.
    pub fn check_extension(&self, other_text: &str) -> Result<Vec<Entry>, TranscriptError> {
        self.extension(other_text).map(|other| other.entries)
    }

    /// Replaces this transcript with `other_text`, the transcript carried back from the
    /// other machine, if it verifies and extends this one; returns the number of new entries.
    pub fn adopt(&mut self, other_text: &str) -> Result<usize, TranscriptError> {
        let other = self.extension(other_text)?;
        let added = other.lines.len() - self.lines.len();
        if added > 0 {
            self.ensure_unchanged()?;
            write_atomic(&self.path, other_text.as_bytes(), MODE_PUBLIC, true)?;
            self.lines = other.lines;
            self.entries = other.entries;
        }
        Ok(added)
    }

    fn extension(&self, other_text: &str) -> Result<chain::Checked, TranscriptError> {
        let diverged = |line: usize, detail: String| TranscriptError::Diverged {
            path: self.path.clone(),
            line,
            detail,
        };
        let other = chain::check_bytes(other_text.as_bytes()).map_err(|e| {
            diverged(
                e.line,
                format!(
                    "the carried transcript is itself broken there: {}",
                    e.problem
                ),
            )
        })?;
        for (i, mine) in self.lines.iter().enumerate() {
            match other.lines.get(i) {
                Some(theirs) if theirs == mine => {}
                Some(_) => {
                    return Err(diverged(
                        i + 1,
                        "the two transcripts record different entries there".into(),
                    ))
                }
                None => {
                    return Err(diverged(
                        i + 1,
                        format!(
                            "the carried transcript ends after {} entries, this one has {}",
                            other.lines.len(),
                            self.lines.len()
                        ),
                    ))
                }
            }
        }
        Ok(other)
    }
}

impl Transcript {
    /// Refuses to write over entries that another process added since this one read the file.
    fn ensure_unchanged(&self) -> Result<(), TranscriptError> {
        if read_or_empty(&self.path)? == self.text().as_bytes() {
            Ok(())
        } else {
            Err(TranscriptError::Changed {
                path: self.path.clone(),
            })
        }
    }
}

/// The file's bytes; nothing when it does not exist.
fn read_or_empty(path: &Path) -> Result<Vec<u8>, TranscriptError> {
    match read_bounded(path, TRANSCRIPT_LIMIT, "a ceremony transcript") {
        Ok(data) => Ok(data),
        Err(FileError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Vec::new())
        }
        Err(e) => Err(e.into()),
    }
}

/// Sorts object keys at every depth, so the written form is the same whether or not
/// serde_json keeps insertion order in the build that reads it back.
fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .into_iter()
        .map(|(k, v)| (k, sorted_value(v)))
        .collect()
}

fn sorted_value(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(sorted(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_value).collect()),
        other => other,
    }
}

#[cfg(test)]
#[path = "transcript_file_tests.rs"]
mod tests;
