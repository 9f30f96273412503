//! The stored form of keys: a key is its versions (each with its own material, attributes,
//! tags and allowed operations); a deleted key keeps them until it is recovered or purged.
//! State files written before versions existed (one `StoredKey` per name) still load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Attributes of one key version, as the service reports them (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttributes {
    /// Whether operations may use it.
    pub enabled: bool,
    /// Not usable before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Not usable from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// When the version was made.
    pub created: u64,
    /// When it last changed.
    pub updated: u64,
}

/// One version of a key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyVersion {
    /// 32 lowercase hex characters (legacy keys: their creation time).
    pub version: String,
    /// `RSA-HSM`, `EC-HSM` or `oct-HSM`.
    pub kty: String,
    /// Key size in bits (RSA, AES) or the curve's size (EC).
    pub size: u32,
    /// The curve (`P-256`, `P-256K`, `P-384`, `P-521`) of an EC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The private key as PKCS#8 PEM (RSA, EC), or the AES key as standard base64.
    pub material: String,
    /// Its attributes.
    pub attributes: KeyAttributes,
    /// Its tags (at most 15).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The operations it allows.
    pub key_ops: Vec<String>,
}

/// A key: its versions, oldest first; the last one is the current version.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "StoredForm")]
pub struct KeyEntry {
    /// Every version, oldest first.
    pub versions: Vec<KeyVersion>,
}

impl KeyEntry {
    /// The current (newest) version.
    pub fn current(&self) -> Option<&KeyVersion> {
        self.versions.last()
    }

    /// The version named `version`.
    pub fn version(&self, version: &str) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.version == version)
    }
}

/// A deleted key, kept for its retention period.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeletedKey {
    /// The key as it was.
    pub entry: KeyEntry,
    /// When it was deleted (Unix seconds).
    pub deleted_date: u64,
    /// When it is purged by itself (Unix seconds).
    pub scheduled_purge_date: u64,
}

/// Soft-delete settings of an HSM, from its ARM resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// `softDeleteRetentionInDays` (7 to 90; 90 by default).
    pub days: u32,
    /// `enablePurgeProtection`: deleted keys cannot be purged before their time.
    pub purge_protection: bool,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            days: 90,
            purge_protection: false,
        }
    }
}

impl Retention {
    /// The `recoveryLevel` the service reports for keys under these settings.
    pub fn recovery_level(&self) -> &'static str {
        match (self.purge_protection, self.days == 90) {
            (false, true) => "Recoverable+Purgeable",
            (false, false) => "CustomizedRecoverable+Purgeable",
            (true, true) => "Recoverable",
            (true, false) => "CustomizedRecoverable",
        }
    }
}

/// What a state file holds for a key: the current form, or one key written before versions.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredForm {
    Current { versions: Vec<KeyVersion> },
    Legacy(LegacyKey),
}

/// A key as state files stored it before versions: one version named by its creation time.
#[derive(Deserialize)]
struct LegacyKey {
    kty: String,
    size: u32,
    material: String,
    created: u64,
    key_ops: Vec<String>,
}

impl From<StoredForm> for KeyEntry {
    fn from(form: StoredForm) -> Self {
        match form {
            StoredForm::Current { versions } => KeyEntry { versions },
            StoredForm::Legacy(k) => KeyEntry {
                versions: vec![KeyVersion {
                    version: k.created.to_string(),
                    kty: k.kty,
                    size: k.size,
                    crv: None,
                    material: k.material,
                    attributes: KeyAttributes {
                        enabled: true,
                        nbf: None,
                        exp: None,
                        created: k.created,
                        updated: k.created,
                    },
                    tags: BTreeMap::new(),
                    key_ops: k.key_ops,
                }],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_key_loads_as_one_version_named_by_its_creation_time() {
        let old = r#"{"kty":"RSA-HSM","size":2048,"material":"PEM","created":1700000000,
                      "key_ops":["sign"]}"#;
        let entry: KeyEntry = serde_json::from_str(old).unwrap();
        assert_eq!(entry.versions.len(), 1);
        let v = entry.current().unwrap();
        assert_eq!(v.version, "1700000000");
        assert_eq!(v.attributes.created, 1700000000);
        assert!(v.attributes.enabled);
        // And the current form round-trips.
        let again: KeyEntry =
            serde_json::from_str(&serde_json::to_string(&entry).unwrap()).unwrap();
        assert_eq!(again.versions[0].version, "1700000000");
    }

    #[test]
    fn a_malformed_key_does_not_load() {
        assert!(serde_json::from_str::<KeyEntry>(r#"{"kty":"RSA-HSM"}"#).is_err());
        assert!(serde_json::from_str::<KeyEntry>(r#"{"versions":"x"}"#).is_err());
    }

    #[test]
    fn recovery_levels_follow_retention_and_purge_protection() {
        let r = |days, purge_protection| Retention {
            days,
            purge_protection,
        };
        assert_eq!(r(90, false).recovery_level(), "Recoverable+Purgeable");
        assert_eq!(
            r(7, false).recovery_level(),
            "CustomizedRecoverable+Purgeable"
        );
        assert_eq!(r(90, true).recovery_level(), "Recoverable");
        assert_eq!(r(30, true).recovery_level(), "CustomizedRecoverable");
    }
}
