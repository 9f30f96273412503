//! SoftHSM2 tokens for tests: a fresh SoftHSM2 in a temporary directory with its own
//! `softhsm2.conf`, tokens initialised with `softhsm2-util`, openssl-made RSA keys and their
//! certificates put on them (`softhsm2-util --import`, `pkcs11-tool --write-object`), and a
//! 0600 PIN file for sdctl. Only the third-party tools of the test setup get PINs on their
//! command line; sdctl gets them from a PIN file, and `SOFTHSM2_CONF` only on the commands
//! that need it (never in this process's environment, so tests do not disturb each other).
//!
//! When the module is absent (a developer machine without `softhsm2`), [`SoftHsm::try_new`]
//! says why on stderr and the test returns early; CI installs it (`.ci/run`), so there
//! every token test runs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where Debian's `softhsm2` package puts the PKCS#11 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The SO PIN every test token gets (test setup only).
pub const SO_PIN: &str = "87654321";

/// A SoftHSM2 of its own: a token directory and a configuration file in a temporary
/// directory, removed when dropped.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    /// (token label, user PIN) of the tokens initialised, for the setup tools.
    pins: std::cell::RefCell<Vec<(String, String)>>,
}

/// Why token tests cannot run here, or None when SoftHSM2 and pkcs11-tool are installed.
pub fn missing() -> Option<String> {
    if !Path::new(MODULE).exists() {
        return Some(format!(
            "{MODULE} is absent (install Debian's softhsm2; CI does)"
        ));
    }
    for tool in ["softhsm2-util", "pkcs11-tool", "openssl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !found {
            return Some(format!(
                "{tool} is not installed (softhsm2 / opensc / openssl)"
            ));
        }
    }
    None
}

/// The SoftHSM2 module's path.
pub fn module() -> &'static str {
    MODULE
}

/// Writes a PIN file `path` (created 0600, never readable by others even for a moment),
/// one line per PIN.
pub fn write_pin_file(path: &Path, pins: &[&str]) -> PathBuf {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for pin in pins {
        writeln!(file, "{pin}").unwrap();
    }
    path.to_path_buf()
}

/// `pkcs11:token=TOKEN;object=OBJECT` (labels without reserved characters).
pub fn uri(token: &str, object: &str) -> String {
    format!("pkcs11:token={token};object={object}")
}

impl SoftHsm {
    /// A fresh SoftHSM2 with no token yet. Panics if SoftHSM2 is not installed: use
    /// [`SoftHsm::try_new`] in tests.
    pub fn new() -> Self {
        if let Some(why) = missing() {
            panic!("SoftHSM2 is needed: {why}");
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let tokens = dir.path().join("tokens");
        fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        SoftHsm {
            dir,
            conf,
            pins: Default::default(),
        }
    }

    /// A fresh SoftHSM2, or None (after saying why on stderr) when SoftHSM2 is not
    /// installed here; `test` names the test that skips.
    pub fn try_new(test: &str) -> Option<Self> {
        match missing() {
            Some(why) => {
                eprintln!("{test}: skipped: {why}");
                None
            }
            None => Some(Self::new()),
        }
    }

    /// The configuration file.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The environment a command needs to see these tokens: `("SOFTHSM2_CONF", path)`.
    pub fn env(&self) -> (&'static str, String) {
        ("SOFTHSM2_CONF", self.conf.display().to_string())
    }

    /// Runs sdctl with `args` in `fx`'s directory, seeing this SoftHSM2's tokens
    /// (`SOFTHSM2_CONF` set on that process only).
    pub fn sdctl(&self, fx: &super::Fixture, args: &[&str]) -> super::Run {
        let (name, value) = self.env();
        fx.sdctl_env(args, &[(name, value.as_str())])
    }

    /// The SoftHSM2 module's path.
    pub fn module(&self) -> &'static str {
        MODULE
    }

    /// A path in this SoftHSM2's temporary directory (for setup files).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs a setup tool with this SoftHSM2's configuration and insists that it succeeds.
    fn tool(&self, program: &str, args: &[&str]) -> Output {
        let out = self.tool_unchecked(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn tool_unchecked(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"))
    }

    /// `pkcs11-tool --module SOFTHSM ARGS` with this configuration (checked).
    pub fn pkcs11_tool(&self, args: &[&str]) -> Output {
        let mut all = vec!["--module", MODULE];
        all.extend_from_slice(args);
        self.tool("pkcs11-tool", &all)
    }

    /// Initialises a token `label` in the next free slot with these PINs.
    pub fn init_token(&self, label: &str, so_pin: &str, user_pin: &str) {
        self.tool(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                so_pin,
                "--pin",
                user_pin,
            ],
        );
        self.pins
            .borrow_mut()
            .push((label.to_owned(), user_pin.to_owned()));
    }

    /// The user PIN `token` was initialised with.
    pub fn pin(&self, token: &str) -> String {
        self.pins
            .borrow()
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("token {token} was not initialised by this fixture"))
    }

    /// Puts the RSA private key of `pem` (any form openssl reads without a passphrase) on
    /// `token` as object `object` with CKA_ID `id_hex` (and its public key beside it):
    /// converted to unencrypted PKCS#8, which `softhsm2-util --import` needs.
    pub fn import_key(&self, token: &str, object: &str, id_hex: &str, pem: &Path) {
        let pk8 = self.path(&format!("{token}-{id_hex}.pk8"));
        let out = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-in"])
            .arg(pem)
            .arg("-out")
            .arg(&pk8)
            .stdin(Stdio::null())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl pkcs8 {}: {}",
            pem.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let pin = self.pin(token);
        let pk8_text = pk8.display().to_string();
        self.tool(
            "softhsm2-util",
            &[
                "--import", &pk8_text, "--token", token, "--label", object, "--id", id_hex,
                "--pin", &pin,
            ],
        );
        fs::remove_file(&pk8).unwrap();
    }

    /// Puts the certificate `cert` (PEM or DER) on `token` as object `object` with CKA_ID
    /// `id_hex` (`pkcs11-tool --write-object --type cert`).
    pub fn import_cert(&self, token: &str, object: &str, id_hex: &str, cert: &Path) {
        let der = self.path(&format!("{token}-{id_hex}-{}.der", std::process::id()));
        let out = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(cert)
            .arg("-out")
            .arg(&der)
            .stdin(Stdio::null())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl x509 {}: {}",
            cert.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let pin = self.pin(token);
        let der_text = der.display().to_string();
        self.pkcs11_tool(&[
            "--token-label",
            token,
            "--write-object",
            &der_text,
            "--type",
            "cert",
            "--id",
            id_hex,
            "--label",
            object,
            "--login",
            "--pin",
            &pin,
        ]);
        fs::remove_file(&der).unwrap();
    }

    /// Removes the certificate with CKA_ID `id_hex` from `token`.
    pub fn delete_cert(&self, token: &str, id_hex: &str) {
        let pin = self.pin(token);
        self.pkcs11_tool(&[
            "--token-label",
            token,
            "--delete-object",
            "--type",
            "cert",
            "--id",
            id_hex,
            "--login",
            "--pin",
            &pin,
        ]);
    }

    /// What `pkcs11-tool --list-objects` shows of `token` after logging in.
    pub fn list_objects(&self, token: &str) -> String {
        let pin = self.pin(token);
        let out = self.pkcs11_tool(&[
            "--token-label",
            token,
            "--list-objects",
            "--login",
            "--pin",
            &pin,
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The `token flags` line `pkcs11-tool --list-token-slots` prints for `token`.
    pub fn token_flags(&self, token: &str) -> String {
        let out = self.pkcs11_tool(&["--list-token-slots"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut in_token = false;
        for line in text.lines() {
            if let Some(label) = line.trim().strip_prefix("token label") {
                in_token = label.trim_start_matches([' ', ':']).trim() == token;
            } else if in_token {
                if let Some(flags) = line.trim().strip_prefix("token flags") {
                    return flags.trim_start_matches([' ', ':']).trim().to_owned();
                }
            }
        }
        panic!("token {token} not listed: {text}")
    }

    /// Initialises token `token` (user PIN `pin`) and puts `key` on it as object
    /// `sdctl-NAME` with id `id_hex`, NAME being the key file's stem; with `cert`, the
    /// certificate goes on the token too, same label and id. Returns the key's URI.
    pub fn custodian_token(
        &self,
        token: &str,
        pin: &str,
        id_hex: &str,
        key: &Path,
        cert: Option<&Path>,
    ) -> String {
        let name = key.file_stem().unwrap().to_string_lossy().into_owned();
        let object = format!("sdctl-{name}");
        self.init_token(token, SO_PIN, pin);
        self.import_key(token, &object, id_hex, key);
        if let Some(cert) = cert {
            self.import_cert(token, &object, id_hex, cert);
        }
        uri(token, &object)
    }

    /// Builds a PKCS#11 module that forwards every call to SoftHSM2 and appends a line
    /// (`C_Login <user type> <rv hex>`) to [`SoftHsm::login_log`] for every C_Login: it
    /// shows how many times a program tried a PIN. None (after saying why) when no C
    /// compiler is installed.
    pub fn counting_module(&self) -> Option<PathBuf> {
        self.shim("libcountlogin.so", &[])
    }

    /// Like [`SoftHsm::counting_module`], and it also says CKA_EXTRACTABLE is true for every
    /// object asked about: a token that ignores the template's CKA_EXTRACTABLE = false.
    pub fn lying_module(&self) -> Option<PathBuf> {
        self.shim("libextractable.so", &["-DLIE_EXTRACTABLE"])
    }

    /// Like [`SoftHsm::counting_module`], and every token's flags (C_GetTokenInfo) say the
    /// next wrong user PIN locks it (CKF_USER_PIN_FINAL_TRY).
    pub fn final_try_module(&self) -> Option<PathBuf> {
        self.shim("libfinaltry.so", &["-DTOKEN_FLAGS_OR=0x20000UL"])
    }

    /// Like [`SoftHsm::counting_module`], for a token whose user PIN is locked: its flags
    /// say so (CKF_USER_PIN_LOCKED) and C_Login answers CKR_PIN_LOCKED whatever the PIN.
    pub fn locked_module(&self) -> Option<PathBuf> {
        self.shim(
            "liblocked.so",
            &["-DTOKEN_FLAGS_OR=0x40000UL", "-DLOGIN_RV=0xa4UL"],
        )
    }

    /// A test double of a token that offers RSA-OAEP with SHA-256 (as SoftHSM2 does not):
    /// like [`SoftHsm::counting_module`], and C_DecryptInit with CKM_RSA_PKCS_OAEP,
    /// SHA-256 and MGF1-SHA-256 (empty label) is taken: the shim has SoftHSM2 do raw RSA
    /// (CKM_RSA_X_509) and removes the OAEP padding with OpenSSL's
    /// `RSA_padding_check_PKCS1_OAEP_mgf1`, logging `C_DecryptInit OAEP-SHA256 <rv>`. To
    /// the program it is a token whose CKM_RSA_PKCS_OAEP accepts SHA-256. None (after
    /// saying why) without a C compiler.
    pub fn oaep_sha256_module(&self) -> Option<PathBuf> {
        self.shim(
            "liboaep256.so",
            &[
                "-DNATIVE_OAEP256",
                "-Wno-deprecated-declarations",
                "-lcrypto",
            ],
        )
    }

    /// Compiles the shim with `flags` (`-D...` and warnings before the source, `-l...`
    /// libraries after it) into `name`.
    fn shim(&self, name: &str, flags: &[&str]) -> Option<PathBuf> {
        let src = self.path("shim.c");
        let lib = self.path(name);
        let log = self.login_log();
        fs::write(&src, SHIM_C.replace("@LOG@", &log.display().to_string())).unwrap();
        let (libs, defines): (Vec<&str>, Vec<&str>) =
            flags.iter().partition(|f| f.starts_with("-l"));
        let out = Command::new("cc")
            .args(["-shared", "-fPIC", "-O1"])
            .args(defines)
            .arg("-o")
            .arg(&lib)
            .arg(&src)
            .args(libs)
            .arg("-ldl")
            .output();
        match out {
            Ok(out) if out.status.success() => Some(lib),
            Ok(out) => panic!(
                "cc failed on the counting module: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => {
                eprintln!("no C compiler ({e}): the login count is not checked");
                None
            }
        }
    }

    /// What `token`'s private key labelled `object` says of itself, read in-process with
    /// cryptoki: `NAME=VALUE` lines for CKA_SENSITIVE, CKA_EXTRACTABLE,
    /// CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_LOCAL (true/false), and for
    /// CKA_PRIVATE_EXPONENT, CKA_PRIME_1 and CKA_VALUE whether the token gives them out
    /// (`sensitive`, `invalid`, `unavailable` or `available`). Runs in a child process
    /// (this test binary again, test `probe`, which must call [`probe_main`]) because
    /// SoftHSM2 reads `SOFTHSM2_CONF` from the process environment.
    pub fn probe_private_key(&self, token: &str, object: &str) -> String {
        let pin_file = self.path(&format!("probe-{token}.pin"));
        write_pin_file(&pin_file, &[&self.pin(token)]);
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["probe", "--exact", "--nocapture", "--test-threads=1"])
            .env("SOFTHSM2_CONF", &self.conf)
            .env(
                PROBE_ENV,
                format!("{token}\t{object}\t{}", pin_file.display()),
            )
            .output()
            .unwrap();
        fs::remove_file(&pin_file).unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "probe failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            // libtest's "test probe ... " may share the first line.
            .filter_map(|l| l.split_once("PROBE ").map(|(_, said)| said))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The file the counting module writes a line to per C_Login.
    pub fn login_log(&self) -> PathBuf {
        self.path("logins.log")
    }

    /// The C_Login calls recorded so far by the counting module.
    pub fn logins(&self) -> Vec<String> {
        fs::read_to_string(self.login_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// The shim module: PKCS#11 v2.40's function list has 68 entries after the version,
/// C_GetTokenInfo is entry 6 (0-based), C_Login 18, C_GetAttributeValue 24. Types are spelled out so that no
/// PKCS#11 header is needed.
const SHIM_C: &str = r#"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_RV;
typedef struct { unsigned char major, minor; } CK_VERSION;
typedef struct { CK_VERSION version; void *f[68]; } LIST;
typedef CK_RV (*login_fn)(CK_ULONG, CK_ULONG, unsigned char *, CK_ULONG);
typedef CK_RV (*get_list_fn)(LIST **);
typedef struct { CK_ULONG type; void *value; CK_ULONG len; } ATTR;
typedef CK_RV (*get_attr_fn)(CK_ULONG, CK_ULONG, ATTR *, CK_ULONG);
static LIST ours;
static login_fn real_login;
static get_attr_fn real_get_attr;
static CK_RV lying_get_attr(CK_ULONG s, CK_ULONG o, ATTR *t, CK_ULONG n) {
  CK_RV rv = real_get_attr(s, o, t, n);
  for (CK_ULONG i = 0; i < n; i++)
    if (t[i].type == 0x162 /* CKA_EXTRACTABLE */ && t[i].value && t[i].len >= 1)
      *(unsigned char *)t[i].value = 1;
  return rv;
}
typedef CK_RV (*token_info_fn)(CK_ULONG, unsigned char *);
static token_info_fn real_token_info;
/* CK_TOKEN_INFO: label[32], manufacturerID[32], model[16], serialNumber[16], then flags. */
static CK_RV flagged_token_info(CK_ULONG slot, unsigned char *info) {
  CK_RV rv = real_token_info(slot, info);
#ifdef TOKEN_FLAGS_OR
  if (rv == 0) { CK_ULONG flags; memcpy(&flags, info + 96, sizeof flags); flags |= TOKEN_FLAGS_OR; memcpy(info + 96, &flags, sizeof flags); }
#endif
  return rv;
}
static CK_RV counted_login(CK_ULONG s, CK_ULONG user, unsigned char *pin, CK_ULONG len) {
#ifdef LOGIN_RV
  CK_RV rv = LOGIN_RV;
  (void)s; (void)pin; (void)len;
#else
  CK_RV rv = real_login(s, user, pin, len);
#endif
  FILE *log = fopen("@LOG@", "a");
  if (log) { fprintf(log, "C_Login %lu 0x%lx\n", user, rv); fclose(log); }
  return rv;
}
#ifdef NATIVE_OAEP256
#include <openssl/evp.h>
#include <openssl/rsa.h>
typedef struct { CK_ULONG mechanism; void *param; CK_ULONG len; } MECH;
typedef struct { CK_ULONG hash, mgf, source; void *data; CK_ULONG data_len; } OAEP;
typedef CK_RV (*dinit_fn)(CK_ULONG, MECH *, CK_ULONG);
typedef CK_RV (*dec_fn)(CK_ULONG, unsigned char *, CK_ULONG, unsigned char *, CK_ULONG *);
static dinit_fn real_dinit;
static dec_fn real_dec;
static CK_ULONG oaep_session[64];
static int oaep_on[64];
static int slot_of(CK_ULONG s) { return (int)(s % 64); }
static CK_RV double_dinit(CK_ULONG s, MECH *m, CK_ULONG key) {
  oaep_on[slot_of(s)] = 0;
  if (m && m->mechanism == 0x9 /* CKM_RSA_PKCS_OAEP */ && m->param && m->len == sizeof(OAEP)) {
    OAEP *p = (OAEP *)m->param;
    if (p->hash == 0x250 /* CKM_SHA256 */ && p->mgf == 0x2 /* CKG_MGF1_SHA256 */ && p->data_len == 0) {
      MECH raw = {0x3 /* CKM_RSA_X_509 */, 0, 0};
      CK_RV rv = real_dinit(s, &raw, key);
      if (rv == 0) { oaep_on[slot_of(s)] = 1; oaep_session[slot_of(s)] = s; }
      FILE *log = fopen("@LOG@", "a");
      if (log) { fprintf(log, "C_DecryptInit OAEP-SHA256 0x%lx\n", rv); fclose(log); }
      return rv;
    }
  }
  return real_dinit(s, m, key);
}
static CK_RV double_dec(CK_ULONG s, unsigned char *in, CK_ULONG in_len, unsigned char *out, CK_ULONG *out_len) {
  if (!(oaep_on[slot_of(s)] && oaep_session[slot_of(s)] == s)) return real_dec(s, in, in_len, out, out_len);
  if (!out) return real_dec(s, in, in_len, 0, out_len); /* length query: the modulus, an upper bound */
  unsigned char block[1024], padded[1024], plain[1024];
  CK_ULONG block_len = sizeof block;
  CK_RV rv = real_dec(s, in, in_len, block, &block_len);
  oaep_on[slot_of(s)] = 0;
  if (rv != 0) return rv;
  int num = (int)in_len;
  if (in_len > sizeof padded || block_len > in_len) return 0x40; /* CKR_ENCRYPTED_DATA_INVALID */
  memset(padded, 0, sizeof padded);
  memcpy(padded + (in_len - block_len), block, block_len);
  int n = RSA_padding_check_PKCS1_OAEP_mgf1(plain, num, padded, num, num, 0, 0, EVP_sha256(), EVP_sha256());
  memset(block, 0, sizeof block);
  memset(padded, 0, sizeof padded);
  if (n < 0) { memset(plain, 0, sizeof plain); return 0x40; }
  if (*out_len < (CK_ULONG)n) { *out_len = (CK_ULONG)n; memset(plain, 0, sizeof plain); return 0x150; /* CKR_BUFFER_TOO_SMALL */ }
  memcpy(out, plain, (size_t)n);
  *out_len = (CK_ULONG)n;
  memset(plain, 0, sizeof plain);
  return 0;
}
#endif
CK_RV C_GetFunctionList(LIST **out) {
  void *lib = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return 5; /* CKR_GENERAL_ERROR */
  get_list_fn get = (get_list_fn)dlsym(lib, "C_GetFunctionList");
  LIST *theirs = 0;
  if (!get || get(&theirs) != 0 || !theirs) return 5;
  memcpy(&ours, theirs, sizeof ours);
  real_login = (login_fn)theirs->f[18];
  ours.f[18] = (void *)counted_login;
#ifdef NATIVE_OAEP256
  real_dinit = (dinit_fn)theirs->f[33];
  real_dec = (dec_fn)theirs->f[34];
  ours.f[33] = (void *)double_dinit;
  ours.f[34] = (void *)double_dec;
#endif
  real_token_info = (token_info_fn)theirs->f[6];
  ours.f[6] = (void *)flagged_token_info;
  real_get_attr = (get_attr_fn)theirs->f[24];
#ifdef LIE_EXTRACTABLE
  ours.f[24] = (void *)lying_get_attr;
#else
  (void)lying_get_attr;
#endif
  ours.f[3] = (void *)C_GetFunctionList;
  *out = &ours;
  return 0;
}
"#;

/// The environment variable that makes the `probe` test of a test binary probe a key.
pub const PROBE_ENV: &str = "SDCTL_TEST_PKCS11_PROBE";

/// The body of a test binary's `probe` test: without [`PROBE_ENV`] it does nothing; with it
/// (`TOKEN<TAB>OBJECT<TAB>PIN_FILE`, see [`SoftHsm::probe_private_key`]) it logs in to the
/// token and prints `PROBE NAME=VALUE` lines about the private key.
pub fn probe_main() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let Ok(spec) = std::env::var(PROBE_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('\t').collect();
    let (token, object, pin_file) = (parts[0], parts[1], parts[2]);
    let pin = fs::read_to_string(pin_file).unwrap().trim_end().to_owned();
    let p11 = Pkcs11::new(MODULE).unwrap();
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = p11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| p11.get_token_info(*s).unwrap().label() == token)
        .unwrap_or_else(|| panic!("no token {token}"));
    let session = p11.open_ro_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new(pin.into())))
        .unwrap();
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(object.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1, "private keys labelled {object}");
    let key = found[0];
    for attr in session
        .get_attributes(
            key,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Local,
            ],
        )
        .unwrap()
    {
        let line = match attr {
            Attribute::Sensitive(b) => format!("sensitive={b}"),
            Attribute::Extractable(b) => format!("extractable={b}"),
            Attribute::AlwaysSensitive(b) => format!("always_sensitive={b}"),
            Attribute::NeverExtractable(b) => format!("never_extractable={b}"),
            Attribute::Local(b) => format!("local={b}"),
            other => format!("other={other:?}"),
        };
        println!("PROBE {line}");
    }
    let secret = [
        ("private_exponent", AttributeType::PrivateExponent),
        ("prime_1", AttributeType::Prime1),
        ("value", AttributeType::Value),
    ];
    let types: Vec<AttributeType> = secret.iter().map(|(_, t)| *t).collect();
    let infos = session.get_attribute_info(key, &types).unwrap();
    for ((name, _), info) in secret.iter().zip(infos) {
        let said = match info {
            AttributeInfo::Sensitive => "sensitive",
            AttributeInfo::TypeInvalid => "invalid",
            AttributeInfo::Unavailable => "unavailable",
            _ => "available",
        };
        println!("PROBE {name}={said}");
    }
}

/// Custodians a, b, c and an exchange key x (made with openssl), a 2-of-3 security domain
/// `sd.json` for a, b and c, a's key and certificate on token tok-a (id a1) and b's on
/// tok-b (id b2): the bed of the token refusal and hygiene tests.
pub struct TwoTokens {
    /// The fixture directory (keys, certificates, sd.json).
    pub fx: super::Fixture,
    /// The SoftHSM2 holding tok-a and tok-b.
    pub hsm: SoftHsm,
    /// The URI of a's key on tok-a.
    pub a: String,
    /// The URI of b's key on tok-b.
    pub b: String,
}

/// A [`TwoTokens`] bed with user PINs `pin_a` and `pin_b`, or None (said why) without
/// SoftHSM2.
pub fn two_tokens(test: &str, pin_a: &str, pin_b: &str) -> Option<TwoTokens> {
    let hsm = SoftHsm::try_new(test)?;
    let fx = super::Fixture::new();
    for n in ["a", "b", "c", "x"] {
        fx.openssl_custodian(n, 2048);
    }
    fx.make_sd(&["a.cer", "b.cer", "c.cer"], 2, "sd.json");
    let a = hsm.custodian_token(
        "tok-a",
        pin_a,
        "a1",
        &fx.path("a.key"),
        Some(&fx.path("a.cer")),
    );
    let b = hsm.custodian_token(
        "tok-b",
        pin_b,
        "b2",
        &fx.path("b.key"),
        Some(&fx.path("b.cer")),
    );
    Some(TwoTokens { fx, hsm, a, b })
}
