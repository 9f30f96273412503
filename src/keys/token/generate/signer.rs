//! A signer for x509-cert's certificate builder whose private key stays on a PKCS#11 token:
//! the to-be-signed bytes go to the token, which hashes and signs them with
//! `CKM_SHA256_RSA_PKCS` (RSASSA-PKCS1-v1_5 with SHA-256); only the signature comes back.
//! A token without that mechanism (openCryptoki 3.8's software token; many smartcards)
//! gets the SHA-256 DigestInfo computed on the host, signed with `CKM_RSA_PKCS`: the same
//! signature. Only public data (the to-be-signed certificate) is hashed on the host.

use cryptoki::context::Function;
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

/// The DER DigestInfo header for SHA-256 (RFC 8017 §9.2, note 1): the hash's 32 bytes follow.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// sha256WithRSAEncryption (RFC 4055); its parameters are an explicit NULL.
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Signs with a private key on a token, through a logged-in session.
pub struct TokenSigner<'s> {
    session: &'s Session,
    private_key: ObjectHandle,
    public_key: TokenVerifyingKey,
}

impl<'s> TokenSigner<'s> {
    /// A signer for `private_key`, whose public half is the SubjectPublicKeyInfo `spki_der`.
    pub fn new(session: &'s Session, private_key: ObjectHandle, spki_der: Vec<u8>) -> Self {
        TokenSigner {
            session,
            private_key,
            public_key: TokenVerifyingKey { spki_der },
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
#[error("C_Sign with {mechanism}: {detail}")]
pub struct SignFailure {
    mechanism: &'static str,
    detail: String,
}

impl signature::Signer<TokenSignature> for TokenSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<TokenSignature, signature::Error> {
        let failure = |mechanism, e: CkError| {
            signature::Error::from_source(SignFailure {
                mechanism,
                detail: e.to_string(),
            })
        };
        match self
            .session
            .sign(&Mechanism::Sha256RsaPkcs, self.private_key, msg)
        {
            Ok(signature) => Ok(TokenSignature(signature)),
            // C_SignInit refused the hash-and-sign mechanism itself: sign the DigestInfo.
            Err(CkError::Pkcs11(RvError::MechanismInvalid, Function::SignInit)) => {
                let mut digest_info = SHA256_DIGEST_INFO.to_vec();
                digest_info.extend_from_slice(&Sha256::digest(msg));
                self.session
                    .sign(&Mechanism::RsaPkcs, self.private_key, &digest_info)
                    .map(TokenSignature)
                    .map_err(|e| failure("CKM_RSA_PKCS (SHA-256 DigestInfo made on the host)", e))
            }
            Err(e) => Err(failure("CKM_SHA256_RSA_PKCS", e)),
        }
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
