//! Finding a private key on a token by its URI: the object, its public half (on the key
//! or on the public-key object with its id), what the token says of its protection, and
//! the certificate stored with it.

use std::sync::Arc;

use cryptoki::error::Error as CkError;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::Session;

use super::key::{TokenKey, TokenKeyFacts};
use super::session::{TokenAccess, TokenSession};
use super::{Pkcs11Uri, TokenError};
use crate::keys::certificate::Certificate;
use crate::keys::public::PublicKey;

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
        key: TokenKey::new(session.clone(), handle, uri.clone(), modulus_len, facts),
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
    // Exactly one: with two public keys under one id, which is the key's is not known.
    let [handle] = handles.as_slice() else {
        return (None, None);
    };
    let handle = *handle;
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
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The certificates a token shows without a login under the id (else label) the URI
/// names: read before a PIN is typed, so a token that is not the custodian's is refused
/// before it receives their PIN. Empty when the token shows none without a login.
pub fn public_certificates(
    access: &TokenAccess,
    uri: &Pkcs11Uri,
) -> Result<Vec<Certificate>, TokenError> {
    let module = access.module_for(uri)?;
    let (slot, token) = module.find_token(uri)?;
    let s = module.public_session(slot, &token)?;
    let mut template = vec![Attribute::Class(ObjectClass::CERTIFICATE)];
    match (&uri.id, &uri.object) {
        (Some(id), _) => template.push(Attribute::Id(id.clone())),
        (None, Some(label)) => template.push(Attribute::Label(label.as_bytes().to_vec())),
        (None, None) => return Ok(Vec::new()),
    }
    let handles = s.find_objects(&template).unwrap_or_default();
    Ok(handles
        .into_iter()
        .filter_map(|h| s.get_attributes(h, &[AttributeType::Value]).ok())
        .flatten()
        .filter_map(|a| match a {
            Attribute::Value(der) => Certificate::from_der(&der).ok(),
            _ => None,
        })
        .collect())
}
