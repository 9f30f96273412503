//! A tolerant PEM reader and a strict PEM writer.
//!
//! Real key files carry more than RFC 7468 allows: `openssl pkcs12 -nodes` writes
//! "Bag Attributes" text between blocks, and legacy encrypted PKCS#1 keys carry RFC 1421
//! headers (`Proc-Type`, `DEK-Info`). Text outside blocks is ignored; inside a block,
//! headers are kept and the base64 body must be valid.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

/// One `-----BEGIN X-----` … `-----END X-----` block.
pub struct PemBlock {
    /// The label, e.g. `ENCRYPTED PRIVATE KEY`.
    pub label: String,
    /// RFC 1421 headers (`Proc-Type`, `DEK-Info`), in order.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may be a private key: show its size only.
        write!(f, "PemBlock({}, {} bytes)", self.label, self.der.len())
    }
}

impl PemBlock {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The block re-encoded as canonical PEM (headers kept), for handing to OpenSSL.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(format!("-----BEGIN {}-----\n", self.label));
        if !self.headers.is_empty() {
            for (k, v) in &self.headers {
                out.push_str(k);
                out.push_str(": ");
                out.push_str(v);
                out.push('\n');
            }
            out.push('\n');
        }
        let end = format!("-----END {}-----\n", self.label);
        push_base64_lines(&mut out, &self.der, end.len());
        out.push_str(&end);
        out
    }
}

/// Why PEM text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// A block has no END line: the file was cut short.
    #[error("truncated PEM: '-----BEGIN {0}-----' has no matching END line")]
    Truncated(String),
    /// BEGIN and END labels differ.
    #[error("PEM block 'BEGIN {begin}' ends with 'END {end}'")]
    LabelMismatch {
        /// The BEGIN label.
        begin: String,
        /// The END label.
        end: String,
    },
    /// The body is not valid base64.
    #[error("PEM block '{label}' has invalid base64 on line {line}")]
    Base64 {
        /// The block's label.
        label: String,
        /// 1-based line number in the file.
        line: usize,
    },
    /// The body is empty.
    #[error("PEM block '{0}' is empty")]
    Empty(String),
    /// A line is not text.
    #[error("line {0} of the PEM text is not UTF-8")]
    NotText(usize),
}

/// Whether `data` looks like PEM (a BEGIN line anywhere).
pub fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Reads every PEM block in `data`.
pub fn parse_all(data: &[u8]) -> Result<Vec<PemBlock>, PemError> {
    let mut blocks = Vec::new();
    let mut lines = data.split(|&b| b == b'\n').enumerate();
    while let Some((_, raw)) = lines.next() {
        let Some(label) = boundary(raw, "BEGIN") else {
            continue;
        };
        let label = label.to_owned();
        let mut headers = Vec::new();
        // Room for the whole body up front: a growing buffer would leave copies of a
        // private key's base64 behind in freed memory.
        let mut body = Zeroizing::new(String::with_capacity(data.len()));
        let mut in_headers = true;
        let mut ended = false;
        for (number, raw) in lines.by_ref() {
            let line = std::str::from_utf8(raw)
                .map_err(|_| PemError::NotText(number + 1))?
                .trim();
            if let Some(end) = boundary(raw, "END") {
                if end != label {
                    return Err(PemError::LabelMismatch {
                        begin: label,
                        end: end.to_owned(),
                    });
                }
                ended = true;
                break;
            }
            if boundary(raw, "BEGIN").is_some() {
                return Err(PemError::Truncated(label));
            }
            if in_headers {
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    continue;
                }
                in_headers = false;
                if line.is_empty() {
                    continue;
                }
            }
            if line.bytes().any(|b| !is_base64_byte(b)) {
                return Err(PemError::Base64 {
                    label,
                    line: number + 1,
                });
            }
            body.push_str(line);
        }
        if !ended {
            return Err(PemError::Truncated(label));
        }
        let der =
            Zeroizing::new(
                STANDARD
                    .decode(body.as_bytes())
                    .map_err(|_| PemError::Base64 {
                        label: label.clone(),
                        line: 0,
                    })?,
            );
        if der.is_empty() {
            return Err(PemError::Empty(label));
        }
        blocks.push(PemBlock {
            label,
            headers,
            der,
        });
    }
    Ok(blocks)
}

/// Encodes `der` as a PEM block with `label` (64-character lines, LF endings).
pub fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(format!("-----BEGIN {label}-----\n"));
    let end = format!("-----END {label}-----\n");
    push_base64_lines(&mut out, der, end.len());
    out.push_str(&end);
    out
}

/// Appends `der` as base64 lines, first reserving room for them and `trailer` more bytes:
/// the text never moves, so no copy of a private key is left in freed memory.
fn push_base64_lines(out: &mut String, der: &[u8], trailer: usize) {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    out.reserve(b64.len() + b64.len().div_ceil(64) + trailer);
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
}

fn boundary<'a>(raw: &'a [u8], kind: &str) -> Option<&'a str> {
    let line = std::str::from_utf8(raw).ok()?.trim();
    let rest = line.strip_prefix("-----")?.strip_prefix(kind)?;
    let rest = rest.strip_prefix(' ')?;
    rest.strip_suffix("-----")
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

#[cfg(test)]
#[path = "pem_tests.rs"]
mod tests;
