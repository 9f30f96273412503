//! Low-level building blocks shared by the formats: base64url, and (in later issues)
//! GF(257) sharing, the SP 800-108 KDF, compact JWE and JWK.

pub mod base64url;
pub mod gf257;
pub mod jwe;
pub mod sp800_108;
pub mod uuid;
