//! `keys generate --pkcs11`: one custodian per token. Every token is logged in to first (a
//! wrong PIN stops the run before any key is made), then each key is made on its token,
//! then the certificates and `manifest.json` are written together. If a key cannot be made
//! or the files cannot be written, the keys already made on the other tokens are destroyed
//! again, so a second run starts from clean tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{destroy_made, generate_on_token, TokenKeyMade, TokenKeyRequest};
use crate::files::{self, WriteBatch, MODE_PUBLIC};
use crate::keys::generate::{
    file_name, validate_names, GenerateOptions, Manifest, ManifestEntry, TokenEntry, MANIFEST_FILE,
    MAX_CUSTODIANS,
};
use crate::keys::token::{Pkcs11Uri, TokenAccess, TokenDescription, TokenError, TokenSession};
use crate::keys::KeyError;

/// A validated request for keys on tokens: which tokens, for whom, how, where.
#[derive(Clone, Debug)]
pub struct TokenSetRequest {
    out_dir: PathBuf,
    uris: Vec<Pkcs11Uri>,
    names: Vec<String>,
    options: GenerateOptions,
    force: bool,
}

/// One custodian's key, made on their token.
#[derive(Debug)]
pub struct TokenCustodian {
    /// The key, its certificate and object handles.
    pub made: TokenKeyMade,
    /// The token it is on.
    pub token: TokenDescription,
    /// The session it was made in (needed to undo it).
    pub session: Arc<TokenSession>,
}

impl TokenSetRequest {
    /// Validates the tokens (1 to 10 URIs), the names (default: each URI's `token=`
    /// label) and the options (`options.bits` is the size made on every token).
    pub fn new(
        out_dir: &Path,
        uris: Vec<Pkcs11Uri>,
        names: Option<Vec<String>>,
        options: GenerateOptions,
        force: bool,
    ) -> Result<Self, KeyError> {
        if uris.is_empty() || uris.len() > MAX_CUSTODIANS {
            return Err(KeyError::Usage(format!(
                "--pkcs11 given {} time(s): give one token URI per custodian (1 to {MAX_CUSTODIANS})",
                uris.len()
            )));
        }
        if let Some(uri) = uris
            .iter()
            .find(|u| u.object.is_some() || u.id.is_some() || u.object_type.is_some())
        {
            return Err(KeyError::Usage(format!(
                "{uri}: names an object; to generate, name only the token (pkcs11:token=LABEL): the key's label is sdctl-NAME and its id is random"
            )));
        }
        let defaulted = names.is_none();
        let names = match names {
            Some(names) => names,
            None => {
                let labels = uris
                    .iter()
                    .map(|uri| {
                        uri.token.clone().ok_or_else(|| {
                            KeyError::Usage(format!(
                                "{uri}: names no token label (token=), so the custodian has no default name; give --names"
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                for (i, label) in labels.iter().enumerate() {
                    if labels[..i].contains(label) {
                        return Err(KeyError::Usage(format!(
                            "--pkcs11: the token '{label}' is given twice; give each custodian their own token"
                        )));
                    }
                }
                labels
            }
        };
        if names.len() != uris.len() {
            return Err(KeyError::Usage(format!(
                "--names has {} name(s) for {} token(s) given with --pkcs11",
                names.len(),
                uris.len()
            )));
        }
        validate_names(&names, uris.len()).map_err(|e| match e {
            KeyError::Usage(m) if defaulted => KeyError::Usage(format!(
                "{m} (names default to the token labels; give --names when a label is not a custodian name)"
            )),
            other => other,
        })?;
        options.validate()?;
        Ok(TokenSetRequest {
            out_dir: out_dir.to_owned(),
            uris,
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

    /// Every file the set will write: the certificates and the manifest (no key files).
    pub fn outputs(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.names.iter().map(|n| self.cert_path(n)).collect();
        paths.push(self.out_dir.join(MANIFEST_FILE));
        paths
    }

    /// Fails if any output exists and `force` was not given (call it before any PIN).
    pub fn check_outputs_free(&self) -> Result<(), KeyError> {
        for path in self.outputs() {
            files::ensure_free(&path, self.force)?;
        }
        Ok(())
    }

    /// Opens a logged-in read-write session on every token, in order (each PIN asked
    /// once, or read from the PIN file's line for that token). Refuses a token named twice.
    pub fn open(&self, access: &TokenAccess) -> Result<Vec<Arc<TokenSession>>, KeyError> {
        let mut sessions: Vec<Arc<TokenSession>> = Vec::new();
        for uri in &self.uris {
            let session = access.session_rw(uri)?;
            if let Some(i) = sessions.iter().position(|s| Arc::ptr_eq(s, &session)) {
                return Err(KeyError::Usage(format!(
                    "{uri}: {} is already the token of custodian {}; give each custodian their own token",
                    session.token().describe(),
                    self.names[i]
                )));
            }
            sessions.push(session);
        }
        Ok(sessions)
    }

    /// Makes each custodian's key on their token (`sessions` from [`Self::open`]), calling
    /// `progress(i)` before custodian `i` starts. If one fails, the keys already made are
    /// destroyed and the failure returned.
    pub fn generate(
        &self,
        sessions: &[Arc<TokenSession>],
        progress: &dyn Fn(usize),
    ) -> Result<Vec<TokenCustodian>, KeyError> {
        if sessions.len() != self.names.len() {
            return Err(KeyError::Usage(format!(
                "{} token sessions for {} custodians",
                sessions.len(),
                self.names.len()
            )));
        }
        let mut made: Vec<TokenCustodian> = Vec::new();
        for (i, ((name, uri), session)) in
            self.names.iter().zip(&self.uris).zip(sessions).enumerate()
        {
            progress(i);
            let token = session.token().clone();
            let mut request = TokenKeyRequest::new(name, self.options.bits, &self.options);
            request.uri = Some(key_uri(uri, &token));
            let result = {
                let guard = session.lock();
                generate_on_token(&guard, &request)
            };
            match result {
                Ok(key) => made.push(TokenCustodian {
                    made: key,
                    token,
                    session: session.clone(),
                }),
                Err(error) => return Err(undo_after(&made, error.into())),
            }
        }
        Ok(made)
    }

    /// Writes every certificate and the manifest together (all or none). If that fails,
    /// the keys are destroyed on their tokens and the failure returned.
    pub fn write(&self, custodians: &[TokenCustodian]) -> Result<Manifest, KeyError> {
        self.write_files(custodians)
            .map_err(|error| undo_after(custodians, error))
    }

    fn write_files(&self, custodians: &[TokenCustodian]) -> Result<Manifest, KeyError> {
        files::create_private_dir(&self.out_dir)?;
        let mut batch = WriteBatch::new(self.force);
        let mut entries = Vec::new();
        for c in custodians {
            let name = &c.made.name;
            let cert_path = self.cert_path(name);
            let pem = c.made.certificate.to_pem();
            batch.stage(&cert_path, pem.as_bytes(), MODE_PUBLIC)?;
            entries.push(ManifestEntry::new(
                name,
                &c.made.certificate,
                file_name(&cert_path),
                None,
                format!(
                    "none: generated on {}, sensitive and not extractable",
                    c.token.describe()
                ),
                Some(TokenEntry {
                    label: c.token.label.clone(),
                    serial: c.token.serial.clone(),
                    manufacturer: c.token.manufacturer.clone(),
                    model: c.token.model.clone(),
                    object: c.made.label.clone(),
                    id: c.made.id_hex(),
                    uri: c.made.uri.to_string(),
                }),
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

    fn cert_path(&self, name: &str) -> PathBuf {
        self.out_dir.join(format!("{name}.cer"))
    }
}

/// The URI recorded for a key: the token by label and serial, the module if the operator's
/// URI named one (never a PIN source); `object=` and `id=` are added when the key is made.
fn key_uri(given: &Pkcs11Uri, token: &TokenDescription) -> Pkcs11Uri {
    Pkcs11Uri {
        token: Some(token.label.clone()),
        serial: Some(token.serial.clone()).filter(|s| !s.is_empty()),
        module_path: given.module_path.clone(),
        ..Pkcs11Uri::default()
    }
}

/// Destroys the keys in `made` after `error`; a key that cannot be destroyed is named in
/// the error returned, so the operator knows to remove it.
fn undo_after(made: &[TokenCustodian], error: KeyError) -> KeyError {
    let failures: Vec<String> = made
        .iter()
        .rev()
        .filter_map(|c| destroy_made(&c.session.lock(), &c.made).err())
        .map(|e| e.to_string())
        .collect();
    if failures.is_empty() {
        error
    } else {
        KeyError::Token(TokenError::Device {
            context: format!(
                "{error}; the keys already made could not all be removed again (remove them before retrying)"
            ),
            detail: failures.join("; "),
        })
    }
}
