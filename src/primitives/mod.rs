//! Low-level building blocks shared by the formats: base64url, GF(257) sharing (the SD's
//! shares), GF(32) check symbols (the paper form of key shares), the SP 800-108 KDF, compact
//! JWE, UUIDs.

pub mod base64url;
pub mod gf257;
pub mod gf32;
pub mod jwe;
pub mod sp800_108;
pub mod uuid;
