//! `sdctl shares split | combine | inspect` through the CLI: every form (binary, paper
//! text, QR, sealed to openssl-made certificates), and every refusal with one clear line,
//! the documented exit code and no partial output.

mod common;

use std::fs;

use common::{mode_of, Fixture, Run};
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

/// `shares split --threshold K --shares N --in IN --out-dir OUT EXTRA`.
fn split(fx: &Fixture, k: u8, n: u8, input: &str, out: &str, extra: &str) -> Run {
    fx.run(&format!(
        "shares split --threshold {k} --shares {n} --in {input} --out-dir {out} {extra}"
    ))
}

/// `shares combine SHARES --out OUT EXTRA`.
fn combine(fx: &Fixture, shares: &str, out: &str, extra: &str) -> Run {
    fx.run(&format!("shares combine {shares} --out {out} {extra}"))
}

/// Combines and returns the secret written (mode 0600).
fn combine_ok(fx: &Fixture, shares: &str, out: &str, extra: &str) -> Vec<u8> {
    let run = combine(fx, shares, out, extra);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(mode_of(&fx.path(out)), 0o600);
    fs::read(fx.path(out)).unwrap()
}

#[test]
fn binary_shares_any_three_of_five_rebuild_a_pkcs12() {
    let fx = Fixture::new();
    let secret = pkcs12_secret(&fx);
    let run = split(&fx, 3, 5, "secret.p12", "out", "--names ana,bo,cy,dee,eve");
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
    let orders = [
        "out/ana.share out/bo.share out/cy.share",
        "out/eve.share out/ana.share out/dee.share",
        "out/cy.share out/eve.share out/bo.share",
        "out/ana.share out/bo.share out/cy.share out/dee.share out/eve.share",
    ];
    for (i, order) in orders.iter().enumerate() {
        assert_eq!(combine_ok(&fx, order, &format!("back{i}.p12"), ""), secret);
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
}

#[test]
fn refusals_name_the_problem_with_the_right_exit_code() {
    let fx = Fixture::new();
    pkcs12_secret(&fx);
    assert_eq!(split(&fx, 3, 5, "secret.p12", "out", "").code, 0);
    assert_eq!(split(&fx, 2, 3, "secret.p12", "other", "").code, 0);
    let refused = |shares: &str| combine(&fx, shares, "secret.out", "");

    refused("out/share-1.share out/share-2.share").assert_error(2, "bring 1 more");
    refused("out/share-1.share other/share-2.share out/share-3.share")
        .assert_error(2, "different share sets");
    fs::copy(fx.path("out/share-2.share"), fx.path("copy.share")).unwrap();
    refused("out/share-1.share out/share-2.share copy.share")
        .assert_error(2, "give each share once");

    let mut damaged = fs::read(fx.path("out/share-3.share")).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    fs::write(fx.path("damaged.share"), &damaged).unwrap();
    refused("out/share-1.share out/share-2.share damaged.share")
        .assert_error(2, "damaged.share: checksum mismatch");

    // A forged share (its checksum recomputed) passes parsing; the commitment catches it.
    let mut forged = Share::decode(&fs::read(fx.path("out/share-3.share")).unwrap()).unwrap();
    forged.payload[40] ^= 0x01;
    fs::write(fx.path("forged.share"), forged.encode().as_slice()).unwrap();
    refused("out/share-1.share out/share-2.share forged.share")
        .assert_error(3, "does not match the set's commitment");
    assert!(!fx.path("secret.out").exists(), "no output after a failure");

    // With one share more than needed, the forged one is found, left out and named.
    let run = refused("out/share-1.share forged.share out/share-2.share out/share-4.share");
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
    refused("out/share-1.share out/share-2.share out/share-4.share")
        .assert_error(2, "already exists");
    let before = fx.listing("out");
    split(&fx, 3, 5, "secret.p12", "out", "").assert_error(2, "already exists");
    assert_eq!(fx.listing("out"), before);
    assert_eq!(split(&fx, 3, 5, "secret.p12", "out", "--force").code, 0);

    combine(&fx, "secret.p12 out/share-1.share", "y", "")
        .assert_error(2, "secret.p12: is neither a binary share nor text");
    split(&fx, 1, 3, "secret.p12", "x", "").assert_error(2, "at least 2");
    split(&fx, 4, 3, "secret.p12", "x", "").assert_error(2, "cannot exceed");
    split(&fx, 3, 5, "secret.p12", "x", "--names a,b")
        .assert_error(2, "--names has 2 name(s) but --shares is 5");
    assert!(!fx.path("x").exists());
    split(&fx, 2, 3, "missing", "y", "").assert_error(2, "missing: cannot read");
    // More files than a set can have are refused before any is read (none of these exists).
    let many: Vec<String> = (0..256).map(|i| format!("none-{i}.share")).collect();
    combine(&fx, &many.join(" "), "z", "")
        .assert_error(2, "256 shares given; a set has at most 255");
    assert!(!fx.path("z").exists());
}

fn typo(line: &str, column: usize) -> String {
    line.chars()
        .enumerate()
        .map(|(i, c)| match (i == column, c) {
            (true, 'Z') => 'Y',
            (true, _) => 'Z',
            (false, c) => c,
        })
        .collect()
}

#[test]
fn paper_text_form_round_trips_and_locates_a_typo() {
    let fx = Fixture::new();
    fs::write(fx.path("passphrase"), "tr0ub4dor&3 break-glass admin\n").unwrap();
    let run = split(&fx, 2, 3, "passphrase", "paper", "--format text");
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
    let got = combine_ok(&fx, "paper/share-1.share.txt typed.txt", "back", "");
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
    combine(&fx, "paper/share-1.share.txt typo.txt", "x", "")
        .assert_error(2, &format!("typo.txt: line {}, column 7", target + 1));
    fx.run("shares inspect typo.txt")
        .assert_error(2, &format!("line {}", target + 1));

    let run = fx.run("--output json shares inspect paper/share-3.share.txt typed.txt");
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
    let run = split(
        &fx,
        2,
        2,
        "root-token",
        "qr",
        "--format qr --names left,right",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut expected: Vec<String> = ["left", "right"]
        .iter()
        .flat_map(|n| ["png", "svg", "txt"].map(|e| format!("{n}.share.{e}")))
        .collect();
    expected.push("shares.json".into());
    assert_eq!(fx.listing("qr"), expected);
    let svg = fs::read_to_string(fx.path("qr/left.share.svg")).unwrap();
    assert!(svg.contains("<svg"));
    let scanned = scan_png(&fx.path("qr/left.share.png"));
    assert!(scanned.starts_with("SDCTL-SHARE:"), "{scanned}");
    fs::write(fx.path("scanned.txt"), &scanned).unwrap();
    let got = combine_ok(&fx, "scanned.txt qr/right.share.txt", "back", "");
    assert_eq!(got, fs::read(fx.path("root-token")).unwrap());

    // Too large for one QR code: said plainly, nothing written.
    fs::write(fx.path("big"), vec![7u8; 3000]).unwrap();
    split(&fx, 2, 2, "big", "qr2", "--format qr").assert_error(2, "QR code");
    assert!(fx.listing("qr2").is_empty(), "{:?}", fx.listing("qr2"));
}

#[test]
fn shares_sealed_to_openssl_certificates_open_only_with_their_keys() {
    let fx = Fixture::new();
    let secret = pkcs12_secret(&fx);
    for name in ["alice", "bob", "carol"] {
        fx.openssl_custodian(name, 2048);
    }
    let certs = "--to-certs alice.cer bob.cer carol.cer";
    let run = fx.run(&format!(
        "--output json shares split --threshold 2 --shares 3 --in secret.p12 --out-dir sealed {certs}"
    ));
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

    let shares = "sealed/carol.share.jwe sealed/alice.share.jwe";
    let got = combine_ok(&fx, shares, "back.p12", "--keys alice.key carol.key");
    assert_eq!(got, secret);

    // A key without its certificate beside it is found by trial decryption.
    fs::create_dir(fx.path("loose")).unwrap();
    fs::copy(fx.path("bob.key"), fx.path("loose/bob.key")).unwrap();
    let shares = "sealed/bob.share.jwe sealed/alice.share.jwe";
    let got = combine_ok(&fx, shares, "back2.p12", "--keys loose/bob.key alice.key");
    assert_eq!(got, secret);

    let shares = "sealed/alice.share.jwe sealed/bob.share.jwe";
    combine(&fx, shares, "x", "").assert_error(2, "give that custodian's key with --keys");
    combine(&fx, shares, "x", "--keys alice.key carol.key")
        .assert_error(3, "none of the keys given opens it");
    let jwe = fs::read_to_string(fx.path("sealed/bob.share.jwe")).unwrap();
    fs::write(fx.path("sealed/bob.share.jwe"), common::tamper_jwe(&jwe, 3)).unwrap();
    combine(&fx, shares, "x", "--keys alice.key bob.key")
        .assert_error(3, "the sealed share was altered");
    assert!(!fx.path("x").exists());

    let sealed_split = |certs: &str| split(&fx, 2, 3, "secret.p12", "s2", certs);
    sealed_split("--to-certs alice.cer bob.cer alice.cer")
        .assert_error(2, "are the same certificate");
    sealed_split("--to-certs alice.cer bob.cer").assert_error(2, "one certificate per share");
    sealed_split(&format!("{certs} --format text")).assert_error(2, "--format file");
    sealed_split("--to-certs alice.key bob.cer carol.cer").assert_error(2, "alice.key");
    fx.openssl_custodian("small", 1024);
    sealed_split("--to-certs alice.cer bob.cer small.cer")
        .assert_error(2, "small.cer: RSA key of 1024 bits is too small");
    fx.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ec.key",
        "-out",
        "ec.cer",
        "-subj",
        "/CN=ec",
        "-days",
        "30",
    ]);
    sealed_split("--to-certs ec.cer bob.cer carol.cer").assert_error(2, "ec.cer: EC P-256 key");
    assert!(!fx.path("s2").exists());

    // inspect looks inside a sealed share with its custodian's key.
    let run = fx.run("--output json shares inspect sealed/carol.share.jwe --keys carol.key");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = &run.json()["result"][0];
    assert_eq!(result["form"], "sealed");
    assert_eq!(result["index"], 3);
    assert_eq!(result["opened_with"], "carol.key");
}

#[test]
fn secrets_come_from_stdin_and_go_to_a_pipe_never_to_json() {
    let fx = Fixture::new();
    let args = "shares split --threshold 2 --shares 2 --in - --out-dir piped";
    let args: Vec<&str> = args.split(' ').collect();
    let split = common::sdctl_in(fx.dir.path(), &args, &[], Some(b"from a pipe"));
    assert_eq!(split.code, 0, "{}", split.stderr);

    let both = "piped/share-1.share piped/share-2.share";
    let run = combine(&fx, both, "-", "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "from a pipe");
    fx.run(&format!("--output json shares combine {both} --out -"))
        .assert_error(2, "both need standard output");

    let run = fx.run(&format!("--output json shares combine {both} --out s"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("from a pipe"));
    assert_eq!(run.json()["result"]["secret_bytes"], 11);
}
