//! Loading a PKCS#11 module at run time (once per process) and finding the token a URI
//! names among the tokens present.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::slot::{Slot, TokenInfo};
use serde::Serialize;

use super::raw_info::{self, RawTokenInfo};
use super::{Pkcs11Uri, TokenError};

/// CK_TOKEN_INFO flags read from a raw answer (PKCS#11 2.40 values).
const CKF_PROTECTED_AUTHENTICATION_PATH: u64 = 0x100;
const CKF_TOKEN_INITIALIZED: u64 = 0x400;
const CKF_USER_PIN_COUNT_LOW: u64 = 0x1_0000;
const CKF_USER_PIN_FINAL_TRY: u64 = 0x2_0000;
const CKF_USER_PIN_LOCKED: u64 = 0x4_0000;

/// A loaded and initialised PKCS#11 module.
pub struct Module {
    path: PathBuf,
    context: Pkcs11,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Module({})", self.path.display())
    }
}

/// What a token says about itself (C_GetTokenInfo), with the slot it sits in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenDescription {
    /// The slot's number.
    pub slot: u64,
    /// The token's label.
    pub label: String,
    /// The token's manufacturer.
    pub manufacturer: String,
    /// The token's model.
    pub model: String,
    /// The token's serial number.
    pub serial: String,
    /// The user PIN has been entered wrongly at least once since the last success.
    pub pin_count_low: bool,
    /// One more wrong user PIN locks the token.
    pub pin_final_try: bool,
    /// The user PIN is locked.
    pub pin_locked: bool,
    /// PINs are entered on the reader's own keypad, not through sdctl.
    pub protected_authentication_path: bool,
}

impl TokenDescription {
    fn read(slot: Slot, info: &TokenInfo) -> Self {
        TokenDescription {
            slot: slot.id(),
            label: info.label().trim_end().to_owned(),
            manufacturer: info.manufacturer_id().trim_end().to_owned(),
            model: info.model().trim_end().to_owned(),
            serial: info.serial_number().trim_end().to_owned(),
            pin_count_low: info.user_pin_count_low(),
            pin_final_try: info.user_pin_final_try(),
            pin_locked: info.user_pin_locked(),
            protected_authentication_path: info.protected_authentication_path(),
        }
    }

    fn from_raw(slot: Slot, info: &RawTokenInfo) -> Self {
        let flag = |bit: u64| info.flags & bit != 0;
        TokenDescription {
            slot: slot.id(),
            label: info.label.clone(),
            manufacturer: info.manufacturer.clone(),
            model: info.model.clone(),
            serial: info.serial.clone(),
            pin_count_low: flag(CKF_USER_PIN_COUNT_LOW),
            pin_final_try: flag(CKF_USER_PIN_FINAL_TRY),
            pin_locked: flag(CKF_USER_PIN_LOCKED),
            protected_authentication_path: flag(CKF_PROTECTED_AUTHENTICATION_PATH),
        }
    }

    /// `token 'LABEL' (serial S)`, for messages and prompts.
    pub fn describe(&self) -> String {
        format!("token '{}' (serial {})", self.label, self.serial)
    }

    /// What the token says about its user PIN, for a wrong-PIN message.
    pub fn pin_state(&self) -> String {
        if self.pin_locked {
            ", and the token now reports the user PIN locked".into()
        } else if self.pin_final_try {
            ", and the token says the NEXT wrong PIN LOCKS it".into()
        } else if self.pin_count_low {
            ", and the token reports earlier wrong PINs (its retry count is low)".into()
        } else {
            " (the token reports no retry count)".into()
        }
    }
}

/// A module runs inside sdctl with every secret it holds: it is loaded only from an
/// absolute path, and neither the file nor its directory may be writable by other users
/// (or owned by anyone but root or this user).
fn check_module_file(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = own_uid();
    let dir = path.parent().unwrap_or(Path::new("/"));
    for (what, p) in [("file", path), ("directory", dir)] {
        let meta =
            std::fs::metadata(p).map_err(|e| format!("cannot read the {what}'s metadata: {e}"))?;
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "the module's {what} {} is writable by other users: anyone could replace the code sdctl would load; install the module where only root can write",
                p.display()
            ));
        }
        if meta.uid() != 0 && Some(meta.uid()) != me {
            return Err(format!(
                "the module's {what} {} belongs to another user (uid {}); install the module where only root can write",
                p.display(),
                meta.uid()
            ));
        }
    }
    Ok(())
}

/// This process's user id (from /proc, without libc's getuid).
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

impl Module {
    /// Loads the module at `path` (once per process: later calls return the same module).
    pub fn load(path: &Path) -> Result<Arc<Module>, TokenError> {
        static LOADED: OnceLock<Mutex<Vec<Arc<Module>>>> = OnceLock::new();
        let loaded = LOADED.get_or_init(|| Mutex::new(Vec::new()));
        let mut loaded = loaded.lock().unwrap_or_else(|p| p.into_inner());
        if !path.is_absolute() {
            return Err(TokenError::Module {
                module: path.to_owned(),
                detail: "give the module's absolute path (a relative path loads whatever the current directory holds)".into(),
            });
        }
        // One module however it is spelled (a symlink, `..`): one login per token.
        let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        if let Some(module) = loaded.iter().find(|m| m.path == *path) {
            return Ok(module.clone());
        }
        let fail = |detail: String| TokenError::Module {
            module: path.to_owned(),
            detail,
        };
        if !path.is_file() {
            return Err(fail(
                "no such file; give the token library's full path (e.g. /usr/lib/softhsm/libsofthsm2.so)".into(),
            ));
        }
        check_module_file(path).map_err(fail)?;
        let context = Pkcs11::new(path).map_err(|e| fail(format!("not a PKCS#11 library: {e}")))?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(fail(format!("C_Initialize failed: {e}"))),
        }
        let module = Arc::new(Module {
            path: path.to_owned(),
            context,
        });
        loaded.push(module.clone());
        Ok(module)
    }

    /// The module's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cryptoki context, for sessions.
    pub fn context(&self) -> &Pkcs11 {
        &self.context
    }

    /// The initialised tokens present, in slot order (SoftHSM2 always shows one empty slot).
    pub fn tokens(&self) -> Result<Vec<(Slot, TokenDescription)>, TokenError> {
        let slots = self
            .context
            .get_slots_with_token()
            .map_err(|e| self.device("listing slots", e))?;
        let mut tokens = Vec::with_capacity(slots.len());
        for slot in slots {
            let (description, initialised) = self.read_token(slot)?;
            if initialised {
                tokens.push((slot, description));
            }
        }
        Ok(tokens)
    }

    /// Reads a token's description afresh (its PIN flags change after a login attempt).
    pub fn describe(&self, slot: Slot) -> Result<TokenDescription, TokenError> {
        self.read_token(slot).map(|(description, _)| description)
    }

    /// C_GetTokenInfo: the description and whether the token is initialised. A token whose
    /// answer cryptoki cannot parse (openCryptoki 3.8 writes a non-standard `utcTime`) is
    /// read field by field instead, its clock ignored.
    fn read_token(&self, slot: Slot) -> Result<(TokenDescription, bool), TokenError> {
        match self.context.get_token_info(slot) {
            Ok(info) => Ok((
                TokenDescription::read(slot, &info),
                info.token_initialized(),
            )),
            Err(CkError::ParseInt(_)) => {
                let raw =
                    raw_info::read(&self.path, slot.id()).map_err(|detail| TokenError::Device {
                        context: format!("{}: reading token information", self.path.display()),
                        detail,
                    })?;
                let initialised = raw.flags & CKF_TOKEN_INITIALIZED != 0;
                Ok((TokenDescription::from_raw(slot, &raw), initialised))
            }
            Err(e) => Err(self.device("reading token information", e)),
        }
    }

    /// The one present token that `uri` names.
    pub fn find_token(&self, uri: &Pkcs11Uri) -> Result<(Slot, TokenDescription), TokenError> {
        let tokens = self.tokens()?;
        let seen = if tokens.is_empty() {
            "none".to_owned()
        } else {
            tokens
                .iter()
                .map(|(_, t)| t.describe())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut matching: Vec<_> = tokens
            .into_iter()
            .filter(|(_, t)| {
                uri.matches_token(&t.label, &t.manufacturer, &t.serial, &t.model)
                    && uri.slot_id.is_none_or(|id| id == t.slot)
            })
            .collect();
        match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => Err(TokenError::TokenMissing {
                uri: uri.to_string(),
                seen,
            }),
            count => Err(TokenError::TokenAmbiguous {
                uri: uri.to_string(),
                count,
            }),
        }
    }

    /// A read-only session on the token in `slot` without logging in: for public objects
    /// (a certificate shown before a PIN is asked, `keys list-token`).
    pub fn public_session(
        &self,
        slot: Slot,
        token: &TokenDescription,
    ) -> Result<cryptoki::session::Session, TokenError> {
        self.context
            .open_ro_session(slot)
            .map_err(|e| TokenError::Device {
                context: format!("{}: opening a session", token.describe()),
                detail: e.to_string(),
            })
    }

    /// The mechanisms the token in `slot` offers.
    pub fn mechanisms(&self, slot: Slot) -> Result<Vec<MechanismType>, TokenError> {
        self.context
            .get_mechanism_list(slot)
            .map_err(|e| self.device("listing mechanisms", e))
    }

    fn device(&self, what: &str, e: CkError) -> TokenError {
        TokenError::Device {
            context: format!("{}: {what}", self.path.display()),
            detail: e.to_string(),
        }
    }
}
