//! C_GetTokenInfo read straight from a loaded module, for tokens whose answer the cryptoki
//! crate refuses as a whole because of one field sdctl never uses: the clock.
//!
//! PKCS#11 says `utcTime` is `YYYYMMDDhhmmss00` when a token sets `CKF_CLOCK_ON_TOKEN`.
//! openCryptoki 3.8's software token sets the flag but writes `hh:mm:ss` and NULs, and
//! cryptoki 0.12 then fails C_GetTokenInfo with a parse error, so the token could not even
//! be found. Here only the fields sdctl shows are taken; `utcTime` is not read.

use std::ffi::{c_ulong, c_void, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// CK_VERSION.
#[repr(C)]
#[derive(Clone, Copy)]
struct Version {
    major: u8,
    minor: u8,
}

/// CK_TOKEN_INFO as PKCS#11 lays it out (`CK_ULONG` is C's `unsigned long` on Unix).
#[repr(C)]
struct TokenInfo {
    label: [u8; 32],
    manufacturer: [u8; 32],
    model: [u8; 16],
    serial: [u8; 16],
    flags: c_ulong,
    /// ulMaxSessionCount .. ulFreePrivateMemory.
    counts: [c_ulong; 10],
    hardware: Version,
    firmware: Version,
    utc_time: [u8; 16],
}

/// The start of CK_FUNCTION_LIST: the version, then C_Initialize, C_Finalize, C_GetInfo,
/// C_GetFunctionList, C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo (every PKCS#11 2.x and
/// 3.x list begins so). Only these are read.
#[repr(C)]
struct FunctionListHead {
    version: Version,
    functions: [*const c_void; 7],
}

const GET_TOKEN_INFO: usize = 6;

type GetFunctionList = unsafe extern "C" fn(*mut *const FunctionListHead) -> c_ulong;
type GetTokenInfo = unsafe extern "C" fn(c_ulong, *mut TokenInfo) -> c_ulong;

/// What sdctl shows of a token, read without the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTokenInfo {
    /// The label, blank padding removed.
    pub label: String,
    /// The manufacturer.
    pub manufacturer: String,
    /// The model.
    pub model: String,
    /// The serial number.
    pub serial: String,
    /// The CKF_* token flags.
    pub flags: u64,
}

/// Calls C_GetTokenInfo for `slot` of the module at `path`, which this process must have
/// loaded and initialised already (the cryptoki context that failed did): the loaded
/// library is found again (`RTLD_NOLOAD`), never loaded a second time.
pub fn read(path: &Path, slot: u64) -> Result<RawTokenInfo, String> {
    let name = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| "the module path contains a NUL byte".to_owned())?;
    let slot = c_ulong::try_from(slot).map_err(|_| format!("slot {slot} is out of range"))?;
    // SAFETY: dlopen with RTLD_NOLOAD only looks up a library already loaded by this process
    // (the module cryptoki loaded); the handle is closed below, balancing its reference.
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    if handle.is_null() {
        return Err("the module is not loaded in this process".into());
    }
    let result = read_with(handle, slot);
    // SAFETY: `handle` came from the dlopen above and is not used after this.
    unsafe { libc::dlclose(handle) };
    result
}

fn read_with(handle: *mut c_void, slot: c_ulong) -> Result<RawTokenInfo, String> {
    // SAFETY: the symbol name is a NUL-terminated literal; a missing symbol gives NULL.
    let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
    if symbol.is_null() {
        return Err("the module has no C_GetFunctionList".into());
    }
    // SAFETY: C_GetFunctionList has this signature in every PKCS#11 version.
    let get_list: GetFunctionList = unsafe { std::mem::transmute(symbol) };
    let mut list: *const FunctionListHead = std::ptr::null();
    // SAFETY: the module writes a pointer to its static function list into `list`.
    let rv = unsafe { get_list(&mut list) };
    if rv != 0 || list.is_null() {
        return Err(format!("C_GetFunctionList failed (0x{rv:x})"));
    }
    // SAFETY: `list` points to the module's function list, which starts with this head.
    let entry = unsafe { (*list).functions[GET_TOKEN_INFO] };
    if entry.is_null() {
        return Err("the module has no C_GetTokenInfo".into());
    }
    // SAFETY: entry 6 of a PKCS#11 function list is C_GetTokenInfo.
    let get_info: GetTokenInfo = unsafe { std::mem::transmute(entry) };
    let mut info = std::mem::MaybeUninit::<TokenInfo>::zeroed();
    // SAFETY: `info` is a zeroed CK_TOKEN_INFO the module fills in.
    let rv = unsafe { get_info(slot, info.as_mut_ptr()) };
    if rv != 0 {
        return Err(format!("C_GetTokenInfo failed (0x{rv:x})"));
    }
    // SAFETY: zero-initialised and written by the module: every bit pattern is valid here.
    let info = unsafe { info.assume_init() };
    // `unsigned long` is 64 bits here, 32 bits on some Unix targets.
    #[allow(clippy::useless_conversion)]
    let flags = u64::from(info.flags);
    Ok(RawTokenInfo {
        label: text(&info.label),
        manufacturer: text(&info.manufacturer),
        model: text(&info.model),
        serial: text(&info.serial),
        flags,
    })
}

/// A blank-padded PKCS#11 text field, padding (and any NULs) removed.
fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field)
        .trim_end_matches([' ', '\0'])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_not_loaded_is_not_loaded_here() {
        let err = read(Path::new("/nonexistent/libnothing.so"), 0).unwrap_err();
        assert!(err.contains("not loaded"), "{err}");
    }

    #[test]
    fn text_fields_lose_blank_and_nul_padding() {
        let mut field = [b' '; 16];
        field[..3].copy_from_slice(b"abc");
        assert_eq!(text(&field), "abc");
        let mut field = [0u8; 16];
        field[..8].copy_from_slice(b"05:56:20");
        assert_eq!(text(&field), "05:56:20");
    }
}
