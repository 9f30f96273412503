//! The plan file (`plan.toml`): who takes part, which HSM, the quorum, key sizes, where the
//! ceremony's files go, and whether it spans two machines. Parsed strictly: an unknown key
//! is a typo until proven otherwise, so it is refused with its name.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::domain::model::hex;
use crate::files::read_bounded_nonempty;
use crate::keys::generate::{parse_subject, validate_names, GenerateOptions};

/// Largest plan file read.
const MAX_PLAN_BYTES: u64 = 1024 * 1024;
/// Fewest and most custodians a security domain accepts.
pub const CUSTODIANS: std::ops::RangeInclusive<usize> = 3..=10;
/// The clouds a plan's `cloud` may name (as `--cloud` does; the HSM client's `Cloud::ALL`).
pub const CLOUDS: [&str; 3] = ["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"];

/// A plan that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {detail}", path.display())]
pub struct PlanError {
    /// The plan file.
    pub path: PathBuf,
    /// What is wrong, and what to do.
    pub detail: String,
}

/// How the ceremony spreads over machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Machines {
    /// An air-gapped machine that holds private keys and an online one that talks to the
    /// HSM; bundles carry public data between them.
    Two,
    /// Everything on one machine: rehearsals against the local emulator only.
    One,
}

impl Machines {
    /// The plan's spelling (`two`, `one`).
    pub fn name(self) -> &'static str {
        match self {
            Machines::Two => "two",
            Machines::One => "one",
        }
    }
}

/// How a quorum of custodians opens the security domain in drills and recoveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuorumMode {
    /// The custodians bring their keys to the air-gapped machine and type their passphrases.
    Together,
    /// Each custodian exports their own share to a ceremony session from their own device
    /// (`sdctl sd share-export`); no private key leaves its custodian.
    Distributed,
}

impl QuorumMode {
    /// The plan's spelling (`together`, `distributed`).
    pub fn name(self) -> &'static str {
        match self {
            QuorumMode::Together => "together",
            QuorumMode::Distributed => "distributed",
        }
    }
}

/// `[ceremony]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonySection {
    /// The ceremony's name, on every record.
    pub name: String,
    /// Where the ceremony's files go (relative to the plan file's directory).
    pub output_dir: PathBuf,
    /// `two` (air-gapped + online) or `one` (rehearsal on the emulator).
    pub machines: Machines,
    /// Who runs the tool.
    #[serde(default)]
    pub operator: Option<String>,
}

/// An HSM: by name (and cloud) or by URL.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsmSection {
    /// The Managed HSM's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The cloud of `name` (default AzureCloud).
    #[serde(default)]
    pub cloud: Option<String>,
    /// The base URL instead of a name (an emulated HSM's `https://127.0.0.1:PORT`).
    #[serde(default)]
    pub url: Option<String>,
    /// Extra CA certificates to trust (the emulator's `ca.pem`), relative to the plan.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Break-glass bearer token file (the emulator's `admin.token`), relative to the plan.
    #[serde(default)]
    pub access_token_file: Option<PathBuf>,
    /// Hosts beyond the cloud's own and loopback that may receive this HSM's access token
    /// (exact names, as `--allow-host`); recorded in the transcript when used.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
}

/// `[keys]`: the custodians' new keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// RSA size: 2048, 3072 (default) or 4096.
    #[serde(default = "default_bits")]
    pub bits: u32,
    /// Certificate validity in days (default 730).
    #[serde(default = "default_days")]
    pub days: u32,
    /// Subject attributes before each custodian's CN, `openssl req -subj` style.
    #[serde(default)]
    pub subject: Option<String>,
    /// The PKCS#11 module of custodians whose key is on a token (`token = "pkcs11:..."`),
    /// unless their URI names its own `module-path` or `--pkcs11-module` is given.
    #[serde(default)]
    pub pkcs11_module: Option<PathBuf>,
}

fn default_bits() -> u32 {
    crate::keys::generate::DEFAULT_BITS
}
fn default_days() -> u32 {
    crate::keys::generate::DEFAULT_DAYS
}

impl Default for KeysSection {
    fn default() -> Self {
        KeysSection {
            bits: default_bits(),
            days: default_days(),
            subject: None,
            pkcs11_module: None,
        }
    }
}

/// `[security_domain]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSection {
    /// Custodians needed to recover (2..=custodians).
    pub quorum: usize,
    /// `together` (default) or `distributed`.
    #[serde(default = "default_mode")]
    pub quorum_mode: QuorumMode,
    /// Who rebuilds the quorum in drills and recoveries (default: the first `quorum`).
    #[serde(default)]
    pub quorum_custodians: Vec<String>,
}

fn default_mode() -> QuorumMode {
    QuorumMode::Together
}

/// `[[custodian]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Custodian {
    /// Name: the key's file stem and the certificate's CN.
    pub name: String,
    /// How to reach them.
    #[serde(default)]
    pub contact: Option<String>,
    /// Their key is on a PKCS#11 token: `pkcs11:token=LABEL` (the activation makes the key
    /// `sdctl-NAME` there) or a URI naming an existing key (`object=` or `id=`, e.g. a
    /// YubiKey's slot 9d key made with ykman), which is used as it is.
    #[serde(default)]
    pub token: Option<String>,
}

/// `[[witness]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witness {
    /// Name.
    pub name: String,
    /// Role (internal audit, security officer, ...).
    #[serde(default)]
    pub role: Option<String>,
}

/// `[recovery]`: the new HSM of `ceremony recover`, and the full backup to restore into it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySection {
    /// The new HSM.
    #[serde(default)]
    pub hsm: Option<HsmSection>,
    /// The storage container holding the full backup (`https://...` or, for the emulator,
    /// `file:///DIR`).
    #[serde(default)]
    pub backup_storage_uri: Option<String>,
    /// The backup folder to restore (`mhsm-NAME-YYYYMMDDhhmmss`).
    #[serde(default)]
    pub backup_folder: Option<String>,
    /// A file holding the storage SAS token (a secret: kept out of the plan itself).
    #[serde(default)]
    pub backup_token_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    ceremony: CeremonySection,
    hsm: HsmSection,
    #[serde(default)]
    keys: KeysSection,
    security_domain: DomainSection,
    #[serde(default)]
    custodian: Vec<Custodian>,
    #[serde(default)]
    witness: Vec<Witness>,
    #[serde(default)]
    recovery: RecoverySection,
}

/// A checked plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The plan file.
    pub path: PathBuf,
    /// SHA-256 (hex) of the plan file's bytes.
    pub sha256: String,
    /// `[ceremony]`.
    pub ceremony: CeremonySection,
    /// `[hsm]`.
    pub hsm: HsmSection,
    /// `[keys]`.
    pub keys: KeysSection,
    /// `[security_domain]`.
    pub domain: DomainSection,
    /// The custodians, in order (passphrase-file lines follow this order).
    pub custodians: Vec<Custodian>,
    /// The witnesses.
    pub witnesses: Vec<Witness>,
    /// `[recovery]`.
    pub recovery: RecoverySection,
}

impl Plan {
    /// Reads and checks the plan at `path`.
    pub fn load(path: &Path) -> Result<Plan, crate::Error> {
        let bytes = read_bounded_nonempty(path, MAX_PLAN_BYTES, "a ceremony plan")?;
        Ok(Plan::parse(path, &bytes)?)
    }

    /// Parses and checks plan text (`path` names it in errors and anchors relative paths).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Plan, PlanError> {
        let fail = |detail: String| PlanError {
            path: path.to_owned(),
            detail,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
        let file: PlanFile = toml::from_str(text).map_err(|e| fail(one_line(&e.to_string())))?;
        let plan = Plan {
            path: path.to_owned(),
            sha256: hex(&Sha256::digest(bytes)),
            ceremony: file.ceremony,
            hsm: file.hsm,
            keys: file.keys,
            domain: file.security_domain,
            custodians: file.custodian,
            witnesses: file.witness,
            recovery: file.recovery,
        };
        plan.check().map_err(fail)?;
        Ok(plan)
    }

    /// The directory relative paths in the plan start from.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// A path from the plan, resolved against the plan's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir().join(path)
        }
    }

    /// The ceremony's output directory.
    pub fn output_dir(&self) -> PathBuf {
        self.resolve(&self.ceremony.output_dir)
    }

    /// The custodians' names, in plan order.
    pub fn custodian_names(&self) -> Vec<String> {
        self.custodians.iter().map(|c| c.name.clone()).collect()
    }

    /// Custodian `name`'s token URI, when their key is on a token.
    pub fn custodian_token(&self, name: &str) -> Option<&str> {
        self.custodians
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.token.as_deref())
    }

    /// Who rebuilds the quorum: `quorum_custodians`, or the first `quorum` custodians.
    pub fn quorum_custodians(&self) -> Vec<String> {
        if self.domain.quorum_custodians.is_empty() {
            self.custodian_names()
                .into_iter()
                .take(self.domain.quorum)
                .collect()
        } else {
            self.domain.quorum_custodians.clone()
        }
    }

    /// The new HSM of a recovery (`[recovery] hsm`), or an error saying to add it.
    pub fn recovery_hsm(&self) -> Result<&HsmSection, PlanError> {
        self.recovery.hsm.as_ref().ok_or_else(|| {
            self.error(
                "a recovery needs the new HSM: add [recovery] hsm = { name = \"...\" } (or url)"
                    .into(),
            )
        })
    }

    /// Key generation options from `[keys]`.
    pub fn generate_options(&self) -> Result<GenerateOptions, PlanError> {
        let subject = match &self.keys.subject {
            Some(s) => parse_subject(s).map_err(|e| self.error(format!("[keys] subject: {e}")))?,
            None => Vec::new(),
        };
        Ok(GenerateOptions {
            bits: self.keys.bits,
            days: self.keys.days,
            subject,
        })
    }

    /// An error about this plan.
    pub fn error(&self, detail: String) -> PlanError {
        PlanError {
            path: self.path.clone(),
            detail,
        }
    }

    fn check(&self) -> Result<(), String> {
        let name = self.ceremony.name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err("[ceremony] name: give 1 to 128 printable characters".into());
        }
        let names = self.custodian_names();
        if !CUSTODIANS.contains(&names.len()) {
            return Err(format!(
                "{} [[custodian]] entries: a Managed HSM security domain needs 3 to 10 custodians",
                names.len()
            ));
        }
        validate_names(&names, names.len()).map_err(|e| {
            e.to_string()
                .replace("--names", "[[custodian]] name")
                .replace("--count", "the custodian count")
        })?;
        for c in &self.custodians {
            if let Some(token) = &c.token {
                let uri = crate::keys::token::Pkcs11Uri::parse(token)
                    .map_err(|e| format!("[[custodian]] {} token: {}", c.name, e.detail))?;
                if uri.module_path.is_some() || uri.pin_source.is_some() {
                    return Err(format!(
                        "[[custodian]] {} token: module-path and pin-source are not taken from a plan; name the module once in [keys] pkcs11_module, and give PINs at the prompt or with --pin-file",
                        c.name
                    ));
                }
            }
        }
        let quorum = self.domain.quorum;
        if quorum < 2 {
            return Err(format!("[security_domain] quorum {quorum}: refused, a quorum below 2 lets one custodian alone rebuild the HSM's root of trust; choose 2 or more"));
        }
        if quorum > names.len() {
            return Err(format!(
                "[security_domain] quorum {quorum}: only {} custodians are named",
                names.len()
            ));
        }
        let chosen = &self.domain.quorum_custodians;
        if !chosen.is_empty() {
            if let Some(x) = chosen.iter().find(|c| !names.contains(c)) {
                return Err(format!(
                    "[security_domain] quorum_custodians: '{x}' is not a [[custodian]]"
                ));
            }
            let mut unique = chosen.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != chosen.len() || chosen.len() < quorum {
                return Err(format!("[security_domain] quorum_custodians: name at least {quorum} different custodians"));
            }
        }
        for (i, w) in self.witnesses.iter().enumerate() {
            if w.name.trim().is_empty() {
                return Err(format!(
                    "[[witness]] number {} name: must not be empty",
                    i + 1
                ));
            }
        }
        self.generate_options()
            .map_err(|e| e.detail)?
            .validate()
            .map_err(|e| format!("[keys] {}", e.to_string().trim_start_matches("--")))?;
        for (section, h) in self.hsms() {
            check_hsm(section, h)?;
        }
        let r = &self.recovery;
        let backup = [
            r.backup_storage_uri.is_some(),
            r.backup_folder.is_some(),
            r.backup_token_file.is_some(),
        ];
        if backup.iter().any(|b| *b) && !backup.iter().all(|b| *b) {
            return Err("[recovery]: give backup_storage_uri, backup_folder and backup_token_file together (or none)".into());
        }
        if self.ceremony.machines == Machines::One {
            for (section, h) in self.hsms() {
                if !h.url.as_deref().is_some_and(is_loopback_url) {
                    let more = if section == "[recovery] hsm" {
                        "; give it the emulator's url, or comment it out until a recovery"
                    } else {
                        ""
                    };
                    return Err(format!("{section} ({}): refused with [ceremony] machines = \"one\", which is for rehearsals against the local emulator (an https://127.0.0.1 url) only: private keys and the network must not share a machine{more}; for a real HSM use machines = \"two\"", describe_hsm(h)));
                }
            }
        }
        Ok(())
    }

    /// The plan's HSM entries, each with the name of its place in the plan.
    fn hsms(&self) -> impl Iterator<Item = (&'static str, &HsmSection)> {
        std::iter::once(("[hsm]", &self.hsm))
            .chain(self.recovery.hsm.as_ref().map(|h| ("[recovery] hsm", h)))
    }
}

fn check_hsm(section: &str, h: &HsmSection) -> Result<(), String> {
    match (&h.name, &h.url) {
        (Some(_), Some(_)) => return Err(format!("{section}: give name or url, not both")),
        (None, None) => return Err(format!("{section}: give the HSM's name (or url)")),
        _ => {}
    }
    if let Some(cloud) = &h.cloud {
        if cloud.eq_ignore_ascii_case("AzureGermanCloud") {
            return Err(format!("{section} cloud = \"{cloud}\": Azure Germany was closed in 2021; Managed HSMs in German regions are in AzureCloud"));
        }
        if !CLOUDS.iter().any(|c| c.eq_ignore_ascii_case(cloud)) {
            return Err(format!(
                "{section} cloud = \"{cloud}\": unknown cloud; use one of {}",
                CLOUDS.join(", ")
            ));
        }
    }
    Ok(())
}

/// How the plan names an HSM entry, for messages: `name = "prod"` or `url = "..."`.
fn describe_hsm(h: &HsmSection) -> String {
    match (&h.name, &h.url) {
        (_, Some(url)) => format!("url = \"{url}\""),
        (Some(name), None) => format!("name = \"{name}\""),
        (None, None) => "no name or url".to_owned(),
    }
}

/// Whether `url` is `https://` on a loopback address (the local emulator).
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    // The authority ends where the URL parser ends it; user information ('127.0.0.1:1@'
    // before another host) makes it no loopback URL.
    let host_port = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    if host_port.contains('@') {
        return false;
    }
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
