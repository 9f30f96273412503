//! RFC 7512 PKCS#11 URIs: `pkcs11:token=Alice;object=sdctl-alice?module-path=/usr/lib/...`.
//! Path attributes pick the token and the object; query attributes name the module and
//! where the PIN comes from. `pin-value` is refused: a PIN in a URI sits on argv, in shell
//! history and in plan files.

use std::fmt;
use std::path::{Path, PathBuf};

/// Prefix of every PKCS#11 URI.
pub const SCHEME: &str = "pkcs11:";

/// A parsed PKCS#11 URI. Text attributes are percent-decoded; `id` is raw bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer.
    pub manufacturer: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `object`: the object label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the object id (CKA_ID).
    pub id: Option<Vec<u8>>,
    /// `type`: `private`, `public`, `cert`, `secret-key` or `data`.
    pub object_type: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `module-path`: the module to load.
    pub module_path: Option<PathBuf>,
    /// `module-name`: the module's name (informational; a path is needed to load it).
    pub module_name: Option<String>,
    /// `pin-source`: a file holding the PIN (only `file:` sources are honoured).
    pub pin_source: Option<PathBuf>,
}

/// A PKCS#11 URI could not be parsed or is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{uri}: {detail}")]
pub struct UriError {
    /// The URI as given, with any `pin-value` redacted.
    pub uri: String,
    /// What is wrong and what to do.
    pub detail: String,
}

/// Whether a key reference given on the command line or in a plan is a PKCS#11 URI (a
/// file literally named so can be given as `./pkcs11:...`).
pub fn is_pkcs11_uri(reference: &Path) -> bool {
    reference
        .to_str()
        .and_then(|s| s.get(..SCHEME.len()))
        .is_some_and(|p| p.eq_ignore_ascii_case(SCHEME))
}

impl Pkcs11Uri {
    /// Parses `text`. Refuses `pin-value`, unknown standard attributes, repeated
    /// attributes, bad percent-encoding and text attributes that are not UTF-8.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let fail = |detail: String| UriError {
            uri: redact(text),
            // A detail quotes parts of the text: never a PIN among them.
            detail: redact(&detail),
        };
        let Some(rest) = text
            .get(..SCHEME.len())
            .filter(|p| p.eq_ignore_ascii_case(SCHEME))
            .map(|_| &text[SCHEME.len()..])
        else {
            return Err(fail("not a PKCS#11 URI (expected 'pkcs11:...')".into()));
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri::default();
        let mut seen: Vec<String> = Vec::new();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = split_attr(attr).map_err(&fail)?;
            note_once(&mut seen, &name).map_err(&fail)?;
            let bytes = percent_decode(value).map_err(|d| fail(format!("{name}: {d}")))?;
            let text = || utf8(&name, &bytes).map_err(&fail);
            match name.as_str() {
                "token" => uri.token = Some(text()?),
                "manufacturer" => uri.manufacturer = Some(text()?),
                "serial" => uri.serial = Some(text()?),
                "model" => uri.model = Some(text()?),
                "object" => uri.object = Some(text()?),
                "id" => uri.id = Some(bytes),
                "type" => {
                    let t = text()?;
                    if !["private", "public", "cert", "secret-key", "data"].contains(&t.as_str()) {
                        return Err(fail(format!(
                            "type={t}: expected private, public, cert, secret-key or data"
                        )));
                    }
                    uri.object_type = Some(t);
                }
                "slot-id" => {
                    let t = text()?;
                    uri.slot_id = Some(t.parse().map_err(|_| {
                        fail(format!("slot-id={t}: expected a decimal slot number"))
                    })?);
                }
                "library-manufacturer" | "library-description" | "library-version"
                | "slot-description" | "slot-manufacturer" => {
                    text()?;
                }
                "pin-value" | "pin-source" | "module-path" | "module-name" => {
                    return Err(fail(format!(
                        "{name} belongs in the query part, after '?'"
                    )))
                }
                other if other.starts_with("x-") => {}
                other => {
                    return Err(fail(format!(
                        "unknown path attribute '{other}' (RFC 7512: token, manufacturer, serial, model, object, id, type, slot-id, ...)"
                    )))
                }
            }
        }
        for attr in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
        {
            let (name, value) = split_attr(attr).map_err(&fail)?;
            note_once(&mut seen, &name).map_err(&fail)?;
            if name == "pin-value" {
                return Err(fail(
                    "a PIN in the URI (pin-value) is refused: it would sit on the command line, in shell history and in files; type it at the prompt or use --pin-file".into(),
                ));
            }
            let bytes = percent_decode(value).map_err(|d| fail(format!("{name}: {d}")))?;
            let text = utf8(&name, &bytes).map_err(&fail)?;
            match name.as_str() {
                "module-path" => uri.module_path = Some(PathBuf::from(text)),
                "module-name" => uri.module_name = Some(text),
                "pin-source" => uri.pin_source = Some(pin_source_file(&text).map_err(&fail)?),
                // RFC 7512: unknown query attributes are ignored.
                _ => {}
            }
        }
        if uri.object.is_none() && uri.id.is_none() && uri.token.is_none() && uri.serial.is_none() {
            return Err(fail(
                "names neither a token nor an object; give at least token= and object= (or id=)"
                    .into(),
            ));
        }
        Ok(uri)
    }

    /// Whether a token with this label, manufacturer, serial and model matches the URI.
    pub fn matches_token(
        &self,
        label: &str,
        manufacturer: &str,
        serial: &str,
        model: &str,
    ) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w == have.trim_end())
        };
        eq(&self.token, label)
            && eq(&self.manufacturer, manufacturer)
            && eq(&self.serial, serial)
            && eq(&self.model, model)
    }
}

impl fmt::Display for Pkcs11Uri {
    /// The canonical form: path attributes in RFC order, then `module-path` and
    /// `pin-source` (never a PIN).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |v: &Option<String>| v.as_deref().map(|t| percent_encode_value(t.as_bytes()));
        // Every byte of an id escaped: read aloud and compared as hex.
        let id = self
            .id
            .as_ref()
            .map(|id| id.iter().map(|b| format!("%{b:02X}")).collect::<String>());
        let fields = [
            ("token", text(&self.token)),
            ("manufacturer", text(&self.manufacturer)),
            ("serial", text(&self.serial)),
            ("model", text(&self.model)),
            ("object", text(&self.object)),
            ("id", id),
            ("type", text(&self.object_type)),
            ("slot-id", self.slot_id.map(|s| s.to_string())),
        ];
        let path: Vec<String> = fields
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
            .collect();
        write!(f, "{SCHEME}{}", path.join(";"))?;
        let mut query: Vec<String> = Vec::new();
        if let Some(m) = &self.module_path {
            query.push(format!(
                "module-path={}",
                percent_encode(m.to_string_lossy().as_bytes())
            ));
        }
        if let Some(m) = &self.module_name {
            query.push(format!(
                "module-name={}",
                percent_encode_value(m.as_bytes())
            ));
        }
        if let Some(p) = &self.pin_source {
            query.push(format!(
                "pin-source=file:{}",
                percent_encode(p.to_string_lossy().as_bytes())
            ));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

fn split_attr(attr: &str) -> Result<(String, &str), String> {
    let (name, value) = attr
        .split_once('=')
        .ok_or_else(|| format!("attribute '{}' has no '='", redact(attr)))?;
    if name.is_empty() {
        return Err("an attribute has an empty name".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        // An encoded name (`pin%2Dvalue`) would slip past the checks made on names.
        return Err(format!(
            "attribute name '{}' is not plain letters, digits and '-'",
            redact(name)
        ));
    }
    Ok((name.to_ascii_lowercase(), value))
}

fn note_once(seen: &mut Vec<String>, name: &str) -> Result<(), String> {
    if seen.iter().any(|s| s == name) {
        return Err(format!("attribute '{name}' appears twice"));
    }
    seen.push(name.to_owned());
    Ok(())
}

fn utf8(name: &str, bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{name}: not UTF-8 text"))
}

/// `pin-source` is honoured only as a file: `file:/path`, `file:///path` or a bare
/// absolute path. Commands (`|prog`) and other URI schemes are refused.
fn pin_source_file(text: &str) -> Result<PathBuf, String> {
    let path = if let Some(rest) = text.strip_prefix("file://") {
        rest
    } else if let Some(rest) = text.strip_prefix("file:") {
        rest
    } else {
        text
    };
    if path.starts_with('/') {
        Ok(PathBuf::from(path))
    } else {
        Err(format!(
            "pin-source={text}: only a file is honoured (file:/absolute/path); give the PIN at the prompt or with --pin-file"
        ))
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is an error.
pub fn percent_decode(value: &str) -> Result<Vec<u8>, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    "bad percent-encoding (expected %XX with two hex digits)".to_string()
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/` (for the file
/// paths of query attributes).
pub fn percent_encode(value: &[u8]) -> String {
    encode(value, true)
}

/// Percent-encodes a path attribute's value: everything but RFC 3986 unreserved
/// characters (an id's bytes may be anything, `/` included).
pub fn percent_encode_value(value: &[u8]) -> String {
    encode(value, false)
}

fn encode(value: &[u8], keep_slash: bool) -> String {
    value
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b'/' if keep_slash => "/".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URI with the value of any `pin-value` attribute replaced, for messages (an
/// attribute name spelled with escapes, `pin%2Dvalue`, counts too).
pub fn redact(text: &str) -> String {
    let lowered = text.to_ascii_lowercase();
    let text = &if lowered.contains('%') {
        plain_names(text)
    } else {
        text.to_owned()
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(pos) = rest.to_ascii_lowercase().find("pin-value=") {
        let start = pos + "pin-value=".len();
        out.push_str(&rest[..start]);
        out.push_str("(redacted)");
        let end = rest[start..]
            .find(['&', ';', '?'])
            .map(|e| start + e)
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `text` with `%2D`/`%2d` in attribute names decoded (for [`redact`] only).
fn plain_names(text: &str) -> String {
    text.split_inclusive(['=', ';', '&', '?'])
        .map(|part| match part.strip_suffix('=') {
            Some(name) => format!("{}=", name.replace("%2D", "-").replace("%2d", "-")),
            None => part.to_owned(),
        })
        .collect()
}

#[cfg(test)]
#[path = "uri_tests.rs"]
mod tests;
