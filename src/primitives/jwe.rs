//! Compact JWE (RFC 7516) with content encryption A256CBC-HS512 (RFC 7518 §5.2), as the
//! security domain uses it: key management `dir` for data, `RSA-OAEP-256` (and, for
//! decryption only, `RSA-OAEP` and `RSA1_5`) for shares and wrapped keys.
//!
//! Parsing is strict: five parts, base64url (padding tolerated), a JSON object header with
//! string `alg` and `enc`, a 16-byte IV, a 32-byte tag, whole AES blocks. Tags are compared
//! in constant time. An RSA key that fails to unwrap the content key does not produce a
//! distinct error: a random content key is used instead and the tag check fails, so no
//! padding oracle is exposed (RFC 7516 §11.5).

use openssl::encrypt::{Decrypter, Encrypter};
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::sign::Signer;
use openssl::symm::Cipher;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::base64url;

/// The only content encryption the security domain uses.
pub const ENC_A256CBC_HS512: &str = "A256CBC-HS512";
/// Content key length for A256CBC-HS512.
pub const CEK_LEN: usize = 64;
/// Largest compact JWE accepted (a security domain datum is far smaller).
pub const MAX_COMPACT_LEN: usize = 16 * 1024 * 1024;
const IV_LEN: usize = 16;
const TAG_LEN: usize = 32;
const MAX_HEADER_LEN: usize = 8 * 1024;

/// A JWE could not be parsed, is of an unsupported kind, or does not decrypt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    /// Not a well-formed compact JWE.
    #[error("malformed JWE: {0}")]
    Malformed(String),
    /// A well-formed JWE using an algorithm sdctl does not support.
    #[error("unsupported JWE: {0}")]
    Unsupported(String),
    /// The key does not open it, or it was altered (authentication tag mismatch).
    #[error(
        "JWE does not decrypt: wrong key, or the data was altered (authentication tag mismatch)"
    )]
    Decryption,
    /// OpenSSL failed while encrypting.
    #[error("JWE encryption failed: {0}")]
    Crypto(String),
}

/// JWE key management algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `dir`: the content key is the shared key itself.
    Dir,
    /// `RSA-OAEP-256`: RSA-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaep256,
    /// `RSA-OAEP`: RSA-OAEP with SHA-1 (decryption only).
    RsaOaep,
    /// `RSA1_5`: RSAES-PKCS1-v1_5 (decryption only; legacy).
    Rsa1_5,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Dir => "dir",
            Algorithm::RsaOaep256 => "RSA-OAEP-256",
            Algorithm::RsaOaep => "RSA-OAEP",
            Algorithm::Rsa1_5 => "RSA1_5",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Algorithm::Dir,
            Algorithm::RsaOaep256,
            Algorithm::RsaOaep,
            Algorithm::Rsa1_5,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// A parsed compact JWE.
#[derive(Clone)]
pub struct CompactJwe {
    protected: String,
    header: Map<String, Value>,
    algorithm: Algorithm,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

impl std::fmt::Debug for CompactJwe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CompactJwe({}, {} ciphertext bytes)",
            self.algorithm.name(),
            self.ciphertext.len()
        )
    }
}

impl CompactJwe {
    /// Parses a compact JWE (`header.encrypted_key.iv.ciphertext.tag`).
    pub fn parse(text: &str) -> Result<Self, JweError> {
        let bad = |what: &str| JweError::Malformed(what.to_owned());
        if text.len() > MAX_COMPACT_LEN {
            return Err(bad("longer than 16 MiB"));
        }
        let parts: Vec<&str> = text.trim().split('.').collect();
        if parts.len() != 5 {
            return Err(JweError::Malformed(format!(
                "{} dot-separated parts; a compact JWE has 5",
                parts.len()
            )));
        }
        let decode = |i: usize, name: &str| {
            base64url::decode(parts[i])
                .ok_or_else(|| JweError::Malformed(format!("{name} is not base64url")))
        };
        if parts[0].len() > MAX_HEADER_LEN {
            return Err(bad("header longer than 8 KiB"));
        }
        let header_json = decode(0, "header")?;
        let header: Map<String, Value> = match serde_json::from_slice(&header_json) {
            Ok(Value::Object(map)) => map,
            _ => return Err(bad("header is not a JSON object")),
        };
        let field = |name: &str| match header.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(JweError::Malformed(format!(
                "header '{name}' is not a string"
            ))),
            None => Err(JweError::Malformed(format!("header has no '{name}'"))),
        };
        let alg = field("alg")?;
        let enc = field("enc")?;
        if enc != ENC_A256CBC_HS512 {
            return Err(JweError::Unsupported(format!(
                "enc '{enc}' (only {ENC_A256CBC_HS512} is used by Managed HSM)"
            )));
        }
        let algorithm = Algorithm::from_name(&alg).ok_or_else(|| {
            JweError::Unsupported(format!(
                "alg '{alg}' (expected dir, RSA-OAEP-256, RSA-OAEP or RSA1_5)"
            ))
        })?;
        let encrypted_key = decode(1, "encrypted key")?;
        match (algorithm, encrypted_key.is_empty()) {
            (Algorithm::Dir, false) => return Err(bad("alg 'dir' with a non-empty encrypted key")),
            (Algorithm::Dir, true) => {}
            (_, true) => return Err(bad("RSA algorithm with an empty encrypted key")),
            (_, false) => {}
        }
        let iv = decode(2, "IV")?;
        if iv.len() != IV_LEN {
            return Err(JweError::Malformed(format!(
                "IV is {} bytes; A256CBC-HS512 uses 16",
                iv.len()
            )));
        }
        let ciphertext = decode(3, "ciphertext")?;
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
            return Err(JweError::Malformed(format!(
                "ciphertext is {} bytes; AES-CBC output is a non-zero multiple of 16",
                ciphertext.len()
            )));
        }
        let tag = decode(4, "authentication tag")?;
        if tag.len() != TAG_LEN {
            return Err(JweError::Malformed(format!(
                "authentication tag is {} bytes; A256CBC-HS512 uses 32",
                tag.len()
            )));
        }
        Ok(CompactJwe {
            protected: parts[0].to_owned(),
            header,
            algorithm,
            encrypted_key,
            iv,
            ciphertext,
            tag,
        })
    }

    /// The key management algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The protected header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Length of the ciphertext (plaintext length rounded up to the AES block, plus padding).
    pub fn ciphertext_len(&self) -> usize {
        self.ciphertext.len()
    }

    /// Decrypts a `dir` JWE with the 64-byte content key.
    pub fn decrypt_dir(&self, key: &[u8]) -> Result<Zeroizing<Vec<u8>>, JweError> {
        if self.algorithm != Algorithm::Dir {
            return Err(JweError::Unsupported(format!(
                "expected alg 'dir', found '{}'",
                self.algorithm.name()
            )));
        }
        if key.len() != CEK_LEN {
            return Err(JweError::Decryption);
        }
        self.open_content(key)
    }

    /// Decrypts an RSA JWE (`RSA-OAEP-256`, `RSA-OAEP`, `RSA1_5`) with a private key: an
    /// OpenSSL key, or any [`RsaKeyUnwrap`] (a key on a PKCS#11 token).
    pub fn decrypt_rsa<K: RsaKeyUnwrap + ?Sized>(
        &self,
        key: &K,
    ) -> Result<Zeroizing<Vec<u8>>, JweError> {
        if self.algorithm == Algorithm::Dir {
            return Err(JweError::Unsupported(
                "expected an RSA algorithm, found 'dir'".into(),
            ));
        }
        let cek = match key.unwrap_cek(self.algorithm, &self.encrypted_key) {
            Some(cek) if cek.len() == CEK_LEN => cek,
            // Same path as a tag mismatch: no oracle on why the unwrap failed.
            _ => random_bytes(CEK_LEN).map_err(|_| JweError::Decryption)?,
        };
        self.open_content(&cek)
    }

    fn open_content(&self, cek: &[u8]) -> Result<Zeroizing<Vec<u8>>, JweError> {
        cbc_hs512_decrypt(
            cek,
            &self.iv,
            self.protected.as_bytes(),
            &self.ciphertext,
            &self.tag,
        )
    }
}

/// A private RSA key that can unwrap a JWE's content key.
pub trait RsaKeyUnwrap {
    /// Decrypts `wrapped` with the RSA padding `algorithm` names (never `dir`); `None` when
    /// decryption fails, whatever the reason (callers must not tell reasons apart).
    fn unwrap_cek(&self, algorithm: Algorithm, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>>;
}

impl RsaKeyUnwrap for PKeyRef<Private> {
    fn unwrap_cek(&self, algorithm: Algorithm, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (padding, digest) = match algorithm {
            Algorithm::Dir => return None,
            Algorithm::RsaOaep256 => (Padding::PKCS1_OAEP, Some(MessageDigest::sha256())),
            Algorithm::RsaOaep => (Padding::PKCS1_OAEP, Some(MessageDigest::sha1())),
            Algorithm::Rsa1_5 => (Padding::PKCS1, None),
        };
        let mut decrypter = Decrypter::new(self).ok()?;
        decrypter.set_rsa_padding(padding).ok()?;
        if let Some(md) = digest {
            decrypter.set_rsa_oaep_md(md).ok()?;
            decrypter.set_rsa_mgf1_md(md).ok()?;
        }
        let len = decrypter.decrypt_len(wrapped).ok()?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        let n = decrypter.decrypt(wrapped, &mut out).ok()?;
        out.truncate(n);
        Some(out)
    }
}

impl RsaKeyUnwrap for openssl::pkey::PKey<Private> {
    fn unwrap_cek(&self, algorithm: Algorithm, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let key: &PKeyRef<Private> = self;
        key.unwrap_cek(algorithm, wrapped)
    }
}

/// Encrypts `plaintext` as a `dir` JWE under the 64-byte `key`; `kid` goes in the header.
pub fn encrypt_dir(plaintext: &[u8], key: &[u8], kid: Option<&str>) -> Result<String, JweError> {
    if key.len() != CEK_LEN {
        return Err(JweError::Crypto(format!(
            "dir key is {} bytes; A256CBC-HS512 needs 64",
            key.len()
        )));
    }
    let mut header = Map::new();
    header.insert("alg".into(), Value::from("dir"));
    header.insert("enc".into(), Value::from(ENC_A256CBC_HS512));
    if let Some(kid) = kid {
        header.insert("kid".into(), Value::from(kid));
    }
    seal(&header, &[], key, plaintext)
}

/// Encrypts `plaintext` as an `RSA-OAEP-256` JWE to `recipient`, with a fresh random
/// content key; `extra` header fields (e.g. `kid`, `x5t#S256`) are added to the header.
pub fn encrypt_rsa_oaep256<T: HasPublic>(
    plaintext: &[u8],
    recipient: &PKeyRef<T>,
    extra: &Map<String, Value>,
) -> Result<String, JweError> {
    let crypto = |e: openssl::error::ErrorStack| JweError::Crypto(e.to_string());
    let cek = random_bytes(CEK_LEN)?;
    let mut encrypter = Encrypter::new(recipient).map_err(crypto)?;
    encrypter
        .set_rsa_padding(Padding::PKCS1_OAEP)
        .map_err(crypto)?;
    encrypter
        .set_rsa_oaep_md(MessageDigest::sha256())
        .map_err(crypto)?;
    encrypter
        .set_rsa_mgf1_md(MessageDigest::sha256())
        .map_err(crypto)?;
    let mut wrapped = vec![0u8; encrypter.encrypt_len(&cek).map_err(crypto)?];
    let n = encrypter.encrypt(&cek, &mut wrapped).map_err(crypto)?;
    wrapped.truncate(n);
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(Algorithm::RsaOaep256.name()));
    header.insert("enc".into(), Value::from(ENC_A256CBC_HS512));
    for (k, v) in extra {
        header.insert(k.clone(), v.clone());
    }
    seal(&header, &wrapped, &cek, plaintext)
}

fn seal(
    header: &Map<String, Value>,
    encrypted_key: &[u8],
    cek: &[u8],
    plaintext: &[u8],
) -> Result<String, JweError> {
    let header_json = serde_json::to_vec(header).map_err(|e| JweError::Crypto(e.to_string()))?;
    let protected = base64url::encode(&header_json);
    let iv = random_bytes(IV_LEN)?;
    let (ciphertext, tag) = cbc_hs512_encrypt(cek, &iv, protected.as_bytes(), plaintext)?;
    Ok(format!(
        "{protected}.{}.{}.{}.{}",
        base64url::encode(encrypted_key),
        base64url::encode(&iv),
        base64url::encode(&ciphertext),
        base64url::encode(&tag)
    ))
}

/// AES_256_CBC_HMAC_SHA_512 encryption (RFC 7518 §5.2.2.1): returns ciphertext and tag.
pub fn cbc_hs512_encrypt(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), JweError> {
    if key.len() != CEK_LEN || iv.len() != IV_LEN {
        return Err(JweError::Crypto(
            "A256CBC-HS512 needs a 64-byte key and 16-byte IV".into(),
        ));
    }
    let (mac_key, enc_key) = key.split_at(32);
    let ciphertext = openssl::symm::encrypt(Cipher::aes_256_cbc(), enc_key, Some(iv), plaintext)
        .map_err(|e| JweError::Crypto(e.to_string()))?;
    let tag = mac(mac_key, aad, iv, &ciphertext).map_err(|e| JweError::Crypto(e.to_string()))?;
    Ok((ciphertext, tag))
}

/// AES_256_CBC_HMAC_SHA_512 decryption (RFC 7518 §5.2.2.2): the tag is checked, in
/// constant time, before anything is decrypted.
pub fn cbc_hs512_decrypt(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    if key.len() != CEK_LEN || iv.len() != IV_LEN || tag.len() != TAG_LEN {
        return Err(JweError::Decryption);
    }
    let (mac_key, enc_key) = key.split_at(32);
    let expected = mac(mac_key, aad, iv, ciphertext).map_err(|_| JweError::Decryption)?;
    if !openssl::memcmp::eq(&expected, tag) {
        return Err(JweError::Decryption);
    }
    openssl::symm::decrypt(Cipher::aes_256_cbc(), enc_key, Some(iv), ciphertext)
        .map(Zeroizing::new)
        .map_err(|_| JweError::Decryption)
}

fn mac(
    mac_key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let key = PKey::hmac(mac_key)?;
    let mut signer = Signer::new(MessageDigest::sha512(), &key)?;
    signer.update(aad)?;
    signer.update(iv)?;
    signer.update(ciphertext)?;
    signer.update(&((aad.len() as u64) * 8).to_be_bytes())?;
    let mut full = signer.sign_to_vec()?;
    full.truncate(TAG_LEN);
    Ok(full)
}

fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    openssl::rand::rand_bytes(&mut out).map_err(|e| JweError::Crypto(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
#[path = "jwe_tests.rs"]
mod tests;
