//! Process hardening for commands that hold private keys in memory.

use std::io;

/// Disables core dumps for this process (`RLIMIT_CORE` = 0) and, on Linux, marks it
/// non-dumpable so that neither a crash nor another user's debugger can copy key material
/// out of memory. Call it before loading or generating any private key.
pub fn disable_core_dumps() -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads a valid, initialised rlimit struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_DUMPABLE takes a plain integer argument.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether core dumps are disabled for this process (the hard and soft `RLIMIT_CORE` are 0).
pub fn core_dumps_disabled() -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    // SAFETY: getrlimit writes into a valid rlimit struct.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) };
    rc == 0 && limit.rlim_cur == 0 && limit.rlim_max == 0
}

/// Ctrl-C during a ceremony: the terminal is put back as it was when the handler was
/// installed (a hidden prompt may have turned echo off), `message` is written to stderr
/// (where the run stands and how to resume), and the process exits with status 130. Call
/// it again to change the message; an empty message says only "Interrupted.".
///
/// The handler does only async-signal-safe work (`tcsetattr`, `write`, `_exit`) on data
/// prepared here: each message is leaked, never freed, so the handler can never read freed
/// memory.
pub fn on_interrupt_say(message: &str) {
    use std::sync::atomic::Ordering;
    let text = if message.is_empty() {
        "\nInterrupted.\n"
    } else {
        message
    };
    let leaked: &'static mut Box<[u8]> = Box::leak(Box::new(text.as_bytes().into()));
    interrupt::MESSAGE.store(leaked, Ordering::SeqCst);
    interrupt::install();
}

mod interrupt {
    use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
    use std::sync::Once;

    /// The message Ctrl-C prints (a leaked boxed slice).
    pub static MESSAGE: AtomicPtr<Box<[u8]>> = AtomicPtr::new(std::ptr::null_mut());
    /// The controlling terminal's settings when the handler was installed (leaked).
    static TERMIOS: AtomicPtr<libc::termios> = AtomicPtr::new(std::ptr::null_mut());
    /// The controlling terminal, open for `tcsetattr` (-1 when there is none).
    static TTY: AtomicI32 = AtomicI32::new(-1);
    static INSTALL: Once = Once::new();

    pub fn install() {
        INSTALL.call_once(|| {
            // SAFETY: opening a path with a NUL-terminated literal; the descriptor is kept
            // for the life of the process.
            let fd = unsafe { libc::open(c"/dev/tty".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
            if fd >= 0 {
                // SAFETY: termios is plain data; tcgetattr fills it for a valid descriptor.
                let mut saved: libc::termios = unsafe { std::mem::zeroed() };
                if unsafe { libc::tcgetattr(fd, &mut saved) } == 0 {
                    TERMIOS.store(Box::leak(Box::new(saved)), Ordering::SeqCst);
                    TTY.store(fd, Ordering::SeqCst);
                } else {
                    // SAFETY: closing the descriptor opened above, used nowhere else.
                    unsafe { libc::close(fd) };
                }
            }
            // SAFETY: a handler with the C ABI that only calls async-signal-safe functions.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
            }
        });
    }

    extern "C" fn on_sigint(_: libc::c_int) {
        let termios = TERMIOS.load(Ordering::SeqCst);
        let tty = TTY.load(Ordering::SeqCst);
        if !termios.is_null() && tty >= 0 {
            // SAFETY: tcsetattr is async-signal-safe; `termios` points to leaked data.
            unsafe { libc::tcsetattr(tty, libc::TCSANOW, termios) };
        }
        let message = MESSAGE.load(Ordering::SeqCst);
        if !message.is_null() {
            // SAFETY: `message` points to a leaked boxed slice that is never freed; write is
            // async-signal-safe.
            let bytes: &[u8] = unsafe { &*message };
            unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        }
        // SAFETY: _exit is async-signal-safe and does not run destructors.
        unsafe { libc::_exit(130) };
    }
}
