//! Naming an HSM: `--hsm-name NAME [--cloud C]` or `--hsm-url URL`, the token audience it
//! wants, and the Entra ID authority and Resource Manager of each cloud.

use reqwest::Url;

use super::HsmError;

/// The data-plane API version sdctl speaks (DESIGN.md accepts 7.2 to 7.6).
pub const API_VERSION: &str = "7.4";

/// The Resource Manager API version used for `hsm status`.
pub const ARM_API_VERSION: &str = "2023-07-01";

/// An Azure cloud, named as the Azure CLI names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// The public cloud.
    AzureCloud,
    /// Azure Government.
    AzureUSGovernment,
    /// Azure operated by 21Vianet.
    AzureChinaCloud,
}

/// Azure Germany, as the Azure CLI named it. It closed in 2021 (Microsoft ended the service
/// on 29 October 2021); its name is refused with that reason, and its HSM host suffix
/// ([`RETIRED_GERMAN_HSM_SUFFIX`]) is no cloud's.
pub const RETIRED_GERMAN_CLOUD: &str = "AzureGermanCloud";

/// The Managed HSM host suffix Azure Germany used.
pub const RETIRED_GERMAN_HSM_SUFFIX: &str = "managedhsm.microsoftazure.de";

/// Why Azure Germany is refused, and what to use instead.
pub const RETIRED_GERMAN_NOTE: &str = "Azure Germany (AzureGermanCloud) was closed in 2021; \
     Managed HSMs in German regions are in AzureCloud (e.g. germanywestcentral)";

impl Cloud {
    /// Every cloud, for help texts and parsing.
    pub const ALL: [Cloud; 3] = [
        Cloud::AzureCloud,
        Cloud::AzureUSGovernment,
        Cloud::AzureChinaCloud,
    ];

    /// The Azure CLI's name of the cloud.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "AzureCloud",
            Cloud::AzureUSGovernment => "AzureUSGovernment",
            Cloud::AzureChinaCloud => "AzureChinaCloud",
        }
    }

    /// Parses a cloud name (case-insensitive). The retired AzureGermanCloud is refused,
    /// saying so.
    pub fn parse(name: &str) -> Result<Cloud, HsmError> {
        if name.eq_ignore_ascii_case(RETIRED_GERMAN_CLOUD) {
            return Err(HsmError::Usage(format!(
                "--cloud {name}: {RETIRED_GERMAN_NOTE}; use --cloud AzureCloud"
            )));
        }
        Cloud::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                HsmError::Usage(format!(
                    "--cloud {name}: unknown cloud; use one of {}",
                    Cloud::ALL.map(Cloud::name).join(", ")
                ))
            })
    }

    /// The DNS suffix of Managed HSMs in this cloud.
    pub fn hsm_suffix(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "managedhsm.azure.net",
            Cloud::AzureUSGovernment => "managedhsm.usgovcloudapi.net",
            Cloud::AzureChinaCloud => "managedhsm.azure.cn",
        }
    }

    /// The DNS suffix of Blob Storage accounts in this cloud (where a full backup goes).
    pub fn blob_suffix(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "blob.core.windows.net",
            Cloud::AzureUSGovernment => "blob.core.usgovcloudapi.net",
            Cloud::AzureChinaCloud => "blob.core.chinacloudapi.cn",
        }
    }

    /// The token audience of the Managed HSM data plane.
    pub fn hsm_resource(self) -> String {
        format!("https://{}", self.hsm_suffix())
    }

    /// The Entra ID authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "https://login.microsoftonline.com",
            Cloud::AzureUSGovernment => "https://login.microsoftonline.us",
            Cloud::AzureChinaCloud => "https://login.chinacloudapi.cn",
        }
    }

    /// The Resource Manager endpoint (also its token audience).
    pub fn resource_manager(self) -> &'static str {
        match self {
            Cloud::AzureCloud => "https://management.azure.com",
            Cloud::AzureUSGovernment => "https://management.usgovcloudapi.net",
            Cloud::AzureChinaCloud => "https://management.chinacloudapi.cn",
        }
    }

    /// The cloud whose HSM suffix `host` is under.
    fn of_host(host: &str) -> Option<Cloud> {
        super::host_scope::cloud_of_hsm_host(host)
    }
}

/// A Managed HSM's data plane: its base URL and the token audience it accepts.
#[derive(Clone, Debug)]
pub struct Endpoint {
    base: Url,
    /// The token audience (`https://managedhsm.azure.net` in the public cloud and the emulator).
    pub resource: String,
    /// The cloud, when known from `--cloud` or the host name.
    pub cloud: Option<Cloud>,
}

impl Endpoint {
    /// The HSM called `name` in `cloud`: `https://NAME.managedhsm.azure.net` and so on.
    pub fn from_name(name: &str, cloud: Cloud) -> Result<Endpoint, HsmError> {
        check_name(name)?;
        let base = Url::parse(&format!("https://{name}.{}", cloud.hsm_suffix()))
            .map_err(|e| HsmError::Usage(format!("--hsm-name {name}: {e}")))?;
        Ok(Endpoint {
            base,
            resource: cloud.hsm_resource(),
            cloud: Some(cloud),
        })
    }

    /// The HSM at `url` (`https://NAME.managedhsm.azure.net/`, or an emulated HSM's
    /// `https://127.0.0.1:PORT`). Only `https` is accepted: the calls carry a
    /// bearer token.
    pub fn from_url(url: &str) -> Result<Endpoint, HsmError> {
        let bad = |why: &str| HsmError::Usage(format!("--hsm-url {url}: {why}"));
        let mut base = Url::parse(url.trim()).map_err(|e| bad(&e.to_string()))?;
        if base.scheme() != "https" {
            return Err(bad(
                "only https URLs are accepted (the calls carry an access token)",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() || !base.username().is_empty() {
            return Err(bad(
                "give the HSM's base URL, without query, fragment or user",
            ));
        }
        let host = base.host_str().ok_or_else(|| bad("the URL has no host"))?;
        let cloud = Cloud::of_host(host);
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        Ok(Endpoint {
            resource: cloud.unwrap_or(Cloud::AzureCloud).hsm_resource(),
            cloud,
            base,
        })
    }

    /// The HSM's name: the last path segment of the base URL (`.../hsm/NAME`), else the
    /// first label of a host name (`NAME.managedhsm.azure.net`); `None` for an address
    /// without a path (the emulator's `https://127.0.0.1:PORT`), which names no HSM.
    pub fn name(&self) -> Option<String> {
        let last_segment = self
            .base
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty());
        if let Some(segment) = last_segment {
            return Some(segment.to_owned());
        }
        let host = self.base.host_str()?;
        let address = host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok();
        if address || host.eq_ignore_ascii_case("localhost") {
            return None;
        }
        host.split('.').next().map(str::to_owned)
    }

    /// The base URL, parsed (what [`super::host_scope::HostScope::check`] reads).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The URL of data-plane `path` (no leading slash) with `api-version`.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        url
    }

    /// Whether `url` is on the HSM's own origin (scheme, host and port), so that the
    /// access token may be sent to it.
    pub fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }
}

/// Checks a Managed HSM name: 3 to 24 letters, digits and hyphens, starting with a letter,
/// not ending with a hyphen, no two hyphens in a row.
fn check_name(name: &str) -> Result<(), HsmError> {
    let ok = (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(HsmError::Usage(format!(
            "--hsm-name '{name}': a Managed HSM name is 3 to 24 letters, digits and hyphens, starts with a letter and does not end with a hyphen; for another URL use --hsm-url"
        )))
    }
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
