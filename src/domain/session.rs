//! Distributed quorum: rebuilding a security domain's master key without bringing the
//! custodians' private keys onto one machine.
//!
//! 1. The ceremony machine makes a session ([`create_session`]): an ephemeral RSA key pair
//!    for one ceremony, `session.key` (unencrypted PKCS#8 PEM, 0600) and `session.cer`.
//! 2. Each custodian, on their own device, decrypts only their own share and seals it to
//!    the session certificate ([`export_share`]): a compact JWE (RSA-OAEP-256 +
//!    A256CBC-HS512) whose protected header, authenticated as AAD, names the share and
//!    binds it to this security domain ([`ShareClaim`]).
//! 3. The ceremony machine opens the exports with the session key ([`open_exports`]),
//!    checks each against the SD and combines a quorum; the drill and the restore blob then
//!    take the same path as with keys ([`verify_exports`], [`restore_blob_from_exports`]).
//! 4. The session key is overwritten, fsynced and unlinked after use
//!    ([`destroy_session_key`], [`finish_session`]).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::exchange::ExchangeKey;
use super::model::{EncShare, KeySplit, SdFile};
use super::restore_blob::{self, RestoreBlob};
use super::unlock::{self, combine_shares, KeyMatch, MatchedBy, OpenShare, Unlocked};
use super::verify::{self, VerifyReport};
use super::DomainError;
use crate::files::{self, FileError, WriteBatch, MODE_PUBLIC, MODE_SECRET};
use crate::keys::generate::{now_rfc3339, self_signed_certificate, GenerateOptions};
use crate::keys::{find_certificate_beside, Certificate, Item, KeyFile, WrappingKey};
use crate::primitives::base64url;
use crate::primitives::gf257::Share;
use crate::primitives::jwe::{self, Algorithm, CompactJwe};

/// The `cty` header of a share export.
pub const CONTENT_TYPE: &str = "sdctl-sd-share";
/// The header field holding the [`ShareClaim`].
pub const CLAIM_HEADER: &str = "sdctl_sd_share";
/// The session's private key file in its directory.
pub const SESSION_KEY_FILE: &str = "session.key";
/// The session's certificate file in its directory.
pub const SESSION_CERT_FILE: &str = "session.cer";
/// Validity of a session certificate, in days: one ceremony.
pub const SESSION_DAYS: u32 = 2;
/// The `OU` that marks a session certificate (and lets `session destroy` recognise it).
pub const SESSION_OU: &str = "sdctl distributed-quorum session";
/// Largest share export file accepted.
pub const MAX_EXPORT_FILE: u64 = 1024 * 1024;

/// A new session, as written.
#[derive(Clone, Debug, Serialize)]
pub struct SessionReport {
    /// The session directory.
    pub out_dir: String,
    /// The private key file (unencrypted, 0600).
    pub session_key: String,
    /// The certificate file the custodians export to.
    pub session_certificate: String,
    /// The certificate's subject.
    pub subject: String,
    /// Validity start (RFC 3339).
    pub not_before: String,
    /// Validity end (RFC 3339).
    pub not_after: String,
    /// RSA modulus size.
    pub bits: u32,
    /// Unpadded base64url SHA-256 of the certificate (the exports' `x5t#S256`).
    pub x5t_256: String,
    /// The same thumbprint as `openssl x509 -fingerprint -sha256` prints it: read it out.
    pub sha256_fingerprint: String,
}

/// Where a session directory keeps its key and certificate.
pub fn session_paths(out_dir: &Path) -> (PathBuf, PathBuf) {
    (
        out_dir.join(SESSION_KEY_FILE),
        out_dir.join(SESSION_CERT_FILE),
    )
}

/// Makes a session in `out_dir` (created 0700 when missing): an RSA key pair of `bits`,
/// the key unencrypted in `session.key` (0600) and a self-signed certificate valid
/// [`SESSION_DAYS`] days in `session.cer`, both written together or not at all.
pub fn create_session(
    out_dir: &Path,
    bits: u32,
    force: bool,
) -> Result<SessionReport, DomainError> {
    let options = GenerateOptions {
        bits,
        days: SESSION_DAYS,
        subject: vec![("OU".into(), SESSION_OU.into())],
    };
    options.validate()?;
    let (key_path, cert_path) = session_paths(out_dir);
    files::ensure_free(&key_path, force)?;
    files::ensure_free(&cert_path, force)?;
    let crypto =
        |e: openssl::error::ErrorStack| DomainError::Crypto(format!("session key generation: {e}"));
    let pkey = PKey::from_rsa(Rsa::generate(bits).map_err(crypto)?).map_err(crypto)?;
    let name = format!("sdctl session {}", now_rfc3339());
    let certificate = self_signed_certificate(&name, &pkey, &options)?;
    let pem = Zeroizing::new(pkey.private_key_to_pem_pkcs8().map_err(crypto)?);
    files::create_private_dir(out_dir)?;
    let mut batch = WriteBatch::new(force);
    batch.stage(&key_path, &pem, MODE_SECRET)?;
    batch.stage(&cert_path, certificate.to_pem().as_bytes(), MODE_PUBLIC)?;
    batch.commit()?;
    Ok(SessionReport {
        out_dir: out_dir.display().to_string(),
        session_key: key_path.display().to_string(),
        session_certificate: cert_path.display().to_string(),
        subject: certificate.subject().to_owned(),
        not_before: certificate.not_before().to_string(),
        not_after: certificate.not_after().to_string(),
        bits,
        x5t_256: certificate.x5t_256(),
        sha256_fingerprint: certificate.sha256_fingerprint(),
    })
}

/// Whether `cert` carries the session marker ([`SESSION_OU`]).
pub fn is_session_certificate(cert: &Certificate) -> bool {
    cert.subject().contains(&format!("OU={SESSION_OU}"))
}

/// What a share export says about the share it holds: the `sdctl_sd_share` object of its
/// protected header (authenticated with the share).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareClaim {
    /// The share's location in the SD file (`SharedKeys.enc_shares[1]`).
    pub location: String,
    /// The custodian's certificate thumbprint, as that share's `x5t_256` in the SD.
    pub x5t_256: String,
    /// Unpadded base64url SHA-256 of that share's `enc_key` string: binds the export to
    /// this exact security domain.
    pub enc_key_sha256: String,
    /// SHA-256 (hex) of the SD file the custodian exported from (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd_sha256: Option<String>,
}

/// Unpadded base64url SHA-256 of a share's `enc_key` string.
pub fn enc_key_sha256(share: &EncShare) -> String {
    base64url::encode(&Sha256::digest(share.enc_key.as_bytes()))
}

/// What a custodian exported, for them to read back.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The SD file exported from.
    pub sd_file: String,
    /// SHA-256 of the SD file.
    pub sd_sha256: String,
    /// The custodian's key file.
    pub key: String,
    /// The share exported.
    pub location: String,
    /// The custodian's certificate thumbprint (the share's `x5t_256`).
    pub x5t_256: String,
    /// How the key was matched to its share.
    pub matched_by: MatchedBy,
    /// The session certificate sealed to.
    pub session_certificate: String,
    /// Its subject.
    pub session_subject: String,
    /// Its validity end.
    pub session_not_after: String,
    /// Its unpadded base64url SHA-256 (the export's `x5t#S256`).
    pub session_x5t_256: String,
    /// Its SHA-256 fingerprint: compare it with what the ceremony machine read out.
    pub session_sha256_fingerprint: String,
    /// Whether it carries the sdctl session marker.
    pub session_marked: bool,
}

/// A sealed share export and its report.
pub struct ShareExport {
    /// The compact JWE to write to the export file.
    pub jwe: String,
    /// What it holds.
    pub report: ExportReport,
}

/// Checks, before any key is opened, that `file` can be exported from (version 2) and
/// that `session` (read from `session_path`) can be sealed to: a usable RSA key, not
/// expired, and not one of the security domain's own wrapping certificates.
pub fn preflight_export(
    file: &SdFile,
    session: &Certificate,
    session_path: &Path,
) -> Result<(), DomainError> {
    if !matches!(file.domain.split, KeySplit::Shamir(_)) {
        return Err(DomainError::NeedsVersion2 {
            path: file.path.clone(),
        });
    }
    let problem = |detail: String| DomainError::Session {
        path: session_path.to_owned(),
        detail,
    };
    if let Some(reason) = session.public_key().info().unusable_reason() {
        return Err(problem(reason));
    }
    if session.is_expired(SystemTime::now()) {
        return Err(problem(format!(
            "the session certificate expired on {}; the ceremony machine must make a new session ('sdctl sd session new')",
            session.not_after()
        )));
    }
    let thumbprint = session.x5t_256();
    if let Some((location, _)) = file
        .domain
        .shares()
        .into_iter()
        .find(|(_, s)| s.x5t_256 == thumbprint)
    {
        return Err(problem(format!(
            "is the wrapping certificate of {location} of {}, not a session certificate; export to the session.cer the ceremony machine made",
            file.path.display()
        )));
    }
    Ok(())
}

/// A custodian's export: matches `key` to its share of `file`, decrypts only that share,
/// checks that it decodes as a GF(257) share, and seals it to the `session` certificate
/// (read from `session_path`) as an `RSA-OAEP-256` + `A256CBC-HS512` compact JWE whose
/// protected header carries `cty`, the session's `x5t#S256` and the [`ShareClaim`].
pub fn export_share(
    file: &SdFile,
    key: &WrappingKey,
    session: &Certificate,
    session_path: &Path,
) -> Result<ShareExport, DomainError> {
    preflight_export(file, session, session_path)?;
    let sd = &file.domain;
    let found = unlock::match_keys(&file.path, sd, std::slice::from_ref(key))?
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::NotInDomain {
            key: key.key_path.clone(),
            detail: format!("matches none of the shares of {}", file.path.display()),
        })?;
    let opened = unlock::open_share(sd, key, found.matched, found.opened)?;
    let matched = opened.matched.clone();
    check_decodes(&opened)?;
    let shares = sd.shares();
    let claim = ShareClaim {
        location: matched.location.clone(),
        x5t_256: matched.x5t_256.clone(),
        enc_key_sha256: enc_key_sha256(shares[matched.share].1),
        sd_sha256: Some(file.sha256.clone()),
    };
    let mut header = Map::new();
    header.insert("cty".into(), Value::from(CONTENT_TYPE));
    header.insert("x5t#S256".into(), Value::from(session.x5t_256()));
    header.insert(
        CLAIM_HEADER.into(),
        serde_json::to_value(&claim).map_err(|e| DomainError::Crypto(e.to_string()))?,
    );
    let recipient = session
        .public_key()
        .to_openssl()
        .map_err(|detail| DomainError::Session {
            path: session_path.to_owned(),
            detail,
        })?;
    let jwe = jwe::encrypt_rsa_oaep256(&opened.plaintext, &recipient, &header)
        .map_err(|e| DomainError::Crypto(e.to_string()))?;
    Ok(ShareExport {
        jwe,
        report: ExportReport {
            sd_file: file.path.display().to_string(),
            sd_sha256: file.sha256.clone(),
            key: key.key_path.display().to_string(),
            location: matched.location,
            x5t_256: matched.x5t_256,
            matched_by: matched.matched_by,
            session_certificate: session_path.display().to_string(),
            session_subject: session.subject().to_owned(),
            session_not_after: session.not_after().to_string(),
            session_x5t_256: session.x5t_256(),
            session_sha256_fingerprint: session.sha256_fingerprint(),
            session_marked: is_session_certificate(session),
        },
    })
}

fn check_decodes(opened: &OpenShare) -> Result<(), DomainError> {
    Share::decode(&opened.plaintext)
        .map(drop)
        .map_err(|e| DomainError::Share {
            key: opened.matched.key.clone(),
            location: opened.matched.location.clone(),
            detail: format!("decrypted, but is not a valid share: {e}"),
        })
}

/// A share export read from its file: a well-formed compact JWE of content type
/// [`CONTENT_TYPE`], `RSA-OAEP-256`; not yet opened.
pub struct ExportFile {
    /// Where it was read from.
    pub path: PathBuf,
    jwe: CompactJwe,
}

impl ExportFile {
    /// Reads and parses a share export (bad input, exit 2, when it is not one).
    pub fn read(path: &Path) -> Result<Self, DomainError> {
        let bytes = files::read_bounded(path, MAX_EXPORT_FILE, "a share export")?;
        Self::parse(path, &bytes)
    }

    /// Parses the bytes of a share export; `path` names it in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, DomainError> {
        let invalid = |detail: String| DomainError::ExportInvalid {
            path: path.to_owned(),
            detail,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| invalid("not text; a share export is a compact JWE".into()))?;
        if text.trim().is_empty() {
            return Err(invalid(
                "file is empty; expected a share export ('sdctl sd share-export')".into(),
            ));
        }
        let jwe =
            CompactJwe::parse(text).map_err(|e| invalid(format!("not a share export: {e}")))?;
        match jwe.header().get("cty").and_then(Value::as_str) {
            Some(CONTENT_TYPE) => {}
            other => {
                return Err(invalid(format!(
                    "not an sdctl share export: content type {}, expected '{CONTENT_TYPE}' (made by 'sdctl sd share-export')",
                    other.map_or("missing".to_owned(), |c| format!("'{c}'"))
                )))
            }
        }
        if jwe.algorithm() != Algorithm::RsaOaep256 {
            return Err(invalid(format!(
                "alg '{}'; share exports are sealed with RSA-OAEP-256",
                jwe.algorithm().name()
            )));
        }
        Ok(ExportFile {
            path: path.to_owned(),
            jwe,
        })
    }

    /// The session certificate thumbprint the export names (`x5t#S256`, unauthenticated
    /// until the export is opened).
    pub fn session_x5t_256(&self) -> Option<&str> {
        self.jwe.header().get("x5t#S256").and_then(Value::as_str)
    }
}

/// The session key's certificate and where it was found; a session key without one is
/// refused (the exports name their session by its certificate).
fn session_certificate(session: &WrappingKey) -> Result<(&Certificate, &Path), DomainError> {
    match (&session.certificate, &session.certificate_path) {
        (Some(cert), Some(path)) => Ok((cert, path)),
        _ => Err(DomainError::Session {
            path: session.key_path.clone(),
            detail: format!(
                "no certificate beside the session key (expected {}); keep session.cer next to session.key",
                session.key_path.with_extension("cer").display()
            ),
        }),
    }
}

/// Opens every export with the `session` key and checks it: sealed to this session,
/// authenticated, naming a share of `file` (location, custodian thumbprint and the
/// share's `enc_key` hash), decoding as a share; no share twice; at least the quorum.
/// The first `required` exports, in the order given, are combined.
pub fn open_exports(
    file: &SdFile,
    session: &WrappingKey,
    exports: &[ExportFile],
) -> Result<Unlocked, DomainError> {
    if !matches!(file.domain.split, KeySplit::Shamir(_)) {
        return Err(DomainError::NeedsVersion2 {
            path: file.path.clone(),
        });
    }
    let (cert, cert_path) = session_certificate(session)?;
    let mut opened: Vec<OpenShare> = Vec::with_capacity(exports.len());
    for export in exports {
        let share = open_export(file, session, cert, cert_path, export)?;
        if let Some(first) = opened
            .iter()
            .find(|o| o.matched.share == share.matched.share)
        {
            return Err(DomainError::DuplicateExport {
                first: first.matched.key.clone(),
                second: share.matched.key.clone(),
                location: share.matched.location.clone(),
            });
        }
        opened.push(share);
    }
    let required = file.domain.required();
    if opened.len() < required {
        return Err(DomainError::TooFewExports {
            path: file.path.clone(),
            given: opened.len(),
            required,
        });
    }
    let chosen: Vec<&OpenShare> = opened.iter().take(required).collect();
    let master_key = combine_shares(&file.path, &chosen)?;
    Ok(Unlocked {
        master_key,
        used: chosen.iter().map(|o| o.matched.clone()).collect(),
        matches: opened.iter().map(|o| o.matched.clone()).collect(),
    })
}

fn open_export(
    file: &SdFile,
    session: &WrappingKey,
    cert: &Certificate,
    cert_path: &Path,
    export: &ExportFile,
) -> Result<OpenShare, DomainError> {
    let expected = cert.x5t_256();
    let found = export.session_x5t_256();
    if found != Some(expected.as_str()) {
        return Err(DomainError::ExportWrongSession {
            path: export.path.clone(),
            session: cert_path.to_owned(),
            found: found.unwrap_or("none").to_owned(),
            expected,
        });
    }
    let plaintext =
        export
            .jwe
            .decrypt_rsa(session.key.openssl())
            .map_err(|_| DomainError::ExportUnopened {
                path: export.path.clone(),
                session_key: session.key_path.clone(),
            })?;
    // From here the header is authenticated: it was the AAD of the tag just checked.
    let claim: ShareClaim = export
        .jwe
        .header()
        .get(CLAIM_HEADER)
        .cloned()
        .ok_or_else(|| format!("its header has no '{CLAIM_HEADER}'"))
        .and_then(|v| serde_json::from_value(v).map_err(|e| format!("'{CLAIM_HEADER}': {e}")))
        .map_err(|detail| DomainError::ExportInvalid {
            path: export.path.clone(),
            detail,
        })?;
    let share = bind_to_domain(file, &export.path, &claim)?;
    let opened = OpenShare {
        matched: KeyMatch {
            key: export.path.clone(),
            share,
            location: claim.location,
            x5t_256: claim.x5t_256,
            matched_by: MatchedBy::SessionExport,
        },
        plaintext,
    };
    check_decodes(&opened)?;
    Ok(opened)
}

/// The index of the share of `file` that `claim` names; anything that does not match is
/// an export from another security domain.
fn bind_to_domain(file: &SdFile, path: &Path, claim: &ShareClaim) -> Result<usize, DomainError> {
    let shares = file.domain.shares();
    let origin = claim
        .sd_sha256
        .as_deref()
        .map(|s| format!(" (the export names an SD file with SHA-256 {s})"))
        .unwrap_or_default();
    let foreign = |what: String| DomainError::ForeignExport {
        path: path.to_owned(),
        sd: file.path.clone(),
        detail: format!(
            "{what}{origin}; ask the custodian to export again from this SD file (SHA-256 {})",
            file.sha256
        ),
    };
    let Some(index) = shares.iter().position(|(l, _)| *l == claim.location) else {
        return Err(foreign(format!(
            "it holds {}, which this SD does not have",
            claim.location
        )));
    };
    let share = shares[index].1;
    if share.x5t_256 != claim.x5t_256 {
        return Err(foreign(format!(
            "it holds {} for certificate x5t_256 {}, but this SD's {} is for {}",
            claim.location, claim.x5t_256, claim.location, share.x5t_256
        )));
    }
    if enc_key_sha256(share) != claim.enc_key_sha256 {
        return Err(foreign(format!(
            "the custodian's certificate matches {}, but the share itself is another one (another download for the same custodians)",
            claim.location
        )));
    }
    Ok(index)
}

/// The recovery drill with a distributed quorum: [`open_exports`], then exactly the drill
/// of [`verify::verify_unlocked`].
pub fn verify_exports(
    file: &SdFile,
    session: &WrappingKey,
    exports: &[ExportFile],
) -> Result<VerifyReport, DomainError> {
    let unlocked = open_exports(file, session, exports)?;
    verify::verify_unlocked(file, &unlocked)
}

/// The restore blob with a distributed quorum: [`open_exports`], then exactly what
/// [`restore_blob::build_unlocked`] does with keys.
pub fn restore_blob_from_exports(
    file: &SdFile,
    session: &WrappingKey,
    exports: &[ExportFile],
    exchange: &ExchangeKey,
) -> Result<(RestoreBlob, Unlocked), DomainError> {
    let unlocked = open_exports(file, session, exports)?;
    restore_blob::build_unlocked(file, unlocked, exchange)
}

/// What became of a session key after a command that used it.
#[derive(Clone, Debug, Serialize)]
pub struct SessionKeyState {
    /// The session key file.
    pub session_key: String,
    /// Whether it was overwritten with zeros, fsynced and unlinked.
    pub destroyed: bool,
    /// Why it is still there, when it is.
    pub kept_because: Option<String>,
    /// The session certificate beside it (public; left in place), if any.
    pub session_certificate: Option<String>,
}

/// Destroys a session key: the file must hold one unencrypted private key and, when a
/// certificate is beside it, that certificate must be a session certificate (so a
/// custodian's key given by mistake is refused, untouched). The file is then overwritten
/// with zeros, fsynced and unlinked, and its directory fsynced. The certificate stays.
pub fn destroy_session_key(path: &Path) -> Result<SessionKeyState, DomainError> {
    let refuse = |detail: String| DomainError::Session {
        path: path.to_owned(),
        detail: format!("{detail}; nothing was changed"),
    };
    let meta = fs::symlink_metadata(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "is a symbolic link; give the session key file itself".into(),
        ));
    }
    let key_file = KeyFile::read(path)?;
    let mut keys = key_file
        .items
        .iter()
        .filter(|i| matches!(i, Item::PrivateKey(_) | Item::Pkcs12(_)));
    match (keys.next(), keys.next()) {
        (Some(Item::PrivateKey(k)), None) if k.encryption.is_none() => {}
        (Some(Item::PrivateKey(_)), None) => return Err(refuse(
            "holds an encrypted private key; session keys are never encrypted, so this is not one"
                .into(),
        )),
        _ => {
            return Err(refuse(
                "does not hold exactly one unencrypted private key, so it is not a session key"
                    .into(),
            ))
        }
    }
    let certificate = find_certificate_beside(path)?;
    if let Some((cert_path, cert)) = &certificate {
        if !is_session_certificate(cert) {
            return Err(refuse(format!(
                "the certificate beside it ({}, subject {}) is not an sdctl session certificate, so this may be a custodian's key",
                cert_path.display(),
                cert.subject()
            )));
        }
    }
    wipe(path, meta.len())?;
    Ok(SessionKeyState {
        session_key: path.display().to_string(),
        destroyed: true,
        kept_because: None,
        session_certificate: certificate.map(|(p, _)| p.display().to_string()),
    })
}

/// Overwrites `len` bytes of `path` with zeros, fsyncs, unlinks, fsyncs the directory.
fn wipe(path: &Path, len: u64) -> Result<(), DomainError> {
    let failed = |source: std::io::Error| {
        DomainError::File(FileError::Write {
            path: path.to_owned(),
            source,
        })
    };
    let mut file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(failed)?;
    let zeros = [0u8; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n]).map_err(failed)?;
        left -= n as u64;
    }
    file.sync_all().map_err(failed)?;
    drop(file);
    fs::remove_file(path).map_err(failed)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(failed)
}

/// After a successful command with a session: destroys the session key unless `keep`.
/// Never fails: a key that could not be destroyed is reported with the reason.
pub fn finish_session(session_key: &Path, keep: bool) -> SessionKeyState {
    let certificate = find_certificate_beside(session_key)
        .ok()
        .flatten()
        .map(|(p, _)| p.display().to_string());
    let kept = |because: String| SessionKeyState {
        session_key: session_key.display().to_string(),
        destroyed: false,
        kept_because: Some(because),
        session_certificate: certificate.clone(),
    };
    if keep {
        return kept("kept on request (--keep-session)".into());
    }
    destroy_session_key(session_key)
        .unwrap_or_else(|e| kept(format!("could not be destroyed: {e}")))
}

/// Adds to a failure of a command that used `session_key` that the key is still there and
/// how to destroy it (unless the file is gone, or the note is already there).
pub fn note_session_kept(error: crate::Error, session_key: &Path) -> crate::Error {
    let noted = matches!(
        error,
        crate::Error::Domain(DomainError::SessionKeyKept { .. })
    );
    if noted || fs::symlink_metadata(session_key).is_err() {
        return error;
    }
    crate::Error::Domain(DomainError::SessionKeyKept {
        session_key: session_key.to_owned(),
        error: Box::new(error),
    })
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
