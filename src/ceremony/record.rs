//! The printable ceremony record (`record.md`, `record.html`), rendered only from the
//! transcript's entries: who took part and what they confirmed, the software, the network
//! state of the air-gapped steps, how every bundle was authenticated and compared, where
//! passphrases came from, every step, every file by digest, the security domains retired,
//! every refusal, stop, failed attempt, interruption and redo, the final transcript
//! digest (with a box to write it by hand), and blocks to sign.
//!
//! Every digest is shown in one notation, the one read aloud ([`super::ui::spoken`]:
//! lowercase hex in groups of four), so that a printed line wraps only between groups.

use std::path::{Path, PathBuf};

use super::transcript::{Entry, TranscriptError};
use crate::files::{WriteBatch, MODE_PUBLIC};

/// File name of the Markdown record.
pub const RECORD_MD: &str = "record.md";
/// File name of the HTML record.
pub const RECORD_HTML: &str = "record.html";

/// What the witnesses are told to do with the final digest.
const DIGEST_ADVICE: &str = "Witnesses: copy this digest by hand into the boxes below, \
                             and compare it with `sdctl ceremony log verify <transcript>`.";

/// A piece of text from the transcript: plain, or a digest in its spoken notation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Digest(String),
    /// An identifier shown as written, in a monospace font (an `x5t_256`).
    Token(String),
}

/// A value as the record shows it: text with its digests picked out.
type Value = Vec<Part>;

/// One row of a section: short cells on one line, then full-width lines below them (the
/// lines that may hold digests, so that a digest never shares a printed line with another
/// column).
struct Item {
    cells: Vec<Value>,
    details: Vec<(&'static str, Value)>,
}

/// A titled list of items; `none` is shown when it is empty.
struct Section {
    title: &'static str,
    headers: &'static [&'static str],
    items: Vec<Item>,
    none: &'static str,
}

/// A custodian as the record shows them.
struct Custodian {
    name: String,
    contact: String,
    fingerprint: String,
    x5t_256: String,
}

/// Everything the record shows, gathered from the entries once for both renderings.
struct Model {
    title: String,
    /// The ceremony id (and runs), printed on every page and in every signature block.
    ceremony: String,
    summary: Vec<(&'static str, Value)>,
    /// Whether the transcript ends with `closed` (the digest is then final).
    closed: bool,
    /// The hash of the last entry, lowercase hex; empty when it has none.
    final_digest: String,
    /// Why there is no final digest, when there is none.
    no_digest: &'static str,
    /// One warning line per thing an auditor must see first (network up).
    warnings: Vec<String>,
    custodians: Vec<Custodian>,
    witnesses: Vec<(String, String)>,
    operator: String,
    sections: Vec<Section>,
}

/// The record as Markdown.
pub fn markdown(entries: &[Entry]) -> String {
    markdown::render(&model::build(entries))
}

/// The record as a self-contained HTML page (inline print style, no scripts, no links).
pub fn html(entries: &[Entry]) -> String {
    html::render(&model::build(entries))
}

/// Writes `record.md` and `record.html` into `dir` (both or neither), replacing old ones.
pub fn write_record(dir: &Path, entries: &[Entry]) -> Result<(PathBuf, PathBuf), TranscriptError> {
    let (md_path, html_path) = (dir.join(RECORD_MD), dir.join(RECORD_HTML));
    let mut batch = WriteBatch::new(true);
    batch.stage(&md_path, markdown(entries).as_bytes(), MODE_PUBLIC)?;
    batch.stage(&html_path, html(entries).as_bytes(), MODE_PUBLIC)?;
    batch.commit()?;
    Ok((md_path, html_path))
}

impl Model {
    /// (role, name) of everyone who signs: custodians, witnesses, the operator.
    fn signatories(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for c in &self.custodians {
            out.push(("Custodian".into(), c.name.clone()));
        }
        for (name, role) in &self.witnesses {
            let role = if role.is_empty() { "Witness" } else { role };
            out.push((format!("Witness ({role})"), name.clone()));
        }
        out.push(("Operator".into(), self.operator.clone()));
        out
    }

    /// The custodians as a section: name and contact, then their certificate.
    fn custodian_section(&self) -> Section {
        let items = self
            .custodians
            .iter()
            .map(|c| {
                let fingerprint = match text::digest_hex(&c.fingerprint) {
                    Some(hex) => vec![Part::Digest(super::ui::spoken(&hex))],
                    None if c.fingerprint.is_empty() => text::plain("not in this transcript"),
                    None => text::plain(&c.fingerprint),
                };
                let x5t = if c.x5t_256.is_empty() {
                    text::plain("not in this transcript")
                } else {
                    vec![Part::Token(c.x5t_256.clone())]
                };
                Item {
                    cells: vec![text::plain(&c.name), text::plain(&c.contact)],
                    details: vec![("Certificate SHA-256", fingerprint), ("x5t_256", x5t)],
                }
            })
            .collect();
        Section {
            title: "Custodians",
            headers: &["Name", "Contact"],
            items,
            none: "None recorded.",
        }
    }

    /// The witnesses as a section.
    fn witness_section(&self) -> Section {
        let items = self
            .witnesses
            .iter()
            .map(|(name, role)| Item {
                cells: vec![text::plain(name), text::plain(role)],
                details: Vec::new(),
            })
            .collect();
        Section {
            title: "Witnesses",
            headers: &["Name", "Role"],
            items,
            none: "None recorded.",
        }
    }

    /// The final digest in spoken groups, or why there is none.
    fn digest_text(&self) -> String {
        if self.final_digest.is_empty() {
            self.no_digest.to_owned()
        } else {
            super::ui::spoken(&self.final_digest)
        }
    }

    /// "Final transcript digest", or "Transcript digest so far" for an unfinished run.
    fn digest_label(&self) -> &'static str {
        if self.closed {
            "Final transcript digest"
        } else {
            "Transcript digest so far (the run is not closed)"
        }
    }
}

#[path = "record_html.rs"]
mod html;
#[path = "record_md.rs"]
mod markdown;
#[path = "record_model.rs"]
mod model;
#[path = "record_text.rs"]
mod text;

#[cfg(test)]
#[path = "record_facts_tests.rs"]
mod facts_tests;
#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
