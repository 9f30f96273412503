//! Key operations of the data plane as one pure function, [`operate`]: encrypt, decrypt,
//! sign, verify, wrapKey and unwrapKey with an RSA, EC or AES key, on the JSON body Key Vault
//! takes and answering the JSON body it gives. The algorithm is checked against the key's
//! type, size and curve; every cryptographic step runs through OpenSSL.

mod aes;
mod ec;
mod rsa;
#[cfg(test)]
mod tests;

use openssl::pkey::{Id, PKey, Private};
use serde_json::{json, Map, Value};

use super::http::ApiError;
use crate::primitives::base64url;

/// A key operation of the Key Vault data plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `POST .../encrypt`.
    Encrypt,
    /// `POST .../decrypt`.
    Decrypt,
    /// `POST .../sign` (of a digest).
    Sign,
    /// `POST .../verify` (of a digest and a signature).
    Verify,
    /// `POST .../wrapkey`.
    WrapKey,
    /// `POST .../unwrapkey`.
    UnwrapKey,
}

impl Operation {
    /// The operation's name as `key_ops` lists it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::Sign => "sign",
            Operation::Verify => "verify",
            Operation::WrapKey => "wrapKey",
            Operation::UnwrapKey => "unwrapKey",
        }
    }
}

/// The key an operation runs with.
#[derive(Clone, Copy)]
pub enum Material<'a> {
    /// An RSA or EC private key (the public half is derived from it).
    Asymmetric(&'a PKey<Private>),
    /// An AES key's bytes (16, 24 or 32).
    Symmetric(&'a [u8]),
}

/// Runs `op` with `material` on the request body of `POST /keys/{name}/{version}/{op}`
/// and returns the response body; `kid` is the key's full id (`https://HOST/keys/NAME/VERSION`), echoed in the answer.
pub fn operate(
    material: Material<'_>,
    op: Operation,
    kid: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::bad_parameter("the request body must be a JSON object"))?;
    let inputs = Inputs::parse(object, op)?;
    let output = match material {
        Material::Asymmetric(key) => match key.id() {
            Id::RSA => rsa::run(key, op, &inputs)?,
            Id::EC => ec::run(key, op, &inputs)?,
            _ => return Err(ApiError::internal("the key is neither RSA nor EC")),
        },
        Material::Symmetric(key) => aes::run(key, op, &inputs)?,
    };
    Ok(output.into_json(kid, &inputs.alg))
}

/// The inputs of one operation, decoded from the request body.
pub(crate) struct Inputs {
    /// The algorithm (`alg`).
    pub alg: String,
    /// `value`: the plaintext, ciphertext, key to wrap, wrapped key, digest to sign, or the
    /// signature to verify.
    pub value: Vec<u8>,
    /// `iv`, if sent.
    pub iv: Option<Vec<u8>>,
    /// `tag` (AES-GCM), if sent.
    pub tag: Option<Vec<u8>>,
    /// `aad` (AES-GCM), if sent.
    pub aad: Option<Vec<u8>>,
    /// `digest` of a verify request.
    pub digest: Vec<u8>,
}

impl Inputs {
    /// Decodes `body` for `op`: `alg` and `value` always, `digest` for verify, and the
    /// optional `iv`, `tag` and `aad`; binary fields are base64url, padded or not.
    fn parse(body: &Map<String, Value>, op: Operation) -> Result<Self, ApiError> {
        let alg = match body.get("alg") {
            Some(Value::String(alg)) if !alg.is_empty() => alg.clone(),
            _ => {
                return Err(ApiError::bad_parameter(
                    "'alg' is required: the algorithm name",
                ))
            }
        };
        let value = required(body, "value")?;
        let digest = match op {
            Operation::Verify => required(body, "digest")?,
            _ => Vec::new(),
        };
        Ok(Inputs {
            alg,
            value,
            iv: optional(body, "iv")?,
            tag: optional(body, "tag")?,
            aad: optional(body, "aad")?,
            digest,
        })
    }

    /// For a signature algorithm: the digest to sign or verify (`value` for sign, `digest`
    /// for verify), checked to be `len` bytes long.
    pub(crate) fn digest_of(
        &self,
        op: Operation,
        len: usize,
        hash: &str,
    ) -> Result<&[u8], ApiError> {
        let digest = match op {
            Operation::Verify => &self.digest,
            _ => &self.value,
        };
        if digest.len() != len {
            return Err(ApiError::bad_parameter(format!(
                "the digest is {} bytes; {} signs a {len}-byte {hash} digest",
                digest.len(),
                self.alg
            )));
        }
        Ok(digest)
    }
}

/// A base64url field that must be there and not empty.
fn required(body: &Map<String, Value>, field: &str) -> Result<Vec<u8>, ApiError> {
    match optional(body, field)? {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(ApiError::bad_parameter(format!(
            "'{field}' is required: base64url bytes"
        ))),
    }
}

/// A base64url field that may be absent (or null).
fn optional(body: &Map<String, Value>, field: &str) -> Result<Option<Vec<u8>>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => base64url::decode(text)
            .map(Some)
            .ok_or_else(|| ApiError::bad_parameter(format!("'{field}' is not valid base64url"))),
        Some(_) => Err(ApiError::bad_parameter(format!(
            "'{field}' must be a base64url string"
        ))),
    }
}

/// What an operation produced.
pub(crate) enum Output {
    /// Bytes (`value`), with the IV, tag and additional data an AES encryption answers.
    Bytes {
        /// The result.
        value: Vec<u8>,
        /// The IV used (AES encryption).
        iv: Option<Vec<u8>>,
        /// The authentication tag (AES-GCM encryption).
        tag: Option<Vec<u8>>,
        /// The additional authenticated data (AES-GCM encryption).
        aad: Option<Vec<u8>>,
    },
    /// A verification's outcome.
    Verified(bool),
}

impl Output {
    /// Bytes alone.
    pub(crate) fn bytes(value: Vec<u8>) -> Self {
        Output::Bytes {
            value,
            iv: None,
            tag: None,
            aad: None,
        }
    }

    /// The response body: `KeyOperationResult` (with `alg`, as the service sends it) or
    /// `KeyVerifyResult`.
    fn into_json(self, kid: &str, alg: &str) -> Value {
        match self {
            Output::Verified(valid) => json!({ "value": valid }),
            Output::Bytes {
                value,
                iv,
                tag,
                aad,
            } => {
                let mut answer = json!({
                    "kid": kid,
                    "alg": alg,
                    "value": base64url::encode(&value),
                });
                for (field, bytes) in [("iv", iv), ("tag", tag), ("aad", aad)] {
                    if let Some(bytes) = bytes {
                        answer[field] = json!(base64url::encode(&bytes));
                    }
                }
                answer
            }
        }
    }
}

/// 400 for an algorithm that is not valid for `op` with a key of kind `kind`.
pub(crate) fn unsupported(alg: &str, op: Operation, kind: &str) -> ApiError {
    ApiError::bad_parameter(format!(
        "algorithm '{alg}' is not valid for {} with {kind} key",
        op.name()
    ))
}

/// 500 for an OpenSSL failure that no input can cause.
pub(crate) fn openssl_failed(e: openssl::error::ErrorStack) -> ApiError {
    ApiError::internal(format!("OpenSSL: {e}"))
}
