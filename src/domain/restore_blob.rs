//! The restore blob uploaded to a new HSM: every datum re-encrypted under a fresh master
//! key, and that key wrapped to the new HSM's exchange key.
//! `{"EncData": {"data": [...], "kdf": "sp108_kdf"}, "WrappedKey": {"enc_key", "x5t_256"}}`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::data;
use super::exchange::ExchangeKey;
use super::hsm::new_master_key;
use super::model::{EncData, EncShare, SdFile, KDF_SP108};
use super::unlock::{self, Unlocked};
use super::DomainError;
use crate::keys::WrappingKey;
use crate::primitives::jwe;

/// A restore blob.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RestoreBlob {
    /// The HSM state under the new master key.
    #[serde(rename = "EncData")]
    pub enc_data: EncData,
    /// The new master key, wrapped to the exchange key.
    #[serde(rename = "WrappedKey")]
    pub wrapped_key: EncShare,
}

impl RestoreBlob {
    /// Parses a restore blob (bare, or inside `{"value": "..."}`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
        let value = match value {
            Value::Object(ref m) if m.contains_key("value") && !m.contains_key("EncData") => {
                match m.get("value") {
                    Some(Value::String(s)) => serde_json::from_str(s)
                        .map_err(|e| format!("'value' is not restore-blob JSON: {e}"))?,
                    _ => return Err("'value' is not a string".into()),
                }
            }
            other => other,
        };
        let blob: RestoreBlob =
            serde_json::from_value(value).map_err(|e| format!("not a restore blob: {e}"))?;
        if blob.enc_data.kdf != KDF_SP108 {
            return Err(format!("EncData.kdf is '{}'", blob.enc_data.kdf));
        }
        Ok(blob)
    }

    /// The blob's JSON, laid out as the Azure CLI writes `--sd-file-restore-blob`
    /// (Python `json.dumps` defaults).
    pub fn to_json(&self) -> Result<String, DomainError> {
        super::pyjson::to_string(self).map_err(|e| DomainError::Crypto(e.to_string()))
    }

    /// The upload body: `{"value": "<blob JSON as a string>"}`.
    pub fn upload_body(&self) -> Result<String, DomainError> {
        let mut body = Map::new();
        body.insert("value".into(), Value::from(self.to_json()?));
        serde_json::to_string(&body).map_err(|e| DomainError::Crypto(e.to_string()))
    }
}

/// Opens `file` with a quorum of `keys` and builds its restore blob for `exchange`;
/// returns the blob and which keys were used.
pub fn build_with_keys(
    file: &SdFile,
    keys: &[WrappingKey],
    exchange: &ExchangeKey,
) -> Result<(RestoreBlob, Unlocked), DomainError> {
    let unlocked = unlock::unlock(&file.path, &file.domain, keys)?;
    build_unlocked(file, unlocked, exchange)
}

/// Builds the restore blob of `file` for `exchange` once the master key is rebuilt,
/// however its shares were opened (custodian keys, or share exports of a distributed
/// quorum); returns the blob and `unlocked` (which shares were used).
pub fn build_unlocked(
    file: &SdFile,
    unlocked: Unlocked,
    exchange: &ExchangeKey,
) -> Result<(RestoreBlob, Unlocked), DomainError> {
    let blob = build(
        &file.path,
        &file.domain.enc_data,
        &unlocked.master_key,
        exchange,
    )?;
    Ok((blob, unlocked))
}

/// Builds the restore blob for `exchange` from the domain's data, opened with
/// `master_key` (every datum is authenticated first; `path` names the SD file in errors).
pub fn build(
    path: &Path,
    enc_data: &EncData,
    master_key: &[u8],
    exchange: &ExchangeKey,
) -> Result<RestoreBlob, DomainError> {
    let opened = data::open_all(path, enc_data, master_key)?;
    let new_master = new_master_key()?;
    let data = opened
        .iter()
        .map(|d| data::seal(&new_master, &d.tag, &d.plaintext))
        .collect::<Result<Vec<_>, _>>()?;
    let x5t_256 = exchange.x5t_256.clone().ok_or_else(|| DomainError::Usage(
        "the exchange key has no certificate, so its x5t_256 is unknown; give the certificate (az keyvault security-domain init-recovery writes one) or the transfer-key response".into(),
    ))?;
    // The header the Azure CLI gives the wrapped key, which Managed HSM accepts.
    let mut header = Map::new();
    header.insert("kid".into(), Value::from("not used"));
    let enc_key = jwe::encrypt_rsa_oaep256(&new_master, &exchange.public, &header)
        .map_err(|e| DomainError::Crypto(e.to_string()))?;
    Ok(RestoreBlob {
        enc_data: EncData {
            data,
            kdf: KDF_SP108.into(),
            other: Map::new(),
        },
        wrapped_key: EncShare {
            enc_key,
            x5t_256,
            other: Map::new(),
        },
    })
}
