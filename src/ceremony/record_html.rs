//! The HTML rendering of the ceremony record: one self-contained page with an inline,
//! print-ready style sheet; no scripts, no links, no external resources. Every piece of
//! text from the transcript is escaped.
//!
//! Printed (Chromium's print or `--print-to-pdf`), every page carries the ceremony id, the
//! final digest and "Page N of M" in its margins (CSS paged-media margin boxes); no
//! content is wider than the page (digests wrap only between their groups of four, other
//! long values anywhere); each row, and each signature block with the ceremony id, is kept
//! on one page. Black on white, no meaning carried by color. The paper size is the printer's
//! (A4 or US Letter both fit).

use super::{Model, Part, Section, Value, DIGEST_ADVICE};

const STYLE: &str = "\
body { font-family: 'DejaVu Serif', Georgia, 'Times New Roman', serif; font-size: 10pt;
       color: #000; background: #fff; max-width: 60em; margin: 1em auto; padding: 0 1em;
       line-height: 1.3; }
h1 { font-size: 16pt; border-bottom: 2px solid #000; padding-bottom: 0.2em; }
h2 { font-size: 13pt; margin-top: 1.3em; border-bottom: 1px solid #000;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; break-after: avoid; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 0.3em 0 0.8em; }
th, td { border: 1px solid #000; padding: 0.15em 0.35em; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; }
th { background: #e8e8e8; font-weight: bold; overflow-wrap: normal; }
table.seq td:first-child { white-space: nowrap; }
thead { display: table-header-group; }
tbody, tr { break-inside: avoid; page-break-inside: avoid; }
tr.d td { border-top: none; }
tbody tr:not(:last-child) td { border-bottom: none; }
.label { font-style: italic; }
.dg, code { font-family: 'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace;
            font-size: 8.5pt; overflow-wrap: normal; word-break: normal; }
.summary th { width: 9em; }
.warn { border: 3px solid #000; padding: 0.4em 0.6em; margin: 0.8em 0; font-weight: bold;
        break-inside: avoid; }
.warn p { margin: 0.2em 0; }
.digest { border: 3px double #000; padding: 0.5em 0.7em; margin: 1em 0; break-inside: avoid;
          page-break-inside: avoid; }
.digest .value { font-family: 'DejaVu Sans Mono', 'Liberation Mono', Menlo, monospace;
                 font-size: 12pt; font-weight: bold; margin: 0.3em 0; }
table.hand { table-layout: fixed; margin-top: 0.4em; }
table.hand td { height: 11mm; font-size: 6.5pt; vertical-align: top; padding: 0.5mm 1mm;
                border: 1.5px solid #000; }
.none { font-style: italic; }
.sig { border: 1.5px solid #000; padding: 0.4em 0.7em; margin: 0.6em 0; break-inside: avoid;
       page-break-inside: avoid; }
.sig .id { font-size: 8.5pt; }
.sig .lines { display: flex; gap: 1.2em; margin-top: 1.6em; }
.sig .line { border-top: 1px solid #000; padding-top: 0.1em; font-size: 8.5pt; flex: 3; }
.sig .line.date { flex: 1.3; }
footer { margin-top: 2em; font-size: 8.5pt; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  th { background: #e8e8e8; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
";

/// Renders the whole page.
pub(super) fn render(m: &Model) -> String {
    let mut out = String::new();
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += &format!(
        "<title>{}</title>\n<style>\n{STYLE}{}</style>\n",
        esc(&m.title),
        page_style(m)
    );
    out += &format!("</head>\n<body>\n<h1>{}</h1>\n", esc(&m.title));
    out += "<table class=\"summary\">\n";
    for (label, value) in m.summary.iter().filter(|(_, v)| !v.is_empty()) {
        out += &format!("<tr><th>{label}</th><td>{}</td></tr>\n", value_html(value));
    }
    out += "</table>\n";
    if !m.warnings.is_empty() {
        out += "<div class=\"warn\">\n";
        for w in &m.warnings {
            out += &format!("<p>{}</p>\n", esc(w));
        }
        out += "</div>\n";
    }
    out += &format!(
        "<div class=\"digest\">\n<div><strong>{}</strong> of {}</div>\n\
         <div class=\"value\">{}</div>\n<p>{}</p>\n{}</div>\n",
        esc(m.digest_label()),
        esc(&m.ceremony),
        big_digest(m),
        esc(DIGEST_ADVICE)
            .replacen('`', "<code>", 1)
            .replacen('`', "</code>", 1),
        hand_box()
    );
    out += "<h2>Participants</h2>\n";
    out += &section(&m.custodian_section(), "h3");
    out += &section(&m.witness_section(), "h3");
    if !m.operator.is_empty() {
        out += &format!("<p>Operator: {}</p>\n", esc(&m.operator));
    }
    for s in &m.sections {
        out += &section(s, "h2");
    }
    out += &signatures(m);
    out += "<footer>Rendered by sdctl from the transcript entries only. The \
            transcript, not this page, is the evidence: check it with sdctl ceremony log \
            verify.</footer>\n</body>\n</html>\n";
    out
}

/// The digest for the box: two lines of eight groups.
fn big_digest(m: &Model) -> String {
    let text = m.digest_text();
    if m.final_digest.is_empty() {
        return esc(&text);
    }
    let half = text.len() / 2;
    format!("{}<br>{}", esc(&text[..half]), esc(&text[half + 1..]))
}

/// The page margins: the ceremony id at the top, the digest and the page number at the
/// bottom of every printed page.
fn page_style(m: &Model) -> String {
    let digest = if m.closed {
        "Final digest"
    } else {
        "Digest so far"
    };
    format!(
        "@page {{ margin: 16mm 13mm 17mm;\n  \
         @top-left {{ content: \"{}\"; font: 8pt 'DejaVu Serif', serif; }}\n  \
         @bottom-left {{ content: \"{}\"; font: 7.5pt 'DejaVu Sans Mono', monospace; }}\n  \
         @bottom-right {{ content: \"Page \" counter(page) \" of \" counter(pages); \
         font: 8pt 'DejaVu Serif', serif; }}\n}}\n",
        css_string(&format!("sdctl ceremony record · {}", m.ceremony)),
        css_string(&format!("{digest}: {}", m.digest_text())),
    )
}

/// Sixteen ruled, numbered boxes (two rows of eight) for the digest written by hand.
fn hand_box() -> String {
    let mut out = String::from(
        "<div>Written by hand from the screen at the close, four characters a box:</div>\n\
         <table class=\"hand\">\n",
    );
    for row in 0..2 {
        out += "<tr>";
        for i in 1..=8 {
            out += &format!("<td>{}</td>", i + 8 * row);
        }
        out += "</tr>\n";
    }
    out + "</table>\n"
}

fn signatures(m: &Model) -> String {
    let mut out = String::from("<h2>Signatures</h2>\n");
    out += &format!(
        "<p>By signing I confirm I was present at ceremony {} and that the digest above is \
         the one shown at its close.</p>\n",
        esc(&m.ceremony)
    );
    for (role, name) in m.signatories() {
        let who = if name.is_empty() {
            format!("<strong>{}</strong>", esc(&role))
        } else {
            format!("{} <strong>{}</strong>", esc(&role), esc(&name))
        };
        out += &format!(
            "<div class=\"sig\">\n<div>{who}</div>\n<div class=\"id\">Ceremony {} · {}: \
             <span class=\"dg\">{}</span></div>\n<div class=\"lines\"><div class=\"line\">\
             Name</div><div class=\"line\">Signature</div><div class=\"line date\">Date</div>\
             </div>\n</div>\n",
            esc(&m.ceremony),
            if m.closed {
                "final digest"
            } else {
                "digest so far"
            },
            esc(&m.digest_text())
        );
    }
    out
}

/// A section: a table whose every item is a `tbody` (kept on one page): its cells on the
/// first row, then each detail on a row of its own across all columns but the first.
fn section(s: &Section, heading: &str) -> String {
    let mut out = format!("<{heading}>{}</{heading}>\n", esc(s.title));
    if s.items.is_empty() {
        return out + &format!("<p class=\"none\">{}</p>\n", esc(s.none));
    }
    let class = if s.headers.first() == Some(&"#") {
        " class=\"seq\""
    } else {
        ""
    };
    out += &format!("<table{class}>\n<thead><tr>");
    for h in s.headers {
        out += &format!("<th>{}</th>", esc(h));
    }
    out += "</tr></thead>\n";
    let span = s.headers.len().saturating_sub(1).max(1);
    for item in &s.items {
        out += "<tbody><tr>";
        for cell in &item.cells {
            out += &format!("<td>{}</td>", value_html(cell));
        }
        out += "</tr>";
        for (label, value) in &item.details {
            let label = if label.is_empty() {
                String::new()
            } else {
                format!("<span class=\"label\">{}:</span> ", esc(label))
            };
            out += &format!(
                "<tr class=\"d\"><td class=\"n\"></td><td colspan=\"{span}\">{label}{}</td></tr>",
                value_html(value)
            );
        }
        out += "</tbody>\n";
    }
    out + "</table>\n"
}

fn value_html(v: &Value) -> String {
    v.iter()
        .map(|p| match p {
            Part::Text(t) => esc(t),
            Part::Digest(d) => format!("<span class=\"dg\">{}</span>", esc(d)),
            Part::Token(t) => format!("<code>{}</code>", esc(t)),
        })
        .collect()
}

/// A CSS string literal's content: everything but letters, digits and spaces as a hex
/// escape, so that no text can end the string or the style sheet.
fn css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == ' ' {
            out.push(c);
        } else if c.is_control() {
            out.push_str("\\fffd ");
        } else {
            out.push_str(&format!("\\{:x} ", c as u32));
        }
    }
    out
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
