//! Memory holding secrets is wiped before it is given back: every type that holds a
//! passphrase, a private key's bytes, a security domain's master key or shares, HSM state,
//! or a split secret is built from a known secret, used the way sdctl uses it, and
//! dropped, while this test binary's global allocator records the bytes of every heap
//! block freed (including the old block of every reallocation, where a growing buffer
//! leaves a copy behind). Afterwards no recorded block may hold any 16-byte run of the
//! secret. Blocks are handed out zeroed, so a freed block holds only what was written into
//! it while in use, never stale bytes of earlier frees. A control test shows the recorder
//! does find an unwiped copy.
//!
//! What this cannot see: memory OpenSSL allocates itself (it does not use Rust's
//! allocator; OpenSSL clears key material with `BN_clear_free`/`OPENSSL_clear_free`),
//! copies on the stack, and memory still in use. The compile-time checks at the end make
//! sure each secret-holding field keeps a type that zeroizes on drop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use sdctl::passphrase::{Passphrase, PassphraseFile, PassphraseSource, StrengthRule};
use zeroize::{ZeroizeOnDrop, Zeroizing};

// ---------------------------------------------------------------------------------------
// The recording allocator.

/// Length of the secret runs searched for in freed memory.
const RUN: usize = 16;
/// Length of the runs of a text's UTF-32 form searched for: 16 characters. Four (16 bytes)
/// would be too few: another test's text freed at the same time shares four hex digits
/// with a marker's 48 often enough to fail a run in a few dozen (seen twice).
const WIDE_RUN: usize = 4 * RUN;
/// The UTF-32 form of a text secret is named "... (as chars)" by [`Secrets::add_text`].
const WIDE_SUFFIX: &str = " (as chars)";

fn run_len(what: &str) -> usize {
    if what.ends_with(WIDE_SUFFIX) {
        WIDE_RUN
    } else {
        RUN
    }
}

/// Room for the recorded bytes of freed blocks (a recording that overflows fails).
const LOG_CAP: usize = 96 << 20;

struct Recorder;

#[global_allocator]
static GLOBAL: Recorder = Recorder;

static ARMED: AtomicBool = AtomicBool::new(false);
static LOG_BUSY: AtomicBool = AtomicBool::new(false);

/// Freed blocks as `[len: u64 LE][bytes]...`, in memory from `System` (never recorded).
struct Log {
    base: UnsafeCell<*mut u8>,
    used: UnsafeCell<usize>,
    overflowed: UnsafeCell<bool>,
}

// SAFETY: every access to the cells holds LOG_BUSY (a spin lock), or happens while
// recording is off and the test holds SERIAL.
unsafe impl Sync for Log {}

static LOG: Log = Log {
    base: UnsafeCell::new(std::ptr::null_mut()),
    used: UnsafeCell::new(0),
    overflowed: UnsafeCell::new(false),
};

fn log_layout() -> Layout {
    Layout::from_size_align(LOG_CAP, 8).unwrap()
}

/// Appends a freed block to the log (no allocation happens here).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
unsafe fn record(ptr: *const u8, len: usize) {
    while LOG_BUSY
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
    let base = *LOG.base.get();
    let used = &mut *LOG.used.get();
    if !base.is_null() {
        if *used + 8 + len <= LOG_CAP {
            std::ptr::copy_nonoverlapping((len as u64).to_le_bytes().as_ptr(), base.add(*used), 8);
            std::ptr::copy_nonoverlapping(ptr, base.add(*used + 8), len);
            *used += 8 + len;
        } else {
            *LOG.overflowed.get() = true;
        }
    }
    LOG_BUSY.store(false, Ordering::Release);
}

// SAFETY: every call is forwarded to `System`; `dealloc` only reads the block first.
// `realloc` keeps the trait's default (alloc, copy, dealloc), so the block a reallocation
// leaves behind is recorded like any other freed block.
unsafe impl GlobalAlloc for Recorder {
    // Every block starts zeroed, so a freed block holds only what was written into it while
    // it was in use, never stale bytes of memory freed earlier (by OpenSSL or by the
    // test's own set-up), which would be false alarms.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Acquire) {
            record(ptr, layout.size());
        }
        System.dealloc(ptr, layout)
    }
}

/// One test records at a time (the allocator is global to the process).
static SERIAL: Mutex<()> = Mutex::new(());

/// Turns recording off again even when the watched code panics.
struct Armed<'a> {
    _serial: MutexGuard<'a, ()>,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        ARMED.store(false, Ordering::Release);
    }
}

/// The blocks freed while a closure ran.
struct Freed {
    log: Vec<u8>,
}

// The copy holds whatever any thread freed during the recording, other tests' secrets
// among them (tests run in parallel; only the recordings are serial): wiped before it is
// freed, so that another test recording at that moment does not find them in it.
impl Drop for Freed {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.log);
    }
}

impl Freed {
    fn blocks(&self) -> impl Iterator<Item = &[u8]> {
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= self.log.len() {
                return None;
            }
            let len = u64::from_le_bytes(self.log[at..at + 8].try_into().unwrap()) as usize;
            let block = &self.log[at + 8..at + 8 + len];
            at += 8 + len;
            Some(block)
        })
    }

    /// Every freed block holding a run of a secret (16 bytes; 16 characters of a text's
    /// UTF-32 form), described.
    fn leaks(&self, secrets: &Secrets) -> Vec<String> {
        let mut runs: HashMap<&[u8], usize> = HashMap::new();
        for (i, (what, secret)) in secrets.list.iter().enumerate() {
            for run in secret.chunks_exact(run_len(what)) {
                runs.entry(run).or_insert(i);
            }
        }
        let runs = &runs;
        let mut found = Vec::new();
        for (b, block) in self.blocks().enumerate() {
            let mut hits: Vec<usize> = [RUN, WIDE_RUN]
                .into_iter()
                .filter(|&len| block.len() >= len)
                .flat_map(|len| {
                    (0..=block.len() - len).filter_map(move |at| runs.get(&block[at..at + len]))
                })
                .copied()
                .collect();
            hits.sort_unstable();
            hits.dedup();
            for i in hits {
                found.push(format!(
                    "{} in freed block #{b} of {} bytes",
                    secrets.list[i].0,
                    block.len()
                ));
            }
        }
        found.sort();
        found.dedup();
        found
    }

    fn assert_clean(&self, secrets: &Secrets) {
        assert!(
            secrets
                .list
                .iter()
                .all(|(what, s)| s.len() >= run_len(what)),
            "every secret searched for is at least {RUN} bytes"
        );
        let leaks = self.leaks(secrets);
        assert!(
            leaks.is_empty(),
            "secrets left in freed memory:\n{}",
            leaks.join("\n")
        );
    }
}

/// Runs `f` with recording on; everything `f` makes must be dropped inside it, except
/// its result (which must hold nothing secret: it is freed after recording stops).
fn freed_during<R>(f: impl FnOnce() -> R) -> (R, Freed) {
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: recording is off and SERIAL is held: nothing else touches the log.
    unsafe {
        if (*LOG.base.get()).is_null() {
            let base = System.alloc(log_layout());
            assert!(!base.is_null(), "no memory for the recording");
            *LOG.base.get() = base;
        }
        *LOG.used.get() = 0;
        *LOG.overflowed.get() = false;
    }
    let armed = Armed { _serial: serial };
    ARMED.store(true, Ordering::Release);
    let result = f();
    ARMED.store(false, Ordering::Release);
    // SAFETY: recording is off (no writer) and SERIAL is still held through `armed`.
    let freed = unsafe {
        assert!(!*LOG.overflowed.get(), "the recording overflowed");
        let used = *LOG.used.get();
        Freed {
            log: std::slice::from_raw_parts(*LOG.base.get(), used).to_vec(),
        }
    };
    drop(armed);
    assert!(
        freed.blocks().count() > 0,
        "the recorder saw no freed block"
    );
    (result, freed)
}

/// A fixed-size store, allocated before recording starts, where watched code copies the
/// secrets it learns (a master key, an encoded share) without allocating.
struct Keep {
    bytes: Vec<u8>,
    spans: Vec<(&'static str, usize, usize)>,
}

impl Keep {
    fn new() -> Self {
        Keep {
            bytes: Vec::with_capacity(1 << 20),
            spans: Vec::with_capacity(1024),
        }
    }

    fn put(&mut self, what: &'static str, secret: &[u8]) {
        assert!(
            self.bytes.len() + secret.len() <= self.bytes.capacity()
                && self.spans.len() < self.spans.capacity(),
            "Keep is full"
        );
        let start = self.bytes.len();
        self.bytes.extend_from_slice(secret);
        self.spans.push((what, start, secret.len()));
    }

    fn get(&self, what: &str) -> Vec<&[u8]> {
        self.spans
            .iter()
            .filter(|(w, _, _)| *w == what)
            .map(|&(_, s, l)| &self.bytes[s..s + l])
            .collect()
    }

    fn into_secrets(self, secrets: &mut Secrets) {
        for &(what, start, len) in &self.spans {
            secrets.add(what, &self.bytes[start..start + len]);
        }
    }
}

/// The secrets searched for, each named.
#[derive(Default)]
struct Secrets {
    list: Vec<(String, Vec<u8>)>,
}

impl Secrets {
    fn add(&mut self, what: &str, secret: &[u8]) {
        self.list.push((what.to_owned(), secret.to_vec()));
    }

    /// A text secret, also as the UTF-32 a `Vec<char>` holds. Built at its final size and
    /// moved, never copied: a growing or temporary copy would be freed unwiped, and the
    /// allocator may hand that memory to the watched code, whose freed block would then
    /// show the stale secret (a false leak, seen in about one run in six).
    fn add_text(&mut self, what: &str, text: &str) {
        self.add(what, text.as_bytes());
        let mut wide = Vec::with_capacity(text.chars().count() * 4);
        for c in text.chars() {
            wide.extend_from_slice(&(c as u32).to_ne_bytes());
        }
        self.list.push((format!("{what}{WIDE_SUFFIX}"), wide));
    }

    /// The 16-byte runs of `secret` that are in none of `public` (a private key's DER or
    /// PEM carries its public key, which certificates and public halves legitimately hold).
    fn add_runs(&mut self, what: &str, secret: &[u8], public: &[&[u8]]) {
        for run in secret.chunks_exact(RUN) {
            if !public.iter().any(|p| p.windows(RUN).any(|w| w == run)) {
                self.add(what, run);
            }
        }
    }

    /// A private key: the runs of its unencrypted PKCS#8 DER (past the algorithm header
    /// every RSA key shares) that are not public.
    fn add_private_key(&mut self, what: &str, pkcs8_der: &[u8], public_der: &[u8]) {
        self.add_runs(what, &pkcs8_der[2 * RUN..], &[public_der]);
    }

    /// The PEM body lines of an unencrypted private key, less what `public_pem` holds.
    fn add_pem_lines(&mut self, what: &str, pem: &str, public_pem: &str) {
        for line in pem.lines().filter(|l| l.len() == 64) {
            self.add_runs(what, line.as_bytes(), &[public_pem.as_bytes()]);
        }
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    openssl::rand::rand_bytes(&mut out).unwrap();
    out
}

/// A distinctive text secret: `prefix` and 48 random hex digits, on the stack.
fn marker_text(prefix: &str) -> String {
    // Built in place at its final size: no unwiped partial copy is freed (see `add_text`).
    let mut text = String::with_capacity(prefix.len() + 1 + 48);
    text.push_str(prefix);
    text.push('-');
    for b in random::<24>() {
        text.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        text.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    text
}

// ---------------------------------------------------------------------------------------
// Fixtures (made before any recording).

/// Runs `openssl` with `line` split on spaces (no argument holds one).
fn openssl(dir: &Path, line: &str) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(line.split_whitespace())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl {line}: {err}");
    out.stdout
}

/// NAME.key (unencrypted PKCS#8 PEM) and NAME.cer, RSA 2048.
fn custodian(dir: &Path, name: &str) {
    openssl(
        dir,
        &format!("req -x509 -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.cer -subj /CN={name} -days 30"),
    );
}

fn write_secret_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The unencrypted PKCS#8 DER and the SPKI DER of the key in `file`.
fn key_ders(dir: &Path, file: &str, pass_file: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    let passin = pass_file
        .map(|p| format!(" -passin file:{p}"))
        .unwrap_or_default();
    let private = openssl(dir, &format!("pkey -in {file} -outform DER{passin}"));
    let public = openssl(
        dir,
        &format!("pkey -in {file} -outform DER -pubout{passin}"),
    );
    (private, public)
}

fn file_source(path: &Path) -> PassphraseSource {
    PassphraseSource::File(PassphraseFile::read(path).unwrap())
}

// ---------------------------------------------------------------------------------------
// The control: the recorder finds what is not wiped, and not what is.

#[test]
fn control_the_recorder_finds_an_unwiped_copy_and_not_a_wiped_one() {
    let plain = random::<48>();
    let wiped = random::<48>();
    let mut secrets = Secrets::default();
    secrets.add("plain Vec", &plain);
    let (_, freed) = freed_during(|| {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&plain);
        drop(v);
        let mut z = Zeroizing::new(Vec::with_capacity(64));
        z.extend_from_slice(&wiped);
        drop(z);
    });
    assert_eq!(
        freed.leaks(&secrets).len(),
        1,
        "the recorder must see the unwiped Vec"
    );
    let mut wiped_only = Secrets::default();
    wiped_only.add("Zeroizing Vec", &wiped);
    freed.assert_clean(&wiped_only);

    // A Vec grown by pushing leaves its old blocks behind: the recorder sees them.
    let grown = random::<64>();
    let mut grown_secret = Secrets::default();
    grown_secret.add("grown Zeroizing Vec", &grown);
    let (_, freed) = freed_during(|| {
        let mut z = Zeroizing::new(Vec::new());
        for b in grown {
            z.push(b);
        }
    });
    assert!(
        !freed.leaks(&grown_secret).is_empty(),
        "reallocation copies must be seen"
    );
}

// ---------------------------------------------------------------------------------------
// Passphrases.

#[test]
fn passphrases_are_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let texts = [
        marker_text("first-pass"),
        marker_text("second-pass"),
        marker_text("third-pass"),
    ];
    let file = dir.path().join("pass.txt");
    write_secret_file(
        &file,
        format!("{}\n{}\r\n{}\n", texts[0], texts[1], texts[2]).as_bytes(),
    );
    let direct = marker_text("direct-pass");

    let mut secrets = Secrets::default();
    for t in texts.iter().chain([&direct]) {
        secrets.add_text("a passphrase", t);
    }
    let ((), freed) = freed_during(|| {
        // Built in place: the String's buffer moves into the Passphrase.
        let mut s = String::with_capacity(direct.len());
        s.push_str(&direct);
        let p = Passphrase::new(s);
        let copy = p.clone();
        assert!(StrengthRule::DEFAULT.weakness(&copy).is_none());
        assert_eq!(format!("{p:?}"), "Passphrase(<redacted>)");
        drop((p, copy));

        let source = file_source(&file);
        let key = Path::new("k.key");
        for i in 0..3 {
            let a = source.for_existing(i, key).unwrap();
            let b = source.for_container(i, key).unwrap();
            let c = source
                .for_new(i, "custodian", StrengthRule::DEFAULT)
                .unwrap();
            assert!(a == b && b == c);
        }
    });
    freed.assert_clean(&secrets);
}

/// Token PINs, from a PIN file and a URI's pin-source, through a real login to a SoftHSM2
/// token and a decryption on it: the PIN file's lines, the `Pin` handed to cryptoki and
/// every copy sdctl made are wiped. (SoftHSM2's own memory is C++'s, not recorded here.)
#[test]
fn token_pins_are_wiped() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    if !Path::new(MODULE).exists() {
        eprintln!("token_pins_are_wiped: skipped: SoftHSM2 is not installed ({MODULE})");
        return;
    }
    use sdctl::keys::token::{PinSource, Pkcs11Uri, TokenAccess};
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // SoftHSM2 reads its configuration from the environment of the process that loads
    // it; this test binary loads it only here.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let pins = [marker_text("token-pin-one"), marker_text("token-pin-two")];
    for (label, pin) in [("zero-a", &pins[0]), ("zero-b", &pins[1])] {
        let status = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                "87654321",
                "--pin",
                pin,
            ])
            .env("SOFTHSM2_CONF", &conf)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let pin_file = dir.path().join("pins.txt");
    write_secret_file(&pin_file, format!("{}\n", pins[0]).as_bytes());
    let source_file = dir.path().join("pin-b.txt");
    write_secret_file(&source_file, format!("{}\n", pins[1]).as_bytes());

    let mut secrets = Secrets::default();
    for pin in &pins {
        secrets.add_text("a token PIN", pin);
    }
    let ((), freed) = freed_during(|| {
        let access = TokenAccess::new(
            Some(PathBuf::from(MODULE)),
            PinSource::file(&pin_file).unwrap(),
        );
        let a = Pkcs11Uri::parse("pkcs11:token=zero-a").unwrap();
        let b = Pkcs11Uri::parse(&format!(
            "pkcs11:token=zero-b?pin-source=file:{}",
            source_file.display()
        ))
        .unwrap();
        let first = access.session(&a).unwrap();
        let second = access.session(&b).unwrap();
        assert_eq!(access.sessions().len(), 2);
        drop((first, second, access));
    });
    freed.assert_clean(&secrets);
}

// ---------------------------------------------------------------------------------------
// GF(257) shares of a security domain's master key.

#[test]
fn gf257_shares_and_master_keys_are_wiped() {
    use sdctl::primitives::gf257;
    let master = random::<32>();
    let mut keep = Keep::new();
    let ((), freed) = freed_during(|| {
        let mut key = Zeroizing::new(Vec::with_capacity(32));
        key.extend_from_slice(&master);
        let shares = gf257::split(&key, 3, 5).unwrap();
        let mut decoded = Vec::new();
        for share in &shares {
            let encoded = share.encode();
            keep.put("an encoded GF(257) share", &encoded);
            decoded.push(gf257::Share::decode(&encoded).unwrap());
        }
        let refs: Vec<&gf257::Share> = decoded.iter().skip(1).take(3).collect();
        let back = gf257::combine_quorum(&refs, 3).unwrap();
        assert_eq!(back.as_slice(), master);
    });
    let mut secrets = Secrets::default();
    secrets.add("the master key", &master);
    for encoded in keep.get("an encoded GF(257) share") {
        // In memory a share is its y values as u16.
        let ys: Vec<u8> = encoded
            .chunks_exact(2)
            .flat_map(|p| (u16::from_le_bytes([p[0], p[1]]) & 0x1ff).to_ne_bytes())
            .collect();
        secrets.add("a share's y values", &ys);
    }
    keep.into_secrets(&mut secrets);
    freed.assert_clean(&secrets);
}

// ---------------------------------------------------------------------------------------
// Private keys as read from every supported file format.

#[test]
fn private_key_files_are_wiped_after_loading() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    custodian(d, "k");
    let pass = marker_text("key-pass");
    write_secret_file(
        &d.join("pass.txt"),
        Zeroizing::new(format!("{pass}\n")).as_bytes(),
    );
    // The same key in each format, with the certificate beside it.
    for line in [
        "pkey -in k.key -traditional -out pkcs1.key",
        "pkey -in k.key -outform DER -out der.key",
        "pkcs8 -topk8 -in k.key -v2 aes-256-cbc -passout file:pass.txt -out enc.key",
        "pkcs8 -topk8 -in k.key -v2 aes-256-cbc -outform DER -passout file:pass.txt -out encder.key",
        "rsa -in k.key -traditional -aes256 -passout file:pass.txt -out legacy.key",
        "pkcs12 -export -inkey k.key -in k.cer -passout file:pass.txt -out k.p12",
    ] {
        openssl(d, line);
    }
    for stem in ["pkcs1", "der", "enc", "encder", "legacy"] {
        std::fs::copy(d.join("k.cer"), d.join(format!("{stem}.cer"))).unwrap();
    }
    let plain = ["k.key", "pkcs1.key", "der.key"];
    let encrypted = ["enc.key", "encder.key", "legacy.key"];

    let mut secrets = Secrets::default();
    let (der, public) = key_ders(d, "k.key", None);
    let public_pem = String::from_utf8(openssl(d, "pkey -in k.key -pubout")).unwrap();
    let cert_pem = std::fs::read_to_string(d.join("k.cer")).unwrap();
    let public_pem = format!("{public_pem}{cert_pem}");
    secrets.add_private_key("the private key (DER)", &der, &public);
    for f in ["k.key", "pkcs1.key"] {
        let pem = std::fs::read_to_string(d.join(f)).unwrap();
        secrets.add_pem_lines("the private key (PEM)", &pem, &public_pem);
    }
    let mut with_pass = Secrets {
        list: secrets.list.clone(),
    };
    with_pass.add_text("the key passphrase", &pass);

    let ((), freed) = freed_during(|| {
        let none = PassphraseSource::Unavailable;
        let source = file_source(&d.join("pass.txt"));
        for f in plain {
            let key = sdctl::keys::load_wrapping_key(&d.join(f), 0, &none).unwrap();
            assert!(key.certificate.is_some(), "{f}: certificate found");
            let pkcs8 = key.key.to_pkcs8_der().unwrap();
            assert!(pkcs8.len() > der.len() / 2);
        }
        for f in encrypted {
            let key = sdctl::keys::load_wrapping_key(&d.join(f), 0, &source).unwrap();
            assert!(key.certificate.is_some(), "{f}: certificate found");
        }
    });
    freed.assert_clean(&with_pass);

    // PKCS#12: the password goes to `PKCS12_parse` from wiped memory (rust-openssl's
    // `Pkcs12::parse2` would free an unwiped `CString` copy of it).
    let ((), freed) = freed_during(|| {
        let source = file_source(&d.join("pass.txt"));
        let key = sdctl::keys::load_wrapping_key(&d.join("k.p12"), 0, &source).unwrap();
        assert!(key.certificate.is_some(), "k.p12: certificate found");
    });
    freed.assert_clean(&with_pass);
}

#[test]
fn keys_loaded_together_in_parallel_are_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut secrets = Secrets::default();
    let mut lines = String::new();
    let mut paths = Vec::new();
    for name in ["a", "b", "c"] {
        custodian(d, name);
        let pass = marker_text(&format!("{name}-pass"));
        write_secret_file(
            &d.join("one.txt"),
            Zeroizing::new(format!("{pass}\n")).as_bytes(),
        );
        openssl(
            d,
            &format!("pkcs8 -topk8 -in {name}.key -v2 aes-256-cbc -passout file:one.txt -out {name}-enc.key"),
        );
        std::fs::copy(
            d.join(format!("{name}.cer")),
            d.join(format!("{name}-enc.cer")),
        )
        .unwrap();
        let (der, public) = key_ders(d, &format!("{name}.key"), None);
        secrets.add_private_key("a private key (DER)", &der, &public);
        secrets.add_text("a passphrase", &pass);
        lines.push_str(&pass);
        lines.push('\n');
        paths.push(d.join(format!("{name}-enc.key")));
    }
    write_secret_file(&d.join("three.txt"), lines.as_bytes());
    let ((), freed) = freed_during(|| {
        let source = file_source(&d.join("three.txt"));
        let keys = sdctl::keys::load_wrapping_keys(&paths, &source).unwrap();
        assert_eq!(keys.len(), 3);
    });
    freed.assert_clean(&secrets);
}

// ---------------------------------------------------------------------------------------
// Newly generated keys.

#[test]
fn generated_custodian_keys_are_wiped() {
    use sdctl::keys::generate::{generate_custodian, GenerateOptions};
    let pass = marker_text("new-key-pass");
    let options = GenerateOptions {
        bits: 2048,
        ..GenerateOptions::default()
    };
    let mut keep = Keep::new();
    let ((), freed) = freed_during(|| {
        let mut s = String::with_capacity(pass.len());
        s.push_str(&pass);
        let passphrase = Passphrase::new(s);
        let made = generate_custodian("alice", &passphrase, &options).unwrap();
        // The encrypted PEM is not secret; it is kept to recover the key afterwards.
        keep.put("encrypted pem", made.key_pem.as_bytes());
    });
    let pem = keep.get("encrypted pem")[0];
    let pkey = openssl::pkey::PKey::private_key_from_pem_passphrase(pem, pass.as_bytes())
        .expect("the generated key opens with its passphrase");
    let der = pkey.private_key_to_pkcs8().unwrap();
    let public = pkey.public_key_to_der().unwrap();
    let mut secrets = Secrets::default();
    secrets.add_private_key("the generated private key (DER)", &der, &public);
    secrets.add_text("the new passphrase", &pass);
    freed.assert_clean(&secrets);
}

// ---------------------------------------------------------------------------------------
// A security domain opened: master key, shares, HSM state, restore blob, rewrap, and the
// distributed quorum (share exports and the session key).

#[test]
fn security_domain_secrets_are_wiped() {
    use sdctl::domain::session::{create_session, export_share, verify_exports, ExportFile};
    use sdctl::domain::{data, exchange, hsm, restore_blob, rewrap, unlock, verify, SdFile};
    use sdctl::primitives::jwe::CompactJwe;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["a", "b", "c", "n1", "n2", "n3", "x"] {
        custodian(d, name);
    }
    let pass = marker_text("a-pass");
    write_secret_file(
        &d.join("one.txt"),
        Zeroizing::new(format!("{pass}\n")).as_bytes(),
    );
    openssl(
        d,
        "pkcs8 -topk8 -in a.key -v2 aes-256-cbc -passout file:one.txt -out a-enc.key",
    );
    std::fs::copy(d.join("a.cer"), d.join("a-enc.cer")).unwrap();
    write_secret_file(
        &d.join("two.txt"),
        Zeroizing::new(format!("{pass}\n\n")).as_bytes(),
    );

    let cert = |n: &str| sdctl::keys::load_certificate(&d.join(format!("{n}.cer"))).unwrap();
    let state: Vec<(String, Vec<u8>)> = ["mhsm-key-store", "mhsm-rbac"]
        .iter()
        .map(|t| (t.to_string(), random::<96>().to_vec()))
        .collect();
    let sd = hsm::make_security_domain(&[cert("a"), cert("b"), cert("c")], 2, &state).unwrap();
    std::fs::write(d.join("sd.json"), sd.to_json().unwrap()).unwrap();
    let new_certs = [cert("n1"), cert("n2"), cert("n3")];
    let session_dir = d.join("session");

    let mut keep = Keep::new();
    let (outputs, freed) = freed_during(|| {
        let file = SdFile::read(&d.join("sd.json")).unwrap();
        let source = file_source(&d.join("two.txt"));
        let keys =
            sdctl::keys::load_wrapping_keys(&[d.join("a-enc.key"), d.join("b.key")], &source)
                .unwrap();
        let unlocked = unlock::unlock(&file.path, &file.domain, &keys).unwrap();
        keep.put("the master key", &unlocked.master_key);
        let opened = data::open_all(&file.path, &file.domain.enc_data, &unlocked.master_key);
        assert_eq!(opened.unwrap().len(), 2);
        assert!(verify::verify(&file, &keys, true).unwrap().verified);
        let exch = exchange::read_exchange_key(&d.join("x.cer")).unwrap();
        let (blob, _) = restore_blob::build_with_keys(&file, &keys, &exch).unwrap();
        let (rewrapped, _) = rewrap::rewrap(&file, &keys, &new_certs, 2).unwrap();

        // The distributed quorum.
        create_session(&session_dir, 2048, false).unwrap();
        let session_cert_path = session_dir.join("session.cer");
        let session_cert = sdctl::keys::load_certificate(&session_cert_path).unwrap();
        let exports: Vec<ExportFile> = keys
            .iter()
            .map(|k| {
                let export = export_share(&file, k, &session_cert, &session_cert_path).unwrap();
                ExportFile::parse(&k.key_path, export.jwe.as_bytes()).unwrap()
            })
            .collect();
        let session = sdctl::keys::load_wrapping_key(
            &session_dir.join("session.key"),
            0,
            &PassphraseSource::Unavailable,
        )
        .unwrap();
        assert!(verify_exports(&file, &session, &exports).unwrap().verified);
        // Public outputs, to find the secrets they wrap afterwards.
        (blob.to_json().unwrap(), rewrapped.to_json().unwrap())
    });

    let mut secrets = Secrets::default();
    let master = keep.get("the master key")[0].to_vec();
    for (tag, plain) in &state {
        secrets.add("HSM state", plain);
        secrets.add("a datum key", &data::datum_key(&master, tag).unwrap());
    }
    let private = |n: &str| {
        let pem = std::fs::read(d.join(n)).unwrap();
        openssl::pkey::PKey::private_key_from_pem(&pem).unwrap()
    };
    let share_plain = |jwe: &str, key: &openssl::pkey::PKey<openssl::pkey::Private>| {
        CompactJwe::parse(jwe)
            .unwrap()
            .decrypt_rsa(key)
            .unwrap()
            .to_vec()
    };
    for (i, (_, share)) in sd.shares().iter().enumerate() {
        let plain = share_plain(&share.enc_key, &private(["a.key", "b.key", "c.key"][i]));
        secrets.add("a share (decrypted)", &plain);
    }
    let blob: serde_json::Value = serde_json::from_str(&outputs.0).unwrap();
    let new_master = share_plain(
        blob["WrappedKey"]["enc_key"].as_str().unwrap(),
        &private("x.key"),
    );
    secrets.add("the restore blob's new master key", &new_master);
    let (new_sd, _) = sdctl::domain::SecurityDomain::from_json(outputs.1.as_bytes()).unwrap();
    for (i, (_, share)) in new_sd.shares().iter().enumerate() {
        let plain = share_plain(&share.enc_key, &private(["n1.key", "n2.key", "n3.key"][i]));
        secrets.add("a rewrapped share (decrypted)", &plain);
    }
    for (name, pass_file) in [("a-enc.key", Some("one.txt")), ("b.key", None)] {
        let (der, public) = key_ders(d, name, pass_file);
        secrets.add_private_key("a custodian's private key (DER)", &der, &public);
    }
    let (der, public) = key_ders(&session_dir, "session.key", None);
    secrets.add_private_key("the session private key (DER)", &der, &public);
    let session_public = openssl(&session_dir, "pkey -in session.key -pubout");
    let session_public = String::from_utf8(session_public).unwrap();
    let session_cert = std::fs::read_to_string(session_dir.join("session.cer")).unwrap();
    secrets.add_pem_lines(
        "the session private key (PEM)",
        &std::fs::read_to_string(session_dir.join("session.key")).unwrap(),
        &format!("{session_public}{session_cert}"),
    );
    secrets.add_text("a passphrase", &pass);
    keep.into_secrets(&mut secrets);
    freed.assert_clean(&secrets);
}

// ---------------------------------------------------------------------------------------
// Key shares of any secret (`sdctl shares`).

#[test]
fn split_secrets_and_their_shares_are_wiped() {
    use sdctl::shares::{self, input, output, sealed, text};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    custodian(d, "c1");
    let secret = random::<200>();
    write_secret_file(&d.join("secret.bin"), &secret);
    let cert = sdctl::keys::load_certificate(&d.join("c1.cer")).unwrap();

    let mut keep = Keep::new();
    let ((), freed) = freed_during(|| {
        let read = output::read_secret(&d.join("secret.bin")).unwrap();
        let made = shares::split(&read, 3, 5).unwrap();
        for share in &made {
            keep.put("a share's payload", &share.payload);
        }
        // Each form a share is written in, and read back.
        let binary = made[0].encode();
        write_secret_file(&d.join("s1.share"), &binary);
        let paper = text::to_text(&made[1].encode(), &[]).unwrap();
        write_secret_file(&d.join("s2.share.txt"), paper.as_bytes());
        let jwe = sealed::seal(&made[2], &cert).unwrap();
        std::fs::write(d.join("s3.share.jwe"), jwe.as_bytes()).unwrap();
        let back = text::from_text(&paper).unwrap();
        assert_eq!(back.as_slice(), made[1].encode().as_slice());
        let keys = vec![sdctl::keys::load_wrapping_key(
            &d.join("c1.key"),
            0,
            &PassphraseSource::Unavailable,
        )
        .unwrap()];
        let paths = [
            d.join("s1.share"),
            d.join("s2.share.txt"),
            d.join("s3.share.jwe"),
        ];
        let (_, combined) = input::combine_files(&paths, &keys).unwrap();
        assert_eq!(combined.secret.as_slice(), secret);
        let named: Vec<(PathBuf, shares::Share)> = made
            .iter()
            .skip(2)
            .map(|s| (PathBuf::from("x"), s.clone()))
            .collect();
        assert_eq!(shares::combine(&named).unwrap().secret.as_slice(), secret);
    });
    let mut secrets = Secrets::default();
    secrets.add("the secret", &secret);
    keep.into_secrets(&mut secrets);
    freed.assert_clean(&secrets);
}

#[test]
fn a_streamed_secret_outgrowing_its_buffer_is_wiped() {
    // 300 KiB from a stream (what `shares split --in -` reads): the buffer must grow
    // several times without leaving the old contents in freed memory.
    let secret: Vec<u8> = (0..4800).flat_map(|_| random::<64>()).collect();
    let (read, freed) = freed_during(|| {
        let read = sdctl::files::read_to_end_wiped(&secret[..], 16 << 20).unwrap();
        let whole = read.as_slice() == secret.as_slice();
        drop(read);
        whole
    });
    assert!(read, "the stream was not read whole");
    let mut secrets = Secrets::default();
    secrets.add("the streamed secret", &secret);
    freed.assert_clean(&secrets);
}

// ---------------------------------------------------------------------------------------
// Compile-time checks: each secret-holding field has a type that zeroizes on drop.

/// Compiles only if `T` zeroizes itself when dropped.
fn zeroizes_on_drop<T: ZeroizeOnDrop + ?Sized>(_: &T) {}

fn secret_fields_are_zeroize_on_drop() {
    fn of<T>() -> T {
        unreachable!()
    }
    use sdctl::domain::{data::OpenDatum, unlock};
    use sdctl::keys::{generate::NewCustodian, pem::PemBlock};
    zeroizes_on_drop(&of::<sdctl::primitives::gf257::Share>());
    zeroizes_on_drop(&of::<unlock::Unlocked>().master_key);
    zeroizes_on_drop(&of::<unlock::OpenShare>().plaintext);
    zeroizes_on_drop(&of::<unlock::MatchedShare>().opened.unwrap());
    zeroizes_on_drop(&of::<OpenDatum>().plaintext);
    zeroizes_on_drop(&of::<sdctl::shares::Share>().payload);
    zeroizes_on_drop(&of::<sdctl::shares::Combined>().secret);
    zeroizes_on_drop(&of::<NewCustodian>().key_pem);
    zeroizes_on_drop(&of::<PemBlock>().der);
    zeroizes_on_drop(&of::<Passphrase>());
}

#[test]
fn secret_types_implement_zeroize_on_drop() {
    fn check<T: ZeroizeOnDrop>() {}
    check::<Passphrase>();
    check::<sdctl::primitives::gf257::Share>();
    check::<Zeroizing<Vec<u8>>>();
    // The field checks above are compiled; reaching here means they hold.
    let _ = secret_fields_are_zeroize_on_drop as fn();
}
