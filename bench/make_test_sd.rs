//! Makes a security domain as a Managed HSM would, for benchmarks and rehearsals:
//! `cargo run --release --example make-test-sd -- --quorum M --out SD CERT...`
//! The state blobs are random (three, of 300 B, 4 KiB and 17 B, like a small HSM's).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut quorum = None;
    let mut out = None;
    let mut certs = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quorum" => quorum = it.next().and_then(|q| q.parse::<usize>().ok()),
            "--out" => out = it.next().map(PathBuf::from),
            cert => certs.push(PathBuf::from(cert)),
        }
    }
    let (Some(quorum), Some(out)) = (quorum, out) else {
        eprintln!("usage: make-test-sd --quorum M --out SD CERT...");
        return ExitCode::from(2);
    };
    match make(quorum, &out, &certs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make-test-sd: {e}");
            ExitCode::from(2)
        }
    }
}

fn make(quorum: usize, out: &std::path::Path, certs: &[PathBuf]) -> Result<(), sdctl::Error> {
    let certs = certs
        .iter()
        .map(|c| sdctl::keys::load_certificate(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut state = Vec::new();
    for (tag, len) in [
        ("mhsm-partition-config", 300),
        ("mhsm-key-store", 4096),
        ("mhsm-rbac", 17),
    ] {
        let mut bytes = vec![0u8; len];
        openssl::rand::rand_bytes(&mut bytes)
            .map_err(|e| sdctl::domain::DomainError::Crypto(e.to_string()))?;
        state.push((tag.to_owned(), bytes));
    }
    let sd = sdctl::domain::hsm::make_security_domain(&certs, quorum, &state)?;
    sdctl::files::write_atomic(
        out,
        sd.to_json()?.as_bytes(),
        sdctl::files::MODE_PUBLIC,
        false,
    )?;
    Ok(())
}
