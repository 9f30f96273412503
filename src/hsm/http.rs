//! The HTTP layer: one rustls client (ring provider, our trust anchors added), bounded
//! answers, and the translation of error answers into [`HsmError`]s that say what to do.

use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::HsmError;
use crate::files::read_bounded_nonempty;

/// No answer of the data plane is larger than this (a security domain is ~10 KiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The largest CA certificate file read (a bundle of a few hundred certificates).
const MAX_CA_FILE: u64 = 1024 * 1024;

/// Seconds to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Seconds for a whole request and its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Installs ring as the process's rustls provider (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads extra trust anchors (PEM CA certificates: `--ca-cert`, a plan's `ca_cert`) from
/// `path`, checked as the HTTPS client will read them, so that a file holding none is
/// refused by its name before any connection.
pub fn read_ca_certificates(path: &Path) -> Result<Vec<u8>, HsmError> {
    let pem = read_bounded_nonempty(path, MAX_CA_FILE, "CA certificates (PEM)")?;
    let refuse = |detail: String| {
        HsmError::Usage(format!(
            "{}: {detail}; CA files hold PEM certificates (the emulator's STATE_DIR/ca.pem)",
            path.display()
        ))
    };
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err(refuse("holds no PEM certificate".into())),
        Err(e) => Err(refuse(format!(
            "is not a readable PEM certificate bundle ({})",
            chain(&e)
        ))),
    }
}

/// A client trusting the platform's roots plus `ca_pem` (PEM certificates, as
/// [`read_ca_certificates`] returns them).
pub fn reqwest_client(ca_pem: Option<&[u8]>) -> Result<reqwest::Client, HsmError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sdctl/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| HsmError::Usage(format!("the extra CA certificates are not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(HsmError::Usage(
                "the extra CA certificates hold no PEM certificate".into(),
            ));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| HsmError::Usage(format!("cannot set up HTTPS: {}", chain(&e))))
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Response {
    /// The URL that answered (without query).
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
}

impl Response {
    /// Reads `response` whole, refusing bodies over [`MAX_BODY`].
    pub async fn read(mut response: reqwest::Response) -> Result<Response, HsmError> {
        let url = display_url(response.url());
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(HsmError::BadResponse {
                            url,
                            detail: format!("the answer is larger than {MAX_BODY} bytes"),
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(network_error(&url, &e)),
            }
        }
        Ok(Response {
            url,
            status,
            headers,
            body,
        })
    }

    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, HsmError> {
        serde_json::from_slice(&self.body).map_err(|e| HsmError::BadResponse {
            url: self.url.clone(),
            detail: format!("the body is not JSON ({e})"),
        })
    }

    /// The error this non-2xx answer stands for; `resource` is the audience the token was
    /// obtained for.
    pub fn into_error(self, resource: &str) -> HsmError {
        let (code, message) = error_body(&self.body);
        match self.status {
            401 => {
                let wanted = self
                    .header("www-authenticate")
                    .and_then(|c| challenge_param(c, "resource"));
                let hint = match wanted {
                    Some(r) if r.trim_end_matches('/') != resource.trim_end_matches('/') => format!(
                        "the HSM wants a token for '{r}', but one for '{resource}' was sent; check --hsm-url/--cloud"
                    ),
                    _ => format!(
                        "sign in again ('az login', or renew the credential), and make sure the token is for '{resource}' in the HSM's tenant"
                    ),
                };
                HsmError::Unauthorized {
                    url: self.url,
                    message,
                    hint,
                }
            }
            403 => {
                let action = missing_action(&message);
                let hint = match &action {
                    Some(a) => format!("ask an HSM administrator for a role holding '{a}' ('sdctl hsm role check' lists what you hold)"),
                    None => "ask an HSM administrator for a role holding this data action ('sdctl hsm role check' lists what you hold)".to_owned(),
                };
                HsmError::Forbidden {
                    url: self.url,
                    message,
                    action,
                    hint,
                }
            }
            status => HsmError::Service {
                url: self.url,
                status,
                code,
                message,
            },
        }
    }
}

/// `{"error": {"code", "message"}}` (Key Vault, ARM), or the start of whatever it is.
fn error_body(body: &[u8]) -> (String, String) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let e = &v["error"];
        let code = e["code"]
            .as_str()
            .or(v["error"].as_str())
            .unwrap_or("Error");
        let message = e["message"]
            .as_str()
            .or(v["error_description"].as_str())
            .unwrap_or("(no message)");
        return (code.to_owned(), message.to_owned());
    }
    let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (
        "Error".into(),
        if text.is_empty() {
            "(empty body)".into()
        } else {
            text
        },
    )
}

/// A parameter of a `WWW-Authenticate: Bearer a="b", c="d"` challenge.
fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let rest = challenge.trim().strip_prefix("Bearer")?;
    rest.split(',').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        (key.trim().eq_ignore_ascii_case(name)).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The data action a 403 message names (`'Microsoft.KeyVault/managedHsm/...'`).
fn missing_action(message: &str) -> Option<String> {
    let start = message.find("Microsoft.KeyVault/managedHsm/")?;
    let rest = &message[start..];
    let end = rest
        .find(|c: char| c == '\'' || c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches(['.', ',']).to_owned())
}

/// A URL for messages: without the query string.
pub fn display_url(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

/// Whether a transport failure is the server's TLS certificate being refused.
pub fn is_certificate_error(e: &reqwest::Error) -> bool {
    let text = chain(e);
    text.contains("certificate") || text.contains("UnknownIssuer")
}

/// A transport failure, described for people.
pub fn network_error(url: &str, e: &reqwest::Error) -> HsmError {
    let mut text = chain(e);
    // The message starts with the URL already (without its query): not twice.
    if let Some(full) = e.url() {
        text = text.replace(&format!(" for url ({full})"), "");
    }
    let detail = if is_certificate_error(e) {
        format!("TLS: the server's certificate is not trusted ({text}); for the emulator pass --ca-cert STATE_DIR/ca.pem")
    } else if e.is_timeout() {
        format!("no answer in time ({text})")
    } else if e.is_connect() {
        format!("cannot connect ({text}); check the URL and the network")
    } else {
        format!("the connection failed ({text})")
    };
    HsmError::Network {
        url: url.to_owned(),
        detail,
    }
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
