//! Benchmark of `sdctl::shares`: split + combine of a 1 MiB secret at 5-of-10, against the
//! same work done by calling `blahaj` directly (deal 10 shares, recover from 5). Prints a
//! Markdown table: median wall time of each, MB/s of secret, and the ratio.
//!
//! sdctl's side does everything a real split and combine do in memory: the commitment,
//! the binary records (encode with checksum, decode and verify), and the proof of the
//! rebuilt secret against the commitment. Run it with `bench/shares.sh`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use blahaj::Sharks;
use sdctl::shares::{combine, split, Share};

const SECRET_LEN: usize = 1 << 20;
const THRESHOLD: u8 = 5;
const SHARES: u8 = 10;

fn sdctl_round(secret: &[u8]) -> Duration {
    let start = Instant::now();
    let shares = split(secret, THRESHOLD, SHARES).expect("split");
    let records: Vec<_> = shares.iter().map(Share::encode).collect();
    let chosen: Vec<(PathBuf, Share)> = [9usize, 2, 7, 0, 4]
        .iter()
        .map(|&i| {
            (
                PathBuf::from("bench"),
                Share::decode(&records[i]).expect("decode"),
            )
        })
        .collect();
    let combined = combine(&chosen).expect("combine");
    let elapsed = start.elapsed();
    assert_eq!(combined.secret.as_slice(), secret);
    elapsed
}

fn blahaj_round(secret: &[u8]) -> Duration {
    let start = Instant::now();
    let sharks = Sharks(THRESHOLD);
    let shares: Vec<blahaj::Share> = sharks.dealer(secret).take(SHARES as usize).collect();
    let chosen: Vec<&blahaj::Share> = [9usize, 2, 7, 0, 4].iter().map(|&i| &shares[i]).collect();
    let rebuilt = sharks.recover(chosen).expect("recover");
    let elapsed = start.elapsed();
    assert_eq!(rebuilt.as_slice(), secret);
    black_box(rebuilt);
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("rounds is a number"))
        .unwrap_or(9);
    let mut secret = vec![0u8; SECRET_LEN];
    openssl::rand::rand_bytes(&mut secret).expect("random secret");
    // One warm-up round of each, then alternate so both see the same machine state.
    sdctl_round(&secret);
    blahaj_round(&secret);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(sdctl_round(&secret));
        theirs.push(blahaj_round(&secret));
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let mbps = |d: Duration| SECRET_LEN as f64 / 1e6 / d.as_secs_f64();
    println!("| split + combine, 1 MiB, 5-of-10 ({rounds} rounds, median) | time | MB/s |");
    println!("|---|---:|---:|");
    println!(
        "| `sdctl::shares` (commitment, records, proof) | {:.0} ms | {:.2} |",
        ours.as_secs_f64() * 1e3,
        mbps(ours)
    );
    println!(
        "| `blahaj` directly | {:.0} ms | {:.2} |",
        theirs.as_secs_f64() * 1e3,
        mbps(theirs)
    );
    println!(
        "| overhead (sdctl / blahaj) | {:.2}× | |",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}
