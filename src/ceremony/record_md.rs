//! The Markdown rendering of the ceremony record: plain tables that read well as text and
//! render well; every piece of text from the transcript is escaped.

use super::{grouped, Model, DIGEST_ADVICE};

/// Renders the whole record.
pub(super) fn render(m: &Model<'_>) -> String {
    let mut out = format!("# {}\n\n| | |\n|---|---|\n", md(&m.title));
    for (label, value) in &m.summary {
        if !value.is_empty() {
            let cell = if *label == "Plan SHA-256" {
                md_code(value)
            } else {
                md(value)
            };
            out += &format!("| {label} | {cell} |\n");
        }
    }
    out += &format!(
        "\n## Final transcript digest\n\n    {}\n\nIn groups of eight: {}\n\n{DIGEST_ADVICE}\n",
        m.final_digest,
        md(&grouped(&m.final_digest))
    );
    out += "\n## Participants\n\n### Custodians\n\n";
    out += &md_table(
        &[
            "Name",
            "Contact",
            "Certificate SHA-256 fingerprint",
            "x5t_256",
        ],
        m.custodians.iter().map(|c| {
            vec![
                md(&c.name),
                md(&c.contact),
                md_code(&c.fingerprint),
                md_code(&c.x5t_256),
            ]
        }),
    );
    out += "\n### Witnesses\n\n";
    out += &md_table(
        &["Name", "Role"],
        m.witnesses.iter().map(|w| vec![md(&w.name), md(&w.role)]),
    );
    if !m.operator.is_empty() {
        out += &format!("\nOperator: {}\n", md(&m.operator));
    }
    out += "\n## Steps\n\n";
    out += &md_table(
        &["#", "Time", "Machine", "Actor", "Step", "Event", "Summary"],
        m.entries.iter().map(|e| {
            let cells = [&e.time, &e.machine, &e.actor, &e.step, &e.event, &e.summary];
            std::iter::once(e.seq.to_string())
                .chain(cells.map(|s| md(s)))
                .collect()
        }),
    );
    out += "\n## Files\n\n";
    out += &md_table(
        &["#", "Step", "In/out", "Name", "SHA-256", "Bytes"],
        m.files.iter().map(|f| {
            let (seq, bytes) = (f.seq.to_string(), f.bytes.to_string());
            vec![
                seq,
                md(f.step),
                f.direction.into(),
                md(f.name),
                md_code(f.sha256),
                bytes,
            ]
        }),
    );
    out += "\n## Security domains retired\n\n";
    out += &md_table(
        &["#", "Time", "Summary", "Files (SHA-256)"],
        m.with_event("retired").map(|e| {
            let files: Vec<String> = e
                .inputs
                .iter()
                .map(|f| format!("{} {}", md(&f.name), md_code(&f.sha256)))
                .collect();
            vec![
                e.seq.to_string(),
                md(&e.time),
                md(&e.summary),
                files.join("; "),
            ]
        }),
    );
    out += "\n## Refusals\n\n";
    out += &md_table(
        &["#", "Time", "Actor", "Step", "Summary"],
        m.with_event("refused").map(|e| {
            let cells = [&e.time, &e.actor, &e.step, &e.summary];
            std::iter::once(e.seq.to_string())
                .chain(cells.map(|s| md(s)))
                .collect()
        }),
    );
    out += "\n## Signatures\n\n";
    for (role, name) in m.signatories() {
        let who = if name.is_empty() {
            md(&role)
        } else {
            format!("{} {}", md(&role), md(&name))
        };
        out += &format!(
            "- {who}: Name ______________________  Signature ______________________  \
             Date ____________\n\n"
        );
    }
    out
}

fn md_table(headers: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.collect();
    if rows.is_empty() {
        return "None recorded.\n".into();
    }
    let mut out = format!(
        "| {} |\n|{}\n",
        headers.join(" | "),
        "---|".repeat(headers.len())
    );
    for row in rows {
        out += &format!("| {} |\n", row.join(" | "));
    }
    out
}

/// Escapes text for Markdown: one line, and no character that makes markup or HTML.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A digest or other token in a code span when that is safe, else escaped text.
fn md_code(s: &str) -> String {
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_:=+/.".contains(&b));
    if plain && !s.is_empty() {
        format!("`{s}`")
    } else {
        md(s)
    }
}
