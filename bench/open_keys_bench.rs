//! Opens the same encrypted custodian keys one at a time and through
//! `sdctl::keys::load_wrapping_keys` (which opens them on every core when at least two have
//! a costly key derivation, e.g. the 600,000 PBKDF2 iterations of `sdctl keys generate`),
//! in alternating rounds in one process, and prints both medians (bench/sd.sh):
//! `cargo run --release --example open-keys-bench -- --rounds N --passphrase-file F KEY...`
//! Output: `one-by-one MS` and `load_wrapping_keys MS` (milliseconds), then `threads N`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use sdctl::keys::{load_wrapping_key, load_wrapping_keys};
use sdctl::passphrase::{PassphraseFile, PassphraseSource};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rounds = 7usize;
    let mut passphrase_file = None;
    let mut keys = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rounds" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => rounds = n,
                _ => return usage(),
            },
            "--passphrase-file" => passphrase_file = it.next().map(PathBuf::from),
            key => keys.push(PathBuf::from(key)),
        }
    }
    let Some(passphrase_file) = passphrase_file else {
        return usage();
    };
    if keys.is_empty() {
        return usage();
    }
    match run(rounds, &passphrase_file, &keys) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("open-keys-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: open-keys-bench [--rounds N] --passphrase-file FILE KEY...");
    ExitCode::from(2)
}

fn run(rounds: usize, passphrase_file: &Path, keys: &[PathBuf]) -> Result<(), sdctl::Error> {
    let source = PassphraseSource::File(PassphraseFile::read(passphrase_file)?);
    let one_by_one = || -> Result<f64, sdctl::Error> {
        let start = Instant::now();
        for (i, key) in keys.iter().enumerate() {
            load_wrapping_key(key, i, &source)?;
        }
        Ok(start.elapsed().as_secs_f64() * 1e3)
    };
    let together = || -> Result<f64, sdctl::Error> {
        let start = Instant::now();
        load_wrapping_keys(keys, &source)?;
        Ok(start.elapsed().as_secs_f64() * 1e3)
    };
    // One warm-up of each: OpenSSL fetches its algorithms on first use.
    one_by_one()?;
    together()?;
    let mut a = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        a.push(one_by_one()?);
        b.push(together()?);
    }
    println!("one-by-one {:.1}", median(&mut a));
    println!("load_wrapping_keys {:.1}", median(&mut b));
    println!("threads {}", sdctl::parallel::default_threads());
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
