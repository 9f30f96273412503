//! Version-4 UUIDs (RFC 9562), as Azure names role assignments, role definitions and keys'
//! versions: 16 random bytes with the version and variant bits set.

/// Formats 16 random bytes as a version-4 UUID (`xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx`).
pub fn v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A random version-4 UUID from OpenSSL's generator.
pub fn random_v4() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes)?;
    Ok(v4(bytes))
}

#[cfg(test)]
#[path = "uuid_tests.rs"]
mod tests;
