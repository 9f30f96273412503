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
