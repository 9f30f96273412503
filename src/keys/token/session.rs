//! Sessions on tokens: one logged-in session per token per run, shared by every key on
//! it. Logging in is tried exactly once: a wrong PIN is reported with what the token says
//! about its retry count, never retried (a retry loop locks smartcards).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;

use super::module::{Module, TokenDescription};
use super::pin::{pin_from_source, PinSource};
use super::{Pkcs11Uri, TokenError};

/// A logged-in session on one token.
pub struct TokenSession {
    module: Arc<Module>,
    slot: Slot,
    token: TokenDescription,
    mechanisms: Vec<MechanismType>,
    session: Mutex<Session>,
    read_write: bool,
}

impl std::fmt::Debug for TokenSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSession({})", self.token.describe())
    }
}

impl TokenSession {
    /// The token.
    pub fn token(&self) -> &TokenDescription {
        &self.token
    }

    /// The module the token is reached through.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Whether the token offers `mechanism`.
    pub fn offers(&self, mechanism: MechanismType) -> bool {
        self.mechanisms.contains(&mechanism)
    }

    /// The session, for one operation at a time (PKCS#11 sessions are not shared between
    /// threads).
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a run needs to reach tokens: the module named on the command line or in a plan,
/// where PINs come from, and the sessions opened so far (one per token).
pub struct TokenAccess {
    module: Option<PathBuf>,
    pins: PinSource,
    sessions: Mutex<Vec<Arc<TokenSession>>>,
    /// PINs taken from `pins` so far: PIN-file lines go to tokens in the order they are
    /// first logged in to (a token whose URI has its own pin-source takes no line).
    pins_taken: Mutex<usize>,
    /// Tokens whose login failed in this run, with the failure: never tried again.
    failed: Mutex<Vec<(PathBuf, Slot, String)>>,
}

impl std::fmt::Debug for TokenAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenAccess({:?}, {:?})", self.module, self.pins)
    }
}

impl Default for TokenAccess {
    fn default() -> Self {
        TokenAccess::new(None, PinSource::Unavailable)
    }
}

impl TokenAccess {
    /// Access through `module` (when a URI names none) with PINs from `pins`.
    pub fn new(module: Option<PathBuf>, pins: PinSource) -> Self {
        TokenAccess {
            module,
            pins,
            sessions: Mutex::new(Vec::new()),
            pins_taken: Mutex::new(0),
            failed: Mutex::new(Vec::new()),
        }
    }

    /// The module given to the run (`--pkcs11-module`), if any.
    pub fn module(&self) -> Option<&std::path::Path> {
        self.module.as_deref()
    }

    /// The module for `uri`: its own `module-path`, else the one given to the run.
    pub fn module_for(&self, uri: &Pkcs11Uri) -> Result<Arc<Module>, TokenError> {
        let path = uri
            .module_path
            .as_ref()
            .or(self.module.as_ref())
            .ok_or_else(|| TokenError::NoModule {
                uri: uri.to_string(),
            })?;
        Module::load(path)
    }

    /// A logged-in read-only session on the token `uri` names (opened and logged in on
    /// first use; later keys on the same token share it).
    pub fn session(&self, uri: &Pkcs11Uri) -> Result<Arc<TokenSession>, TokenError> {
        self.open(uri, false)
    }

    /// A logged-in read-write session on the token `uri` names (for generating keys).
    pub fn session_rw(&self, uri: &Pkcs11Uri) -> Result<Arc<TokenSession>, TokenError> {
        self.open(uri, true)
    }

    /// The sessions opened so far (the tokens used), in order.
    pub fn sessions(&self) -> Vec<Arc<TokenSession>> {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Where PINs come from, for records: `from --pin-file`, `typed at a hidden prompt`,
    /// or `none available`.
    pub fn pin_origin(&self) -> &'static str {
        match self.pins {
            PinSource::File(_) => "from --pin-file",
            PinSource::Prompt => "typed at a hidden prompt",
            PinSource::Unavailable => "none available",
        }
    }

    /// Whether the PIN file may be read by other users.
    pub fn pins_readable_by_others(&self) -> bool {
        self.pins.readable_by_others()
    }

    fn open(&self, uri: &Pkcs11Uri, read_write: bool) -> Result<Arc<TokenSession>, TokenError> {
        let module = self.module_for(uri)?;
        let (slot, token) = module.find_token(uri)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = sessions.iter().find(|s| {
            s.module.path() == module.path() && s.slot == slot && (s.read_write || !read_write)
        }) {
            return Ok(open.clone());
        }
        let already_logged_in = sessions
            .iter()
            .any(|s| s.module.path() == module.path() && s.slot == slot);
        {
            let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, _, why)) = failed
                .iter()
                .find(|(m, sl, _)| m == module.path() && *sl == slot)
            {
                // One login attempt per token per run, whatever asks again (keys check
                // goes on after a wrong PIN; another key on the same token).
                return Err(TokenError::LoginFailedEarlier {
                    token: token.describe(),
                    earlier: why.clone(),
                });
            }
        }
        let session = open_session(&module, slot, &token, read_write)?;
        if !already_logged_in {
            if let Err(e) = self.login(&module, slot, &token, &session, uri) {
                self.failed.lock().unwrap_or_else(|p| p.into_inner()).push((
                    module.path().to_owned(),
                    slot,
                    e.to_string(),
                ));
                return Err(e);
            }
        }
        let mechanisms = module.mechanisms(slot)?;
        let opened = Arc::new(TokenSession {
            module,
            slot,
            token,
            mechanisms,
            session: Mutex::new(session),
            read_write,
        });
        sessions.push(opened.clone());
        Ok(opened)
    }

    fn login(
        &self,
        module: &Module,
        slot: Slot,
        token: &TokenDescription,
        session: &Session,
        uri: &Pkcs11Uri,
    ) -> Result<(), TokenError> {
        if token.pin_locked {
            return Err(TokenError::PinLocked {
                token: token.describe(),
            });
        }
        let from_file = uri.pin_source.is_some() || matches!(self.pins, PinSource::File(_));
        if token.pin_final_try && from_file && !token.protected_authentication_path {
            // A misplaced line of a PIN file would lock the token now.
            return Err(TokenError::Pin {
                token: token.describe(),
                detail: "the token says the next wrong PIN locks it: sdctl does not take its PIN from a file now; type it at the prompt (run without --pin-file), carefully".into(),
            });
        }
        let result = if token.protected_authentication_path {
            eprintln!(
                "Type the PIN of {} on the reader's keypad.",
                token.describe()
            );
            session.login(UserType::User, None)
        } else {
            let pin = match &uri.pin_source {
                Some(path) => pin_from_source(path, token)?,
                None => {
                    let mut taken = self.pins_taken.lock().unwrap_or_else(|p| p.into_inner());
                    let pin = self.pins.pin(*taken, token)?;
                    *taken += 1;
                    pin
                }
            };
            session.login_with_raw(UserType::User, pin.raw())
        };
        match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                let after = module.describe(slot).unwrap_or_else(|_| token.clone());
                Err(TokenError::WrongPin {
                    token: token.describe(),
                    state: after.pin_state(),
                })
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(TokenError::PinLocked {
                token: token.describe(),
            }),
            Err(CkError::Pkcs11(RvError::PinLenRange, _)) => Err(TokenError::WrongPin {
                token: token.describe(),
                state: " (its length is outside what the token accepts)".into(),
            }),
            Err(e) => Err(TokenError::Device {
                context: format!("{}: logging in", token.describe()),
                detail: e.to_string(),
            }),
        }
    }
}

fn open_session(
    module: &Module,
    slot: Slot,
    token: &TokenDescription,
    read_write: bool,
) -> Result<Session, TokenError> {
    let opened = if read_write {
        module.context().open_rw_session(slot)
    } else {
        module.context().open_ro_session(slot)
    };
    opened.map_err(|e| TokenError::Device {
        context: format!("{}: opening a session", token.describe()),
        detail: e.to_string(),
    })
}
