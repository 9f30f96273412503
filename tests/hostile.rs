//! Hostile inputs for every sdctl command that reads a file.
//!
//! Each test is a table for one command group. A row is one sdctl command line, the file
//! argument under attack (its file name in the case's directory), the hostile input put
//! there, and the documented outcome. Every file argument gets the generic inputs of
//! `Cmd::generic` (`common/hostile/cases.rs`): empty, truncated (the first half of a
//! valid file), 4 KiB of random bytes, a sparse 100 MB file, a directory, a symbolic link
//! to a directory, a dangling link, and a mode-000 file read by `nobody` (root reads
//! anything); JSON arguments also get 100000 `[` and wrong JSON types, TOML ones deep
//! TOML, text ones bytes that are not UTF-8. The semantic rows follow: quorum boundaries
//! (1, 2, 10, 11, 126, 127), duplicated and foreign shares, mismatched tags, a key file
//! with two private keys, a secret over the 16 MiB cap on standard input.
//!
//! For every row the harness (`common/hostile/mod.rs`) asserts: the documented exit code
//! (2 bad input, 3 a wrong or foreign key or a MAC, 1 a failed check); exactly one error
//! line on stderr (blank lines and the warnings in `KNOWN_WARNINGS` aside) that starts
//! `sdctl: `, names the file and one of the row's problem phrases, and is at most
//! `MAX_LINE_BYTES` long; no `panicked` anywhere and no crash; the case directory
//! unchanged (no output, no temporary); and a peak memory (VmHWM of sdctl) under
//! `RSS_LIMIT_MIB`, so nothing is slurped. Each row prints one line:
//! `cargo test --test hostile -- --nocapture 2>&1 | grep panicked` must find nothing.

mod common;
#[path = "common/hostile/mod.rs"]
mod hostile;

use hostile::cases::*;
use hostile::fixture::{with, Library, BOB_PASSPHRASE, CUSTODIANS, PLAN};
use hostile::{run, RSS_LIMIT_STDIN_MIB};
use serde_json::{json, Value};

/// The ten custodians' certificate file names.
fn all_certs() -> Vec<String> {
    CUSTODIANS.iter().map(|c| format!("{c}.cer")).collect()
}

/// `names`, then the ten certificates, each once.
fn with_all_certs<'a>(names: &[&'a str], certs: &'a [String]) -> Vec<&'a str> {
    let mut out = names.to_vec();
    out.extend(certs.iter().map(String::as_str));
    out.sort();
    out.dedup();
    out
}

#[test]
fn keys_commands() {
    let lib = Library::get();
    let files = lib.pick(&[
        "alice.cer",
        "bob.cer",
        "carol.cer",
        "alice.key",
        "bob.key",
        "pass.txt",
    ]);
    let mut cases = Vec::new();
    for target in ["bob.key", "bob.cer"] {
        let inspect = cmd(
            "keys inspect",
            &format!("keys inspect alice.cer {target}"),
            &files,
        );
        cases.extend(inspect.generic(target, KEY));
    }
    let check = "keys check --sd-wrapping-keys alice.cer bob.cer carol.cer";
    cases.extend(cmd("keys check --sd-wrapping-keys", check, &files).generic("bob.cer", KEY));
    let keys = format!("{check} --keys alice.key bob.key --passphrase-file pass.txt");
    let keys = cmd("keys check --keys", &keys, &files);
    cases.extend(keys.generic("bob.key", KEY));
    let two = lib.bytes("two-keys.key");
    cases.push(keys.content(
        "bob.key",
        "two private keys",
        two,
        2,
        &["holds 2 private keys"],
    ));
    // A wrong passphrase is a finding of the check (exit 1), said on stderr.
    cases.extend(keys.passphrases(1));

    // keys generate reads new passphrases, one per custodian: nothing is made from a bad
    // file. Half the file is one whole line and part of the next.
    let strong =
        "correct horse one battery\ncorrect horse two battery\ncorrect horse six battery\n";
    let files = lib.pick(&[]);
    let generate =
        "keys generate --count 3 --bits 2048 --out-dir out/keys --passphrase-file pass.txt";
    let generate =
        cmd("keys generate", generate, &files).with_files(&[("pass.txt", strong.into())]);
    let truncated: &[&str] = &["has 2 line(s) but 3"];
    cases.extend(generate.generic_but("pass.txt", PASS, &[("truncated", Some((2, truncated)))]));
    run("keys commands", cases);
}

#[test]
fn sd_inspect_and_verify() {
    let lib = Library::get();
    let files = lib.pick(&[
        "sd.json",
        "alice.key",
        "alice.cer",
        "bob.key",
        "bob.cer",
        "carol.cer",
        "pass.txt",
    ]);
    let mut cases = Vec::new();
    let inspect = cmd(
        "sd inspect",
        "sd inspect --sd-file sd.json --sd-wrapping-keys alice.cer bob.cer",
        &files,
    );
    cases.extend(inspect.sd_file());
    cases.extend(inspect.sd_quorums());
    cases.extend(inspect.generic("bob.cer", KEY));

    let verify = "sd verify --sd-file sd.json --sd-wrapping-keys alice.key bob.key --passphrase-file pass.txt";
    let verify = cmd("sd verify", verify, &files);
    cases.push(verify.succeed("required 2 of 3"));
    cases.push(sd_ten_of_ten("sd verify", "sd verify"));
    cases.extend(verify.sd_file());
    cases.extend(verify.sd_quorums());
    cases.extend(verify.sd_shares(1));
    cases.extend(verify.keys());
    cases.extend(verify.passphrases(3));

    // The drill of every custodian finds carol's share from another HSM: a failed check.
    let other = lib.json("other-sd.json");
    let each = "sd verify --sd-file sd.json --sd-wrapping-keys alice.key bob.key carol.key --passphrase-file pass.txt --each-custodian";
    let pass = format!("\n{BOB_PASSPHRASE}\n\n").into_bytes();
    let each = cmd("sd verify --each-custodian", each, &files)
        .with_files(&[("carol.key", lib.bytes("carol.key")), ("pass.txt", pass)]);
    let foreign = sd_with(|v| {
        v["SharedKeys"]["enc_shares"][2] = other["SharedKeys"]["enc_shares"][2].clone()
    });
    cases.push(each.content(
        "sd.json",
        "carol's share foreign",
        foreign,
        1,
        &["check failed"],
    ));
    run("sd inspect and verify", cases);
}

#[test]
fn sd_restore_blob_and_rewrap() {
    let lib = Library::get();
    let certs = all_certs();
    let names = with_all_certs(
        &[
            "sd.json",
            "alice.key",
            "bob.key",
            "exchange.cer",
            "pass.txt",
        ],
        &certs,
    );
    let files = lib.pick(&names);
    let mut cases = Vec::new();
    let blob = "sd restore-blob --sd-file sd.json --sd-exchange-key exchange.cer --sd-wrapping-keys alice.key bob.key --passphrase-file pass.txt --sd-file-restore-blob out/blob.json";
    let blob = cmd("sd restore-blob", blob, &files);
    cases.push(blob.succeed("of 2 of 3"));
    cases.extend(blob.sd_file());
    cases.extend(blob.sd_quorums());
    cases.extend(blob.sd_shares(3));
    cases.extend(blob.exchange());
    cases.extend(blob.keys());
    cases.extend(blob.passphrases(3));

    let head = "sd rewrap --sd-file sd.json --sd-wrapping-keys alice.key bob.key --passphrase-file pass.txt --out out/new.json";
    let to = |certs: &str, q: u32| format!("{head} --new-wrapping-keys {certs} --new-quorum {q}");
    let rewrap = cmd("sd rewrap", &to("carol.cer dave.cer erin.cer", 2), &files);
    cases.push(rewrap.succeed("--new-quorum 2 of 3"));
    cases
        .push(cmd("sd rewrap", &to(&certs.join(" "), 10), &files).succeed("--new-quorum 10 of 10"));
    for q in [1, 11, 126, 127] {
        let problem = format!("quorum {q} with 10 certificates");
        let refused = cmd("sd rewrap", &to(&certs.join(" "), q), &files);
        cases.push(refused.refuse(
            &format!("--new-quorum {q}"),
            2,
            &["--new-quorum"],
            &[&problem],
        ));
    }
    cases.extend(rewrap.sd_file());
    cases.extend(rewrap.sd_shares(3));
    cases.extend(rewrap.keys());
    cases.extend(rewrap.passphrases(3));
    cases.extend(rewrap.generic("dave.cer", KEY));
    let key = lib.bytes("dave.key");
    cases.push(rewrap.content(
        "dave.cer",
        "a private key",
        key,
        2,
        &["holds no certificate"],
    ));
    run("sd restore-blob and rewrap", cases);
}

#[test]
fn sd_distributed_quorum() {
    let lib = Library::get();
    let names = [
        "sd.json",
        "bob.key",
        "bob.cer",
        "dave.key",
        "dave.cer",
        "alice.jwe",
        "carol.jwe",
        "session/session.key",
        "session/session.cer",
        "exchange.cer",
    ];
    let pass = format!("{BOB_PASSPHRASE}\n").into_bytes();
    let files = with(&lib.pick(&names), &[("pass.txt", pass)]);
    let mut cases = Vec::new();
    let export = "sd share-export --sd-file sd.json --key bob.key --passphrase-file pass.txt --to session/session.cer --out out/bob.jwe";
    let export = cmd("sd share-export", export, &files);
    cases.push(export.succeed("of bob's share"));
    cases.extend(export.sd_file());
    cases.extend(export.generic("bob.key", KEY));
    let two = lib.bytes("two-keys.key");
    cases.push(export.content(
        "bob.key",
        "two private keys",
        two,
        2,
        &["holds 2 private keys"],
    ));
    let dave = export.with_files(&[("bob.cer", lib.bytes("dave.cer"))]);
    cases.push(dave.content(
        "bob.key",
        "dave's key",
        lib.bytes("dave.key"),
        3,
        &["its certificate"],
    ));
    cases.extend(export.passphrases(3));
    cases.extend(export.generic("session/session.cer", KEY));
    let alice = lib.bytes("alice.cer");
    let problem = ["is the wrapping certificate"];
    cases.push(export.content(
        "session/session.cer",
        "a custodian's certificate",
        alice,
        2,
        &problem,
    ));

    let datum = lib.json("sd.json")["EncData"]["data"][0]["compact_jwe"].clone();
    for head in [
        "sd verify --sd-file sd.json",
        "sd restore-blob --sd-file sd.json --sd-exchange-key exchange.cer --sd-file-restore-blob out/blob.json",
    ] {
        let name = head.split(" --").next().unwrap();
        let line = format!("{head} --keep-session --shares alice.jwe carol.jwe --session-key session/session.key");
        let quorum = cmd(&format!("{name} --shares"), &line, &files);
        cases.push(quorum.succeed("alice + carol"));
        cases.extend(quorum.generic("carol.jwe", EXPORT));
        let rows: [(&str, Vec<u8>, i32, &[&str]); 3] = [
            ("an SD datum", datum.as_str().unwrap().into(), 2, &["not an sdctl share export"]),
            ("alice's export again", lib.bytes("alice.jwe"), 2, &["exports of the same share"]),
            ("alice's export of another SD", lib.bytes("alice-other.jwe"), 3, &["exported from a different security domain"]),
        ];
        for (what, bytes, code, problem) in rows {
            cases.push(quorum.content("carol.jwe", what, bytes, code, problem));
        }
        cases.extend(quorum.generic("session/session.key", KEY));
        let problem = ["private key does not match certificate"];
        cases.push(quorum.content("session/session.key", "dave's key", lib.bytes("dave.key"), 3, &problem));
    }

    // The session key is never followed through a link, and is left untouched when it is
    // not exactly one unencrypted private key with a session certificate.
    let destroy = cmd(
        "sd session destroy",
        "sd session destroy --session-key session/session.key",
        &files,
    );
    cases.push(destroy.succeed("of the session key"));
    let link: &[&str] = &["is a symbolic link"];
    let changes = [
        ("symlink to directory", Some((2, link))),
        ("dangling symlink", Some((2, link))),
    ];
    cases.extend(destroy.generic_but("session/session.key", KEY, &changes));
    for (what, bytes) in [
        ("two private keys", lib.bytes("two-keys.key")),
        ("a custodian's key", lib.bytes("bob.key")),
    ] {
        cases.push(destroy.content(
            "session/session.key",
            what,
            bytes,
            2,
            &["nothing was changed"],
        ));
    }
    run("sd distributed quorum", cases);
}

#[test]
fn shares_commands() {
    let lib = Library::get();
    let files = lib.pick(&[
        "secret.bin",
        "alice.cer",
        "bob.cer",
        "carol.cer",
        "alice.key",
        "bob.key",
        "dave.key",
        "dave.cer",
        "pass.txt",
        "set/share-1.share",
        "set/share-2.share",
        "sealed/alice.share.jwe",
        "sealed/bob.share.jwe",
    ]);
    let mut cases = Vec::new();
    let split = |k: u32, n: u32, rest: &str| {
        let line = format!("shares split --threshold {k} --shares {n} --out-dir out/shares {rest}");
        cmd(
            &format!("shares split --threshold {k} --shares {n}"),
            &line,
            &files,
        )
    };
    let from_file = split(2, 3, "--in secret.bin");
    cases.push(from_file.succeed("--in secret.bin"));
    // Any bytes are a secret: only what cannot be read, or nothing, is refused.
    let empty: &[&str] = &["file is empty; expected a secret to split"];
    let changes = [
        ("truncated", None),
        ("random binary", None),
        ("empty", Some((2, empty))),
    ];
    cases.extend(from_file.generic_but("secret.bin", KEY, &changes));
    // Standard input: over the 16 MiB cap (read up to the cap, then refused), and empty.
    let from_stdin = split(2, 3, "--in -");
    for (what, bytes, problem) in [
        (
            "over 16 MiB",
            (16 << 20) + 1,
            "is larger than 16777216 bytes",
        ),
        ("empty", 0, empty[0]),
    ] {
        let mut case = from_stdin.refuse(
            &format!("--in - {what}"),
            2,
            &["standard input"],
            &[problem],
        );
        case.stdin_bytes = Some(bytes);
        case.rss_limit_mib = RSS_LIMIT_STDIN_MIB;
        cases.push(case);
    }
    for (k, n, ok) in [
        (1, 3, false),
        (2, 2, true),
        (10, 10, true),
        (11, 10, false),
        (126, 126, true),
        (127, 126, false),
        (127, 127, true),
    ] {
        let line = split(k, n, "--in secret.bin");
        let problem = [format!("threshold {k}"), format!("threshold of {k}")];
        cases.push(if ok {
            line.succeed("")
        } else {
            line.refuse("", 2, &["threshold"], &[&problem[0], &problem[1]])
        });
    }
    cases.push(split(2, 256, "--in secret.bin").refuse("", 2, &["--shares"], &["256"]));
    let sealed = split(
        2,
        3,
        "--in secret.bin --to-certs alice.cer bob.cer carol.cer",
    );
    cases.extend(sealed.generic("bob.cer", KEY));
    cases.push(sealed.content(
        "bob.cer",
        "alice's again",
        lib.bytes("alice.cer"),
        2,
        &["are the same certificate"],
    ));
    cases.push(sealed.content(
        "bob.cer",
        "a private key",
        lib.bytes("dave.key"),
        2,
        &["holds no certificate"],
    ));

    let combine = cmd(
        "shares combine",
        "shares combine set/share-1.share set/share-2.share --out out/secret.bin",
        &files,
    );
    cases.push(combine.succeed("of 2 of 3"));
    cases.extend(combine.generic("set/share-2.share", SHARE));
    let rows: [(&str, Vec<u8>, &[&str]); 2] = [
        (
            "share 1 again",
            lib.bytes("set/share-1.share"),
            &["give each share once"],
        ),
        (
            "of another split",
            lib.bytes("other-set/share-2.share"),
            &["belong to different share sets"],
        ),
    ];
    for (what, bytes, problem) in rows {
        cases.push(combine.content("set/share-2.share", what, bytes, 2, problem));
    }
    // Too few shares: no file is at fault; the line names the set and what is missing.
    let alone = cmd(
        "shares combine",
        "shares combine set/share-1.share --out out/secret.bin",
        &files,
    );
    cases.push(alone.refuse(
        "one share of two",
        2,
        &["1 share(s) of set"],
        &["bring 1 more"],
    ));
    let opened = "shares combine sealed/alice.share.jwe sealed/bob.share.jwe --out out/secret.bin --keys alice.key bob.key --passphrase-file pass.txt";
    let opened = cmd("shares combine sealed", opened, &files);
    cases.push(opened.succeed("alice + bob"));
    cases.extend(opened.generic("sealed/bob.share.jwe", SHARE));
    cases.extend(opened.generic("bob.key", KEY));
    cases.push(opened.content(
        "bob.key",
        "two private keys",
        lib.bytes("two-keys.key"),
        2,
        &["holds 2 private keys"],
    ));
    let dave = opened.with_files(&[("bob.cer", lib.bytes("dave.cer"))]);
    let unopened = dave.content(
        "bob.key",
        "dave's key",
        lib.bytes("dave.key"),
        3,
        &["none of"],
    );
    cases.push(unopened.naming(&["bob.share.jwe"]));
    cases.extend(opened.passphrases(3));

    let inspect = cmd(
        "shares inspect",
        "shares inspect set/share-1.share set/share-2.share",
        &files,
    );
    cases.extend(inspect.generic("set/share-2.share", SHARE));
    let inside = "shares inspect sealed/alice.share.jwe sealed/bob.share.jwe --keys alice.key bob.key --passphrase-file pass.txt";
    let inside = cmd("shares inspect sealed", inside, &files);
    cases.push(inside.succeed("alice + bob"));
    cases.extend(inside.generic("bob.key", KEY));
    cases.extend(inside.passphrases(3));
    run("shares commands", cases);
}

/// `shares combine` over all 255 shares of a 128-of-255 split, every one forged: each is
/// made by `shares split`, decoded, its payload changed byte by byte and its checksum
/// recomputed (the checksum is not keyed), so each parses and the set is consistent, and
/// the combine reaches its search for the bad shares. That search (C(255, 128) subsets) is
/// refused before the first reconstruction, by the work estimate, with what to do.
///
/// Note, measured once with `time` (debug build, the binary this suite runs, on the 2-core
/// development machine): the refused run takes 0.02 s of wall time. Before the work
/// bound the search was bounded by bytes only (256 MiB of arithmetic: 4,194,304
/// reconstructions of 128 shares of a 64-byte payload); at the 5.4 ms a reconstruction
/// took in the same measurement (a 129-share combine with one forged share, 130
/// reconstructions: 0.70 s), that is about 6 hours. Not a timed assertion: the run is
/// bounded by the harness's 120 s watchdog, and the library test
/// `shares::scheme::tests::forged_255_shares_at_128_are_refused_before_any_reconstruction`
/// counts the reconstructions (none).
#[test]
fn shares_combine_forged_full_set() {
    let fx = common::Fixture::new();
    fx.openssl(&["rand", "-out", "secret.bin", "32"]);
    let split = fx.run("shares split --threshold 128 --shares 255 --in secret.bin --out-dir set");
    assert_eq!(split.code, 0, "{}", split.stderr);
    let mut files = std::collections::BTreeMap::new();
    let mut line = String::from("shares combine");
    for index in 1..=255u32 {
        let name = format!("set/share-{index}.share");
        let bytes = std::fs::read(fx.path(&name)).unwrap();
        let mut share = sdctl::shares::Share::decode(&bytes).unwrap();
        let mut x = (index << 8) | 0x9d;
        for byte in share.payload.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *byte ^= (x as u8) | 1;
        }
        let forged = share.encode().to_vec();
        assert_ne!(forged, bytes);
        assert!(
            sdctl::shares::Share::decode(&forged).is_ok(),
            "the forgery parses"
        );
        files.insert(name.clone(), forged);
        line.push(' ');
        line.push_str(&name);
    }
    line.push_str(" --out out/secret.bin");
    let files: hostile::Files = std::sync::Arc::new(files);
    let combine = cmd("shares combine 255 forged at 128", &line, &files);
    let case = combine.refuse(
        "(search refused)",
        2,
        &["255 shares of set"],
        &["give exactly 128 shares, leaving out any you suspect"],
    );
    run("shares combine forged full set", vec![case]);
}

/// The connection flags of the online commands: an HSM at a closed port of 127.0.0.1.
/// Every file is read before any connection; a connection would be exit 4.
#[cfg(feature = "online")]
const CONN: &str = "--hsm-url https://127.0.0.1:9/hsm/hsm-a --access-token-file admin.token";

#[test]
#[cfg(feature = "online")]
fn hsm_commands() {
    let lib = Library::get();
    let certs = all_certs();
    let names = [
        "blob.json",
        "sd.json",
        "exchange.cer",
        "alice.key",
        "bob.key",
        "dave.key",
        "pass.txt",
        "admin.token",
        "ca.pem",
        "sas.token",
        "role.json",
    ];
    let files = lib.pick(&with_all_certs(&names, &certs));
    let mut cases = Vec::new();

    let upload = cmd(
        "hsm upload",
        &format!("hsm upload {CONN} --sd-file blob.json --restore-blob"),
        &files,
    );
    cases.extend(upload.generic("blob.json", JSON_FILE));
    let blob = lib.json("blob.json");
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut v = blob.clone();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let rows: [(&str, Vec<u8>, &[&str]); 3] = [
        (
            "WrappedKey a string",
            changed(&|v| v["WrappedKey"] = json!("x")),
            &["not a restore blob"],
        ),
        (
            "EncData.data a number",
            changed(&|v| v["EncData"]["data"] = json!(5)),
            &["not a restore blob"],
        ),
        (
            "the SD instead",
            lib.bytes("sd.json"),
            &["this is a security-domain file, not a restore blob"],
        ),
    ];
    for (what, bytes, problem) in rows {
        cases.push(upload.content("blob.json", what, bytes, 2, problem));
    }
    let build = format!("hsm upload {CONN} --sd-file sd.json --sd-exchange-key exchange.cer --sd-wrapping-keys alice.key bob.key --passphrase-file pass.txt");
    let build = cmd("hsm upload (building the blob)", &build, &files);
    cases.extend(build.sd_file());
    cases.extend(build.exchange());
    cases.extend(build.generic("bob.key", KEY));
    cases.extend(build.passphrases(3));

    let download = |certs: &str, q: u32| {
        let line = format!("hsm download {CONN} --sd-wrapping-keys {certs} --sd-quorum {q} --security-domain-file out/sd.json");
        cmd("hsm download", &line, &files)
    };
    let three = download("alice.cer bob.cer carol.cer", 2);
    cases.extend(three.generic("bob.cer", KEY));
    cases.push(three.content(
        "bob.cer",
        "a private key",
        lib.bytes("dave.key"),
        2,
        &["holds no certificate"],
    ));
    for q in [1, 11, 126, 127] {
        let flag = format!("--sd-quorum {q}");
        cases.push(download(&certs.join(" "), q).refuse(
            &flag,
            2,
            &[&flag],
            &["the quorum must be 2 to 10"],
        ));
    }

    // Half a token is still one line of text: only the service can tell, so the truncated
    // rows of the token files are left out (they end in exit 4 after the retries).
    let status =
        "hsm status --hsm-url https://127.0.0.1:9/hsm/hsm-a --access-token-file admin.token";
    cases.extend(cmd("hsm status", status, &files).generic_but(
        "admin.token",
        TEXT_FILE,
        &[("truncated", None)],
    ));
    let ca = cmd("hsm status", &format!("{status} --ca-cert ca.pem"), &files);
    cases.extend(ca.generic("ca.pem", TEXT_FILE));
    let backup =
        format!("hsm backup {CONN} --storage-uri file:///nonexistent --token-file sas.token");
    cases.extend(cmd("hsm backup", &backup, &files).generic_but(
        "sas.token",
        TEXT_FILE,
        &[("truncated", None)],
    ));
    let role = cmd(
        "hsm role definition create",
        &format!("hsm role definition create {CONN} --role-definition role.json"),
        &files,
    );
    cases.extend(role.generic("role.json", JSON_FILE));
    for (what, value) in [
        (
            "dataActions a string",
            json!({"roleName": "r", "dataActions": "keys/read"}),
        ),
        (
            "roleName a number",
            json!({"roleName": 5, "dataActions": []}),
        ),
        ("properties an array", json!({"properties": []})),
    ] {
        cases.push(role.content(
            "role.json",
            what,
            value.to_string().into_bytes(),
            2,
            &["must be", "is required"],
        ));
    }
    run("hsm commands", cases);
}

/// Quorums the HSM accepts: 2 of 3 and 10 of 10, downloaded from the emulator.
#[test]
#[cfg(feature = "online")]
fn hsm_download_quorum_boundaries_on_the_emulator() {
    let lib = Library::get();
    let emu = common::emulator::TestEmulator::start(&["hsm-a", "hsm-b"]);
    let token = std::fs::read(emu.dir.join("admin.token")).unwrap();
    let ca = std::fs::read(emu.dir.join("ca.pem")).unwrap();
    let certs = all_certs();
    let files = with(
        &lib.pick(&with_all_certs(&[], &certs)),
        &[("emu.token", token), ("emu-ca.pem", ca)],
    );
    let download = |hsm: &str, certs: &str, q: u32| {
        let url = emu.hsm(hsm);
        let line = format!("hsm download --hsm-url {url} --ca-cert emu-ca.pem --access-token-file emu.token --sd-wrapping-keys {certs} --sd-quorum {q} --security-domain-file out/sd.json");
        cmd("hsm download", &line, &files).succeed(&format!("--sd-quorum {q}"))
    };
    let cases = vec![
        download("hsm-a", "alice.cer bob.cer carol.cer", 2),
        download("hsm-b", &certs.join(" "), 10),
    ];
    run("hsm download quorum boundaries", cases);
}

/// The plan with `quorum` and `n` custodians.
fn plan_with(quorum: usize, n: usize) -> Vec<u8> {
    let mut text = PLAN.replace("quorum = 2", &format!("quorum = {quorum}"));
    for name in &CUSTODIANS[3..n] {
        text = text.replace(
            "[[witness]]",
            &format!("[[custodian]]\nname = \"{name}\"\n\n[[witness]]"),
        );
    }
    text.into_bytes()
}

#[test]
fn ceremony_commands() {
    let lib = Library::get();
    let files = lib.pick(&[
        "plan.toml",
        "ceremony-pass.txt",
        "public-bundle.json",
        "transcript.jsonl",
        "transfer.code",
    ]);
    let mut cases = Vec::new();
    let offline = "--machine offline --allow-network --yes --transfer-code-file transfer.code";
    let activate = cmd(
        "ceremony activate",
        &format!(
            "ceremony activate --plan plan.toml {offline} --passphrase-file ceremony-pass.txt"
        ),
        &files,
    );
    let status = cmd(
        "ceremony status",
        "ceremony status --plan plan.toml",
        &files,
    );
    let others = [
        cmd(
            "ceremony drill",
            &format!("ceremony drill --plan plan.toml {offline}"),
            &files,
        ),
        cmd(
            "ceremony rotate",
            &format!("ceremony rotate --plan plan.toml {offline}"),
            &files,
        ),
        cmd(
            "ceremony recover",
            "ceremony recover --plan plan.toml --machine online --yes --transfer-code-file transfer.code",
            &files,
        ),
    ];
    for c in [&status, &activate].into_iter().chain(&others) {
        cases.extend(c.generic("plan.toml", PLAN_FILE));
    }
    // The transfer code of unattended two-machine runs: refused before anything is made.
    let code = Kind {
        text: true,
        ..Kind::binary(&["transfer code"])
    };
    cases.extend(activate.generic("transfer.code", code));
    let wrong = [
        (
            "quorum a string",
            PLAN.replace("quorum = 2", "quorum = \"two\""),
        ),
        (
            "machines a number",
            PLAN.replace("machines = \"two\"", "machines = 2"),
        ),
        (
            "a custodian's name a number",
            PLAN.replace("name = \"bob\"", "name = 5"),
        ),
        (
            "custodian a string",
            PLAN.replace(
                "[[custodian]]\nname = \"alice\"",
                "custodian = \"alice\"\n[[custodian]]\nname = \"zed\"",
            ),
        ),
        (
            "JSON instead of TOML",
            "{\"ceremony\": {\"name\": \"x\"}}".to_owned(),
        ),
        (
            "a 100 KB quorum",
            PLAN.replace(
                "quorum = 2",
                &format!("quorum = \"{}\"", "x".repeat(100_000)),
            ),
        ),
    ];
    for c in [&status, &activate] {
        for (what, text) in &wrong {
            cases.push(c.content(
                "plan.toml",
                what,
                text.clone().into_bytes(),
                2,
                PLAN_FILE.garbage,
            ));
        }
        for q in [1, 11, 126, 127] {
            cases.push(c.content(
                "plan.toml",
                &format!("quorum {q}"),
                plan_with(q, 10),
                2,
                &[&format!("quorum {q}")],
            ));
        }
    }
    cases.push(status.succeed("quorum 2 of 3"));
    cases.push(
        status
            .with_files(&[("plan.toml", plan_with(10, 10))])
            .succeed("quorum 10 of 10"),
    );

    // The passphrase file is checked before any step: nothing is made from a bad one.
    // (The recovery's air-gapped part: without the exchange-key bundle it would wait.)
    let pass = Kind {
        garbage: &["not UTF-8", "line(s)"],
        ..PASS
    };
    for kind in ["activate", "drill", "rotate", "recover"] {
        let line = format!(
            "ceremony {kind} --plan plan.toml {offline} --passphrase-file ceremony-pass.txt"
        );
        cases.extend(
            cmd(&format!("ceremony {kind}"), &line, &files).generic("ceremony-pass.txt", pass),
        );
    }

    // The online machine's first step imports the public bundle.
    let import = "ceremony activate --plan plan.toml --machine online --yes --transfer-code-file transfer.code --bundle bundle.json";
    let import = cmd("ceremony activate --bundle", import, &files)
        .with_files(&[("bundle.json", lib.bytes("public-bundle.json"))]);
    let bundle = Kind {
        json: true,
        ..JSON_FILE
    };
    let bundle = Kind {
        garbage: &["not a ceremony bundle"],
        ..bundle
    };
    cases.extend(import.generic("bundle.json", bundle));
    let public = lib.json("public-bundle.json");
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut v = public.clone();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let rows: [(&str, Vec<u8>, &[&str]); 5] = [
        (
            "format a string",
            changed(&|v| v["sdctl_bundle"] = json!("1")),
            &["not a ceremony bundle"],
        ),
        (
            "payload a number",
            changed(&|v| v["payload"] = json!(5)),
            &["its payload is not a JSON object"],
        ),
        (
            "kind an array",
            changed(&|v| v["kind"] = json!([])),
            &["not a ceremony bundle"],
        ),
        (
            "another kind",
            changed(&|v| v["kind"] = json!("restore-blob")),
            &["this step needs the public bundle"],
        ),
        (
            "the transcript instead",
            lib.bytes("transcript.jsonl"),
            &["not a ceremony bundle"],
        ),
    ];
    for (what, bytes, problem) in rows {
        cases.push(import.content("bundle.json", what, bytes, 2, problem));
    }

    // Transcripts: an unreadable file is bad input (2); content that is not an intact hash
    // chain, an empty file too, is a failed check (1) naming the first broken line.
    let transcript = Kind {
        json: true,
        text: true,
        garbage: &["line"],
        garbage_code: 1,
        ..JSON_FILE
    };
    let text = String::from_utf8(lib.bytes("transcript.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines[1].rfind(",\"hash\":").unwrap();
    lines[1] = format!("{},\"hash\":5}}", &lines[1][..at]);
    let hash_number: String = lines.iter().map(|l| format!("{l}\n")).collect();
    for (name, line) in [
        (
            "ceremony log verify",
            "ceremony log verify transcript.jsonl",
        ),
        (
            "ceremony log record",
            "ceremony log record transcript.jsonl --out-dir out",
        ),
    ] {
        let log = cmd(name, line, &files);
        let empty: &[&str] = &["the transcript is empty"];
        cases.extend(log.generic_but(
            "transcript.jsonl",
            transcript,
            &[("empty", Some((1, empty)))],
        ));
        let bytes = hash_number.clone().into_bytes();
        cases.push(log.content(
            "transcript.jsonl",
            "a hash that is a number",
            bytes,
            1,
            &["line 2"],
        ));
    }
    run("ceremony commands", cases);
}
