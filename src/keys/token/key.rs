//! A private key on a token, found by its URI: its public half, whether it can leave the
//! token, the certificate stored beside it on the token, and decryption on the token.

use std::sync::{Arc, Mutex};

use cryptoki::context::Function;
use cryptoki::error::Error as CkError;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use serde::Serialize;
use zeroize::Zeroizing;

use super::host_padding::{remove_padding, HostPadding};
use super::session::{TokenAccess, TokenSession};
use super::{Pkcs11Uri, TokenError};
use crate::keys::certificate::Certificate;
use crate::keys::public::PublicKey;
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

/// A token key with its public half and the certificate found with it on the token.
#[derive(Debug)]
pub struct FoundTokenKey {
    /// The key.
    pub key: TokenKey,
    /// Its public half (from the token's attributes).
    pub public: PublicKey,
    /// The certificate on the token with the key's id (or label), if any.
    pub certificate: Option<Certificate>,
}

impl TokenKey {
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

/// Finds the private key `uri` names (logging in to its token if this run has not yet),
/// reads its public half and the certificate stored with it.
pub fn find_key(access: &TokenAccess, uri: &Pkcs11Uri) -> Result<FoundTokenKey, TokenError> {
    if uri.object_type.as_deref().is_some_and(|t| t != "private") {
        return Err(TokenError::ObjectMissing {
            uri: uri.to_string(),
            detail: "names a non-private object (type=); a custodian key reference needs the private key: type=private or no type".into(),
        });
    }
    if uri.object.is_none() && uri.id.is_none() {
        return Err(TokenError::ObjectMissing {
            uri: uri.to_string(),
            detail: "names a token but no key; add object=LABEL or id=%.. (sdctl keys list-token shows them)".into(),
        });
    }
    let session = access.session(uri)?;
    let found = {
        let s = session.lock();
        locate(&s, &session, uri)?
    };
    Ok(found)
}

fn locate(
    s: &Session,
    session: &Arc<TokenSession>,
    uri: &Pkcs11Uri,
) -> Result<FoundTokenKey, TokenError> {
    let device = |what: &str, e: CkError| TokenError::Device {
        context: format!("{}: {what}", session.token().describe()),
        detail: e.to_string(),
    };
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    let handles = s
        .find_objects(&template)
        .map_err(|e| device("searching for the key", e))?;
    let handle = match handles.as_slice() {
        [one] => *one,
        [] => {
            return Err(TokenError::ObjectMissing {
                uri: uri.to_string(),
                detail: format!(
                    "no private key with this label/id on {} (private keys there: {})",
                    session.token().describe(),
                    describe_private_keys(s)
                ),
            })
        }
        more => {
            return Err(TokenError::ObjectMissing {
                uri: uri.to_string(),
                detail: format!(
                    "{} private keys match on {}; add id= to name one",
                    more.len(),
                    session.token().describe()
                ),
            })
        }
    };
    let attrs = s
        .get_attributes(
            handle,
            &[
                AttributeType::KeyType,
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::AlwaysSensitive,
            ],
        )
        .map_err(|e| device("reading the key's attributes", e))?;
    let mut facts = TokenKeyFacts {
        label: String::new(),
        id: String::new(),
        sensitive: false,
        extractable: true,
        never_extractable: None,
        always_sensitive: None,
    };
    let (mut modulus, mut exponent, mut key_type) = (None, None, None);
    for attr in attrs {
        match attr {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Label(l) => facts.label = String::from_utf8_lossy(&l).into_owned(),
            Attribute::Id(id) => facts.id = hex(&id),
            Attribute::Modulus(n) => modulus = Some(n),
            Attribute::PublicExponent(e) => exponent = Some(e),
            Attribute::Sensitive(b) => facts.sensitive = b,
            Attribute::Extractable(b) => facts.extractable = b,
            Attribute::NeverExtractable(b) => facts.never_extractable = Some(b),
            Attribute::AlwaysSensitive(b) => facts.always_sensitive = Some(b),
            _ => {}
        }
    }
    if key_type.is_some_and(|t| t != KeyType::RSA) {
        return Err(TokenError::Unusable {
            uri: uri.to_string(),
            detail: "not an RSA key: Managed HSM wrapping keys must be RSA".into(),
        });
    }
    let id_bytes = uri.id.clone().or_else(|| unhex(&facts.id));
    if modulus.is_none() || exponent.is_none() {
        // Some tokens keep the public values on the public-key object only.
        (modulus, exponent) = public_values(s, id_bytes.as_deref(), &facts.label);
    }
    let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
        return Err(TokenError::Unusable {
            uri: uri.to_string(),
            detail: "the token shows neither the key's modulus nor a public key with its id".into(),
        });
    };
    let public = PublicKey::rsa(&modulus, &exponent);
    if let Some(reason) = public.info().unusable_reason() {
        return Err(TokenError::Unusable {
            uri: uri.to_string(),
            detail: reason,
        });
    }
    let certificate =
        token_certificate(s, id_bytes.as_deref(), &facts.label, &public).map_err(|detail| {
            TokenError::Unusable {
                uri: uri.to_string(),
                detail,
            }
        })?;
    let modulus_len = modulus.iter().skip_while(|&&b| b == 0).count();
    Ok(FoundTokenKey {
        key: TokenKey {
            session: session.clone(),
            handle,
            uri: uri.clone(),
            modulus_len,
            facts,
            unsupported: Mutex::new(Vec::new()),
            last_path: Mutex::new(None),
        },
        public,
        certificate,
    })
}

fn public_values(
    s: &Session,
    id: Option<&[u8]>,
    label: &str,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    match id {
        Some(id) if !id.is_empty() => template.push(Attribute::Id(id.to_vec())),
        _ => template.push(Attribute::Label(label.as_bytes().to_vec())),
    }
    let Ok(handles) = s.find_objects(&template) else {
        return (None, None);
    };
    let Some(&handle) = handles.first() else {
        return (None, None);
    };
    let Ok(attrs) = s.get_attributes(
        handle,
        &[AttributeType::Modulus, AttributeType::PublicExponent],
    ) else {
        return (None, None);
    };
    let (mut n, mut e) = (None, None);
    for attr in attrs {
        match attr {
            Attribute::Modulus(v) => n = Some(v),
            Attribute::PublicExponent(v) => e = Some(v),
            _ => {}
        }
    }
    (n, e)
}

/// The certificate stored on the token with the key's id (else label) whose public key is
/// the key's; a certificate stored with the key that carries another key is an error.
fn token_certificate(
    s: &Session,
    id: Option<&[u8]>,
    label: &str,
    public: &PublicKey,
) -> Result<Option<Certificate>, String> {
    let mut template = vec![Attribute::Class(ObjectClass::CERTIFICATE)];
    match id {
        Some(id) if !id.is_empty() => template.push(Attribute::Id(id.to_vec())),
        _ if !label.is_empty() => template.push(Attribute::Label(label.as_bytes().to_vec())),
        _ => return Ok(None),
    }
    let handles = s.find_objects(&template).map_err(|e| e.to_string())?;
    let mut mismatched = false;
    for handle in handles {
        let attrs = s
            .get_attributes(handle, &[AttributeType::Value])
            .map_err(|e| e.to_string())?;
        for attr in attrs {
            if let Attribute::Value(der) = attr {
                match Certificate::from_der(&der) {
                    Ok(cert) if cert.public_key() == public => return Ok(Some(cert)),
                    Ok(_) => mismatched = true,
                    Err(_) => {}
                }
            }
        }
    }
    if mismatched {
        return Err("the certificate stored on the token with this key's id carries another key; each custodian's key and certificate must come from the same key pair".into());
    }
    Ok(None)
}

fn describe_private_keys(s: &Session) -> String {
    let Ok(handles) = s.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]) else {
        return "cannot be listed".into();
    };
    let names: Vec<String> = handles
        .iter()
        .filter_map(|h| {
            s.get_attributes(*h, &[AttributeType::Label, AttributeType::Id])
                .ok()
        })
        .map(|attrs| {
            let mut label = String::new();
            let mut id = String::new();
            for a in attrs {
                match a {
                    Attribute::Label(l) => label = String::from_utf8_lossy(&l).into_owned(),
                    Attribute::Id(i) => id = hex(&i),
                    _ => {}
                }
            }
            format!("object={label} id={id}")
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
