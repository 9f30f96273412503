use super::*;

#[test]
fn names_the_openssl_in_use_and_the_build() {
    let info = build_info();
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.online, cfg!(feature = "online"));
    // What OpenSSL itself reports at run time, not what the headers said at build time.
    let reported = openssl::version::version();
    assert!(reported.starts_with("OpenSSL "), "{reported}");
    assert_eq!(info.openssl, reported);
    let text = info.long_version();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], info.version);
    assert!(lines[1].ends_with(info.build_kind()), "{text}");
    assert!(lines[2].contains(reported), "{text}");
    assert!(lines[2].contains(info.openssl_linkage()), "{text}");
    assert_eq!(lines[3], format!("commit:  {}", info.commit));
    assert!(lines[4].starts_with("rustc:   rustc 1."), "{text}");
    assert!(lines[4].ends_with(&format!("({})", info.target)), "{text}");
}

#[test]
fn names_the_commit_of_this_checkout() {
    // The tests run from the repository, so the build script found its commit (or says why
    // not, for a source archive, where git is absent).
    let commit = build_info().commit;
    let hex = commit.split(' ').next().unwrap_or_default();
    let named = hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    assert!(named || commit.starts_with("unknown ("), "{commit}");
    // That git knows it in this checkout's history: tests/keys_cli.rs, through --version.
}

#[test]
fn the_two_builds_and_linkages_read_differently() {
    let mut info = build_info();
    info.online = true;
    info.openssl_static = false;
    let online = info.long_version();
    info.online = false;
    info.openssl_static = true;
    let offline = info.long_version();
    assert!(online.contains("online") && !online.contains("air-gapped"));
    assert!(offline.contains("air-gapped") && !offline.contains("online"));
    assert!(online.contains("shared library") && offline.contains("static"));
}

#[test]
fn executable_digest_is_the_files_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tool");
    std::fs::write(&path, b"abc").unwrap();
    assert_eq!(
        file_sha256(&path, 3).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // A byte over the bound, or a missing file, is refused with the path named.
    let err = file_sha256(&path, 2).unwrap_err();
    assert!(
        err.contains("tool") && err.contains("larger than 2"),
        "{err}"
    );
    let err = file_sha256(&dir.path().join("gone"), 10).unwrap_err();
    assert!(err.contains("gone"), "{err}");
    // The running test binary hashes to 64 hex digits.
    let digest = executable_sha256().unwrap();
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{digest}");
}
