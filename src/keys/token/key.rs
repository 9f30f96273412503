//! A private key on a token, ready to decrypt: on the token with OAEP where the token
//! takes the JWE's parameters, else raw RSA on the token and the padding removed on the
//! host by OpenSSL; which path ran is kept for reports.

use std::sync::{Arc, Mutex};

use cryptoki::context::Function;
use cryptoki::error::Error as CkError;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use serde::Serialize;
use zeroize::Zeroizing;

use super::host_padding::{remove_padding, HostPadding};
use super::session::TokenSession;
use super::Pkcs11Uri;
use crate::primitives::jwe::{Algorithm, RsaKeyUnwrap};

/// How a token decrypted (reported, and recorded by ceremonies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DecryptPath {
    /// `CKM_RSA_PKCS_OAEP` on the token, with the JWE's hash.
    #[serde(rename = "token-oaep")]
    TokenOaep,
    /// `CKM_RSA_X_509` on the token, OAEP removed on the host by OpenSSL.
    #[serde(rename = "token-raw+host-oaep")]
    TokenRawHostOaep,
    /// `CKM_RSA_PKCS` on the token.
    #[serde(rename = "token-pkcs1")]
    TokenPkcs1,
    /// `CKM_RSA_X_509` on the token, PKCS#1 v1.5 removed on the host by OpenSSL.
    #[serde(rename = "token-raw+host-pkcs1")]
    TokenRawHostPkcs1,
}

impl DecryptPath {
    /// The name shown to people and written to records.
    pub fn name(self) -> &'static str {
        match self {
            DecryptPath::TokenOaep => "token-oaep",
            DecryptPath::TokenRawHostOaep => "token-raw+host-oaep",
            DecryptPath::TokenPkcs1 => "token-pkcs1",
            DecryptPath::TokenRawHostPkcs1 => "token-raw+host-pkcs1",
        }
    }
}

/// What the token says about a private key object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenKeyFacts {
    /// CKA_LABEL.
    pub label: String,
    /// CKA_ID, hex.
    pub id: String,
    /// CKA_SENSITIVE (absent = false).
    pub sensitive: bool,
    /// CKA_EXTRACTABLE (absent = true, the cautious reading).
    pub extractable: bool,
    /// CKA_NEVER_EXTRACTABLE, when the token says.
    pub never_extractable: Option<bool>,
    /// CKA_ALWAYS_SENSITIVE, when the token says.
    pub always_sensitive: Option<bool>,
}

impl TokenKeyFacts {
    /// Whether the key cannot leave the token.
    pub fn stays_on_token(&self) -> bool {
        self.sensitive && !self.extractable
    }
}

/// A private RSA key on a token, ready to decrypt.
pub struct TokenKey {
    session: Arc<TokenSession>,
    handle: ObjectHandle,
    uri: Pkcs11Uri,
    modulus_len: usize,
    facts: TokenKeyFacts,
    unsupported: Mutex<Vec<MechanismType>>,
    last_path: Mutex<Option<DecryptPath>>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKey({})", self.uri)
    }
}

impl TokenKey {
    /// A key found on the token behind `session` (by [`super::find::find_key`]).
    pub(super) fn new(
        session: Arc<TokenSession>,
        handle: ObjectHandle,
        uri: Pkcs11Uri,
        modulus_len: usize,
        facts: TokenKeyFacts,
    ) -> Self {
        TokenKey {
            session,
            handle,
            uri,
            modulus_len,
            facts,
            unsupported: Mutex::new(Vec::new()),
            last_path: Mutex::new(None),
        }
    }

    /// The URI the key was found by.
    pub fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }

    /// The token's session.
    pub fn session(&self) -> &TokenSession {
        &self.session
    }

    /// What the token says about the key.
    pub fn facts(&self) -> &TokenKeyFacts {
        &self.facts
    }

    /// The decryption path of the last successful decryption, if any.
    pub fn last_path(&self) -> Option<DecryptPath> {
        *self.last_path.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note(&self, path: DecryptPath) {
        *self.last_path.lock().unwrap_or_else(|p| p.into_inner()) = Some(path);
    }

    fn is_unsupported(&self, m: MechanismType) -> bool {
        self.unsupported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&m)
    }

    /// Decrypts with the token's OAEP mechanism; `Err(())` when the token refuses to start
    /// with these OAEP parameters (then the raw path is tried), `Ok(None)` when decryption
    /// failed.
    fn native_oaep(
        &self,
        session: &Session,
        hash: MechanismType,
        mgf: PkcsMgfType,
        wrapped: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, ()> {
        let params = PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty());
        match session.decrypt(&Mechanism::RsaPkcsOaep(params), self.handle, wrapped) {
            Ok(plain) => Ok(Some(Zeroizing::new(plain))),
            // C_DecryptInit has not seen the ciphertext: its refusal is about the mechanism
            // or its parameters (SoftHSM2 answers CKR_ARGUMENTS_BAD for OAEP with SHA-256).
            Err(CkError::Pkcs11(_, Function::DecryptInit)) => Err(()),
            Err(_) => Ok(None),
        }
    }

    fn raw_then_host(
        &self,
        session: &Session,
        padding: HostPadding,
        wrapped: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        if !self.session.offers(MechanismType::RSA_X_509) {
            return None;
        }
        let block = Zeroizing::new(
            session
                .decrypt(&Mechanism::RsaX509, self.handle, wrapped)
                .ok()?,
        );
        remove_padding(&block, self.modulus_len, padding)
    }
}

impl RsaKeyUnwrap for TokenKey {
    fn unwrap_cek(&self, algorithm: Algorithm, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (hash, mgf, host) = match algorithm {
            Algorithm::Dir => return None,
            Algorithm::RsaOaep256 => (
                MechanismType::SHA256,
                PkcsMgfType::MGF1_SHA256,
                HostPadding::OaepSha256,
            ),
            Algorithm::RsaOaep => (
                MechanismType::SHA1,
                PkcsMgfType::MGF1_SHA1,
                HostPadding::OaepSha1,
            ),
            Algorithm::Rsa1_5 => {
                let session = self.session.lock();
                if self.session.offers(MechanismType::RSA_PKCS) {
                    let plain = session
                        .decrypt(&Mechanism::RsaPkcs, self.handle, wrapped)
                        .ok()
                        .map(Zeroizing::new);
                    if plain.is_some() {
                        self.note(DecryptPath::TokenPkcs1);
                    }
                    return plain;
                }
                let plain = self.raw_then_host(&session, HostPadding::Pkcs1, wrapped);
                if plain.is_some() {
                    self.note(DecryptPath::TokenRawHostPkcs1);
                }
                return plain;
            }
        };
        let session = self.session.lock();
        if self.session.offers(MechanismType::RSA_PKCS_OAEP) && !self.is_unsupported(hash) {
            match self.native_oaep(&session, hash, mgf, wrapped) {
                Ok(Some(plain)) => {
                    self.note(DecryptPath::TokenOaep);
                    return Some(plain);
                }
                Ok(None) => return None,
                Err(()) => self
                    .unsupported
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(hash),
            }
        }
        let plain = self.raw_then_host(&session, host, wrapped);
        if plain.is_some() {
            self.note(DecryptPath::TokenRawHostOaep);
        }
        plain
    }
}
