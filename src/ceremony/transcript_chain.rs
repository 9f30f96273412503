//! Line format and verification of the transcript's hash chain.
//!
//! A line is checked on its own first (its hash suffix, that it parses as an [`Entry`],
//! that it is byte for byte what sdctl writes, that its hash matches), and only then
//! against its neighbours (its number, its `prev`). So a changed byte is reported on its
//! own line, and a removed or moved line is reported where the sequence first breaks.

use serde::Serialize;

use super::{sha256_hex, Entry, TranscriptError, GENESIS};

/// Length of `,"hash":"` + 64 hex digits + `"}`.
const SUFFIX_LEN: usize = 9 + 64 + 2;
const SUFFIX_HEAD: &str = ",\"hash\":\"";
const SUFFIX_TAIL: &str = "\"}";

/// The first problem found in a transcript's hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ChainError {
    /// The 1-based line where the chain breaks.
    pub line: usize,
    /// What is wrong there, and what it means.
    pub problem: String,
}

/// What a transcript whose chain is intact holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Number of entries.
    pub entries: usize,
    /// The hash of the last entry: the digest witnesses write down.
    pub final_digest: String,
    /// Time of the first entry.
    pub first_time: String,
    /// Time of the last entry.
    pub last_time: String,
    /// The runs recorded, in order of first appearance.
    pub runs: Vec<String>,
    /// Whether the last entry closes the ceremony (event "closed").
    pub closed: bool,
}

/// A verified transcript: its entries and its exact lines (each ending with `\n`).
pub(super) struct Checked {
    pub(super) entries: Vec<Entry>,
    pub(super) lines: Vec<String>,
}

/// Verifies a transcript's text and reports the first problem.
pub fn verify_text(text: &str) -> Result<ChainReport, ChainError> {
    check_text(text).map(|c| report(&c))
}

/// Verifies a transcript's bytes (which must be UTF-8) and reports the first problem.
pub fn verify_bytes(data: &[u8]) -> Result<ChainReport, ChainError> {
    check_bytes(data).map(|c| report(&c))
}

/// Verifies a transcript's bytes and returns its report and its entries.
pub fn verify_entries(data: &[u8]) -> Result<(ChainReport, Vec<Entry>), ChainError> {
    check_bytes(data).map(|c| (report(&c), c.entries))
}

fn report(checked: &Checked) -> ChainReport {
    let mut runs: Vec<String> = Vec::new();
    for entry in &checked.entries {
        if !runs.contains(&entry.run) {
            runs.push(entry.run.clone());
        }
    }
    let time = |e: Option<&Entry>| e.map(|e| e.time.clone()).unwrap_or_default();
    ChainReport {
        entries: checked.entries.len(),
        final_digest: checked
            .lines
            .last()
            .map(|l| line_hash(l).to_owned())
            .unwrap_or_default(),
        first_time: time(checked.entries.first()),
        last_time: time(checked.entries.last()),
        runs,
        closed: checked.entries.last().is_some_and(|e| e.event == "closed"),
    }
}

pub(super) fn check_bytes(data: &[u8]) -> Result<Checked, ChainError> {
    match std::str::from_utf8(data) {
        Ok(text) => check_text(text),
        Err(e) => {
            let bad = e.valid_up_to();
            let start = data[..bad]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1);
            let line = data[..start].iter().filter(|b| **b == b'\n').count() + 1;
            let not_text = ChainError {
                line,
                problem: "the line is not UTF-8 text: it was changed after it was written".into(),
            };
            // The lines before the damaged one must be sound for it to be the first problem.
            let before = std::str::from_utf8(&data[..start]).map_err(|_| not_text.clone())?;
            if !before.is_empty() {
                check_text(before)?;
            }
            Err(not_text)
        }
    }
}

pub(super) fn check_text(text: &str) -> Result<Checked, ChainError> {
    if text.is_empty() {
        return Err(ChainError {
            line: 1,
            problem: "the transcript is empty".into(),
        });
    }
    let mut checked = Checked {
        entries: Vec::new(),
        lines: Vec::new(),
    };
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let prev = checked.lines.last().map_or(GENESIS, |l| line_hash(l));
        let entry = check_line(raw, i + 1, prev)?;
        checked.entries.push(entry);
        checked.lines.push(raw.to_owned());
    }
    Ok(checked)
}

/// Checks line number `k` (with its `\n`), whose `prev` must be `prev`.
pub(super) fn check_line(raw: &str, k: usize, prev: &str) -> Result<Entry, ChainError> {
    let fail = |problem: String| ChainError { line: k, problem };
    let changed = "it was changed after it was written";
    let body = raw.strip_suffix('\n').ok_or_else(|| {
        fail(
            "the line is incomplete (it has no end of line): the file was cut short or \
              changed after it was written"
                .into(),
        )
    })?;
    if body.is_empty() {
        return Err(fail(format!("the line is blank: {changed}")));
    }
    let split = body.len().checked_sub(SUFFIX_LEN);
    let (json_head, suffix) = match split.and_then(|at| Some((body.get(..at)?, body.get(at..)?))) {
        Some(parts) => parts,
        None => return Err(fail(missing_hash())),
    };
    let hash = suffix
        .strip_prefix(SUFFIX_HEAD)
        .and_then(|s| s.strip_suffix(SUFFIX_TAIL))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| fail(missing_hash()))?;
    let json = format!("{json_head}}}");
    let entry: Entry = serde_json::from_str(&json).map_err(|e| {
        fail(format!(
            "the line is not a transcript entry (at column {}): {changed}",
            e.column()
        ))
    })?;
    match serde_json::to_string(&entry) {
        Ok(again) if again == json => {}
        _ => {
            return Err(fail(format!(
                "the line is not exactly as sdctl wrote it (spacing, order or a field \
                 differs): {changed}"
            )))
        }
    }
    if sha256_hex(json.as_bytes()) != hash {
        return Err(fail(format!(
            "the entry does not match its hash: {changed}"
        )));
    }
    if entry.seq != k as u64 {
        return Err(fail(format!(
            "entry number {} where {k} was expected: an entry is missing here or the lines \
             are out of order",
            entry.seq
        )));
    }
    if entry.prev != prev {
        let problem = if k == 1 {
            "is not the first entry (its 'prev' is not 64 zeros): lines were removed before it"
                .to_owned()
        } else {
            format!(
                "does not follow line {} (its 'prev' is not line {}'s hash): a line was \
                 removed, inserted or moved",
                k - 1,
                k - 1
            )
        };
        return Err(fail(problem));
    }
    Ok(entry)
}

fn missing_hash() -> String {
    "the line does not end with its hash (,\"hash\":\"<64 lowercase hex digits>\"}): it was cut \
     or changed after it was written"
        .into()
}

/// The hash stored at the end of a verified line (`..."hash":"<64 hex>"}\n`).
pub(super) fn line_hash(line: &str) -> &str {
    let end = line.len().saturating_sub(3);
    line.get(end.saturating_sub(64)..end).unwrap_or_default()
}

/// The line written for `entry`: its compact JSON with its hash added, and `\n`.
pub(super) fn line_of(entry: &Entry) -> Result<String, TranscriptError> {
    let mut line = entry.compact()?;
    let hash = sha256_hex(line.as_bytes());
    line.pop();
    line.push_str(SUFFIX_HEAD);
    line.push_str(&hash);
    line.push_str(SUFFIX_TAIL);
    line.push('\n');
    Ok(line)
}
