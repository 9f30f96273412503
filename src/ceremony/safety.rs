//! Checks that refuse unsafe states: private keys on the online machine, a network on the
//! air-gapped one; and the tidying of temporary files a killed run left behind.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How deep and how wide the private-key scan looks.
const SCAN_DEPTH: usize = 6;
const SCAN_FILES: usize = 20_000;
/// Bytes of each file the scan reads (PEM markers and PKCS#12 headers sit at the start).
const SCAN_HEAD: usize = 64 * 1024;

/// Files under `dirs` that hold a private key (PEM `PRIVATE KEY` blocks, or a PKCS#12 or
/// `.key` file), at most six levels down. Symbolic links are not followed.
pub fn find_private_keys(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut budget = SCAN_FILES;
    for dir in dirs {
        scan(dir, SCAN_DEPTH, &mut budget, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

fn scan(dir: &Path, depth: usize, budget: &mut usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth > 0 {
            scan(&path, depth - 1, budget, found);
        } else if kind.is_file() && holds_private_key(&path) {
            found.push(path);
        }
    }
}

fn holds_private_key(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(ext.as_str(), "key" | "pfx" | "p12") {
        return true;
    }
    let mut head = Vec::with_capacity(SCAN_HEAD);
    let read = fs::File::open(path).and_then(|f| f.take(SCAN_HEAD as u64).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    let marker = b"PRIVATE KEY-----";
    head.windows(marker.len()).any(|w| w == marker)
}

/// Network interfaces other than loopback that are up (Linux `/sys/class/net`); empty
/// where that cannot be read.
pub fn network_interfaces_up() -> Vec<String> {
    let Ok(entries) = fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut up: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let state = fs::read_to_string(e.path().join("operstate")).unwrap_or_default();
            let flags = fs::read_to_string(e.path().join("flags")).unwrap_or_default();
            let loopback = name == "lo" || is_loopback_flag(&flags);
            let is_up = state.trim() == "up" || (state.trim() == "unknown" && has_up_flag(&flags));
            (!loopback && is_up).then_some(name)
        })
        .collect();
    up.sort();
    up
}

fn parse_flags(flags: &str) -> u32 {
    u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap_or(0)
}

fn is_loopback_flag(flags: &str) -> bool {
    parse_flags(flags) & 0x8 != 0
}

fn has_up_flag(flags: &str) -> bool {
    parse_flags(flags) & 0x1 != 0
}

/// Removes the temporary files (`.NAME.RANDOM.tmp`) an interrupted atomic write left in
/// `dirs` (not recursive). Returns what was removed.
pub fn remove_stale_temporaries(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_temporary_name(&name)
                && entry.file_type().is_ok_and(|t| t.is_file())
                && fs::remove_file(entry.path()).is_ok()
            {
                removed.push(entry.path());
            }
        }
    }
    removed
}

/// Whether `name` is one of [`crate::files::WriteBatch`]'s temporary names.
fn is_temporary_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    match inner.rsplit_once('.') {
        Some((stem, suffix)) => {
            !stem.is_empty() && suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg(test)]
#[path = "safety_tests.rs"]
mod tests;
