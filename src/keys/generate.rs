//! Generating a set of custodian wrapping keys: per custodian an RSA key pair, the private
//! key as encrypted PKCS#8 PEM (`NAME.key`, mode 0600) and a self-signed certificate
//! (`NAME.cer`); and one `manifest.json` with the thumbprints witnesses compare.

use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder};
use serde::Serialize;
use zeroize::Zeroizing;

use super::certificate::Certificate;
use super::private::PrivateKey;
use super::{pbes2, KeyError};
use crate::files::{self, WriteBatch, MODE_PUBLIC, MODE_SECRET};
use crate::parallel;
use crate::passphrase::Passphrase;

/// Fewest custodians a Managed HSM security domain accepts.
pub const MIN_CUSTODIANS: usize = 3;
/// Most custodians a Managed HSM security domain accepts.
pub const MAX_CUSTODIANS: usize = 10;
/// RSA sizes sdctl generates.
pub const ALLOWED_BITS: [u32; 3] = [2048, 3072, 4096];
/// Default RSA size.
pub const DEFAULT_BITS: u32 = 3072;
/// Default certificate validity in days.
pub const DEFAULT_DAYS: u32 = 730;
/// Longest certificate validity accepted, in days (about 30 years).
pub const MAX_DAYS: u32 = 11_000;
/// Name of the manifest file.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Options shared by every key of a set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// RSA modulus size (2048, 3072 or 4096).
    pub bits: u32,
    /// Certificate validity in days from now.
    pub days: u32,
    /// Subject attributes put before each custodian's `CN` (e.g. `O=Contoso`).
    pub subject: Vec<(String, String)>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            bits: DEFAULT_BITS,
            days: DEFAULT_DAYS,
            subject: Vec::new(),
        }
    }
}

impl GenerateOptions {
    /// Checks sizes and validity against what Managed HSM and sdctl accept.
    pub fn validate(&self) -> Result<(), KeyError> {
        if !ALLOWED_BITS.contains(&self.bits) {
            return Err(KeyError::Usage(format!(
                "--bits {}: choose 2048, 3072 or 4096",
                self.bits
            )));
        }
        if self.days == 0 || self.days > MAX_DAYS {
            return Err(KeyError::Usage(format!(
                "--days {}: choose 1 to {MAX_DAYS} days",
                self.days
            )));
        }
        Ok(())
    }
}

/// Parses `--subject` in `openssl req -subj` form (`/O=Contoso/OU=HSM custodians`, `\/`
/// escapes a slash). `CN` is not allowed: each custodian's CN is their name.
pub fn parse_subject(text: &str) -> Result<Vec<(String, String)>, KeyError> {
    let usage = |why: &str| KeyError::Usage(format!("--subject '{text}': {why}"));
    let body = text
        .strip_prefix('/')
        .ok_or_else(|| usage("write it as /KEY=value/KEY=value (like openssl -subj)"))?;
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            '/' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let mut attributes = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| usage(&format!("'{part}' is not KEY=value")))?;
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("CN") || key.eq_ignore_ascii_case("commonName") {
            return Err(usage("leave CN out: each custodian's CN is their name"));
        }
        if key.is_empty() || value.is_empty() {
            return Err(usage(&format!("'{part}' has an empty key or value")));
        }
        attributes.push((key.to_owned(), value.to_owned()));
    }
    Ok(attributes)
}

/// One custodian's freshly generated key pair, still in memory.
pub struct NewCustodian {
    /// The custodian's name (file stem and certificate CN).
    pub name: String,
    /// The encrypted PKCS#8 PEM of the private key.
    pub key_pem: Zeroizing<String>,
    /// The self-signed certificate.
    pub certificate: Certificate,
}

/// What `manifest.json` records of one custodian.
#[derive(Clone, Debug, Serialize)]
pub struct ManifestEntry {
    /// The custodian's name.
    pub name: String,
    /// The private key's file name (relative to the manifest); absent for a key on a
    /// token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The certificate's file name (relative to the manifest).
    pub certificate_file: String,
    /// The certificate subject.
    pub subject: String,
    /// The certificate serial (hex).
    pub serial: String,
    /// Key algorithm.
    pub key_algorithm: String,
    /// RSA modulus size.
    pub key_bits: u32,
    /// Validity start (RFC 3339, UTC).
    pub not_before: String,
    /// Validity end (RFC 3339, UTC).
    pub not_after: String,
    /// Unpadded base64url SHA-256 of the certificate DER, as the SD file carries it.
    pub x5t_256: String,
    /// The same thumbprint as `openssl x509 -fingerprint -sha256` prints it.
    pub sha256_fingerprint: String,
    /// How the private key is encrypted (or that it is on a token).
    pub key_encryption: String,
    /// Where the key is, for a key generated on a PKCS#11 token (never a PIN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenEntry>,
}

/// `manifest.json`'s record of the token holding a custodian's key.
#[derive(Clone, Debug, Serialize)]
pub struct TokenEntry {
    /// The token's label.
    pub label: String,
    /// The token's serial number.
    pub serial: String,
    /// The token's manufacturer.
    pub manufacturer: String,
    /// The token's model.
    pub model: String,
    /// The key objects' label (`CKA_LABEL`, `sdctl-NAME`).
    pub object: String,
    /// The key objects' `CKA_ID`, hex.
    pub id: String,
    /// The key's PKCS#11 URI, to give later commands.
    pub uri: String,
}

impl ManifestEntry {
    /// The entry of custodian `name` with `certificate` (written as `certificate_file`).
    pub fn new(
        name: &str,
        certificate: &Certificate,
        certificate_file: String,
        key_file: Option<String>,
        key_encryption: String,
        token: Option<TokenEntry>,
    ) -> Self {
        let info = certificate.public_key().info();
        ManifestEntry {
            name: name.to_owned(),
            key_file,
            certificate_file,
            subject: certificate.subject().to_owned(),
            serial: certificate.serial_hex().to_owned(),
            key_algorithm: info.algorithm,
            key_bits: info.bits.unwrap_or(0),
            not_before: certificate.not_before().to_string(),
            not_after: certificate.not_after().to_string(),
            x5t_256: certificate.x5t_256(),
            sha256_fingerprint: certificate.sha256_fingerprint(),
            key_encryption,
            token,
        }
    }
}

impl Manifest {
    /// A manifest of `custodians`, created now by this sdctl.
    pub fn new(custodians: Vec<ManifestEntry>) -> Self {
        Manifest {
            format: "sdctl-custodian-keys".into(),
            version: 1,
            created: now_rfc3339(),
            generator: format!("sdctl {}", env!("CARGO_PKG_VERSION")),
            custodians,
        }
    }

    /// The manifest as pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<String, KeyError> {
        let mut json = serde_json::to_string_pretty(self).map_err(|e| KeyError::Crypto {
            context: "manifest".into(),
            detail: e.to_string(),
        })?;
        json.push('\n');
        Ok(json)
    }
}

/// `manifest.json`: the public record of a generated key set.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// Always `sdctl-custodian-keys`.
    pub format: String,
    /// Manifest format version (1).
    pub version: u32,
    /// When the set was written (RFC 3339, UTC).
    pub created: String,
    /// The tool that wrote it.
    pub generator: String,
    /// One entry per custodian, in the order given.
    pub custodians: Vec<ManifestEntry>,
}

/// A validated request for a key set: where, for whom, how.
#[derive(Clone, Debug)]
pub struct KeySetRequest {
    out_dir: PathBuf,
    names: Vec<String>,
    options: GenerateOptions,
    force: bool,
}

impl KeySetRequest {
    /// Validates the count (3..10), the names (default `custodian1`..), and the options.
    pub fn new(
        out_dir: &Path,
        count: usize,
        names: Option<Vec<String>>,
        options: GenerateOptions,
        force: bool,
    ) -> Result<Self, KeyError> {
        if !(MIN_CUSTODIANS..=MAX_CUSTODIANS).contains(&count) {
            return Err(KeyError::Usage(format!(
                "--count {count}: a Managed HSM security domain needs {MIN_CUSTODIANS} to {MAX_CUSTODIANS} custodians"
            )));
        }
        let names = match names {
            Some(names) => names,
            None => (1..=count).map(|i| format!("custodian{i}")).collect(),
        };
        validate_names(&names, count)?;
        options.validate()?;
        Ok(KeySetRequest {
            out_dir: out_dir.to_owned(),
            names,
            options,
            force,
        })
    }

    /// The custodians' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// Every file the set will write.
    pub fn outputs(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self
            .names
            .iter()
            .flat_map(|n| [self.key_path(n), self.cert_path(n)])
            .collect();
        paths.push(self.out_dir.join(MANIFEST_FILE));
        paths
    }

    /// Fails if any output exists and `force` was not given (call it before asking for
    /// passphrases, so nobody types one for nothing).
    pub fn check_outputs_free(&self) -> Result<(), KeyError> {
        for path in self.outputs() {
            files::ensure_free(&path, self.force)?;
        }
        Ok(())
    }

    /// Generates every custodian's key pair, `threads` at a time, calling `progress` with
    /// the number finished after each one. `passphrases` holds one per custodian, in order.
    pub fn generate(
        &self,
        passphrases: &[Passphrase],
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<NewCustodian>, KeyError> {
        if passphrases.len() != self.names.len() {
            return Err(KeyError::Usage(format!(
                "{} passphrases for {} custodians",
                passphrases.len(),
                self.names.len()
            )));
        }
        let results = parallel::map(
            &self.names,
            threads,
            |i, name| generate_custodian(name, &passphrases[i], &self.options),
            progress,
        );
        let custodians = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(custodians)
    }

    /// Writes every key, certificate and the manifest together (see
    /// [`WriteBatch`]): all of them, or none.
    pub fn write(&self, custodians: &[NewCustodian]) -> Result<Manifest, KeyError> {
        files::create_private_dir(&self.out_dir)?;
        let mut batch = WriteBatch::new(self.force);
        let mut entries = Vec::new();
        for c in custodians {
            let key_path = self.key_path(&c.name);
            let cert_path = self.cert_path(&c.name);
            batch.stage(&key_path, c.key_pem.as_bytes(), MODE_SECRET)?;
            batch.stage(&cert_path, c.certificate.to_pem().as_bytes(), MODE_PUBLIC)?;
            entries.push(ManifestEntry::new(
                &c.name,
                &c.certificate,
                file_name(&cert_path),
                Some(file_name(&key_path)),
                format!(
                    "PBES2 (PBKDF2-HMAC-SHA256, {} iterations; AES-256-CBC)",
                    pbes2::PBKDF2_ITERATIONS
                ),
                None,
            ));
        }
        let manifest = Manifest::new(entries);
        let json = manifest.to_json()?;
        batch.stage(
            &self.out_dir.join(MANIFEST_FILE),
            json.as_bytes(),
            MODE_PUBLIC,
        )?;
        batch.commit()?;
        Ok(manifest)
    }

    fn key_path(&self, name: &str) -> PathBuf {
        self.out_dir.join(format!("{name}.key"))
    }

    fn cert_path(&self, name: &str) -> PathBuf {
        self.out_dir.join(format!("{name}.cer"))
    }
}

/// Checks custodian names: as many as custodians, each 1..64 of `A-Z a-z 0-9 . _ -`, not
/// starting with a dot or dash, and distinct even ignoring case (file systems may fold it).
pub fn validate_names(names: &[String], count: usize) -> Result<(), KeyError> {
    if names.len() != count {
        return Err(KeyError::Usage(format!(
            "--names has {} name(s) but --count is {count}",
            names.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for name in names {
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if name.is_empty() || name.len() > 64 || !ok_chars || name.starts_with(['.', '-']) {
            return Err(KeyError::Usage(format!(
                "--names: '{name}' is not a usable custodian name (1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -)"
            )));
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(KeyError::Usage(format!("--names: '{name}' is given twice")));
        }
    }
    Ok(())
}

/// Generates one custodian's key pair and self-signed certificate, the key encrypted.
pub fn generate_custodian(
    name: &str,
    passphrase: &Passphrase,
    options: &GenerateOptions,
) -> Result<NewCustodian, KeyError> {
    let crypto = |what: &str| {
        let context = format!("custodian {name}: {what}");
        move |e: openssl::error::ErrorStack| KeyError::Crypto {
            context: context.clone(),
            detail: e.to_string(),
        }
    };
    let rsa = Rsa::generate(options.bits).map_err(crypto("RSA key generation"))?;
    let pkey = PKey::from_rsa(rsa).map_err(crypto("RSA key generation"))?;

    let certificate = self_signed_certificate(name, &pkey, options)?;

    let key = PrivateKey::generated(pkey).map_err(|detail| KeyError::Crypto {
        context: format!("custodian {name}: key"),
        detail,
    })?;
    if !key.matches(&certificate) {
        return Err(KeyError::Crypto {
            context: format!("custodian {name}"),
            detail: "generated certificate does not carry the generated key".into(),
        });
    }
    let pkcs8 = key.to_pkcs8_der().map_err(|detail| KeyError::Crypto {
        context: format!("custodian {name}: key encoding"),
        detail,
    })?;
    let key_pem = pbes2::encrypt_pkcs8(&pkcs8, passphrase).map_err(|detail| KeyError::Crypto {
        context: format!("custodian {name}: key encryption"),
        detail,
    })?;
    Ok(NewCustodian {
        name: name.to_owned(),
        key_pem,
        certificate,
    })
}

/// A self-signed X.509 v3 certificate for `key` with subject `[options.subject], CN=name`,
/// valid `options.days` from now: SHA-256, random 159-bit serial, basicConstraints CA:FALSE
/// and keyUsage keyEncipherment (both critical), subjectKeyIdentifier.
pub fn self_signed_certificate(
    name: &str,
    key: &PKey<openssl::pkey::Private>,
    options: &GenerateOptions,
) -> Result<Certificate, KeyError> {
    let crypto = |e: openssl::error::ErrorStack| KeyError::Crypto {
        context: format!("{name}: certificate"),
        detail: e.to_string(),
    };
    let subject = subject_name(name, options)?;
    let der = (|| {
        let mut serial = BigNum::new()?;
        // 159 random bits: positive, at most 20 octets, unique with overwhelming probability.
        serial.rand(159, MsbOption::MAYBE_ZERO, false)?;
        serial.add_word(1)?;
        let serial = serial.to_asn1_integer()?;
        let not_before = Asn1Time::days_from_now(0)?;
        let not_after = Asn1Time::days_from_now(options.days)?;
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(&serial)?;
        b.set_subject_name(&subject)?;
        b.set_issuer_name(&subject)?;
        b.set_pubkey(key)?;
        b.set_not_before(&not_before)?;
        b.set_not_after(&not_after)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        b.append_extension(KeyUsage::new().critical().key_encipherment().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(key, MessageDigest::sha256())?;
        b.build().to_der()
    })()
    .map_err(crypto)?;
    Certificate::from_der(&der).map_err(|detail| KeyError::Crypto {
        context: format!("{name}: certificate"),
        detail,
    })
}

/// The certificate subject of custodian `name`: `[options.subject], CN=name` (shared by
/// file keys and token keys, so both carry the same subject encoding).
pub fn subject_name(name: &str, options: &GenerateOptions) -> Result<X509Name, KeyError> {
    let crypto = |e: openssl::error::ErrorStack| KeyError::Crypto {
        context: format!("{name}: certificate subject"),
        detail: e.to_string(),
    };
    let mut subject = X509NameBuilder::new().map_err(crypto)?;
    for (k, v) in &options.subject {
        subject
            .append_entry_by_text(k, v)
            .map_err(|e| KeyError::Usage(format!("--subject: cannot use {k}={v}: {e}")))?;
    }
    subject.append_entry_by_text("CN", name).map_err(crypto)?;
    Ok(subject.build())
}

/// The last component of `path` as text (a manifest's relative file name).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The current time as RFC 3339 UTC ("2026-11-22T10:40:11Z").
pub fn now_rfc3339() -> String {
    der::DateTime::from_system_time(std::time::SystemTime::now())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
