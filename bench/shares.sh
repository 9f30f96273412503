#!/usr/bin/env bash
# Benchmark of the key-share toolkit: split + combine of a 1 MiB secret at 5-of-10 through
# sdctl::shares and through blahaj directly; a Markdown table on stdout (docs/benchmarks.md).
# Usage: bench/shares.sh [ROUNDS]   (default 9)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo run --release --locked --quiet --manifest-path "$repo/Cargo.toml" \
  --no-default-features --example shares-bench -- "${1:-9}"
