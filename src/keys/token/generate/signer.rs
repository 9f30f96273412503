//! A signer for x509-cert's certificate builder whose private key stays on a PKCS#11 token:
//! the to-be-signed bytes go to the token, which hashes and signs them with
//! `CKM_SHA256_RSA_PKCS` (RSASSA-PKCS1-v1_5 with SHA-256); only the signature comes back.
//! A token without that mechanism (some smartcards and HSMs sign only what they are given)
//! gets the SHA-256 DigestInfo computed on the host and signs it with `CKM_RSA_PKCS`: the
//! same signature, since PKCS#1 v1.5 signing is deterministic.

use std::cell::Cell;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use der::asn1::{Any, BitString, ObjectIdentifier};
use sha2::{Digest, Sha256};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding,
};

/// sha256WithRSAEncryption (RFC 4055); its parameters are an explicit NULL.
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// The DER prefix of a SHA-256 DigestInfo (RFC 8017 section 9.2, note 1); the 32-byte
/// digest follows it.
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// How the token is asked to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignMechanism {
    /// `CKM_SHA256_RSA_PKCS`: the token hashes and signs.
    Sha256RsaPkcs,
    /// `CKM_RSA_PKCS` over a SHA-256 DigestInfo computed on the host.
    RsaPkcsHostDigest,
}

/// Signs with a private key on a token, through a logged-in session.
pub struct TokenSigner<'s> {
    session: &'s Session,
    private_key: ObjectHandle,
    public_key: TokenVerifyingKey,
    mechanism: Cell<SignMechanism>,
    fallback: bool,
}

impl<'s> TokenSigner<'s> {
    /// A signer for `private_key`, whose public half is the SubjectPublicKeyInfo `spki_der`:
    /// `CKM_SHA256_RSA_PKCS`, or the host-digest form if the token refuses that mechanism.
    pub fn new(session: &'s Session, private_key: ObjectHandle, spki_der: Vec<u8>) -> Self {
        TokenSigner {
            session,
            private_key,
            public_key: TokenVerifyingKey { spki_der },
            mechanism: Cell::new(SignMechanism::Sha256RsaPkcs),
            fallback: true,
        }
    }

    /// A signer that uses only `mechanism` (no fallback).
    pub fn with_mechanism(
        session: &'s Session,
        private_key: ObjectHandle,
        spki_der: Vec<u8>,
        mechanism: SignMechanism,
    ) -> Self {
        TokenSigner {
            mechanism: Cell::new(mechanism),
            fallback: false,
            ..TokenSigner::new(session, private_key, spki_der)
        }
    }

    /// The mechanism the last signature was made with (or will be tried first).
    pub fn mechanism(&self) -> SignMechanism {
        self.mechanism.get()
    }

    fn sign_with(&self, mechanism: SignMechanism, msg: &[u8]) -> Result<Vec<u8>, CkError> {
        match mechanism {
            SignMechanism::Sha256RsaPkcs => {
                self.session
                    .sign(&Mechanism::Sha256RsaPkcs, self.private_key, msg)
            }
            SignMechanism::RsaPkcsHostDigest => {
                let mut info = SHA256_DIGEST_INFO_PREFIX.to_vec();
                info.extend_from_slice(&Sha256::digest(msg));
                self.session
                    .sign(&Mechanism::RsaPkcs, self.private_key, &info)
            }
        }
    }
}

/// The public half of a token key, as its DER SubjectPublicKeyInfo.
#[derive(Clone, Debug)]
pub struct TokenVerifyingKey {
    spki_der: Vec<u8>,
}

impl EncodePublicKey for TokenVerifyingKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::try_from(self.spki_der.as_slice())?)
    }
}

/// A PKCS#1 v1.5 signature made by the token (as many bytes as the modulus).
#[derive(Clone, Debug)]
pub struct TokenSignature(Vec<u8>);

impl TokenSignature {
    /// The signature bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl SignatureBitStringEncoding for TokenSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// What went wrong on the token while signing (carried inside [`signature::Error`]).
#[derive(Debug, thiserror::Error)]
#[error("C_Sign with {0}")]
pub struct SignFailure(String);

impl signature::Signer<TokenSignature> for TokenSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<TokenSignature, signature::Error> {
        let first = self.mechanism.get();
        let result = match self.sign_with(first, msg) {
            Err(CkError::Pkcs11(RvError::MechanismInvalid, _))
                if self.fallback && first == SignMechanism::Sha256RsaPkcs =>
            {
                self.mechanism.set(SignMechanism::RsaPkcsHostDigest);
                self.sign_with(SignMechanism::RsaPkcsHostDigest, msg)
            }
            other => other,
        };
        result.map(TokenSignature).map_err(|e| {
            let name = match self.mechanism.get() {
                SignMechanism::Sha256RsaPkcs => "CKM_SHA256_RSA_PKCS",
                SignMechanism::RsaPkcsHostDigest => "CKM_RSA_PKCS (SHA-256 DigestInfo)",
            };
            signature::Error::from_source(SignFailure(format!("{name}: {e}")))
        })
    }
}

impl signature::Keypair for TokenSigner<'_> {
    type VerifyingKey = TokenVerifyingKey;

    fn verifying_key(&self) -> TokenVerifyingKey {
        self.public_key.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for TokenSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        })
    }
}
