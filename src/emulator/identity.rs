//! An Entra-ID-shaped identity provider: the client-credentials grant at
//! `POST /{tenant}/oauth2/v2.0/token`, issuing RS256 JWTs with `oid`, `tid`, `aud`, `exp`;
//! and the data plane's check of those tokens (signature, audience, lifetime, tenant).

use std::time::{SystemTime, UNIX_EPOCH};

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::{Signer, Verifier};
use serde::{Deserialize, Serialize};

use super::state::Principal;
use crate::primitives::base64url;

/// The resource (audience) of Managed HSM's data plane.
pub const HSM_AUDIENCE: &str = "https://managedhsm.azure.net";
/// The resource (audience) of Azure Resource Manager.
pub const ARM_AUDIENCE: &str = "https://management.azure.com";
/// Lifetime of issued tokens, in seconds.
pub const TOKEN_LIFETIME: u64 = 3600;

/// The claims sdctl's emulator puts in and checks on a token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Audience.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expiry.
    pub exp: u64,
    /// The principal's object id.
    pub oid: String,
    /// The tenant.
    pub tid: String,
    /// The application id.
    pub appid: String,
    /// Subject.
    pub sub: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or not RS256.
    #[error("the access token is malformed")]
    Malformed,
    /// The signature does not verify.
    #[error("the access token's signature is invalid")]
    Signature,
    /// Issued for another resource.
    #[error("the access token's audience '{0}' is not valid for this resource")]
    Audience(String),
    /// Outside its lifetime.
    #[error("the access token has expired")]
    Expired,
    /// Issued for another tenant.
    #[error("the access token is from another tenant")]
    Tenant,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Issues a token for `principal` of `tenant` with audience `audience`, valid `lifetime`
/// seconds from `issued`.
pub fn issue(
    key: &PKey<Private>,
    tenant: &str,
    principal: &Principal,
    audience: &str,
    issued: u64,
    lifetime: u64,
) -> Result<String, String> {
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = Claims {
        aud: audience.to_owned(),
        iss: format!("https://sts.windows.net/{tenant}/"),
        iat: issued,
        nbf: issued.saturating_sub(60),
        exp: issued + lifetime,
        oid: principal.object_id.clone(),
        tid: tenant.to_owned(),
        appid: principal.client_id.clone(),
        sub: principal.object_id.clone(),
    };
    let signing_input = format!(
        "{}.{}",
        base64url::encode(header.to_string().as_bytes()),
        base64url::encode(&serde_json::to_vec(&claims).map_err(|e| e.to_string())?)
    );
    let mut signer = Signer::new(MessageDigest::sha256(), key).map_err(|e| e.to_string())?;
    signer
        .update(signing_input.as_bytes())
        .map_err(|e| e.to_string())?;
    let signature = signer.sign_to_vec().map_err(|e| e.to_string())?;
    Ok(format!("{signing_input}.{}", base64url::encode(&signature)))
}

/// Checks a token: RS256 signature by `key`, one of `audiences`, within its lifetime at
/// `at`, and from `tenant`.
pub fn verify(
    key: &PKey<Private>,
    token: &str,
    tenant: &str,
    audiences: &[&str],
    at: u64,
) -> Result<Claims, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(TokenError::Malformed);
    };
    let header: serde_json::Value = base64url::decode(header)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
        return Err(TokenError::Malformed);
    }
    let signature = base64url::decode(signature).ok_or(TokenError::Malformed)?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    let mut verifier =
        Verifier::new(MessageDigest::sha256(), key).map_err(|_| TokenError::Signature)?;
    verifier
        .update(signed.as_bytes())
        .map_err(|_| TokenError::Signature)?;
    if !verifier.verify(&signature).unwrap_or(false) {
        return Err(TokenError::Signature);
    }
    let claims: Claims = base64url::decode(payload)
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(TokenError::Malformed)?;
    let audience = claims.aud.trim_end_matches('/');
    if !audiences.contains(&audience) {
        return Err(TokenError::Audience(claims.aud));
    }
    if at >= claims.exp || at + 300 < claims.nbf {
        return Err(TokenError::Expired);
    }
    if claims.tid != tenant {
        return Err(TokenError::Tenant);
    }
    Ok(claims)
}

/// The audience a `scope` asks for (`https://managedhsm.azure.net/.default` → the HSM).
pub fn audience_of_scope(scope: &str) -> Option<&'static str> {
    scope.split_whitespace().find_map(|s| {
        let resource = s.trim_end_matches("/.default").trim_end_matches('/');
        match resource {
            HSM_AUDIENCE => Some(HSM_AUDIENCE),
            ARM_AUDIENCE => Some(ARM_AUDIENCE),
            _ => None,
        }
    })
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
