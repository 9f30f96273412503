//! The HSM state inside a security domain: each datum's key is SP 800-108(master key,
//! label = tag, context = "", 512 bits), and the datum is a `dir` A256CBC-HS512 JWE.

use std::path::Path;

use zeroize::Zeroizing;

use super::model::{Datum, EncData};
use super::DomainError;
use crate::primitives::jwe::{self, CompactJwe};
use crate::primitives::sp800_108;

/// One decrypted datum. The plaintext is opaque HSM state: kept only in zeroizing memory.
pub struct OpenDatum {
    /// The datum's tag.
    pub tag: String,
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for OpenDatum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenDatum({}, {} bytes)", self.tag, self.plaintext.len())
    }
}

/// The 64-byte key of the datum labelled `tag`.
pub fn datum_key(master_key: &[u8], tag: &str) -> Result<Zeroizing<Vec<u8>>, DomainError> {
    sp800_108::derive(master_key, tag.as_bytes(), b"", 512)
        .map_err(|e| DomainError::Crypto(e.to_string()))
}

/// Decrypts and authenticates every datum; `path` names the file in errors.
pub fn open_all(
    path: &Path,
    enc: &EncData,
    master_key: &[u8],
) -> Result<Vec<OpenDatum>, DomainError> {
    open_each(path, enc, master_key).into_iter().collect()
}

/// Decrypts and authenticates each datum on its own: one result per datum, in file order.
pub fn open_each(
    path: &Path,
    enc: &EncData,
    master_key: &[u8],
) -> Vec<Result<OpenDatum, DomainError>> {
    enc.data
        .iter()
        .enumerate()
        .map(|(i, datum)| open_one(path, i, datum, master_key))
        .collect()
}

fn open_one(
    path: &Path,
    index: usize,
    datum: &Datum,
    master_key: &[u8],
) -> Result<OpenDatum, DomainError> {
    let key = datum_key(master_key, &datum.tag)?;
    let parsed = CompactJwe::parse(&datum.compact_jwe).map_err(|e| DomainError::Invalid {
        path: path.to_owned(),
        detail: format!("EncData.data[{index}].compact_jwe: {e}"),
    })?;
    let plaintext = parsed
        .decrypt_dir(&key)
        .map_err(|e| DomainError::Integrity {
            path: path.to_owned(),
            detail: format!(
                "EncData.data[{index}] (tag '{}') does not verify with the rebuilt master key: {e}",
                datum.tag
            ),
        })?;
    Ok(OpenDatum {
        tag: datum.tag.clone(),
        plaintext,
    })
}

/// Encrypts `plaintext` as the datum `tag` under `master_key` (`kid` = tag, as the Azure
/// CLI writes restore blobs).
pub fn seal(master_key: &[u8], tag: &str, plaintext: &[u8]) -> Result<Datum, DomainError> {
    let key = datum_key(master_key, tag)?;
    let compact_jwe = jwe::encrypt_dir(plaintext, &key, Some(tag))
        .map_err(|e| DomainError::Crypto(e.to_string()))?;
    Ok(Datum {
        compact_jwe,
        tag: tag.to_owned(),
        other: Default::default(),
    })
}
