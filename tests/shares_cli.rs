//! `sdctl shares split | combine | inspect` through the CLI: every form (binary, paper
//! text, QR, sealed to openssl-made certificates), and every refusal with one clear line,
//! the documented exit code and no partial output.

mod common;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use common::{mode_of, Fixture};
use sdctl::shares::Share;

/// A realistic secret: a PKCS#12 made by openssl, as a break-glass credential would be.
fn pkcs12_secret(fx: &Fixture) -> Vec<u8> {
    fx.openssl_custodian("breakglass", 2048);
    fs::write(fx.path("p12pass"), "correct horse\n").unwrap();
    fx.pkcs12_export(
        "breakglass.key",
        "breakglass.cer",
        "p12pass",
        "secret.p12",
        &[],
    );
    fs::read(fx.path("secret.p12")).unwrap()
}

fn split(fx: &Fixture, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "shares",
        "split",
        "--threshold",
        "3",
        "--shares",
        "5",
        "--in",
        "secret.p12",
        "--out-dir",
        "out",
    ];
    args.extend_from_slice(extra);
    fx.sdctl(&args)
}

fn combine_ok(fx: &Fixture, shares: &[&str], out: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["shares", "combine"];
    args.extend_from_slice(shares);
    args.extend_from_slice(&["--out", out]);
    args.extend_from_slice(extra);
    let run = fx.sdctl(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(mode_of(&fx.path(out)), 0o600);
    fs::read(fx.path(out)).unwrap()
}

#[test]
fn binary_shares_any_three_of_five_rebuild_a_pkcs12() {
    let fx = Fixture::new();
    let secret = pkcs12_secret(&fx);
    let run = split(&fx, &["--names", "ana,bo,cy,dee,eve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("any 3 rebuild it"), "{}", run.stdout);
    assert_eq!(
        fx.listing("out"),
        [
            "ana.share",
            "bo.share",
            "cy.share",
            "dee.share",
            "eve.share",
            "shares.json"
        ]
    );
    for name in ["ana", "eve"] {
        assert_eq!(mode_of(&fx.path(&format!("out/{name}.share"))), 0o600);
    }
    let manifest = fx.read_json("out/shares.json");
    assert_eq!(manifest["threshold"], 3);
    assert_eq!(manifest["shares"][4]["name"], "eve");
    let orders: [[&str; 3]; 3] = [
        ["out/ana.share", "out/bo.share", "out/cy.share"],
        ["out/eve.share", "out/ana.share", "out/dee.share"],
        ["out/cy.share", "out/eve.share", "out/bo.share"],
    ];
    for (i, order) in orders.iter().enumerate() {
        let got = combine_ok(&fx, order, &format!("back{i}.p12"), &[]);
        assert_eq!(got, secret);
    }
    // The rebuilt PKCS#12 opens with openssl.
    fx.openssl(&[
        "pkcs12",
        "-in",
        "back0.p12",
        "-passin",
        "file:p12pass",
        "-noout",
    ]);

    let all = [
        "out/ana.share",
        "out/bo.share",
        "out/cy.share",
        "out/dee.share",
        "out/eve.share",
    ];
    let got = combine_ok(&fx, &all, "all.p12", &[]);
    assert_eq!(got, secret);
}

#[test]
fn refusals_name_the_problem_with_the_right_exit_code() {
    let fx = Fixture::new();
    pkcs12_secret(&fx);
    assert_eq!(split(&fx, &[]).code, 0);
    fs::create_dir(fx.path("other")).unwrap();
    let run = fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--in",
        "secret.p12",
        "--out-dir",
        "other",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let combine = |shares: &[&str]| {
        let mut args = vec!["shares", "combine"];
        args.extend_from_slice(shares);
        args.extend_from_slice(&["--out", "secret.out"]);
        fx.sdctl(&args)
    };

    combine(&["out/share-1.share", "out/share-2.share"]).assert_error(2, "bring 1 more");
    combine(&[
        "out/share-1.share",
        "other/share-2.share",
        "out/share-3.share",
    ])
    .assert_error(2, "different share sets");
    fs::copy(fx.path("out/share-2.share"), fx.path("copy.share")).unwrap();
    combine(&["out/share-1.share", "out/share-2.share", "copy.share"])
        .assert_error(2, "give each share once");

    let mut damaged = fs::read(fx.path("out/share-3.share")).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    fs::write(fx.path("damaged.share"), &damaged).unwrap();
    combine(&["out/share-1.share", "out/share-2.share", "damaged.share"])
        .assert_error(2, "damaged.share: checksum mismatch");

    // A forged share (its checksum recomputed) passes parsing; the commitment catches it.
    let mut forged = Share::decode(&fs::read(fx.path("out/share-3.share")).unwrap()).unwrap();
    forged.payload[40] ^= 0x01;
    fs::write(fx.path("forged.share"), forged.encode().as_slice()).unwrap();
    combine(&["out/share-1.share", "out/share-2.share", "forged.share"])
        .assert_error(3, "does not match the set's commitment");
    assert!(!fx.path("secret.out").exists(), "no output after a failure");

    // With one share more than needed, the forged one is found, left out and named.
    let run = combine(&[
        "out/share-1.share",
        "forged.share",
        "out/share-2.share",
        "out/share-4.share",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("forged.share: share 3 does not fit the others"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read(fx.path("secret.out")).unwrap(),
        fs::read(fx.path("secret.p12")).unwrap()
    );

    // Existing outputs are never overwritten without --force, and nothing is half-written.
    combine(&[
        "out/share-1.share",
        "out/share-2.share",
        "out/share-4.share",
    ])
    .assert_error(2, "already exists");
    let before = fx.listing("out");
    split(&fx, &[]).assert_error(2, "already exists");
    assert_eq!(fx.listing("out"), before);
    assert_eq!(split(&fx, &["--force"]).code, 0);

    fx.sdctl(&[
        "shares",
        "combine",
        "secret.p12",
        "out/share-1.share",
        "--out",
        "y",
    ])
    .assert_error(2, "secret.p12: is neither a binary share nor text");
    fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "1",
        "--shares",
        "3",
        "--in",
        "secret.p12",
        "--out-dir",
        "x",
    ])
    .assert_error(2, "at least 2");
    fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "4",
        "--shares",
        "3",
        "--in",
        "secret.p12",
        "--out-dir",
        "x",
    ])
    .assert_error(2, "cannot exceed");
    split(&fx, &["--names", "a,b"]).assert_error(2, "--names has 2 name(s) but --shares is 5");
    assert!(!fx.path("x").exists());
    fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--in",
        "missing",
        "--out-dir",
        "y",
    ])
    .assert_error(2, "missing: cannot read");
}

fn typo(line: &str, column: usize) -> String {
    line.chars()
        .enumerate()
        .map(|(i, c)| {
            if i == column {
                if c == 'Z' {
                    'Y'
                } else {
                    'Z'
                }
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn paper_text_form_round_trips_and_locates_a_typo() {
    let fx = Fixture::new();
    fs::write(fx.path("passphrase"), "tr0ub4dor&3 break-glass admin\n").unwrap();
    let run = fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--in",
        "passphrase",
        "--out-dir",
        "paper",
        "--format",
        "text",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fx.listing("paper"),
        [
            "share-1.share.txt",
            "share-2.share.txt",
            "share-3.share.txt",
            "shares.json"
        ]
    );
    let text = fs::read_to_string(fx.path("paper/share-2.share.txt")).unwrap();
    assert!(text.contains("share 2 of 3"), "{text}");

    // Typed back in lower case, from two of the pages.
    fs::write(fx.path("typed.txt"), text.to_lowercase()).unwrap();
    let got = combine_ok(&fx, &["paper/share-1.share.txt", "typed.txt"], "back", &[]);
    assert_eq!(got, fs::read(fx.path("passphrase")).unwrap());

    // One typo on the third data line: the error names the file and the line.
    let lines: Vec<&str> = text.lines().collect();
    let data: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].starts_with('#') && !lines[i].trim().is_empty())
        .collect();
    let target = data[2];
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[target] = typo(lines[target], 6);
    fs::write(fx.path("typo.txt"), edited.join("\n")).unwrap();
    let run = fx.sdctl(&[
        "shares",
        "combine",
        "paper/share-1.share.txt",
        "typo.txt",
        "--out",
        "x",
    ]);
    run.assert_error(2, &format!("typo.txt: line {}", target + 1));
    let run = fx.sdctl(&["shares", "inspect", "typo.txt"]);
    run.assert_error(2, &format!("line {}", target + 1));

    let run = fx.sdctl(&[
        "--output",
        "json",
        "shares",
        "inspect",
        "paper/share-3.share.txt",
        "typed.txt",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["result"][0]["form"], "text");
    assert_eq!(json["result"][1]["index"], 2);
    assert_eq!(json["result"][1]["threshold"], 2);
}

/// Reads a QR code back from a PNG as a phone would: decode, find the grid, read it.
fn scan_png(path: &std::path::Path) -> String {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.line_size / w;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        buf[y * info.line_size + x * channels]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in {}", path.display());
    grids[0].decode().unwrap().1
}

#[test]
fn qr_codes_scan_back_into_a_share_that_combines() {
    let fx = Fixture::new();
    fs::write(
        fx.path("root-token"),
        b"\x00\x01binary break-glass token\xff",
    )
    .unwrap();
    let run = fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "2",
        "--in",
        "root-token",
        "--out-dir",
        "qr",
        "--format",
        "qr",
        "--names",
        "left,right",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fx.listing("qr"),
        [
            "left.share.png",
            "left.share.svg",
            "left.share.txt",
            "right.share.png",
            "right.share.svg",
            "right.share.txt",
            "shares.json"
        ]
    );
    assert!(fs::read_to_string(fx.path("qr/left.share.svg"))
        .unwrap()
        .contains("<svg"));
    let scanned = scan_png(&fx.path("qr/left.share.png"));
    assert!(scanned.starts_with("SDCTL-SHARE:"), "{scanned}");
    fs::write(fx.path("scanned.txt"), &scanned).unwrap();
    let got = combine_ok(&fx, &["scanned.txt", "qr/right.share.txt"], "back", &[]);
    assert_eq!(got, fs::read(fx.path("root-token")).unwrap());

    // Too large for one QR code: said plainly, nothing written.
    fs::write(fx.path("big"), vec![7u8; 3000]).unwrap();
    let run = fx.sdctl(&[
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "2",
        "--in",
        "big",
        "--out-dir",
        "qr2",
        "--format",
        "qr",
    ]);
    run.assert_error(2, "QR code");
    assert!(fx.listing("qr2").is_empty(), "{:?}", fx.listing("qr2"));
}

#[test]
fn shares_sealed_to_openssl_certificates_open_only_with_their_keys() {
    let fx = Fixture::new();
    pkcs12_secret(&fx);
    for name in ["alice", "bob", "carol"] {
        fx.openssl_custodian(name, 2048);
    }
    let run = fx.sdctl(&[
        "--output",
        "json",
        "shares",
        "split",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--in",
        "secret.p12",
        "--out-dir",
        "sealed",
        "--to-certs",
        "alice.cer",
        "bob.cer",
        "carol.cer",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["result"]["sealed"], true);
    assert_eq!(json["result"]["shares"][1]["name"], "bob");
    assert_eq!(
        fx.listing("sealed"),
        [
            "alice.share.jwe",
            "bob.share.jwe",
            "carol.share.jwe",
            "shares.json"
        ]
    );

    let got = combine_ok(
        &fx,
        &["sealed/carol.share.jwe", "sealed/alice.share.jwe"],
        "back.p12",
        &["--keys", "alice.key", "carol.key"],
    );
    assert_eq!(got, fs::read(fx.path("secret.p12")).unwrap());

    // A key without its certificate beside it is found by trial decryption.
    fs::create_dir(fx.path("loose")).unwrap();
    fs::copy(fx.path("bob.key"), fx.path("loose/bob.key")).unwrap();
    combine_ok(
        &fx,
        &["sealed/bob.share.jwe", "sealed/alice.share.jwe"],
        "back2.p12",
        &["--keys", "loose/bob.key", "alice.key"],
    );

    let combine = |args: &[&str]| {
        let mut all = vec![
            "shares",
            "combine",
            "sealed/alice.share.jwe",
            "sealed/bob.share.jwe",
            "--out",
            "x",
        ];
        all.extend_from_slice(args);
        fx.sdctl(&all)
    };
    combine(&[]).assert_error(3, "give that custodian's key with --keys");
    combine(&["--keys", "alice.key", "carol.key"])
        .assert_error(3, "none of the keys given opens it");
    let jwe = fs::read_to_string(fx.path("sealed/bob.share.jwe")).unwrap();
    fs::write(fx.path("sealed/bob.share.jwe"), common::tamper_jwe(&jwe, 3)).unwrap();
    combine(&["--keys", "alice.key", "bob.key"]).assert_error(3, "the sealed share was altered");
    assert!(!fx.path("x").exists());

    let split_to = |certs: &[&str], extra: &[&str]| {
        let mut args = vec![
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--in",
            "secret.p12",
            "--out-dir",
            "s2",
            "--to-certs",
        ];
        args.extend_from_slice(certs);
        args.extend_from_slice(extra);
        fx.sdctl(&args)
    };
    split_to(&["alice.cer", "bob.cer", "alice.cer"], &[])
        .assert_error(2, "are the same certificate");
    split_to(&["alice.cer", "bob.cer"], &[]).assert_error(2, "one certificate per share");
    split_to(
        &["alice.cer", "bob.cer", "carol.cer"],
        &["--format", "text"],
    )
    .assert_error(2, "--format file");
    split_to(&["alice.key", "bob.cer", "carol.cer"], &[]).assert_error(2, "alice.key");
    assert!(!fx.path("s2").exists());
}

#[test]
fn secrets_come_from_stdin_and_go_to_a_pipe_never_to_json() {
    let fx = Fixture::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sdctl"))
        .args([
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "2",
            "--in",
            "-",
            "--out-dir",
            "piped",
        ])
        .current_dir(fx.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a pipe")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = fx.sdctl(&[
        "shares",
        "combine",
        "piped/share-1.share",
        "piped/share-2.share",
        "--out",
        "-",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "from a pipe");
    fx.sdctl(&[
        "--output",
        "json",
        "shares",
        "combine",
        "piped/share-1.share",
        "piped/share-2.share",
        "--out",
        "-",
    ])
    .assert_error(2, "both need standard output");

    let run = fx.sdctl(&[
        "--output",
        "json",
        "shares",
        "combine",
        "piped/share-1.share",
        "piped/share-2.share",
        "--out",
        "s",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("from a pipe"));
    assert_eq!(run.json()["result"]["secret_bytes"], 11);
}
