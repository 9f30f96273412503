//! The Markdown rendering of the ceremony record: lists wrapped to 78 columns (between
//! words, so never inside a digest group) that read well as text and render well; every
//! piece of text from the transcript is escaped.

use super::{Model, Part, Section, Value, DIGEST_ADVICE};
use crate::ceremony::ui::wrap;

/// Width the Markdown is wrapped to.
const WIDTH: usize = 78;

/// Renders the whole record.
pub(super) fn render(m: &Model) -> String {
    let mut out = format!("# {}\n\n", md(&m.title));
    for (label, value) in m.summary.iter().filter(|(_, v)| !v.is_empty()) {
        out += &lines(&format!("- {label}: {}", value_md(value)), "  ");
    }
    if !m.warnings.is_empty() {
        out += "\n## Warnings\n\n";
        for w in &m.warnings {
            out += &lines(&format!("- **{}**", md(w)), "  ");
        }
    }
    out += &format!("\n## {}\n\n", m.digest_label());
    if m.final_digest.is_empty() {
        out += &format!("{}\n", md(m.no_digest));
    } else {
        let digest = m.digest_text();
        let half = digest.len() / 2;
        // 16 groups: two lines of eight, split at the space between groups 8 and 9.
        out += &format!("    {}\n    {}\n", &digest[..half], &digest[half + 1..]);
    }
    out += &format!("\n{}\n", lines(DIGEST_ADVICE, ""));
    out += "Written by hand from the screen at the close, four characters a box:\n\n";
    out += &hand_box();
    out += "\n## Participants\n";
    out += &section(&m.custodian_section(), "###");
    out += &section(&m.witness_section(), "###");
    if !m.operator.is_empty() {
        out += &format!("\nOperator: {}\n", md(&m.operator));
    }
    for s in &m.sections {
        out += &section(s, "##");
    }
    out += "\n## Signatures\n\n";
    out += &lines(
        &format!(
            "By signing I confirm I was present at ceremony {} and that the digest \
             above is the one shown at its close.",
            md(&m.ceremony)
        ),
        "",
    );
    out += "\n";
    for (role, name) in m.signatories() {
        let who = if name.is_empty() {
            md(&role)
        } else {
            format!("{} {}", md(&role), md(&name))
        };
        out += &lines(&format!("- {who}, ceremony {}:", md(&m.ceremony)), "  ");
        out += "  Name ____________________  Signature ____________________  \
                Date __________\n\n";
    }
    out
}

/// Sixteen ruled boxes, two rows of eight, numbered, for the digest written by hand.
fn hand_box() -> String {
    let rule = format!("    +{}\n", "------+".repeat(8));
    let mut out = String::new();
    for row in 0..2 {
        let numbers: String = (1..=8).map(|i| format!("{:<6}|", i + 8 * row)).collect();
        out += &rule;
        out += &format!("    |{numbers}\n");
        out += &format!("    |{}\n", "      |".repeat(8));
    }
    out + &rule
}

fn section(s: &Section, level: &str) -> String {
    let mut out = format!("\n{level} {}\n\n", s.title);
    if s.items.is_empty() {
        return out + &format!("{}\n", md(s.none));
    }
    out += &format!("Each entry: {}.\n\n", s.headers.join(" · "));
    for item in &s.items {
        let cells: Vec<String> = item.cells.iter().map(value_md).collect();
        out += &lines(&format!("- {}", cells.join(" · ")), "  ");
        for (label, value) in &item.details {
            let text = if label.is_empty() {
                format!("  - {}", value_md(value))
            } else {
                format!("  - {label}: {}", value_md(value))
            };
            out += &lines(&text, "    ");
        }
    }
    out
}

/// `text` wrapped to [`WIDTH`], continuation lines indented by `indent`.
fn lines(text: &str, indent: &str) -> String {
    let lead = text.len() - text.trim_start().len();
    let mut out = String::new();
    for (i, line) in wrap(text, WIDTH - indent.len().max(lead))
        .iter()
        .enumerate()
    {
        let pad = if i == 0 { &text[..lead] } else { indent };
        out += &format!("{pad}{line}\n");
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

fn value_md(v: &Value) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.iter()
        .map(|p| match p {
            Part::Text(t) => md(t),
            Part::Digest(d) => d.clone(),
            Part::Token(t) => md_code(t),
        })
        .collect()
}

/// Escapes text for Markdown: one line, and no character that makes markup or HTML.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A token in a code span when that is safe, else escaped text.
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
