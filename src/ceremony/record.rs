//! The printable ceremony record (`record.md`, `record.html`), rendered only from the
//! transcript's entries: who took part, every step, every file by digest, the security
//! domains retired, the refusals, the final transcript digest, and lines to sign.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::transcript::{Entry, TranscriptError};
use crate::files::{WriteBatch, MODE_PUBLIC};

/// File name of the Markdown record.
pub const RECORD_MD: &str = "record.md";
/// File name of the HTML record.
pub const RECORD_HTML: &str = "record.html";

/// What the witnesses are told to do with the final digest.
const DIGEST_ADVICE: &str = "Witnesses: write this digest down and compare it with \
                             `sdctl ceremony log verify <transcript>`.";

/// A custodian as the record shows them.
struct Custodian {
    name: String,
    contact: String,
    fingerprint: String,
    x5t_256: String,
}

/// A witness as the record shows them.
struct Witness {
    name: String,
    role: String,
}

/// One input or output of a step.
struct FileRow<'a> {
    seq: u64,
    step: &'a str,
    direction: &'static str,
    name: &'a str,
    sha256: &'a str,
    bytes: u64,
}

/// Everything the record shows, gathered from the entries once for both renderings.
struct Model<'a> {
    title: String,
    summary: Vec<(&'static str, String)>,
    final_digest: String,
    custodians: Vec<Custodian>,
    witnesses: Vec<Witness>,
    operator: String,
    entries: &'a [Entry],
    files: Vec<FileRow<'a>>,
}

impl<'a> Model<'a> {
    fn new(entries: &'a [Entry]) -> Model<'a> {
        // Facts of the "opened" entries; a later run's facts override an earlier one's.
        let mut facts: Map<String, Value> = Map::new();
        for e in entries.iter().filter(|e| e.event == "opened") {
            facts.extend(e.facts.clone());
        }
        let get = |key: &str| facts.get(key).and_then(text).unwrap_or_default();
        let first = entries.first();
        let last = entries.last();
        let distinct = |field: fn(&Entry) -> &str| {
            let mut seen: Vec<&str> = Vec::new();
            for e in entries {
                let v = field(e);
                if !v.is_empty() && !seen.contains(&v) {
                    seen.push(v);
                }
            }
            seen.join(", ")
        };
        let kind = distinct(|e| &e.kind);
        let ceremony = distinct(|e| &e.ceremony);
        let custodians = custodians(&facts, entries);
        let quorum = match get("quorum") {
            q if q.is_empty() => String::new(),
            q if custodians.is_empty() => q,
            q => format!("{q} of {} custodians", custodians.len()),
        };
        let status = match last {
            Some(e) if e.event == "closed" => "closed",
            Some(_) => "in progress",
            None => "empty transcript",
        };
        let summary = vec![
            ("Ceremony", ceremony.clone()),
            ("Kind", kind.clone()),
            ("Runs", distinct(|e| &e.run)),
            ("HSM", get("hsm")),
            ("Quorum", quorum),
            ("Machines", get("machines")),
            ("Plan SHA-256", get("plan_sha256")),
            ("Software", software(&get)),
            ("Started", first.map(|e| e.time.clone()).unwrap_or_default()),
            (
                "Last entry",
                last.map(|e| e.time.clone()).unwrap_or_default(),
            ),
            ("Status", status.to_owned()),
            ("Entries", entries.len().to_string()),
        ];
        let final_digest = match last.map(Entry::hash) {
            Some(Ok(h)) => h,
            Some(Err(_)) => "(cannot be computed)".to_owned(),
            None => "(none: the transcript is empty)".to_owned(),
        };
        let files = entries
            .iter()
            .flat_map(|e| {
                let row = move |direction, f: &'a super::transcript::FileDigest| FileRow {
                    seq: e.seq,
                    step: &e.step,
                    direction,
                    name: &f.name,
                    sha256: &f.sha256,
                    bytes: f.bytes,
                };
                let ins = e.inputs.iter().map(move |f| row("in", f));
                ins.chain(e.outputs.iter().map(move |f| row("out", f)))
            })
            .collect();
        Model {
            title: format!(
                "sdctl ceremony record: {} — {}",
                or_unknown(kind),
                or_unknown(ceremony)
            ),
            summary,
            final_digest,
            witnesses: witnesses(&facts),
            operator: get("operator"),
            custodians,
            entries,
            files,
        }
    }

    fn with_event(&self, event: &'a str) -> impl Iterator<Item = &'a Entry> {
        self.entries.iter().filter(move |e| e.event == event)
    }

    /// (role, name) of everyone who signs: custodians, witnesses, the operator.
    fn signatories(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for c in &self.custodians {
            out.push(("Custodian".into(), c.name.clone()));
        }
        for w in &self.witnesses {
            let role = if w.role.is_empty() {
                "Witness"
            } else {
                &w.role
            };
            out.push((format!("Witness ({role})"), w.name.clone()));
        }
        out.push(("Operator".into(), self.operator.clone()));
        out
    }
}

fn or_unknown(s: String) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s
    }
}

/// A fact as text: strings as they are, numbers and booleans written out.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn field(v: &Value, key: &str) -> String {
    match v {
        Value::Object(o) => o.get(key).and_then(text).unwrap_or_default(),
        other if key == "name" => text(other).unwrap_or_default(),
        _ => String::new(),
    }
}

fn list(facts: &Map<String, Value>, key: &str) -> Vec<Value> {
    match facts.get(key) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn custodians(facts: &Map<String, Value>, entries: &[Entry]) -> Vec<Custodian> {
    // The latest fingerprint recorded for each custodian wins.
    let mut prints: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for e in entries {
        let get = |k: &str| e.facts.get(k).and_then(text);
        if let (Some(name), Some(fp)) = (get("custodian"), get("sha256_fingerprint")) {
            if !order.contains(&name) {
                order.push(name.clone());
            }
            prints.insert(name, (fp, get("x5t_256").unwrap_or_default()));
        }
    }
    let mut out: Vec<Custodian> = list(facts, "custodians")
        .iter()
        .map(|c| Custodian {
            name: field(c, "name"),
            contact: field(c, "contact"),
            fingerprint: String::new(),
            x5t_256: String::new(),
        })
        .collect();
    for name in order {
        if !out.iter().any(|c| c.name == name) {
            out.push(Custodian {
                name,
                contact: String::new(),
                fingerprint: String::new(),
                x5t_256: String::new(),
            });
        }
    }
    for c in &mut out {
        if let Some((fp, x5t)) = prints.get(&c.name) {
            c.fingerprint.clone_from(fp);
            c.x5t_256.clone_from(x5t);
        }
    }
    out
}

fn witnesses(facts: &Map<String, Value>) -> Vec<Witness> {
    list(facts, "witnesses")
        .iter()
        .map(|w| Witness {
            name: field(w, "name"),
            role: field(w, "role"),
        })
        .collect()
}

/// The record as Markdown.
pub fn markdown(entries: &[Entry]) -> String {
    markdown::render(&Model::new(entries))
}

/// A digest in groups of eight characters, for reading aloud.
fn grouped(digest: &str) -> String {
    let chars: Vec<char> = digest.chars().collect();
    let groups: Vec<String> = chars.chunks(8).map(|c| c.iter().collect()).collect();
    groups.join(" ")
}

/// The record as a self-contained HTML page (inline print style, no scripts, no links).
pub fn html(entries: &[Entry]) -> String {
    html::render(&Model::new(entries))
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

#[path = "record_html.rs"]
mod html;
#[path = "record_md.rs"]
mod markdown;

/// The sdctl that opened the ceremony: "sdctl 0.1.0, air-gapped (no network code);
/// OpenSSL 3.6.3 ... (static, compiled in)", or empty for a transcript that does not say.
fn software(get: &dyn Fn(&str) -> String) -> String {
    let version = get("sdctl_version");
    if version.is_empty() {
        return String::new();
    }
    let mut text = format!("sdctl {version}");
    for (key, separator) in [("sdctl_build", ", "), ("openssl", "; ")] {
        let value = get(key);
        if !value.is_empty() {
            text += separator;
            text += &value;
        }
    }
    text
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
