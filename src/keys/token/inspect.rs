//! `keys inspect pkcs11:...` and `keys list-token`: what a token holds and what it says
//! about a key, without any private-key operation.

use std::time::SystemTime;

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::Session;
use serde::Serialize;

use super::find::{find_key, hex};
use super::key::TokenKeyFacts;
use super::module::{Module, TokenDescription};
use super::session::TokenAccess;
use super::{Pkcs11Uri, TokenError};
use crate::keys::inspect::{certificate_report, CertificateReport};
use crate::keys::public::KeyInfo;

/// What a token says about a private key named by a URI.
#[derive(Debug, Serialize)]
pub struct TokenKeyReport {
    /// The URI as given.
    pub uri: String,
    /// The module it was reached through.
    pub module: String,
    /// The token.
    pub token: TokenDescription,
    /// The key's label, id, sensitivity and extractability.
    pub object: TokenKeyFacts,
    /// Algorithm and size.
    pub key: KeyInfo,
    /// Why the key cannot be a wrapping key, if it cannot.
    pub wrapping_key_problem: Option<String>,
    /// Whether the key can leave the token (a custodian key must not).
    pub extractable_problem: Option<String>,
    /// The certificate stored with the key on the token.
    pub certificate: Option<CertificateReport>,
    /// RSA decryption mechanisms the token offers.
    pub mechanisms: Vec<&'static str>,
}

/// Inspects the private key `uri` names (logging in to its token).
pub fn inspect_token_key(
    access: &TokenAccess,
    text: &str,
    now: SystemTime,
) -> Result<TokenKeyReport, TokenError> {
    let uri = Pkcs11Uri::parse(text)?;
    let found = find_key(access, &uri)?;
    let session = found.key.session();
    let key = found.public.info();
    let facts = found.key.facts().clone();
    let offered = [
        (
            cryptoki::mechanism::MechanismType::RSA_PKCS_OAEP,
            "CKM_RSA_PKCS_OAEP",
        ),
        (
            cryptoki::mechanism::MechanismType::RSA_X_509,
            "CKM_RSA_X_509",
        ),
        (cryptoki::mechanism::MechanismType::RSA_PKCS, "CKM_RSA_PKCS"),
    ];
    Ok(TokenKeyReport {
        uri: text.to_owned(),
        module: session.module().path().display().to_string(),
        token: session.token().clone(),
        wrapping_key_problem: key.unusable_reason(),
        extractable_problem: (!facts.stays_on_token()).then(|| {
            "the key can leave the token (CKA_EXTRACTABLE true or CKA_SENSITIVE false)".to_owned()
        }),
        object: facts,
        key,
        certificate: found
            .certificate
            .as_ref()
            .map(|c| certificate_report(c, now)),
        mechanisms: offered
            .iter()
            .filter(|(m, _)| session.offers(*m))
            .map(|(_, name)| *name)
            .collect(),
    })
}

/// One object on a token.
#[derive(Debug, Serialize)]
pub struct ObjectEntry {
    /// `private-key`, `public-key`, `certificate`, `secret-key`, `data` or `other`.
    pub class: &'static str,
    /// CKA_LABEL.
    pub label: String,
    /// CKA_ID, hex.
    pub id: String,
    /// RSA modulus size, for RSA keys whose modulus the token shows.
    pub bits: Option<u32>,
    /// For private and secret keys: whether the key stays on the token.
    pub stays_on_token: Option<bool>,
    /// For certificates: the subject.
    pub subject: Option<String>,
    /// For certificates: the `x5t_256`.
    pub x5t_256: Option<String>,
    /// The URI that names this object.
    pub uri: String,
}

/// A token and, when asked, its objects.
#[derive(Debug, Serialize)]
pub struct TokenEntry {
    /// The token.
    pub token: TokenDescription,
    /// A URI naming the token.
    pub uri: String,
    /// Its objects (public ones unless logged in), when listed.
    pub objects: Option<Vec<ObjectEntry>>,
    /// Whether the objects were listed after logging in.
    pub logged_in: bool,
}

/// Lists the tokens `module` shows; with `filter`, only the tokens it names, with their
/// objects (after logging in when `login`).
pub fn list_tokens(
    module: &Module,
    access: &TokenAccess,
    filter: Option<&Pkcs11Uri>,
    login: bool,
) -> Result<Vec<TokenEntry>, TokenError> {
    let mut out = Vec::new();
    for (slot, token) in module.tokens()? {
        let uri = Pkcs11Uri {
            token: Some(token.label.clone()),
            serial: Some(token.serial.clone()),
            ..Default::default()
        };
        let Some(filter) = filter else {
            out.push(TokenEntry {
                token,
                uri: uri.to_string(),
                objects: None,
                logged_in: false,
            });
            continue;
        };
        if !filter.matches_token(
            &token.label,
            &token.manufacturer,
            &token.serial,
            &token.model,
        ) {
            continue;
        }
        let objects = if login {
            let mut named = filter.clone();
            named.module_path = Some(module.path().to_owned());
            let session = access.session(&named)?;
            let s = session.lock();
            objects(&s, &uri)?
        } else {
            let s = module.public_session(slot, &token)?;
            objects(&s, &uri)?
        };
        out.push(TokenEntry {
            token,
            uri: uri.to_string(),
            objects: Some(objects),
            logged_in: login,
        });
    }
    Ok(out)
}

fn objects(s: &Session, token_uri: &Pkcs11Uri) -> Result<Vec<ObjectEntry>, TokenError> {
    let handles = s.find_objects(&[]).map_err(|e| TokenError::Device {
        context: "listing objects".into(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    for handle in handles {
        let Ok(attrs) = s.get_attributes(
            handle,
            &[
                AttributeType::Class,
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::Modulus,
                AttributeType::Sensitive,
                AttributeType::Extractable,
            ],
        ) else {
            continue;
        };
        let mut entry = ObjectEntry {
            class: "other",
            label: String::new(),
            id: String::new(),
            bits: None,
            stays_on_token: None,
            subject: None,
            x5t_256: None,
            uri: String::new(),
        };
        let (mut sensitive, mut extractable, mut id) = (None, None, Vec::new());
        for attr in attrs {
            match attr {
                Attribute::Class(c) => {
                    entry.class = match c {
                        ObjectClass::PRIVATE_KEY => "private-key",
                        ObjectClass::PUBLIC_KEY => "public-key",
                        ObjectClass::CERTIFICATE => "certificate",
                        ObjectClass::SECRET_KEY => "secret-key",
                        ObjectClass::DATA => "data",
                        _ => "other",
                    }
                }
                Attribute::Label(l) => entry.label = String::from_utf8_lossy(&l).into_owned(),
                Attribute::Id(i) => {
                    entry.id = hex(&i);
                    id = i;
                }
                Attribute::Modulus(n) => {
                    let significant = n.iter().skip_while(|&&b| b == 0).count();
                    entry.bits = u32::try_from(significant * 8).ok();
                }
                Attribute::Sensitive(b) => sensitive = Some(b),
                Attribute::Extractable(b) => extractable = Some(b),
                _ => {}
            }
        }
        if matches!(entry.class, "private-key" | "secret-key") {
            entry.stays_on_token = Some(sensitive == Some(true) && extractable == Some(false));
        }
        if entry.class == "certificate" {
            // CKA_VALUE is read for certificates only: never ask a key for its value.
            let value = s
                .get_attributes(handle, &[AttributeType::Value])
                .ok()
                .and_then(|attrs| {
                    attrs.into_iter().find_map(|a| match a {
                        Attribute::Value(v) => Some(v),
                        _ => None,
                    })
                });
            if let Some(cert) = value.and_then(|der| crate::keys::Certificate::from_der(&der).ok())
            {
                entry.subject = Some(cert.subject().to_owned());
                entry.x5t_256 = Some(cert.x5t_256());
                entry.bits = cert.public_key().info().bits;
            }
        }
        let object_type = match entry.class {
            "private-key" => Some("private"),
            "public-key" => Some("public"),
            "certificate" => Some("cert"),
            _ => None,
        };
        entry.uri = Pkcs11Uri {
            object: Some(entry.label.clone()),
            id: (!id.is_empty()).then_some(id),
            object_type: object_type.map(str::to_owned),
            ..token_uri.clone()
        }
        .to_string();
        out.push(entry);
    }
    Ok(out)
}
