#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), JOBS at a time (default 2), with the
# nightly toolchain, and prints a Markdown table of the figures libFuzzer reports.
# Usage: fuzz/run-all.sh [SECONDS] [JOBS] [TARGET...]
# Logs: fuzz/logs/TARGET.log; crashes: fuzz/artifacts/TARGET/; corpus: fuzz/corpus/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
jobs=${2:-2}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
# One build, then the binaries run directly (a source change meanwhile does not rebuild).
cargo +nightly fuzz build -O
bin=target/x86_64-unknown-linux-gnu/release

run_one() {
  local t=$1
  mkdir -p "corpus/$t"
  # -timeout: one input taking longer is a finding; -rss_limit_mb: so is a memory blow-up.
  mkdir -p "artifacts/$t"
  nice -n 10 "$bin/$t" "corpus/$t" "seeds/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"logs/$t.log" 2>&1 || true
}
export -f run_one
export seconds bin
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

echo "| target | seconds | executions | execs/s | coverage (edges) | features | corpus | crashes |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  log=logs/$t.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$done_line" | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' <<<"$done_line" | awk '{print $2}')
  corp=$(grep -o 'corp: [0-9]*' <<<"$done_line" | awk '{print $2}')
  crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
  echo "| $t | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
done
