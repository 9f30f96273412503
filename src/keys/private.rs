//! Opening private keys (OpenSSL does every private-key operation) and pairing each with
//! its certificate: inside the same file or PKCS#12, or beside it with the same stem.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use zeroize::Zeroizing;

use super::certificate::Certificate;
use super::direct::{self, Direct};
use super::file::{EncodedKey, Item, KeyFile};
use super::public::PublicKey;
use super::token::{self, DecryptPath, TokenAccess, TokenKey};
use super::KeyError;
use crate::parallel;
use crate::passphrase::{Passphrase, PassphraseSource};
use crate::primitives::jwe::{Algorithm, RsaKeyUnwrap};

/// File extensions searched, in order, for the certificate beside a key.
pub const CERT_EXTENSIONS: [&str; 3] = ["cer", "crt", "pem"];

/// A private key ready for use: decrypted into OpenSSL (which clears the key material,
/// `BN_clear_free`, when the key is dropped), or a key on a PKCS#11 token, which never
/// leaves it.
pub struct PrivateKey {
    backend: Backend,
    public: PublicKey,
}

enum Backend {
    File(PKey<Private>),
    Token(Box<TokenKey>),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::File(_) => write!(f, "PrivateKey({})", self.public.info()),
            Backend::Token(t) => write!(f, "PrivateKey({}, {t:?})", self.public.info()),
        }
    }
}

impl RsaKeyUnwrap for PrivateKey {
    fn unwrap_cek(&self, algorithm: Algorithm, wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        match &self.backend {
            Backend::File(pkey) => pkey.unwrap_cek(algorithm, wrapped),
            Backend::Token(key) => key.unwrap_cek(algorithm, wrapped),
        }
    }
}

impl PrivateKey {
    fn from_pkey(pkey: PKey<Private>) -> Result<Self, String> {
        let public = match pkey.rsa() {
            Ok(rsa) => PublicKey::rsa(&rsa.n().to_vec(), &rsa.e().to_vec()),
            Err(_) => {
                let spki = pkey.public_key_to_der().map_err(|e| e.to_string())?;
                PublicKey::from_spki_der(&spki)?
            }
        };
        Ok(PrivateKey {
            backend: Backend::File(pkey),
            public,
        })
    }

    /// A key on a token, with its public half as the token reports it.
    pub fn on_token(key: TokenKey, public: PublicKey) -> Self {
        PrivateKey {
            backend: Backend::Token(Box::new(key)),
            public,
        }
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Whether `cert` carries this key's public half.
    pub fn matches(&self, cert: &Certificate) -> bool {
        cert.public_key() == &self.public
    }

    /// The OpenSSL key, when the key is not on a token.
    pub fn openssl(&self) -> Option<&PKey<Private>> {
        match &self.backend {
            Backend::File(pkey) => Some(pkey),
            Backend::Token(_) => None,
        }
    }

    /// The token key, when the key is on a token.
    pub fn token(&self) -> Option<&TokenKey> {
        match &self.backend {
            Backend::File(_) => None,
            Backend::Token(key) => Some(key),
        }
    }

    /// How the last decryption ran: `file` (OpenSSL, in this process) or the token's path.
    pub fn decryption_path(&self) -> &'static str {
        match &self.backend {
            Backend::File(_) => "file",
            Backend::Token(key) => key.last_path().map(DecryptPath::name).unwrap_or("token"),
        }
    }

    /// Unencrypted PKCS#8 DER of the key, in zeroizing memory (never for a token key).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, String> {
        match &self.backend {
            // OpenSSL's i2d of a PKCS8 structure: the buffer is ours and wiped on drop.
            Backend::File(pkey) => pkey
                .private_key_to_pkcs8()
                .map(Zeroizing::new)
                .map_err(|e| e.to_string()),
            Backend::Token(_) => Err("the key is on a token and cannot leave it".into()),
        }
    }

    /// Wraps a key generated in-process.
    pub(crate) fn generated(pkey: PKey<Private>) -> Result<Self, String> {
        Self::from_pkey(pkey)
    }
}

/// A custodian's wrapping key: an RSA private key of at least 2048 bits and, when found,
/// its certificate.
#[derive(Debug)]
pub struct WrappingKey {
    /// Where the key was read from.
    pub key_path: PathBuf,
    /// The private key.
    pub key: PrivateKey,
    /// The matching certificate, when one was found.
    pub certificate: Option<Certificate>,
    /// Where the certificate was found (the key file itself for PKCS#12 and bundles).
    pub certificate_path: Option<PathBuf>,
}

/// Loads wrapping key number `index` (its line in a passphrase file) from `path`: any
/// supported format, decrypted with a passphrase from `passphrases` when it is encrypted,
/// checked to be RSA ≥ 2048 bits, and paired with its certificate (same file, PKCS#12, or
/// beside it with the same stem). A certificate that does not match the key is an error.
pub fn load_wrapping_key(
    path: &Path,
    index: usize,
    passphrases: &PassphraseSource,
) -> Result<WrappingKey, KeyError> {
    load_wrapping_key_with(path, index, passphrases, &TokenAccess::default())
}

/// [`load_wrapping_key`] where `path` may also be a PKCS#11 URI, reached through `tokens`
/// (its module and PINs).
pub fn load_wrapping_key_with(
    path: &Path,
    index: usize,
    passphrases: &PassphraseSource,
    tokens: &TokenAccess,
) -> Result<WrappingKey, KeyError> {
    if token::is_pkcs11_uri(path) {
        return load_token_key(path, tokens);
    }
    PendingKey::prepare(path, index, passphrases)?.to_wrapping_key()
}

/// Opens the private key a PKCS#11 URI names (logging in to its token on first use) and
/// pairs it with the certificate stored with it on the token.
pub fn load_token_key(reference: &Path, tokens: &TokenAccess) -> Result<WrappingKey, KeyError> {
    let text = reference.to_string_lossy();
    let uri = token::Pkcs11Uri::parse(&text).map_err(token::TokenError::from)?;
    let found = token::find_key(tokens, &uri)?;
    Ok(WrappingKey {
        key_path: reference.to_owned(),
        key: PrivateKey::on_token(found.key, found.public),
        certificate_path: found.certificate.as_ref().map(|_| reference.to_owned()),
        certificate: found.certificate,
    })
}

/// Loads several wrapping keys as [`load_wrapping_key`] does: every file is read and every
/// passphrase obtained first, in order (prompts come one at a time); then the keys are
/// opened, on every core when at least two have a costly key derivation (read from their
/// PBES2 parameters: 600,000 PBKDF2 iterations take a fifth of a second per key), in order
/// otherwise (opening a plain key, or one under openssl's default 2,048 iterations, takes
/// less than what threads cost in OpenSSL 3.0's locks). The first failure in the order of
/// `paths` is returned.
pub fn load_wrapping_keys(
    paths: &[PathBuf],
    passphrases: &PassphraseSource,
) -> Result<Vec<WrappingKey>, KeyError> {
    load_wrapping_keys_with(paths, passphrases, &TokenAccess::default())
}

/// [`load_wrapping_keys`] where keys may also be PKCS#11 URIs, reached through `tokens`.
/// Token keys are opened in order while the files are read (each token's PIN is asked when
/// it is first used), file keys then as [`load_wrapping_keys`] does.
pub fn load_wrapping_keys_with(
    paths: &[PathBuf],
    passphrases: &PassphraseSource,
    tokens: &TokenAccess,
) -> Result<Vec<WrappingKey>, KeyError> {
    let mut on_token: Vec<Option<WrappingKey>> = Vec::with_capacity(paths.len());
    let mut files = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        if token::is_pkcs11_uri(path) {
            on_token.push(Some(load_token_key(path, tokens)?));
        } else {
            on_token.push(None);
            files.push(PendingKey::prepare(path, i, passphrases)?);
        }
    }
    // Several threads only pay when at least two keys have a costly key derivation: with
    // cheap ones (openssl's default PBKDF2 count) the threads spend their time contending
    // in OpenSSL 3.0's locks instead.
    let costly = files.iter().filter(|p| p.costly()).count();
    let threads = if costly >= 2 {
        parallel::default_threads()
    } else {
        1
    };
    let mut opened =
        parallel::map(&files, threads, |_, key| key.to_wrapping_key(), &|_| {}).into_iter();
    on_token
        .into_iter()
        .map(|slot| match slot {
            Some(key) => Ok(key),
            None => opened.next().unwrap_or_else(|| {
                Err(KeyError::Usage(
                    "internal: a key file was not opened".into(),
                ))
            }),
        })
        .collect()
}

/// Opens the one private key in the file at `path` (key number `index` for the passphrase
/// source) and returns it with the certificate the file itself carries for it, if any
/// (PKCS#12, or a PEM bundle of key and certificate). Any key algorithm and size.
pub fn open_private_key(
    path: &Path,
    index: usize,
    passphrases: &PassphraseSource,
) -> Result<(PrivateKey, Option<Certificate>), KeyError> {
    PendingKey::prepare(path, index, passphrases)?.open()
}

/// A key file read and classified, with its passphrase in hand, not yet decrypted.
struct PendingKey {
    file: KeyFile,
    passphrase: Option<Passphrase>,
}

impl PendingKey {
    fn prepare(
        path: &Path,
        index: usize,
        passphrases: &PassphraseSource,
    ) -> Result<Self, KeyError> {
        let file = KeyFile::read(path)?;
        let passphrase = match stored_key(&file)? {
            StoredKey::Encoded(encoded) if encoded.encryption.is_some() => {
                Some(passphrases.for_existing(index, path)?)
            }
            StoredKey::Encoded(_) => None,
            StoredKey::Pkcs12(_) => Some(passphrases.for_container(index, path)?),
        };
        Ok(PendingKey { file, passphrase })
    }

    /// Whether opening this key runs a costly key derivation.
    fn costly(&self) -> bool {
        self.passphrase.is_some()
            && matches!(stored_key(&self.file), Ok(StoredKey::Encoded(e)) if e.costly_kdf)
    }

    /// Decrypts the key; returns it with the matching certificate inside the file, if any.
    fn open(&self) -> Result<(PrivateKey, Option<Certificate>), KeyError> {
        let path = &self.file.path;
        match stored_key(&self.file)? {
            StoredKey::Encoded(encoded) => {
                let key = open_encoded(path, encoded, self.passphrase.as_ref())?;
                let cert = self.file.certificates().find(|c| key.matches(c)).cloned();
                Ok((key, cert))
            }
            StoredKey::Pkcs12(der) => {
                let empty = Passphrase::new(String::new());
                open_pkcs12(path, der, self.passphrase.as_ref().unwrap_or(&empty))
            }
        }
    }

    fn to_wrapping_key(&self) -> Result<WrappingKey, KeyError> {
        let path = &self.file.path;
        let (key, mut certificate) = self.open()?;
        if let Some(reason) = key.public_key().info().unusable_reason() {
            return Err(KeyError::Unusable {
                path: path.clone(),
                reason,
            });
        }
        let mut certificate_path = certificate.as_ref().map(|_| path.clone());
        if certificate.is_none() {
            if let Some((cert_path, cert)) = find_certificate_beside(path)? {
                certificate_path = Some(cert_path);
                certificate = Some(cert);
            }
        }
        if let (Some(cert), Some(cert_path)) = (&certificate, &certificate_path) {
            if !key.matches(cert) {
                return Err(KeyError::Mismatch {
                    key: path.clone(),
                    cert: cert_path.clone(),
                });
            }
        }
        Ok(WrappingKey {
            key_path: path.clone(),
            key,
            certificate,
            certificate_path,
        })
    }
}

/// The one private key of a file; none or several is an error.
fn stored_key(file: &KeyFile) -> Result<StoredKey<'_>, KeyError> {
    let path = &file.path;
    let mut keys = file.items.iter().filter_map(|item| match item {
        Item::PrivateKey(encoded) => Some(StoredKey::Encoded(encoded)),
        Item::Pkcs12(der) => Some(StoredKey::Pkcs12(der)),
        _ => None,
    });
    match (keys.next(), keys.count()) {
        (Some(key), 0) => Ok(key),
        (None, _) => Err(KeyError::NoPrivateKey {
            path: path.clone(),
            found: describe_items(&file.items),
        }),
        (Some(_), more) => Err(KeyError::Malformed {
            path: path.clone(),
            detail: format!("holds {} private keys; give one key per file", more + 1),
        }),
    }
}

/// A private key as found in a file: a key block, or a PKCS#12 container.
enum StoredKey<'a> {
    Encoded(&'a EncodedKey),
    Pkcs12(&'a [u8]),
}

/// An OpenSSL passphrase callback giving `pass`. The callback writes the passphrase
/// straight into OpenSSL's buffer (which OpenSSL cleanses), where the `_passphrase` variants
/// of the `openssl` crate copy it into a `CString` that is freed unwiped; it never falls
/// back to OpenSSL's own terminal prompt either.
pub(crate) fn passphrase_callback(
    pass: &[u8],
) -> impl FnOnce(&mut [u8]) -> Result<usize, openssl::error::ErrorStack> + '_ {
    move |buf: &mut [u8]| match buf.get_mut(..pass.len()) {
        Some(room) => {
            room.copy_from_slice(pass);
            Ok(pass.len())
        }
        None => Err(openssl::error::ErrorStack::get()),
    }
}

/// Decrypts (when needed) an encoded private key.
pub fn open_encoded(
    path: &Path,
    key: &EncodedKey,
    passphrase: Option<&Passphrase>,
) -> Result<PrivateKey, KeyError> {
    let pass = passphrase.map(|p| p.expose().as_bytes()).unwrap_or(b"");
    // The usual RSA formats skip OpenSSL 3.0's costly generic decoder (keys/direct.rs).
    let direct = match direct::open(key, pass) {
        Direct::Opened(pkey) => Some(pkey),
        Direct::WrongPassphrase => {
            return Err(KeyError::WrongPassphrase {
                path: path.to_owned(),
            })
        }
        Direct::NotHandled => None,
        Direct::Malformed(detail) => {
            return Err(KeyError::Malformed {
                path: path.to_owned(),
                detail,
            })
        }
    };
    let opened = match direct {
        Some(pkey) => Ok(pkey),
        None => {
            let give = passphrase_callback(pass);
            let source = &key.source;
            match (source.pem(), key.encryption.is_some()) {
                (Some(pem), _) => PKey::private_key_from_pem_callback(pem.as_bytes(), give),
                (None, true) => PKey::private_key_from_pkcs8_callback(source.der(), give),
                (None, false) => PKey::private_key_from_der(source.der()),
            }
        }
    };
    let pkey = opened.map_err(|e| match key.encryption {
        Some(_) => KeyError::WrongPassphrase {
            path: path.to_owned(),
        },
        None => KeyError::Malformed {
            path: path.to_owned(),
            detail: format!("OpenSSL cannot read the private key: {}", first_reason(&e)),
        },
    })?;
    PrivateKey::from_pkey(pkey).map_err(|detail| KeyError::Malformed {
        path: path.to_owned(),
        detail,
    })
}

/// Opens a PKCS#12 container: its private key and the certificate that matches it.
/// Containers from older Windows exports use RC2/3DES, which OpenSSL 3 keeps in its
/// "legacy" provider: it is loaded on demand when the default provider cannot decrypt.
fn open_pkcs12(
    path: &Path,
    der: &[u8],
    passphrase: &Passphrase,
) -> Result<(PrivateKey, Option<Certificate>), KeyError> {
    let malformed = |detail: String| KeyError::Malformed {
        path: path.to_owned(),
        detail,
    };
    let pkcs12 = Pkcs12::from_der(der)
        .map_err(|e| malformed(format!("invalid PKCS#12: {}", first_reason(&e))))?;
    if passphrase.expose().contains('\0') {
        // PKCS#12 passwords are C strings: none with a NUL in it can open the file.
        return Err(KeyError::WrongPassphrase {
            path: path.to_owned(),
        });
    }
    let parsed = match parse_pkcs12(&pkcs12, passphrase) {
        Ok(parsed) => parsed,
        Err(first) => {
            if is_mac_failure(&first) || !load_legacy_provider() {
                return Err(pkcs12_error(path, &first));
            }
            parse_pkcs12(&pkcs12, passphrase).map_err(|e| pkcs12_error(path, &e))?
        }
    };
    let pkey = parsed.pkey.ok_or_else(|| KeyError::NoPrivateKey {
        path: path.to_owned(),
        found: "a PKCS#12 file with certificates only".into(),
    })?;
    let key = PrivateKey::from_pkey(pkey).map_err(malformed)?;
    let mut certs = Vec::new();
    if let Some(cert) = parsed.cert {
        certs.push(cert);
    }
    certs.extend(parsed.ca.into_iter().flatten());
    for x509 in certs {
        let cert_der = x509.to_der().map_err(|e| malformed(e.to_string()))?;
        let cert = Certificate::from_der(&cert_der)
            .map_err(|e| malformed(format!("invalid certificate inside PKCS#12: {e}")))?;
        if key.matches(&cert) {
            return Ok((key, Some(cert)));
        }
    }
    Ok((key, None))
}

/// What a PKCS#12 file holds.
struct Pkcs12Contents {
    pkey: Option<PKey<Private>>,
    cert: Option<openssl::x509::X509>,
    ca: Option<openssl::stack::Stack<openssl::x509::X509>>,
}

/// `PKCS12_parse` with the password NUL-terminated in wiped memory: the `openssl` crate's
/// `Pkcs12::parse2` takes a `&str` and frees its `CString` copy unwiped. A password with a
/// NUL in it would be read only up to the NUL: the caller refuses those.
fn parse_pkcs12(
    pkcs12: &Pkcs12,
    passphrase: &Passphrase,
) -> Result<Pkcs12Contents, openssl::error::ErrorStack> {
    use foreign_types::ForeignType;
    let text = passphrase.expose().as_bytes();
    let mut pass = Zeroizing::new(Vec::with_capacity(text.len() + 1));
    pass.extend_from_slice(text);
    pass.push(0);
    let mut pkey = std::ptr::null_mut();
    let mut cert = std::ptr::null_mut();
    let mut ca = std::ptr::null_mut();
    // SAFETY: `pkcs12` is a live PKCS12; `pass` is NUL-terminated and outlives the call;
    // on success OpenSSL hands us ownership of whatever it sets (each may be null), which
    // the wrappers below free exactly once when dropped.
    let rc = unsafe {
        openssl_sys::PKCS12_parse(
            pkcs12.as_ptr(),
            pass.as_ptr().cast(),
            &mut pkey,
            &mut cert,
            &mut ca,
        )
    };
    if rc != 1 {
        return Err(openssl::error::ErrorStack::get());
    }
    // SAFETY: non-null pointers set by a successful PKCS12_parse are owned by us.
    unsafe {
        Ok(Pkcs12Contents {
            pkey: (!pkey.is_null()).then(|| PKey::from_ptr(pkey)),
            cert: (!cert.is_null()).then(|| openssl::x509::X509::from_ptr(cert)),
            ca: (!ca.is_null()).then(|| openssl::stack::Stack::from_ptr(ca)),
        })
    }
}

fn pkcs12_error(path: &Path, e: &openssl::error::ErrorStack) -> KeyError {
    if is_mac_failure(e) {
        KeyError::WrongPassphrase {
            path: path.to_owned(),
        }
    } else {
        KeyError::Malformed {
            path: path.to_owned(),
            detail: format!(
                "cannot open PKCS#12 ({}); re-export it with 'openssl pkcs12 -export' (AES-256)",
                first_reason(e)
            ),
        }
    }
}

fn is_mac_failure(e: &openssl::error::ErrorStack) -> bool {
    e.errors().iter().any(|err| {
        err.reason()
            .is_some_and(|r| r.contains("mac verify failure"))
    })
}

fn load_legacy_provider() -> bool {
    static LEGACY: OnceLock<Option<openssl::provider::Provider>> = OnceLock::new();
    LEGACY
        .get_or_init(|| openssl::provider::Provider::try_load(None, "legacy", true).ok())
        .is_some()
}

fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(|err| err.reason().map(str::to_owned))
        .unwrap_or_else(|| "unknown OpenSSL error".into())
}

/// Finds the certificate beside a key: the first of `STEM.cer`, `STEM.crt`, `STEM.pem`
/// (other than the key itself) that holds a certificate.
pub fn find_certificate_beside(key: &Path) -> Result<Option<(PathBuf, Certificate)>, KeyError> {
    for ext in CERT_EXTENSIONS {
        let candidate = key.with_extension(ext);
        if candidate == key || !candidate.is_file() {
            continue;
        }
        let file = KeyFile::read(&candidate)?;
        let cert = file.certificates().next().cloned();
        if let Some(cert) = cert {
            return Ok(Some((candidate, cert)));
        }
    }
    Ok(None)
}

/// A short description of what a file holds, for "no private key" messages.
pub fn describe_items(items: &[Item]) -> String {
    let names: Vec<String> = items
        .iter()
        .map(|i| match i {
            Item::Certificate(_) => "a certificate".to_owned(),
            Item::PublicKey(_) => "a public key".to_owned(),
            Item::PrivateKey(_) => "a private key".to_owned(),
            Item::Pkcs12(_) => "a PKCS#12 container".to_owned(),
            Item::Other(label) => format!("a '{label}' block"),
        })
        .collect();
    if names.is_empty() {
        "nothing usable".into()
    } else {
        names.join(", ")
    }
}
