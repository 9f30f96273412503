//! Generating a custodian's wrapping key ON a PKCS#11 token: the RSA pair is made by the
//! token (`CKM_RSA_PKCS_KEY_PAIR_GEN`), sensitive and not extractable; the self-signed
//! certificate (the same profile as file keys) is signed by the token
//! (`CKM_SHA256_RSA_PKCS`), checked by OpenSSL, and stored on the token beside the key.
//! Private, public key and certificate share the label `sdctl-NAME` and one `CKA_ID`.
//! No private key material ever leaves the token. If anything fails after the pair was
//! made, the objects made are destroyed again.

pub mod set;
mod signer;

pub use signer::{
    SignFailure, SignMechanism, TokenSignature, TokenSigner, TokenVerifyingKey,
    SHA256_DIGEST_INFO_PREFIX, SHA256_WITH_RSA,
};

use std::time::Duration;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use openssl::bn::{BigNum, MsbOption};
use openssl::pkey::{PKey, Public};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::{Pkcs11Uri, TokenError};
use crate::keys::generate::{subject_name, validate_names, GenerateOptions};
use crate::keys::Certificate;

/// Every object sdctl makes on a token is labelled `sdctl-NAME`.
pub const LABEL_PREFIX: &str = "sdctl-";
/// Length of the random `CKA_ID` given to a generated key (bytes).
pub const ID_LEN: usize = 16;
/// The public exponent of generated keys (65537, big endian).
pub const PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// What to generate on a token for one custodian.
#[derive(Clone, Debug)]
pub struct TokenKeyRequest<'a> {
    /// The custodian's name: the certificate's CN, the objects' label `sdctl-NAME`.
    pub name: String,
    /// RSA modulus size: 2048, 3072 or 4096 (this, not `options.bits`, is used).
    pub bits: u32,
    /// Subject attributes before the CN, and the certificate validity in days.
    pub options: &'a GenerateOptions,
    /// The `CKA_ID` to give the objects; `None`: 16 random bytes.
    pub id: Option<Vec<u8>>,
    /// The token's URI as the operator gave it (for messages and [`TokenKeyMade::uri`]).
    pub uri: Option<Pkcs11Uri>,
}

impl<'a> TokenKeyRequest<'a> {
    /// A request for custodian `name` with `bits`, a random id and no URI.
    pub fn new(name: &str, bits: u32, options: &'a GenerateOptions) -> Self {
        TokenKeyRequest {
            name: name.to_owned(),
            bits,
            options,
            id: None,
            uri: None,
        }
    }

    /// The label of every object made for this custodian: `sdctl-NAME`.
    pub fn label(&self) -> String {
        format!("{LABEL_PREFIX}{}", self.name)
    }
}

/// The security attributes of a generated private key, as the token reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_SENSITIVE`.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE` (`None`: the token did not say).
    pub always_sensitive: Option<bool>,
    /// `CKA_NEVER_EXTRACTABLE` (`None`: the token did not say).
    pub never_extractable: Option<bool>,
    /// `CKA_PRIVATE`: only visible after login.
    pub private: bool,
}

/// A key pair and certificate made on a token.
#[derive(Debug)]
pub struct TokenKeyMade {
    /// The custodian's name.
    pub name: String,
    /// The self-signed certificate (also written to the token).
    pub certificate: Certificate,
    /// The objects' `CKA_ID`.
    pub id: Vec<u8>,
    /// The objects' `CKA_LABEL` (`sdctl-NAME`).
    pub label: String,
    /// The key's URI: the request's token URI with `object=` and `id=` set.
    pub uri: Pkcs11Uri,
    /// RSA modulus size.
    pub bits: u32,
    /// What the token reports of the private key's protection.
    pub protection: KeyProtection,
    /// Handle of the private key (valid for the session's lifetime).
    pub private_key: ObjectHandle,
    /// Handle of the public key.
    pub public_key: ObjectHandle,
    /// Handle of the certificate object.
    pub certificate_object: ObjectHandle,
}

impl TokenKeyMade {
    /// `CKA_ID` in lower-case hex, as the manifest records it.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }
}

/// Generates custodian `request.name`'s RSA key pair on the token behind `session` (an
/// open read-write session, logged in as the user), has the token sign its self-signed
/// certificate, verifies that certificate with OpenSSL and stores it on the token.
///
/// Refuses ([`TokenError::Unusable`]) a bad name, size or validity, and a token that
/// already holds objects with the label or id. A private key the token made extractable
/// or not sensitive is destroyed with its public key and refused
/// ([`TokenError::Extractable`]); any later failure also destroys what was made.
pub fn generate_on_token(
    session: &Session,
    request: &TokenKeyRequest<'_>,
) -> Result<TokenKeyMade, TokenError> {
    let label = request.label();
    let mut uri = request.uri.clone().unwrap_or_default();
    uri.object = Some(label.clone());
    uri.object_type = None;
    uri.id = None;
    let unusable = |detail: String| TokenError::Unusable {
        uri: uri.to_string(),
        detail,
    };
    validate_names(std::slice::from_ref(&request.name), 1).map_err(|e| unusable(e.to_string()))?;
    GenerateOptions {
        bits: request.bits,
        ..request.options.clone()
    }
    .validate()
    .map_err(|e| unusable(e.to_string()))?;
    let subject = subject_name(&request.name, request.options)
        .and_then(|n| {
            n.to_der().map_err(|e| crate::keys::KeyError::Crypto {
                context: "certificate subject".into(),
                detail: e.to_string(),
            })
        })
        .map_err(|e| unusable(e.to_string()))?;

    let id = match &request.id {
        Some(id) if id.is_empty() => return Err(unusable("an empty CKA_ID was asked for".into())),
        Some(id) => id.clone(),
        None => {
            let mut id = vec![0u8; ID_LEN];
            openssl::rand::rand_bytes(&mut id).map_err(|e| TokenError::Device {
                context: format!("{uri}: random CKA_ID"),
                detail: e.to_string(),
            })?;
            id
        }
    };
    uri.id = Some(id.clone());
    let uri_text = uri.to_string();

    ensure_unused(session, &uri_text, &label, &id)?;

    let common = |extra: Vec<Attribute>| {
        let mut attrs = vec![
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::Subject(subject.clone()),
        ];
        attrs.extend(extra);
        attrs
    };
    let public_template = common(vec![
        Attribute::Private(false),
        Attribute::Encrypt(true),
        Attribute::Verify(true),
        Attribute::Wrap(true),
        Attribute::ModulusBits(u64::from(request.bits).into()),
        Attribute::PublicExponent(PUBLIC_EXPONENT.to_vec()),
    ]);
    let private_template = common(vec![
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Decrypt(true),
        Attribute::Unwrap(true),
        Attribute::Sign(true),
    ]);
    let (public_key, private_key) = session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(|e| TokenError::Device {
            context: format!("{uri_text}: generating an RSA-{} key pair", request.bits),
            detail: e.to_string(),
        })?;

    let mut made = vec![private_key, public_key];
    let parts = Parts {
        session,
        request,
        uri_text: &uri_text,
        label: &label,
        id: &id,
        subject: &subject,
        private_key,
        public_key,
    };
    match parts.finish(&mut made) {
        Ok((certificate, protection, certificate_object)) => Ok(TokenKeyMade {
            name: request.name.clone(),
            certificate,
            id,
            label,
            uri,
            bits: request.bits,
            protection,
            private_key,
            public_key,
            certificate_object,
        }),
        Err(error) => match destroy_all(session, &made) {
            Ok(()) => Err(error),
            Err(detail) => Err(TokenError::Device {
                context: format!(
                    "{uri_text}: removing the objects made after this failure: {error}"
                ),
                detail,
            }),
        },
    }
}

/// What the steps after key generation work on.
struct Parts<'a> {
    session: &'a Session,
    request: &'a TokenKeyRequest<'a>,
    uri_text: &'a str,
    label: &'a str,
    id: &'a [u8],
    subject: &'a [u8],
    private_key: ObjectHandle,
    public_key: ObjectHandle,
}

impl Parts<'_> {
    /// Checks the key's protection, makes and checks the certificate, and stores it
    /// (pushing the certificate object's handle on `made`).
    fn finish(
        &self,
        made: &mut Vec<ObjectHandle>,
    ) -> Result<(Certificate, KeyProtection, ObjectHandle), TokenError> {
        let protection = key_protection(self.session, self.private_key, self.uri_text)?;
        let public = self.public_key()?;
        let spki_der = public
            .public_key_to_der()
            .map_err(|e| self.host("public key", e))?;
        let der = self.certificate_der(&spki_der)?;

        // The token's signature must verify under the key the token reported.
        let x509 = X509::from_der(&der).map_err(|e| self.host("certificate", e))?;
        let verified = x509
            .verify(&public)
            .map_err(|e| self.host("certificate", e))?;
        if !verified {
            return Err(TokenError::Device {
                context: format!("{}: signing the certificate", self.uri_text),
                detail: "the token's signature does not verify under its own public key".into(),
            });
        }
        let certificate = Certificate::from_der(&der).map_err(|detail| TokenError::Device {
            context: format!("{}: reading back the certificate", self.uri_text),
            detail,
        })?;

        let serial = x509_cert::Certificate::from_der(&der)
            .and_then(|c| c.tbs_certificate.serial_number.to_der())
            .map_err(|e| TokenError::Device {
                context: format!("{}: certificate serial", self.uri_text),
                detail: e.to_string(),
            })?;
        let object = self
            .session
            .create_object(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Label(self.label.as_bytes().to_vec()),
                Attribute::Id(self.id.to_vec()),
                Attribute::Subject(self.subject.to_vec()),
                Attribute::Issuer(self.subject.to_vec()),
                Attribute::SerialNumber(serial),
                Attribute::Value(der),
            ])
            .map_err(|e| TokenError::Device {
                context: format!("{}: storing the certificate", self.uri_text),
                detail: e.to_string(),
            })?;
        made.push(object);
        Ok((certificate, protection, object))
    }

    /// The public key as the token holds it (CKA_MODULUS, CKA_PUBLIC_EXPONENT), checked
    /// against the request.
    fn public_key(&self) -> Result<PKey<Public>, TokenError> {
        let attrs = self
            .session
            .get_attributes(
                self.public_key,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )
            .map_err(|e| TokenError::Device {
                context: format!("{}: reading the public key", self.uri_text),
                detail: e.to_string(),
            })?;
        let mut modulus = None;
        let mut exponent = None;
        for attr in attrs {
            match attr {
                Attribute::Modulus(n) => modulus = Some(n),
                Attribute::PublicExponent(e) => exponent = Some(e),
                _ => {}
            }
        }
        let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
            return Err(TokenError::Device {
                context: format!("{}: reading the public key", self.uri_text),
                detail: "the token did not return CKA_MODULUS and CKA_PUBLIC_EXPONENT".into(),
            });
        };
        let n = BigNum::from_slice(&modulus).map_err(|e| self.host("public key", e))?;
        let e = BigNum::from_slice(&exponent).map_err(|e| self.host("public key", e))?;
        let bits = u32::try_from(n.num_bits()).unwrap_or(0);
        let want_e =
            BigNum::from_slice(&PUBLIC_EXPONENT).map_err(|e| self.host("public key", e))?;
        if bits != self.request.bits || e != want_e {
            return Err(TokenError::Device {
                context: format!("{}: generating the key pair", self.uri_text),
                detail: format!(
                    "asked for RSA-{} with exponent 65537, the token made RSA-{bits} with exponent {}",
                    self.request.bits,
                    e.to_dec_str().map(|s| s.to_string()).unwrap_or_default()
                ),
            });
        }
        let rsa = Rsa::from_public_components(n, e).map_err(|e| self.host("public key", e))?;
        PKey::from_rsa(rsa).map_err(|e| self.host("public key", e))
    }

    /// The DER certificate, signed on the token: v3, random positive 159-bit serial,
    /// subject = issuer, validity from now for `days`, basicConstraints CA:FALSE and
    /// keyUsage keyEncipherment (both critical), subjectKeyIdentifier (SHA-1 of the key).
    fn certificate_der(&self, spki_der: &[u8]) -> Result<Vec<u8>, TokenError> {
        let cert_err = |detail: String| TokenError::Device {
            context: format!("{}: building the certificate", self.uri_text),
            detail,
        };
        let spki =
            SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(|e| cert_err(e.to_string()))?;
        let subject = Name::from_der(self.subject).map_err(|e| cert_err(e.to_string()))?;
        let serial = random_serial().map_err(|e| self.host("certificate serial", e))?;
        let serial = SerialNumber::new(&serial).map_err(|e| cert_err(e.to_string()))?;
        let days = u64::from(self.request.options.days);
        let validity = Validity::from_now(Duration::from_secs(days * 86_400))
            .map_err(|e| cert_err(e.to_string()))?;
        let signer = TokenSigner::new(self.session, self.private_key, spki_der.to_vec());
        let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())
            .map_err(|e| cert_err(e.to_string()))?;
        let mut builder = CertificateBuilder::new(
            Profile::Manual { issuer: None },
            serial,
            validity,
            subject,
            spki,
            &signer,
        )
        .map_err(|e| cert_err(e.to_string()))?;
        builder
            .add_extension(&BasicConstraints {
                ca: false,
                path_len_constraint: None,
            })
            .map_err(|e| cert_err(e.to_string()))?;
        builder
            .add_extension(&KeyUsage(KeyUsages::KeyEncipherment.into()))
            .map_err(|e| cert_err(e.to_string()))?;
        builder
            .add_extension(&ski)
            .map_err(|e| cert_err(e.to_string()))?;
        let certificate = builder
            .build::<TokenSignature>()
            .map_err(|e| TokenError::Device {
                context: format!("{}: signing the certificate on the token", self.uri_text),
                detail: sign_detail(&e),
            })?;
        certificate.to_der().map_err(|e| cert_err(e.to_string()))
    }

    fn host(&self, what: &str, e: openssl::error::ErrorStack) -> TokenError {
        TokenError::Device {
            context: format!("{}: {what}", self.uri_text),
            detail: format!("OpenSSL: {e}"),
        }
    }
}

/// Reads a private key's protection back from the token and refuses
/// ([`TokenError::Extractable`], naming `uri`) a key that could leave it: `CKA_EXTRACTABLE`
/// true or `CKA_SENSITIVE` false. A token that does not report one of them is treated as
/// the worst case.
pub fn key_protection(
    session: &Session,
    private_key: ObjectHandle,
    uri: &str,
) -> Result<KeyProtection, TokenError> {
    let attrs = session
        .get_attributes(
            private_key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Private,
            ],
        )
        .map_err(|e| TokenError::Device {
            context: format!("{uri}: reading the private key's attributes"),
            detail: e.to_string(),
        })?;
    let mut protection = KeyProtection {
        sensitive: false,
        extractable: true,
        always_sensitive: None,
        never_extractable: None,
        private: false,
    };
    for attr in attrs {
        match attr {
            Attribute::Sensitive(v) => protection.sensitive = v,
            Attribute::Extractable(v) => protection.extractable = v,
            Attribute::AlwaysSensitive(v) => protection.always_sensitive = Some(v),
            Attribute::NeverExtractable(v) => protection.never_extractable = Some(v),
            Attribute::Private(v) => protection.private = v,
            _ => {}
        }
    }
    if protection.extractable || !protection.sensitive {
        return Err(TokenError::Extractable {
            uri: uri.to_owned(),
        });
    }
    Ok(protection)
}

/// The builder's error, with the token's own reason when the signature failed.
fn sign_detail(error: &x509_cert::builder::Error) -> String {
    use std::error::Error as _;
    match error {
        x509_cert::builder::Error::Signature(e) => e
            .source()
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    }
}

/// 159 random bits plus one, big endian: positive, at most 20 octets.
fn random_serial() -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(159, MsbOption::MAYBE_ZERO, false)?;
    serial.add_word(1)?;
    Ok(serial.to_vec())
}

/// Refuses a token that already holds objects with this label or id: the new key must be
/// the only one its URI can name.
fn ensure_unused(session: &Session, uri: &str, label: &str, id: &[u8]) -> Result<(), TokenError> {
    for (what, template) in [
        ("label", Attribute::Label(label.as_bytes().to_vec())),
        ("id", Attribute::Id(id.to_vec())),
    ] {
        let found = session
            .find_objects(std::slice::from_ref(&template))
            .map_err(|e| TokenError::Device {
                context: format!("{uri}: searching the token's objects"),
                detail: e.to_string(),
            })?;
        if !found.is_empty() {
            return Err(TokenError::Unusable {
                uri: uri.to_owned(),
                detail: format!(
                    "the token already holds {} object(s) with this {what}; choose another custodian name, or remove them first (sdctl never overwrites a key on a token)",
                    found.len()
                ),
            });
        }
    }
    Ok(())
}

/// Destroys the certificate, public and private key of a key made by
/// [`generate_on_token`] (to undo a set that could not be finished).
pub fn destroy_made(session: &Session, made: &TokenKeyMade) -> Result<(), TokenError> {
    destroy_all(
        session,
        &[made.private_key, made.public_key, made.certificate_object],
    )
    .map_err(|detail| TokenError::Device {
        context: format!("{}: removing the key made", made.uri),
        detail,
    })
}

/// Destroys every object in `made` (newest first); reports the failures.
fn destroy_all(session: &Session, made: &[ObjectHandle]) -> Result<(), String> {
    let failures: Vec<String> = made
        .iter()
        .rev()
        .filter_map(|&h| session.destroy_object(h).err().map(|e| e.to_string()))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "could not destroy {} object(s): {}",
            failures.len(),
            failures.join("; ")
        ))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
