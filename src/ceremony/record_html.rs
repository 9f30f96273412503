//! The HTML rendering of the ceremony record: one self-contained page with an inline,
//! print-friendly style sheet; no scripts, no links, no external resources. Every piece
//! of text from the transcript is escaped.

use super::{grouped, Model, DIGEST_ADVICE};

const STYLE: &str = "\
@page { size: A4; margin: 14mm; }
body { font-family: Georgia, 'Times New Roman', serif; font-size: 10.5pt; color: #000;
       background: #fff; max-width: 60em; margin: 1em auto; line-height: 1.35; }
h1 { font-size: 17pt; border-bottom: 2px solid #000; padding-bottom: 0.2em; }
h2 { font-size: 13pt; margin-top: 1.4em; border-bottom: 1px solid #444; }
h3 { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 0.8em; }
th, td { border: 1px solid #000; padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
th { background: #eee; }
tr { page-break-inside: avoid; break-inside: avoid; }
code, .mono { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 9pt;
              word-break: break-all; }
.summary th { width: 12em; }
.digest { border: 3px double #000; padding: 0.6em 0.8em; margin: 1em 0; page-break-inside: avoid; }
.digest .value { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 15pt;
                 font-weight: bold; word-break: break-all; margin: 0.3em 0; }
.digest .groups { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12pt; }
.none { font-style: italic; }
.sign td { height: 3.2em; }
.sign td.who { width: 22%; }
footer { margin-top: 2em; font-size: 8.5pt; color: #333; }
";

/// Renders the whole page.
pub(super) fn render(m: &Model<'_>) -> String {
    let mut out = String::new();
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += &format!(
        "<title>{}</title>\n<style>\n{STYLE}</style>\n",
        esc(&m.title)
    );
    out += &format!("</head>\n<body>\n<h1>{}</h1>\n", esc(&m.title));
    out += "<table class=\"summary\">\n";
    for (label, value) in m.summary.iter().filter(|(_, v)| !v.is_empty()) {
        let cell = if *label == "Plan SHA-256" {
            format!("<code>{}</code>", esc(value))
        } else {
            esc(value)
        };
        out += &format!("<tr><th>{label}</th><td>{cell}</td></tr>\n");
    }
    out +=
        "</table>\n<div class=\"digest\">\n<div><strong>Final transcript digest</strong></div>\n";
    out += &format!(
        "<div class=\"value\">{}</div>\n<div class=\"groups\">{}</div>\n<p>{}</p>\n</div>\n",
        esc(&m.final_digest),
        esc(&grouped(&m.final_digest)),
        esc(DIGEST_ADVICE)
            .replacen('`', "<code>", 1)
            .replacen('`', "</code>", 1)
    );

    out += "<h2>Participants</h2>\n<h3>Custodians</h3>\n";
    out += &table(
        &[
            "Name",
            "Contact",
            "Certificate SHA-256 fingerprint",
            "x5t_256",
        ],
        m.custodians.iter().map(|c| {
            vec![
                esc(&c.name),
                esc(&c.contact),
                code(&c.fingerprint),
                code(&c.x5t_256),
            ]
        }),
    );
    out += "<h3>Witnesses</h3>\n";
    out += &table(
        &["Name", "Role"],
        m.witnesses.iter().map(|w| vec![esc(&w.name), esc(&w.role)]),
    );
    if !m.operator.is_empty() {
        out += &format!("<p>Operator: {}</p>\n", esc(&m.operator));
    }

    out += "<h2>Steps</h2>\n";
    out += &table(
        &["#", "Time", "Machine", "Actor", "Step", "Event", "Summary"],
        m.entries.iter().map(|e| {
            let cells = [&e.time, &e.machine, &e.actor, &e.step, &e.event, &e.summary];
            std::iter::once(e.seq.to_string())
                .chain(cells.map(|s| esc(s)))
                .collect()
        }),
    );
    out += "<h2>Files</h2>\n";
    out += &table(
        &["#", "Step", "In/out", "Name", "SHA-256", "Bytes"],
        m.files.iter().map(|f| {
            vec![
                f.seq.to_string(),
                esc(f.step),
                f.direction.to_owned(),
                esc(f.name),
                code(f.sha256),
                f.bytes.to_string(),
            ]
        }),
    );
    out += "<h2>Security domains retired</h2>\n";
    out += &table(
        &["#", "Time", "Summary", "Files (SHA-256)"],
        m.with_event("retired").map(|e| {
            let files: Vec<String> = e
                .inputs
                .iter()
                .map(|f| format!("{} {}", esc(&f.name), code(&f.sha256)))
                .collect();
            vec![
                e.seq.to_string(),
                esc(&e.time),
                esc(&e.summary),
                files.join("<br>"),
            ]
        }),
    );
    out += "<h2>Refusals</h2>\n";
    out += &table(
        &["#", "Time", "Actor", "Step", "Summary"],
        m.with_event("refused").map(|e| {
            let cells = [&e.time, &e.actor, &e.step, &e.summary];
            std::iter::once(e.seq.to_string())
                .chain(cells.map(|s| esc(s)))
                .collect()
        }),
    );

    out += "<h2>Signatures</h2>\n<table class=\"sign\">\n";
    out += "<tr><th>For</th><th>Name</th><th>Signature</th><th>Date</th></tr>\n";
    for (role, name) in m.signatories() {
        let who = if name.is_empty() {
            esc(&role)
        } else {
            format!("{}<br><strong>{}</strong>", esc(&role), esc(&name))
        };
        out += &format!("<tr><td class=\"who\">{who}</td><td></td><td></td><td></td></tr>\n");
    }
    out += "</table>\n<footer>Rendered by sdctl from the transcript entries only. The \
            transcript, not this page, is the evidence: check it with sdctl ceremony log \
            verify.</footer>\n</body>\n</html>\n";
    out
}

fn table(headers: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.collect();
    if rows.is_empty() {
        return "<p class=\"none\">None recorded.</p>\n".into();
    }
    let mut out = String::from("<table>\n<tr>");
    for h in headers {
        out += &format!("<th>{}</th>", esc(h));
    }
    out += "</tr>\n";
    for row in rows {
        out += "<tr>";
        for cell in row {
            out += &format!("<td>{cell}</td>");
        }
        out += "</tr>\n";
    }
    out + "</table>\n"
}

fn code(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("<code>{}</code>", esc(s))
    }
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
