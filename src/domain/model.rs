//! The security-domain file model (DESIGN.md, "Security-domain file formats"): version 2
//! (`SharedKeys`, Shamir over GF(257)) and version 1 (`SplitKeys`, XOR pairs). Reading is
//! strict about what sdctl uses and tolerant of everything else: unknown fields are kept
//! and ignored, and the REST body wrapper `{"value": "<SD JSON as a string>"}` is accepted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::DomainError;
use crate::files;
use crate::primitives::base64url;
use crate::primitives::jwe::CompactJwe;

/// Largest SD file accepted (real ones are a few hundred KiB).
pub const MAX_SD_FILE: u64 = 32 * 1024 * 1024;
/// The only KDF named in `EncData.kdf`.
pub const KDF_SP108: &str = "sp108_kdf";
/// `SharedKeys.key_algorithm` of version 2.
pub const SHAMIR: &str = "shamir_share";
/// `SplitKeys.key_algorithm` of version 1.
pub const XOR_SPLIT: &str = "xor_split";
/// Fewest wrapping keys Managed HSM uses.
pub const MIN_SHARES: usize = 3;
/// Most wrapping keys Managed HSM uses.
pub const MAX_SHARES: usize = 10;
/// Smallest quorum.
pub const MIN_QUORUM: usize = 2;
/// Largest quorum.
pub const MAX_QUORUM: usize = 10;

/// One encrypted state blob of the HSM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Datum {
    /// Compact JWE, `alg: dir`, `enc: A256CBC-HS512`.
    pub compact_jwe: String,
    /// The label of the datum's key derivation.
    pub tag: String,
    /// Fields sdctl does not use, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `EncData`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncData {
    /// The encrypted state blobs.
    pub data: Vec<Datum>,
    /// Always `sp108_kdf`.
    pub kdf: String,
    /// Fields sdctl does not use.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One share (v2) or half (v1) of the master key, encrypted to one wrapping certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncShare {
    /// Compact JWE to the certificate's RSA key.
    pub enc_key: String,
    /// Unpadded base64url SHA-256 of the certificate's DER.
    pub x5t_256: String,
    /// Fields sdctl does not use.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `SharedKeys` (v2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SharedKeys {
    /// One share per wrapping certificate.
    pub enc_shares: Vec<EncShare>,
    /// `shamir_share`.
    pub key_algorithm: String,
    /// The quorum.
    pub required: usize,
    /// Fields sdctl does not use.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One XOR pair of version 1.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SplitPair {
    /// First half.
    pub key1: EncShare,
    /// Second half.
    pub key2: EncShare,
    /// Fields sdctl does not use.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `SplitKeys` (v1).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SplitKeys {
    /// `xor_split`.
    pub key_algorithm: String,
    /// The pairs; any pair whose two certificates you hold rebuilds the master key.
    pub keys: Vec<SplitPair>,
    /// Fields sdctl does not use.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// How the master key is split among the wrapping keys.
#[derive(Clone, Debug)]
pub enum KeySplit {
    /// Version 2: `required` of the shares rebuild the master key.
    Shamir(SharedKeys),
    /// Version 1: both halves of any one pair rebuild it.
    Xor(SplitKeys),
}

/// A parsed security domain.
#[derive(Clone, Debug)]
pub struct SecurityDomain {
    /// 1 or 2.
    pub version: u32,
    /// The encrypted HSM state.
    pub enc_data: EncData,
    /// The split of the master key.
    pub split: KeySplit,
    /// Top-level fields sdctl does not use.
    pub other: Map<String, Value>,
}

/// A security domain read from a file, with what identifies that file.
#[derive(Clone, Debug)]
pub struct SdFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// SHA-256 (hex) of the file's bytes, for the ceremony record.
    pub sha256: String,
    /// Whether the file held the REST wrapper `{"value": "..."}`.
    pub wrapped: bool,
    /// The security domain.
    pub domain: SecurityDomain,
}

impl SdFile {
    /// Reads and validates a security-domain file.
    pub fn read(path: &Path) -> Result<Self, DomainError> {
        let bytes = files::read_bounded(path, MAX_SD_FILE, "a security-domain file")?;
        let (domain, wrapped) =
            SecurityDomain::from_json(&bytes).map_err(|detail| DomainError::Invalid {
                path: path.to_owned(),
                detail,
            })?;
        Ok(SdFile {
            path: path.to_owned(),
            sha256: hex(&Sha256::digest(&bytes)),
            wrapped,
            domain,
        })
    }
}

impl SecurityDomain {
    /// Parses SD JSON (bare or wrapped); returns the domain and whether it was wrapped.
    /// Errors are one line saying where in the file the problem is.
    pub fn from_json(bytes: &[u8]) -> Result<(Self, bool), String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("file is empty; expected security-domain JSON".into());
        }
        let value: Value = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        let (value, wrapped) = match value {
            Value::Object(ref map) if !map.contains_key("EncData") && map.contains_key("value") => {
                match map.get("value") {
                    Some(Value::String(inner)) => (
                        serde_json::from_str(inner)
                            .map_err(|e| format!("'value' holds a string that is not JSON: {e}"))?,
                        true,
                    ),
                    _ => return Err("'value' is not a string holding the security domain".into()),
                }
            }
            other => (other, false),
        };
        let Value::Object(mut top) = value else {
            return Err("not a JSON object; expected a security domain".into());
        };
        let version = match top.remove("version") {
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|v| *v == 1 || *v == 2)
                .ok_or_else(|| format!("version {n} is not supported (1 or 2)"))?
                as u32,
            Some(_) => return Err("'version' is not a number".into()),
            None => return Err("no 'version' field; not a security-domain file".into()),
        };
        let enc_data: EncData = take(&mut top, "EncData")?;
        validate_enc_data(&enc_data)?;
        let split = if version == 2 {
            let shared: SharedKeys = take(&mut top, "SharedKeys")?;
            validate_shared(&shared)?;
            KeySplit::Shamir(shared)
        } else {
            let split: SplitKeys = take(&mut top, "SplitKeys")?;
            validate_split(&split)?;
            KeySplit::Xor(split)
        };
        Ok((
            SecurityDomain {
                version,
                enc_data,
                split,
                other: top,
            },
            wrapped,
        ))
    }

    /// The JSON of a version 2 domain, as Managed HSM and the Azure CLI lay it out.
    pub fn to_json(&self) -> Result<String, DomainError> {
        let mut top = self.other.clone();
        top.insert("EncData".into(), to_value(&self.enc_data)?);
        match &self.split {
            KeySplit::Shamir(shared) => {
                top.insert("SharedKeys".into(), to_value(shared)?);
            }
            KeySplit::Xor(split) => {
                top.insert("SplitKeys".into(), to_value(split)?);
            }
        }
        top.insert("version".into(), Value::from(self.version));
        serde_json::to_string(&Value::Object(top)).map_err(|e| DomainError::Crypto(e.to_string()))
    }

    /// The quorum (v1: 2, both halves of a pair).
    pub fn required(&self) -> usize {
        match &self.split {
            KeySplit::Shamir(s) => s.required,
            KeySplit::Xor(_) => 2,
        }
    }

    /// Every share (v2) or half (v1) with its location in the file, in file order.
    pub fn shares(&self) -> Vec<(String, &EncShare)> {
        match &self.split {
            KeySplit::Shamir(s) => s
                .enc_shares
                .iter()
                .enumerate()
                .map(|(i, share)| (format!("SharedKeys.enc_shares[{i}]"), share))
                .collect(),
            KeySplit::Xor(s) => s
                .keys
                .iter()
                .enumerate()
                .flat_map(|(i, pair)| {
                    [
                        (format!("SplitKeys.keys[{i}].key1"), &pair.key1),
                        (format!("SplitKeys.keys[{i}].key2"), &pair.key2),
                    ]
                })
                .collect(),
        }
    }
}

fn take<T: serde::de::DeserializeOwned>(
    top: &mut Map<String, Value>,
    name: &str,
) -> Result<T, String> {
    let value = top
        .remove(name)
        .ok_or_else(|| format!("missing '{name}'"))?;
    serde_json::from_value(value).map_err(|e| format!("'{name}' is malformed: {e}"))
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, DomainError> {
    serde_json::to_value(v).map_err(|e| DomainError::Crypto(e.to_string()))
}

fn validate_enc_data(enc: &EncData) -> Result<(), String> {
    if enc.kdf != KDF_SP108 {
        return Err(format!(
            "EncData.kdf is '{}'; only '{KDF_SP108}' is known",
            enc.kdf
        ));
    }
    if enc.data.is_empty() {
        return Err("EncData.data is empty: the security domain holds no HSM state".into());
    }
    for (i, d) in enc.data.iter().enumerate() {
        if d.tag.is_empty() {
            return Err(format!("EncData.data[{i}].tag is empty"));
        }
        CompactJwe::parse(&d.compact_jwe)
            .map_err(|e| format!("EncData.data[{i}].compact_jwe: {e}"))?;
    }
    Ok(())
}

fn validate_share(location: &str, share: &EncShare) -> Result<(), String> {
    match base64url::decode(&share.x5t_256) {
        Some(d) if d.len() == 32 => {}
        _ => {
            return Err(format!(
                "{location}.x5t_256 is not a base64url SHA-256 thumbprint"
            ))
        }
    }
    CompactJwe::parse(&share.enc_key).map_err(|e| format!("{location}.enc_key: {e}"))?;
    Ok(())
}

fn validate_shared(shared: &SharedKeys) -> Result<(), String> {
    if shared.key_algorithm != SHAMIR {
        return Err(format!(
            "SharedKeys.key_algorithm is '{}'; version 2 uses '{SHAMIR}'",
            shared.key_algorithm
        ));
    }
    let n = shared.enc_shares.len();
    if !(MIN_SHARES..=MAX_SHARES).contains(&n) {
        return Err(format!(
            "SharedKeys has {n} shares; Managed HSM uses {MIN_SHARES} to {MAX_SHARES}"
        ));
    }
    if shared.required < MIN_QUORUM || shared.required > MAX_QUORUM || shared.required > n {
        return Err(format!(
            "SharedKeys.required is {} with {n} shares; the quorum must be {MIN_QUORUM} to {MAX_QUORUM} and at most the number of shares",
            shared.required
        ));
    }
    for (i, share) in shared.enc_shares.iter().enumerate() {
        let location = format!("SharedKeys.enc_shares[{i}]");
        validate_share(&location, share)?;
        if let Some(j) = shared.enc_shares[..i]
            .iter()
            .position(|s| s.x5t_256 == share.x5t_256)
        {
            return Err(format!(
                "{location} has the same certificate thumbprint as enc_shares[{j}]: a duplicated share"
            ));
        }
    }
    Ok(())
}

fn validate_split(split: &SplitKeys) -> Result<(), String> {
    if split.key_algorithm != XOR_SPLIT {
        return Err(format!(
            "SplitKeys.key_algorithm is '{}'; version 1 uses '{XOR_SPLIT}'",
            split.key_algorithm
        ));
    }
    if split.keys.is_empty() {
        return Err("SplitKeys.keys is empty".into());
    }
    for (i, pair) in split.keys.iter().enumerate() {
        validate_share(&format!("SplitKeys.keys[{i}].key1"), &pair.key1)?;
        validate_share(&format!("SplitKeys.keys[{i}].key2"), &pair.key2)?;
    }
    Ok(())
}

fn describe_json_error(e: serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!("truncated JSON (ends at line {})", e.line()),
        Category::Syntax if e.to_string().contains("recursion limit") => {
            "JSON nested too deeply".into()
        }
        Category::Syntax | Category::Data => format!("not valid JSON: {e}"),
        Category::Io => format!("cannot read JSON: {e}"),
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
