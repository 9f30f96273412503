//! Careful file handling: bounded reads of input files and atomic, no-clobber writes of
//! outputs (temporary file in the same directory, fsync, rename, fsync of the directory).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use crate::exit_code::ExitCode;

/// File mode for private keys and other secrets.
pub const MODE_SECRET: u32 = 0o600;
/// File mode for public outputs (certificates, manifests).
pub const MODE_PUBLIC: u32 = 0o644;

/// A file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A directory (or other non-regular file) was given where a file is expected.
    #[error("{}: is {what}, not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a directory", "a special file").
        what: &'static str,
    },
    /// The file is larger than anything of its kind can be.
    #[error("{}: is larger than {limit} bytes, too large for {kind}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
        /// What the file was expected to hold.
        kind: &'static str,
    },
    /// The file holds nothing, or nothing but white space.
    #[error("{}: file is empty; expected {kind}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What the file was expected to hold.
        kind: &'static str,
    },
    /// An output already exists and `--force` was not given.
    #[error("{}: already exists; choose another path or pass --force to overwrite it", path.display())]
    Exists {
        /// The output path.
        path: PathBuf,
    },
    /// Writing an output failed; nothing was left behind at the destination.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The output path.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
}

impl FileError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::BadInput
    }

    fn write(path: &Path, source: io::Error) -> Self {
        FileError::Write {
            path: path.to_owned(),
            source,
        }
    }
}

/// Reads a whole regular file of at most `limit` bytes; `kind` names what it should hold.
pub fn read_bounded(path: &Path, limit: u64, kind: &'static str) -> Result<Vec<u8>, FileError> {
    let read_err = |source| FileError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        return Err(FileError::NotAFile {
            path: path.to_owned(),
            what: "a directory",
        });
    }
    if !meta.is_file() {
        return Err(FileError::NotAFile {
            path: path.to_owned(),
            what: "a special file (pipe, socket or device)",
        });
    }
    // Refused by its size before a byte is read: a huge file must cost no memory. The
    // bounded read below still holds for a file that grows after this check.
    if meta.len() > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            limit,
            kind,
        });
    }
    let file = File::open(path).map_err(read_err)?;
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(read_err)?;
    if data.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            limit,
            kind,
        });
    }
    Ok(data)
}

/// Reads `reader` to its end, up to `limit + 1` bytes (so a caller can tell "too large"),
/// into memory that is wiped when it is dropped or outgrown: the buffer grows by copying
/// into a larger wiped buffer, never by reallocation, which would leave a copy of a secret
/// in freed memory.
pub fn read_to_end_wiped(mut reader: impl Read, limit: u64) -> io::Result<Zeroizing<Vec<u8>>> {
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut data = Zeroizing::new(Vec::with_capacity(cap.min(64 << 10)));
    let mut chunk = Zeroizing::new([0u8; 8192]);
    while data.len() < cap {
        let want = chunk.len().min(cap - data.len());
        let n = match reader.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if data.len() + n > data.capacity() {
            let grown = (data.capacity() * 2).max(data.len() + n).min(cap);
            let mut larger = Zeroizing::new(Vec::with_capacity(grown));
            larger.extend_from_slice(&data);
            data = larger;
        }
        data.extend_from_slice(&chunk[..n]);
    }
    Ok(data)
}

/// [`read_bounded`] for files that cannot be empty: one with nothing but white space in it
/// is refused as empty, rather than by whatever its parser would say of no input.
pub fn read_bounded_nonempty(
    path: &Path,
    limit: u64,
    kind: &'static str,
) -> Result<Vec<u8>, FileError> {
    let data = read_bounded(path, limit, kind)?;
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::Empty {
            path: path.to_owned(),
            kind,
        });
    }
    Ok(data)
}

/// Whether a file's permissions let users other than its owner read it.
pub fn readable_by_others(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o044 != 0)
        .unwrap_or(false)
}

/// One output of a [`WriteBatch`].
struct Staged {
    temp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

/// A set of outputs written together: every file is first written to a temporary file in
/// its destination directory and fsynced; only then are they renamed into place. If any
/// step fails, the temporary files and the outputs already renamed are removed, so a
/// failed command leaves no partial output behind.
pub struct WriteBatch {
    overwrite: bool,
    staged: Vec<Staged>,
}

impl WriteBatch {
    /// A new batch; with `overwrite` false an existing destination is an error.
    pub fn new(overwrite: bool) -> Self {
        WriteBatch {
            overwrite,
            staged: Vec::new(),
        }
    }

    /// Fails early if `dest` exists and overwriting is not allowed.
    pub fn check_free(&self, dest: &Path) -> Result<(), FileError> {
        ensure_free(dest, self.overwrite)
    }

    /// Writes `data` to a temporary file beside `dest` with `mode`, fsynced.
    pub fn stage(&mut self, dest: &Path, data: &[u8], mode: u32) -> Result<(), FileError> {
        self.check_free(dest)?;
        let dir = parent_dir(dest);
        let name = dest
            .file_name()
            .ok_or_else(|| FileError::write(dest, io::Error::other("not a file name")))?;
        let mut last_err = None;
        for _ in 0..16 {
            let temp = dir.join(format!(
                ".{}.{}.tmp",
                name.to_string_lossy(),
                random_suffix()
            ));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&temp)
            {
                Ok(mut file) => {
                    self.staged.push(Staged {
                        temp: temp.clone(),
                        dest: dest.to_owned(),
                        committed: false,
                    });
                    // The umask may have narrowed the mode; secrets must never be wider.
                    let result = file
                        .set_permissions(fs::Permissions::from_mode(mode))
                        .and_then(|()| file.write_all(data))
                        .and_then(|()| file.sync_all());
                    return result.map_err(|e| FileError::write(dest, e));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(FileError::write(dest, e)),
            }
        }
        Err(FileError::write(
            dest,
            last_err.unwrap_or_else(|| io::Error::other("no free temporary name")),
        ))
    }

    /// Renames every staged file into place and fsyncs the directories.
    pub fn commit(mut self) -> Result<(), FileError> {
        #[cfg(debug_assertions)]
        for staged in &self.staged {
            pause_for_kill_tests(&staged.dest);
        }
        for i in 0..self.staged.len() {
            let (temp, dest) = (self.staged[i].temp.clone(), self.staged[i].dest.clone());
            let moved = if self.overwrite {
                fs::rename(&temp, &dest)
            } else {
                rename_no_replace(&temp, &dest)
            };
            match moved {
                Ok(()) => self.staged[i].committed = true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(FileError::Exists { path: dest });
                }
                Err(e) => return Err(FileError::write(&dest, e)),
            }
        }
        for staged in &self.staged {
            let dir = parent_dir(&staged.dest);
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| FileError::write(&staged.dest, e))?;
        }
        self.staged.clear();
        Ok(())
    }
}

impl Drop for WriteBatch {
    fn drop(&mut self) {
        // Only reached with staged entries when the batch failed or was abandoned.
        for staged in &self.staged {
            let _ = fs::remove_file(&staged.temp);
            if staged.committed && !self.overwrite {
                let _ = fs::remove_file(&staged.dest);
            }
        }
    }
}

/// Environment variable of the kill tests' hook: a write into the file it names pauses 30 s
/// between fsync and rename, so a test can kill the process inside the write. Only debug
/// builds (what `cargo test` runs) read it: a release build has no hook, and no code uses
/// this name there, so it is not in the binary (ceremony-scripts/build-offline.sh checks).
pub const PAUSE_HOOK: &str = "SDCTL_TEST_PAUSE_BEFORE_RENAME";

/// Test hook for the ceremony kill tests, compiled in debug builds only: when
/// [`PAUSE_HOOK`] names `dest`'s file name, the write stops for 30 seconds with its
/// temporary file complete and synced but not yet renamed, and says so on stderr (naming
/// `dest`, never the variable's value), so a test can kill the process inside the write.
/// The value is only compared with the file name: whatever it holds, the hook can do
/// nothing but pause one write. Not a secret and not a behaviour: unset, nothing happens.
#[cfg(debug_assertions)]
fn pause_for_kill_tests(dest: &Path) {
    let Some(name) = std::env::var_os(PAUSE_HOOK) else {
        return;
    };
    if dest.file_name() == Some(name.as_os_str()) {
        eprintln!(
            "sdctl: test hook: paused before renaming into {}",
            dest.display()
        );
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
}

/// Fails if `dest` exists (even as a dangling link) and `overwrite` is false: call it before
/// any expensive or interactive work whose result would go to `dest`.
pub fn ensure_free(dest: &Path, overwrite: bool) -> Result<(), FileError> {
    if !overwrite && fs::symlink_metadata(dest).is_ok() {
        return Err(FileError::Exists {
            path: dest.to_owned(),
        });
    }
    Ok(())
}

/// [`ensure_free`], and the directory `dest` would be written into exists: for single-file
/// outputs, checked before work (or a call to an HSM) whose result would have nowhere to go.
pub fn ensure_writable(dest: &Path, overwrite: bool) -> Result<(), FileError> {
    ensure_free(dest, overwrite)?;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.is_dir() {
        Ok(())
    } else {
        Err(FileError::write(
            dest,
            io::Error::new(io::ErrorKind::NotFound, "its directory does not exist"),
        ))
    }
}

/// Writes one output atomically (see [`WriteBatch`]).
pub fn write_atomic(dest: &Path, data: &[u8], mode: u32, overwrite: bool) -> Result<(), FileError> {
    let mut batch = WriteBatch::new(overwrite);
    batch.stage(dest, data, mode)?;
    batch.commit()
}

/// Creates `dir` (and its parents) with mode 0700 when it does not exist.
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| FileError::write(dir, e))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    // A failure of the system RNG leaves zeros; create_new still prevents any clash.
    let _ = openssl::rand::rand_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renames without replacing an existing destination (Linux `renameat2(RENAME_NOREPLACE)`,
/// elsewhere a hard link and unlink, which also fails if the destination exists).
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c_from = CString::new(from.as_os_str().as_bytes())?;
        let c_to = CString::new(to.as_os_str().as_bytes())?;
        // SAFETY: both pointers are valid NUL-terminated strings for the call's duration.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                c_from.as_ptr(),
                libc::AT_FDCWD,
                c_to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINVAL) && err.raw_os_error() != Some(libc::ENOSYS) {
            return Err(err);
        }
        // The file system does not support RENAME_NOREPLACE: fall back to link + unlink.
    }
    fs::hard_link(from, to)?;
    fs::remove_file(from)
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
