//! EC: sign and verify a digest with `ES256` (P-256), `ES256K` (secp256k1), `ES384` (P-384)
//! and `ES512` (P-521). Signatures are JWS-shaped: `r || s`, each half padded to the
//! curve's size, not DER.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};

use super::{openssl_failed, unsupported, Inputs, Operation, Output};
use crate::emulator::http::ApiError;

/// The curve an ECDSA algorithm runs on, and its digest's length and hash name.
fn algorithm(alg: &str) -> Option<(Nid, usize, &'static str)> {
    match alg {
        "ES256" => Some((Nid::X9_62_PRIME256V1, 32, "SHA-256")),
        "ES256K" => Some((Nid::SECP256K1, 32, "SHA-256")),
        "ES384" => Some((Nid::SECP384R1, 48, "SHA-384")),
        "ES512" => Some((Nid::SECP521R1, 64, "SHA-512")),
        _ => None,
    }
}

/// The JWK name of curve `nid`.
fn curve_name(nid: Option<Nid>) -> &'static str {
    match nid {
        Some(Nid::X9_62_PRIME256V1) => "P-256",
        Some(Nid::SECP256K1) => "P-256K",
        Some(Nid::SECP384R1) => "P-384",
        Some(Nid::SECP521R1) => "P-521",
        _ => "an unsupported curve",
    }
}

/// Runs `op` with the EC key `key`.
pub(super) fn run(key: &PKey<Private>, op: Operation, inputs: &Inputs) -> Result<Output, ApiError> {
    let alg = inputs.alg.as_str();
    if !matches!(op, Operation::Sign | Operation::Verify) {
        return Err(unsupported(alg, op, "an EC"));
    }
    let (nid, len, hash) = algorithm(alg).ok_or_else(|| unsupported(alg, op, "an EC"))?;
    let ec = key.ec_key().map_err(openssl_failed)?;
    let curve = ec.group().curve_name();
    if curve != Some(nid) {
        return Err(ApiError::bad_parameter(format!(
            "{alg} needs a {} key; this key is on {}",
            curve_name(Some(nid)),
            curve_name(curve)
        )));
    }
    let digest = inputs.digest_of(op, len, hash)?;
    let half = (ec.group().degree() as usize).div_ceil(8);
    if op == Operation::Sign {
        let signature = EcdsaSig::sign(digest, &ec).map_err(openssl_failed)?;
        let width = i32::try_from(half).map_err(|_| ApiError::internal("curve too large"))?;
        let mut out = signature.r().to_vec_padded(width).map_err(openssl_failed)?;
        out.extend(signature.s().to_vec_padded(width).map_err(openssl_failed)?);
        return Ok(Output::bytes(out));
    }
    let raw = &inputs.value;
    if raw.len() != 2 * half {
        return Ok(Output::Verified(false));
    }
    let parts = BigNum::from_slice(&raw[..half])
        .and_then(|r| Ok((r, BigNum::from_slice(&raw[half..])?)))
        .and_then(|(r, s)| EcdsaSig::from_private_components(r, s));
    let valid = match parts {
        Ok(signature) => signature.verify(digest, &ec).unwrap_or(false),
        Err(_) => false,
    };
    Ok(Output::Verified(valid))
}
