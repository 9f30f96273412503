//! Where a bearer token may go. A Managed HSM token goes only to a host under a cloud's
//! managedhsm DNS suffix (`NAME.managedhsm.azure.net`, ...) on port 443, or to a loopback
//! address (the local emulator); a Resource Manager token only to the cloud's Resource
//! Manager host on port 443, or to loopback. Any other host needs to be named explicitly
//! (`--allow-host HOST`, or a plan's `allow_hosts`). Always `https`.
//!
//! The check reads the same parsed [`Url`] the HTTP client connects to, so what is checked
//! is what is dialled: user info, case, IDN, trailing dots and IP literal spellings are
//! settled by the one parser before the host is compared.

use std::net::IpAddr;

use reqwest::Url;

use super::endpoint::Cloud;
use super::HsmError;

/// Which token a URL would receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A Managed HSM data-plane token.
    Hsm,
    /// A Resource Manager token of this cloud.
    Arm(Cloud),
    /// A storage SAS token: sdctl gives it to the HSM, which sends it to the storage
    /// account named beside it (`ACCOUNT.blob.core.windows.net`, ...).
    StorageSas,
}

/// Why a host may receive a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The cloud's own host (`NAME.managedhsm.azure.net`, `management.azure.com`).
    Cloud,
    /// A loopback address (127.0.0.0/8, `[::1]`, `localhost`): the local emulator.
    Loopback,
    /// A host named explicitly (`--allow-host`, a plan's `allow_hosts`).
    Allowed(String),
}

/// Where the explicit names come from, so that a refusal says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowVia {
    /// The command line (`--allow-host HOST`).
    Flag,
    /// A ceremony plan: the file and the section naming the HSM (`[hsm]`, `[recovery.hsm]`).
    Plan {
        /// The plan file, for messages.
        plan: String,
        /// The section.
        section: String,
    },
}

/// The hosts, beyond the cloud's own and loopback, that tokens may be sent to.
#[derive(Clone, Debug)]
pub struct HostScope {
    allowed: Vec<String>,
    via: AllowVia,
}

impl HostScope {
    /// A scope allowing exactly `hosts` beyond the defaults; each is a bare host name or
    /// IP address (no scheme, port or path), compared after the URL parser's normalising.
    pub fn new(hosts: &[String], via: AllowVia) -> Result<HostScope, HsmError> {
        let allowed = hosts
            .iter()
            .map(|h| normalise_host(h, &via))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HostScope { allowed, via })
    }

    /// A scope with no explicit host: the cloud's own hosts and loopback only.
    pub fn strict() -> HostScope {
        HostScope {
            allowed: Vec::new(),
            via: AllowVia::Flag,
        }
    }

    /// The explicitly allowed hosts, normalised.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    /// Whether a token of `kind` may be sent to `url`; the refusal names the URL, the host
    /// and how to allow it. Called before any credential is consulted, and again before
    /// every request.
    pub fn check(&self, url: &Url, kind: TokenKind) -> Result<Reach, HsmError> {
        let shown = super::http::display_url(url);
        let refuse = |detail: String| HsmError::HostNotInScope {
            url: shown.clone(),
            detail,
        };
        if url.scheme() != "https" {
            return Err(refuse("only https URLs receive a token".to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "a URL with user information (NAME@HOST) never receives a token".to_owned(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| refuse("the URL has no host".to_owned()))?;
        if is_loopback_host(host) {
            return Ok(Reach::Loopback);
        }
        if self.allowed.iter().any(|a| a == host) {
            return Ok(Reach::Allowed(host.to_owned()));
        }
        let default_port = url.port().is_none();
        let (ours, expected) = match kind {
            TokenKind::Hsm => (
                cloud_of_hsm_host(host).is_some(),
                format!(
                    "a Managed HSM host ({})",
                    Cloud::ALL
                        .map(|c| format!("*.{}", c.hsm_suffix()))
                        .join(", ")
                ),
            ),
            TokenKind::Arm(cloud) => {
                let arm = arm_host(cloud);
                (
                    host == arm,
                    format!("{}'s Resource Manager ({arm})", cloud.name()),
                )
            }
            TokenKind::StorageSas => (
                under_suffix(host, Cloud::ALL.map(Cloud::blob_suffix)).is_some(),
                format!(
                    "a Blob Storage account ({})",
                    Cloud::ALL
                        .map(|c| format!("*.{}", c.blob_suffix()))
                        .join(", ")
                ),
            ),
        };
        if ours && default_port {
            return Ok(Reach::Cloud);
        }
        let token = match kind {
            TokenKind::Hsm => "a Managed HSM access token",
            TokenKind::Arm(_) => "a Resource Manager access token",
            TokenKind::StorageSas => "the storage SAS token",
        };
        let why = if ours {
            format!(
                "{host} is {expected}, but on port {}, where the service does not listen",
                url.port().unwrap_or(443)
            )
        } else if matches!(kind, TokenKind::Hsm)
            && under_suffix(host, [super::endpoint::RETIRED_GERMAN_HSM_SUFFIX]).is_some()
        {
            format!(
                "{host} is in {}, not {expected}",
                super::endpoint::RETIRED_GERMAN_NOTE
            )
        } else if host.ends_with('.') {
            format!("{host} ends with a dot; write the host without it")
        } else {
            format!("{host} is not {expected} nor a loopback address")
        };
        Err(refuse(format!(
            "{why}, so {token} is not sent there; if this host really serves it (a private DNS name, say), {}",
            self.how_to_allow(host)
        )))
    }

    fn how_to_allow(&self, host: &str) -> String {
        match &self.via {
            AllowVia::Flag => format!("name it with --allow-host {host}"),
            AllowVia::Plan { plan, section } => {
                format!("add allow_hosts = [\"{host}\"] to {section} in {plan}")
            }
        }
    }
}

/// Whether `host` (as [`Url::host_str`] gives it) is a loopback address or `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `url` is `https` on a loopback address (the local emulator), parsed as the
/// HTTP client parses it.
pub fn is_loopback_url(url: &str) -> bool {
    Url::parse(url.trim()).is_ok_and(|u| {
        u.scheme() == "https"
            && u.username().is_empty()
            && u.password().is_none()
            && u.host_str().is_some_and(is_loopback_host)
    })
}

/// The cloud whose managedhsm suffix `host` is under (one label or more before it).
pub fn cloud_of_hsm_host(host: &str) -> Option<Cloud> {
    under_suffix(host, Cloud::ALL.map(Cloud::hsm_suffix)).map(|i| Cloud::ALL[i])
}

/// The index of the suffix in `suffixes` that `host` is under, with one label or more
/// before it.
fn under_suffix<const N: usize>(host: &str, suffixes: [&str; N]) -> Option<usize> {
    let host = host.to_ascii_lowercase();
    suffixes.iter().position(|suffix| {
        host.strip_suffix(suffix)
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|name| !name.is_empty() && !name.ends_with('.'))
    })
}

/// Checks the storage URI a SAS token goes with (through the HSM): a `file:///` directory
/// (the emulator's), or an `https` URL on a Blob Storage host, loopback, or a host that
/// `scope` names.
pub fn check_storage_host(scope: &HostScope, storage_uri: &str) -> Result<Reach, HsmError> {
    let url = Url::parse(storage_uri.trim()).map_err(|e| {
        HsmError::Usage(format!(
            "storage URI '{}': {e}",
            storage_uri
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .escape_debug()
        ))
    })?;
    if url.scheme() == "file" && url.host_str().is_none_or(str::is_empty) {
        return Ok(Reach::Loopback);
    }
    scope.check(&url, TokenKind::StorageSas)
}

/// The host of `cloud`'s Resource Manager (`management.azure.com`).
pub fn arm_host(cloud: Cloud) -> &'static str {
    cloud
        .resource_manager()
        .strip_prefix("https://")
        .unwrap_or(cloud.resource_manager())
}

/// One `--allow-host` value as the URL parser would spell the host, or a refusal.
fn normalise_host(value: &str, via: &AllowVia) -> Result<String, HsmError> {
    let what = match via {
        AllowVia::Flag => format!("--allow-host {value}"),
        AllowVia::Plan { plan, section } => format!("{plan}: {section} allow_hosts '{value}'"),
    };
    let bad = |why: &str| HsmError::Usage(format!("{what}: {why}"));
    let value = value.trim();
    if value.is_empty()
        || value.contains(['/', '@', '?', '#', '\\'])
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad(
            "give a host name or IP address only (no scheme, user, path or spaces)",
        ));
    }
    let ipv6 = value.parse::<std::net::Ipv6Addr>().is_ok();
    let bare_v6 = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .is_some_and(|v| v.parse::<std::net::Ipv6Addr>().is_ok());
    if value.contains(':') && !ipv6 && !bare_v6 {
        return Err(bad(
            "give the host without a port (any port of it is allowed)",
        ));
    }
    let bracketed = if ipv6 {
        format!("[{value}]")
    } else {
        value.to_owned()
    };
    let url = Url::parse(&format!("https://{bracketed}/")).map_err(|e| bad(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    Ok(host.to_owned())
}

#[cfg(test)]
#[path = "host_scope_tests.rs"]
mod tests;
