//! openCryptoki's software token (Debian `opencryptoki`, the "IBM SoftTok" in slot 3 of its
//! default configuration) for tests: a real PKCS#11 token, not a test double, whose
//! `CKM_RSA_PKCS_OAEP` takes SHA-256/MGF1-SHA-256 parameters for C_Decrypt (SoftHSM2's takes
//! SHA-1 only), so sdctl's native `token-oaep` path runs against it.
//!
//! openCryptoki 3.8 keeps its configuration (`/etc/opencryptoki/opencryptoki.conf`), its
//! slot daemon's socket and the token's files (`/var/lib/opencryptoki/swtok`) in fixed
//! system places (its `PKCS_APP_STORE` variable writes the token's files to `/` in 3.8.1:
//! unusable), so the token is the machine's, not a temporary one. `tests/interop/opencryptoki.sh`
//! installs the package and starts `pkcsslotd` (`.ci/run` calls it). A test re-initialises
//! the token only when it is uninitialised or carries [`LABEL`] (this fixture's own label):
//! a soft token somebody set up for other work is left alone and the test skips, saying why.
//! In CI (`CI` set) a missing or foreign token fails the test instead, so that a broken
//! install cannot hide behind a skip.
//!
//! openCryptoki 3.8 writes a non-standard `utcTime` in its token information, which the
//! cryptoki crate rejects. sdctl copes (src/keys/token/raw_info.rs) and is given
//! openCryptoki's own module; this fixture, which sets the token up with cryptoki, loads it
//! through a pass-through module, `tests/interop/pkcs11-utctime-shim.c`, that rewrites that
//! one field and forwards everything else to openCryptoki unchanged.

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, CertificateType, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

/// Where Debian's `libopencryptoki0` puts the PKCS#11 module (amd64 and arm64).
pub const MODULES: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/libopencryptoki.so",
];

/// The slot daemon's socket: present while `pkcsslotd` runs.
pub const SOCKET: &str = "/run/pkcsslotd.socket";

/// The label the fixture gives the soft token; a token with another label is not touched.
pub const LABEL: &str = "sdctl-test-ock";

/// openCryptoki's default SO PIN (a fresh soft token's, kept by re-initialisation).
pub const SO_PIN: &str = "87654321";

/// The user PIN the fixture sets (openCryptoki's soft token wants 4 to 8 characters).
pub const USER_PIN: &str = "13572468";

/// The pass-through module that corrects openCryptoki's `utcTime` (see its comment).
const SHIM_C: &str = include_str!("../interop/pkcs11-utctime-shim.c");

/// This process's one use of the module: openCryptoki 3.8 does not survive C_Finalize
/// followed by C_Initialize in one process, so the context lives as long as the process.
struct Shared {
    target: &'static str,
    p11: Pkcs11,
    slot: Slot,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// The machine has one soft token: tests of one binary take turns.
static TURN: Mutex<()> = Mutex::new(());

/// The soft token, freshly initialised (label [`LABEL`], user PIN [`USER_PIN`]); the test
/// has it to itself until this is dropped.
pub struct SoftTok {
    shared: &'static Shared,
    _turn: MutexGuard<'static, ()>,
}

/// openCryptoki's module, if installed.
pub fn target_module() -> Option<&'static str> {
    MODULES.iter().copied().find(|m| Path::new(m).exists())
}

impl SoftTok {
    /// The soft token, initialised afresh, or None after saying on stderr why `test` skips
    /// (in CI: panics with the reason).
    pub fn try_new(test: &str) -> Option<Self> {
        let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
        let result = SHARED
            .get_or_init(open)
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|shared| {
                reinitialise(shared)?;
                Ok(SoftTok {
                    shared,
                    _turn: turn,
                })
            });
        match result {
            Ok(tok) => Some(tok),
            Err(why) if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
                panic!("{test}: openCryptoki's soft token is needed in CI (.ci/run runs tests/interop/opencryptoki.sh): {why}")
            }
            Err(why) => {
                eprintln!("{test}: skipped: {why}");
                None
            }
        }
    }

    /// The PKCS#11 module sdctl is given: openCryptoki's own.
    pub fn module(&self) -> &'static str {
        self.shared.target
    }

    /// Puts the RSA key of the PEM file `key` on the token as a sensitive, non-extractable
    /// private key `object` with CKA_ID `id`, its public key beside it, and, with `cert`,
    /// the certificate (same label and id). Returns the key's URI.
    pub fn import(&self, object: &str, id: &[u8], key: &Path, cert: Option<&Path>) -> String {
        let p11 = &self.shared.p11;
        let pem = std::fs::read(key).unwrap();
        let rsa = openssl::pkey::PKey::private_key_from_pem(&pem)
            .unwrap()
            .rsa()
            .unwrap();
        let big = |b: Option<&openssl::bn::BigNumRef>| b.expect("RSA key component").to_vec();
        let session = p11.open_rw_session(self.shared.slot).unwrap();
        session
            .login(UserType::User, Some(&AuthPin::new(USER_PIN.into())))
            .unwrap();
        let common = |class: ObjectClass| {
            vec![
                Attribute::Class(class),
                Attribute::KeyType(KeyType::RSA),
                Attribute::Token(true),
                Attribute::Label(object.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
                Attribute::Modulus(rsa.n().to_vec()),
                Attribute::PublicExponent(rsa.e().to_vec()),
            ]
        };
        let mut private = common(ObjectClass::PRIVATE_KEY);
        private.extend([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Decrypt(true),
            Attribute::Unwrap(true),
            Attribute::Sign(true),
            Attribute::PrivateExponent(rsa.d().to_vec()),
            Attribute::Prime1(big(rsa.p())),
            Attribute::Prime2(big(rsa.q())),
            Attribute::Exponent1(big(rsa.dmp1())),
            Attribute::Exponent2(big(rsa.dmq1())),
            Attribute::Coefficient(big(rsa.iqmp())),
        ]);
        session.create_object(&private).unwrap();
        let mut public = common(ObjectClass::PUBLIC_KEY);
        public.extend([Attribute::Encrypt(true), Attribute::Verify(true)]);
        session.create_object(&public).unwrap();
        if let Some(cert) = cert {
            let x509 = openssl::x509::X509::from_pem(&std::fs::read(cert).unwrap()).unwrap();
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::CertificateType(CertificateType::X_509),
                    Attribute::Token(true),
                    Attribute::Label(object.as_bytes().to_vec()),
                    Attribute::Id(id.to_vec()),
                    Attribute::Subject(x509.subject_name().to_der().unwrap()),
                    Attribute::Value(x509.to_der().unwrap()),
                ])
                .unwrap();
        }
        session.logout().unwrap();
        format!("pkcs11:token={LABEL};object={object}")
    }
}

const HINT: &str =
    "install Debian's opencryptoki and run `bash tests/interop/opencryptoki.sh` as root; CI does";

/// Builds the shim, loads it and finds the soft token's slot.
fn open() -> Result<Shared, String> {
    let target = target_module().ok_or_else(|| format!("libopencryptoki.so is absent ({HINT})"))?;
    if !Path::new(SOCKET).exists() {
        return Err(format!(
            "openCryptoki's slot daemon pkcsslotd is not running ({HINT})"
        ));
    }
    let module = build_shim(target)?;
    let p11 = Pkcs11::new(&module).map_err(|e| format!("{module}: {e}"))?;
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(|e| format!("{target}: C_Initialize: {e} ({HINT})"))?;
    let slots = p11
        .get_slots_with_token()
        .map_err(|e| format!("{target}: C_GetSlotList: {e}"))?;
    let slot = slots
        .into_iter()
        .find(|s| {
            p11.get_token_info(*s)
                .is_ok_and(|t| t.model().trim() == "IBM SoftTok")
        })
        .ok_or_else(|| {
            format!("no openCryptoki soft token (model IBM SoftTok) is configured ({HINT})")
        })?;
    Ok(Shared { target, p11, slot })
}

/// Compiles the shim for `target` into the tests' scratch directory (written under a
/// temporary name, then renamed: a process that has the old one loaded keeps it).
fn build_shim(target: &str) -> Result<String, String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join(format!("pkcs11-utctime-shim-{}.c", std::process::id()));
    let tmp = dir.join(format!("libock-utctime-shim.so.{}", std::process::id()));
    let lib = dir.join("libock-utctime-shim.so");
    std::fs::write(&src, SHIM_C).map_err(|e| format!("{}: {e}", src.display()))?;
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror"])
        .arg(format!("-DTARGET_MODULE=\"{target}\""))
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .arg("-ldl")
        .output()
        .map_err(|e| format!("no C compiler to build the utcTime shim: {e}"))?;
    let _ = std::fs::remove_file(&src);
    if !out.status.success() {
        panic!(
            "cc failed on tests/interop/pkcs11-utctime-shim.c: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::rename(&tmp, &lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    Ok(lib.display().to_string())
}

/// Initialises the soft token afresh (label [`LABEL`], user PIN [`USER_PIN`]), unless it
/// belongs to somebody else.
fn reinitialise(shared: &Shared) -> Result<(), String> {
    let (p11, slot) = (&shared.p11, shared.slot);
    let info = p11
        .get_token_info(slot)
        .map_err(|e| format!("C_GetTokenInfo: {e}"))?;
    let label = info.label().trim();
    if info.token_initialized() && label != LABEL {
        return Err(format!(
            "openCryptoki's soft token is initialised as {label:?}, not by these tests ({LABEL:?}); it is left alone"
        ));
    }
    p11.init_token(slot, &AuthPin::new(SO_PIN.into()), LABEL)
        .map_err(|e| format!("C_InitToken with openCryptoki's default SO PIN: {e}"))?;
    let session = p11
        .open_rw_session(slot)
        .map_err(|e| format!("C_OpenSession: {e}"))?;
    session
        .login(UserType::So, Some(&AuthPin::new(SO_PIN.into())))
        .map_err(|e| format!("C_Login (SO): {e}"))?;
    session
        .init_pin(&AuthPin::new(USER_PIN.into()))
        .map_err(|e| format!("C_InitPIN: {e}"))?;
    session.logout().map_err(|e| format!("C_Logout: {e}"))?;
    Ok(())
}
