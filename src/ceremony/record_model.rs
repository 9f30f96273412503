//! Gathers what the record shows from the transcript's entries, once for both renderings.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::text::{digest_hex, parts, plain, text};
use super::{Custodian, Item, Model, Part, Section, Value};
use crate::ceremony::transcript::Entry;
use crate::ceremony::ui::spoken;

/// Events that tell of something that did not go as planned (none of them finishes a step).
const INCIDENTS: [(&str, &str); 5] = [
    ("refused", "refused"),
    ("stopped", "stopped"),
    ("failed-attempt", "failed attempt"),
    ("interrupted", "interrupted"),
    ("redone", "redone"),
];

/// The record's model of `entries`.
pub(super) fn build(entries: &[Entry]) -> Model {
    // Facts of the "opened" entries; a later run's facts override an earlier one's.
    let mut facts: Map<String, Json> = Map::new();
    for e in entries.iter().filter(|e| e.event == "opened") {
        facts.extend(e.facts.clone());
    }
    let get = |key: &str| facts.get(key).and_then(text).unwrap_or_default();
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
    let (kind, ceremony, runs) = (
        distinct(|e| &e.kind),
        distinct(|e| &e.ceremony),
        distinct(|e| &e.run),
    );
    let custodians = custodians(&facts, entries);
    let quorum = match get("quorum") {
        q if q.is_empty() => String::new(),
        q if custodians.is_empty() => q,
        q => format!("{q} of {} custodians", custodians.len()),
    };
    let last = entries.last();
    let closed = last.is_some_and(|e| e.event == "closed");
    let status = match last {
        Some(_) if closed => "closed",
        Some(_) => "in progress",
        None => "empty transcript",
    };
    let (final_digest, no_digest) = match last.map(Entry::hash) {
        Some(Ok(h)) => (h, ""),
        Some(Err(_)) => (String::new(), "(cannot be computed)"),
        None => (String::new(), "(none: the transcript is empty)"),
    };
    let time = |e: Option<&Entry>| e.map(|e| e.time.clone()).unwrap_or_default();
    let summary = vec![
        ("Ceremony", plain(&ceremony)),
        ("Kind", plain(&kind)),
        ("Runs", plain(&runs)),
        ("HSM", plain(&get("hsm"))),
        ("Quorum", plain(&quorum)),
        ("Machines", plain(&get("machines"))),
        ("Plan SHA-256", parts(&get("plan_sha256"))),
        ("Software", plain(&software(&get))),
        ("sdctl SHA-256", parts(&get("sdctl_sha256"))),
        ("Transfer code", plain(&get("transfer_code"))),
        ("Started", plain(&time(entries.first()))),
        ("Last entry", plain(&time(last))),
        ("Status", plain(status)),
        ("Entries", plain(&entries.len().to_string())),
    ];
    let id = match (ceremony.is_empty(), runs.is_empty()) {
        (true, _) => "unknown ceremony".to_owned(),
        (false, true) => ceremony.clone(),
        (false, false) => format!("{ceremony}, run {runs}"),
    };
    Model {
        title: format!(
            "sdctl ceremony record: {} — {}",
            or_unknown(kind),
            or_unknown(ceremony)
        ),
        ceremony: id,
        summary,
        closed,
        final_digest,
        no_digest,
        warnings: network_warnings(entries),
        witnesses: witnesses(&facts),
        operator: get("operator"),
        custodians,
        sections: sections(entries),
    }
}

fn or_unknown(s: String) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s
    }
}

fn fact(e: &Entry, key: &str) -> String {
    e.facts.get(key).and_then(text).unwrap_or_default()
}

fn field(v: &Json, key: &str) -> String {
    match v {
        Json::Object(o) => o.get(key).and_then(text).unwrap_or_default(),
        other if key == "name" => text(other).unwrap_or_default(),
        _ => String::new(),
    }
}

fn list<'a>(facts: &'a Map<String, Json>, key: &str) -> &'a [Json] {
    match facts.get(key) {
        Some(Json::Array(items)) => items,
        _ => &[],
    }
}

/// The sdctl that opened the ceremony: "sdctl 0.1.0, air-gapped (no network code);
/// OpenSSL 3.6.3 ... (static, compiled in); commit 1a2b...", or empty for a transcript that does not say.
fn software(get: &dyn Fn(&str) -> String) -> String {
    let version = get("sdctl_version");
    if version.is_empty() {
        return String::new();
    }
    let mut text = format!("sdctl {version}");
    for (key, separator) in [
        ("sdctl_build", ", "),
        ("openssl", "; "),
        ("sdctl_commit", "; commit "),
    ] {
        let value = get(key);
        if !value.is_empty() {
            text += separator;
            text += &value;
        }
    }
    text
}

/// The custodians named at the opening, with the latest certificate recorded for each:
/// by a key step (`custodian` + `sha256_fingerprint` facts), or in a `certificates` list
/// (the witnesses' check, the quorum of a drill or a recovery).
fn custodians(facts: &Map<String, Json>, entries: &[Entry]) -> Vec<Custodian> {
    let mut prints: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut note = |name: String, fp: String, x5t: String| {
        if name.is_empty() || fp.is_empty() {
            return;
        }
        if !order.contains(&name) {
            order.push(name.clone());
        }
        prints.insert(name, (fp, x5t));
    };
    for e in entries {
        let one = |k: &str| e.facts.get(k).and_then(text).unwrap_or_default();
        if e.facts.get("custodian").is_some_and(Json::is_string) {
            note(one("custodian"), one("sha256_fingerprint"), one("x5t_256"));
        }
        for c in list(&e.facts, "certificates") {
            let get = |k: &str| field(c, k);
            note(get("custodian"), get("sha256_fingerprint"), get("x5t_256"));
        }
    }
    let blank = |name: String, contact: String| Custodian {
        name,
        contact,
        fingerprint: String::new(),
        x5t_256: String::new(),
    };
    let mut out: Vec<Custodian> = list(facts, "custodians")
        .iter()
        .map(|c| blank(field(c, "name"), field(c, "contact")))
        .collect();
    for name in order {
        if !out.iter().any(|c| c.name == name) {
            out.push(blank(name, String::new()));
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

fn witnesses(facts: &Map<String, Json>) -> Vec<(String, String)> {
    list(facts, "witnesses")
        .iter()
        .map(|w| (field(w, "name"), field(w, "role")))
        .collect()
}

/// One line per air-gapped step that ran with network interfaces up.
fn network_warnings(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| {
            let up = fact(e, "network_interfaces_up");
            (!up.is_empty()).then(|| {
                format!(
                    "WARNING: network interface(s) {up} were up on the {} machine during \
                     entry {} (step {}, run {}): run with --allow-network.",
                    e.machine, e.seq, e.step, e.run
                )
            })
        })
        .collect()
}

/// The first cells of an entry's row: its number, time and step.
fn head(e: &Entry) -> Vec<Value> {
    vec![
        plain(&e.seq.to_string()),
        plain(&e.time),
        plain(&e.machine),
        plain(&e.step),
    ]
}

fn item(cells: Vec<Value>, details: Vec<(&'static str, Value)>) -> Item {
    let details = details.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    Item { cells, details }
}

const HEAD: &[&str] = &["#", "Time", "Machine", "Step"];

fn sections(entries: &[Entry]) -> Vec<Section> {
    let with = |key: &'static str| entries.iter().filter(move |e| e.facts.contains_key(key));
    let confirmations = with("witnesses_confirmed")
        .map(|e| {
            let answered = parts(&fact(e, "witnesses_confirmed"));
            item(head(e), vec![("Answered yes", answered)])
        })
        .collect();
    let bundles = entries
        .iter()
        .filter(|e| e.event == "imported")
        .map(|e| {
            let sha = fact(e, "bundle_sha256");
            let mut details = vec![("Bundle SHA-256", digest(&sha))];
            let name = e.inputs.first().map(|f| f.name.as_str()).unwrap_or("");
            details.push(("File", plain(name)));
            details.push(("Authenticated", or_not_recorded(fact(e, "authenticated"))));
            details.push((
                "Digest compared",
                or_not_recorded(fact(e, "digest_compared")),
            ));
            item(head(e), details)
        })
        .collect();
    let secrets = entries
        .iter()
        .filter(|e| e.facts.contains_key("passphrases") || e.facts.contains_key("pins"))
        .map(|e| {
            let mut cells = head(e);
            cells.push(plain(&e.actor));
            let details = vec![
                ("Passphrases", plain(&fact(e, "passphrases"))),
                ("PINs", plain(&fact(e, "pins"))),
            ];
            item(cells, details)
        })
        .collect();
    let quorums = entries
        .iter()
        .filter(|e| e.facts.contains_key("quorum_chosen"))
        .map(|e| {
            let substitutes = match e.facts.get("substitutes") {
                Some(Json::Bool(true)) => "yes: not the plan's quorum_custodians",
                Some(Json::Bool(false)) => "no",
                _ => "not recorded",
            };
            let details = vec![
                ("Custodians", plain(&fact(e, "quorum_chosen"))),
                ("Substitutes", plain(substitutes)),
            ];
            item(head(e), details)
        })
        .collect();
    vec![
        Section {
            title: "Witness confirmations",
            headers: HEAD,
            items: confirmations,
            none: "None recorded.",
        },
        Section {
            title: "Bundles imported",
            headers: HEAD,
            items: bundles,
            none: "None: no bundle crossed between machines in this transcript.",
        },
        Section {
            title: "Passphrases and PINs",
            headers: &["#", "Time", "Machine", "Step", "Who"],
            items: secrets,
            none: "None recorded.",
        },
        Section {
            title: "Quorum chosen at the drill",
            headers: HEAD,
            items: quorums,
            none: "The plan's quorum_custodians, or no drill in this transcript.",
        },
        steps(entries),
        files(entries),
        retired(entries),
        incidents(entries),
    ]
}

fn or_not_recorded(s: String) -> Value {
    if s.is_empty() {
        plain("not recorded")
    } else {
        parts(&s)
    }
}

/// A value that is a digest, in the spoken notation; anything else as it is.
fn digest(s: &str) -> Value {
    match digest_hex(s) {
        Some(hex) => vec![Part::Digest(spoken(&hex))],
        None => parts(s),
    }
}

fn steps(entries: &[Entry]) -> Section {
    let items = entries
        .iter()
        .map(|e| {
            let mut cells = head(e);
            cells.push(plain(&e.actor));
            cells.push(plain(&e.event));
            let summary = parts(&e.summary);
            let mut details = vec![("", summary.clone())];
            // Every digest among the facts that the summary does not already show.
            let mut found = Vec::new();
            digest_facts(&mut found, "", &Json::Object(e.facts.clone()));
            for (label, spoken) in found {
                let digest = Part::Digest(spoken);
                if !summary.contains(&digest) {
                    details.push(("", vec![Part::Text(format!("{label}: ")), digest]));
                }
            }
            item(cells, details)
        })
        .collect();
    Section {
        title: "Steps",
        headers: &["#", "Time", "Machine", "Step", "Actor", "Event"],
        items,
        none: "None recorded.",
    }
}

fn files(entries: &[Entry]) -> Section {
    let mut items = Vec::new();
    for e in entries {
        let ins = e.inputs.iter().map(|f| ("in", f));
        for (direction, f) in ins.chain(e.outputs.iter().map(|f| ("out", f))) {
            let cells = vec![
                plain(&e.seq.to_string()),
                plain(&e.step),
                plain(direction),
                plain(&f.name),
                plain(&f.bytes.to_string()),
            ];
            items.push(item(cells, vec![("SHA-256", digest(&f.sha256))]));
        }
    }
    Section {
        title: "Files",
        headers: &["#", "Step", "In/out", "Name", "Bytes"],
        items,
        none: "None recorded.",
    }
}

fn retired(entries: &[Entry]) -> Section {
    let items = entries
        .iter()
        .filter(|e| e.event == "retired")
        .map(|e| {
            let mut details = vec![("", parts(&e.summary))];
            for f in &e.inputs {
                let mut v = plain(&format!("{}: ", f.name));
                v.extend(digest(&f.sha256));
                details.push(("Retired file", v));
            }
            item(head(e), details)
        })
        .collect();
    Section {
        title: "Security domains retired",
        headers: HEAD,
        items,
        none: "None recorded.",
    }
}

/// Every refusal, stop, failed attempt, interruption and redo, with its facts.
fn incidents(entries: &[Entry]) -> Section {
    let items = entries
        .iter()
        .filter_map(|e| {
            let label = INCIDENTS.iter().find(|(ev, _)| *ev == e.event)?.1;
            let mut cells = head(e);
            cells.push(plain(&e.actor));
            cells.push(plain(&label.to_uppercase()));
            let f = |k: &str| fact(e, k);
            let attempt = match (f("attempt"), f("of")) {
                (a, _) if a.is_empty() => String::new(),
                (a, of) if of.is_empty() => a,
                (a, of) => format!("{a} of {of}"),
            };
            let details = vec![
                ("", parts(&e.summary)),
                ("Reason", parts(&f("reason"))),
                ("Question", parts(&f("question"))),
                ("Answer", plain(&f("answer"))),
                ("Custodian", plain(&f("custodian"))),
                ("What", plain(&f("what"))),
                ("Attempt", plain(&attempt)),
                ("Concerns step", plain(&f("step"))),
            ];
            Some(item(cells, details))
        })
        .collect();
    Section {
        title: "Refusals, stops, failed attempts, interruptions and redos",
        headers: &["#", "Time", "Machine", "Step", "Actor", "What"],
        items,
        none: "None recorded.",
    }
}

/// Every digest in `v` (facts, lists and objects within), labelled by where it is: the
/// fact's key, with the `custodian` or `name` of the object it is in.
fn digest_facts(out: &mut Vec<(String, String)>, label: &str, v: &Json) {
    match v {
        Json::String(s) => {
            if let Some(hex) = digest_hex(s) {
                out.push((label.to_owned(), spoken(&hex)));
            }
        }
        Json::Array(items) => {
            for i in items {
                digest_facts(out, label, i);
            }
        }
        Json::Object(o) => {
            let who = ["custodian", "name"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Json::as_str));
            for (key, value) in o {
                let label = match (label.is_empty(), who) {
                    (true, _) => key.clone(),
                    (false, Some(who)) => format!("{label} ({who}) {key}"),
                    (false, None) => format!("{label} {key}"),
                };
                digest_facts(out, &label, value);
            }
        }
        _ => {}
    }
}
