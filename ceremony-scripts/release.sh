#!/usr/bin/env bash
# release.sh -- makes a release of sdctl in dist/: the two binaries a ceremony uses, their
# SHA-256 sums and the facts an auditor needs to rebuild them bit for bit. In this order:
#
#   1. the checkout: a clean git work tree (uncommitted changes could not be rebuilt by
#      anyone), and no dist/ already there unless --force;
#   2. the air-gapped binary: ceremony-scripts/build-offline.sh, with every one of its checks
#      and its offline self-test (static OpenSSL, no network code), built reproducibly;
#   3. the online binary: cargo build --release --locked (HSM client and emulator, the
#      system's OpenSSL 3 as a shared library), in the same reproducible environment;
#   4. dist/: both binaries under names that say what they are, SHA256SUMS (the format
#      `sha256sum -c` reads), BUILD-FACTS (commit, toolchain, C compiler, OpenSSL, each
#      binary's `--version`, the recipe to rebuild), checked with `sha256sum -c` before the
#      directory is put in place (written beside it, then renamed: never half a release).
#
# Exit status: 0 released; 1 a check or the build failed (nothing is left in dist/); 2 bad
# usage, a missing tool, a dirty checkout or an existing dist/.

set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=SCRIPTDIR/reproducible-env.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/reproducible-env.sh"

usage() {
  cat <<EOF
Usage: $PROG [--out-dir DIR] [--target-dir DIR] [--force]

Makes a release of sdctl in DIR (default: dist/ in the checkout):
  sdctl-VERSION-TARGET-air-gapped   no network code, OpenSSL compiled in (build-offline.sh,
                                    every check and its self-test passed)
  sdctl-VERSION-TARGET-online       HSM client and emulator, system OpenSSL 3 (shared)
  SHA256SUMS                        their SHA-256, as \`sha256sum -c SHA256SUMS\` reads them
  BUILD-FACTS                       commit, rustc, C compiler, OpenSSL, each binary's
                                    --version, and how to rebuild them bit for bit

  --out-dir DIR      where to put the release (default: dist/); must not exist unless --force
  --target-dir DIR   cargo's target directory (default: \$CARGO_TARGET_DIR, else target/)
  --force            replace an existing DIR (only an earlier release: SHA256SUMS,
                     BUILD-FACTS and sdctl-* files, nothing else)
  -h, --help         this help

Examples:
  bash ceremony-scripts/release.sh
  cd dist && sha256sum -c SHA256SUMS

The checkout must be clean (git status shows nothing): a release is a commit anyone can
rebuild. Exit status: 0 released; 1 a check or build failed; 2 bad usage, a dirty checkout,
an existing DIR without --force, or a missing tool.
EOF
}

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
out_dir=''
target_dir=${CARGO_TARGET_DIR:-}
force=0
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --out-dir | --target-dir)
      (($# >= 2)) || die "$1 needs a directory"
      if [[ "$1" == --out-dir ]]; then out_dir=$2; else target_dir=$2; fi
      shift
      ;;
    --out-dir=*) out_dir=${1#--out-dir=} ;;
    --target-dir=*) target_dir=${1#--target-dir=} ;;
    --force) force=1 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

banner "sdctl release: two binaries, SHA256SUMS, BUILD-FACTS"

step "1. The checkout"
for tool in git cargo rustc sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done
git -C "$repo" rev-parse --verify -q HEAD >/dev/null ||
  die "$repo: not a git checkout with a commit (a release is built from a commit)"
dirty=$(git -C "$repo" status --porcelain --untracked-files=normal)
if [[ -n "$dirty" ]]; then
  printf '%s\n' "$dirty" | sed 's/^/   /' >&2
  die "$repo: the checkout has uncommitted changes (above): commit them or stash them; a release must be a commit anyone can rebuild"
fi
unvouched=$(unvouched_files "$repo")
if [[ -n "$unvouched" ]]; then
  printf '%s\n' "$unvouched" | sed 's/^/   /' >&2
  die "$repo: git is told not to look at changes to these files (assume-unchanged or skip-worktree), so 'git status' cannot vouch for them: git update-index --no-assume-unchanged --no-skip-worktree FILE, then check them"
fi
commit=$(git -C "$repo" rev-parse HEAD)
pass "commit $commit, nothing uncommitted"
out_dir=${out_dir:-$repo/dist}
# Nothing is created before the checks: the directory that will hold the release must exist.
[[ -d "$(dirname -- "$out_dir")" ]] ||
  die "$(dirname -- "$out_dir"): no such directory (for --out-dir $out_dir): create it first"
out_dir="$(cd -- "$(dirname -- "$out_dir")" && pwd -P)/$(basename -- "$out_dir")"
# replaceable DIR: whether --force may replace DIR: an earlier release (a real directory,
# not a link, holding only SHA256SUMS, BUILD-FACTS and sdctl-* files), never anything else.
replaceable() {
  local dir=$1 entry
  [[ -d "$dir" && ! -L "$dir" ]] || return 1
  for entry in "$dir"/* "$dir"/.[!.]*; do
    [[ -e "$entry" || -L "$entry" ]] || continue
    [[ -f "$entry" && ! -L "$entry" ]] || return 1
    case "$(basename -- "$entry")" in
      SHA256SUMS | BUILD-FACTS | sdctl-*) ;;
      *) return 1 ;;
    esac
  done
}
# check_out_dir: an existing DIR needs --force and must look like an earlier release.
check_out_dir() {
  if [[ -e "$out_dir" || -L "$out_dir" ]]; then
    ((force)) || die "$out_dir already exists: move it away, or give --force to replace it"
    replaceable "$out_dir" ||
      die "$out_dir is not an earlier release (it holds more than SHA256SUMS, BUILD-FACTS and sdctl-* files, or is a link): --force replaces only a release; choose another --out-dir"
  fi
}
check_out_dir
target_dir=${target_dir:-$repo/target}
mkdir -p -- "$target_dir"
target_dir=$(cd -- "$target_dir" && pwd -P)
host=$(rustc -vV | sed -n 's/^host: //p')
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
[[ -n "$host" && -n "$version" ]] || die "could not read the host target (rustc -vV) or the version (Cargo.toml)"

step "2. The air-gapped binary (build-offline.sh: its checks and self-test)"
if ! bash "$repo/ceremony-scripts/build-offline.sh" --target-dir "$target_dir"; then
  die "build-offline.sh refused the air-gapped binary (above): nothing was released" 1
fi
air_gapped="$target_dir/$host/release/sdctl"
[[ -x "$air_gapped" ]] || die "build-offline.sh left no binary at $air_gapped" 1

step "3. The online binary: cargo build --release --locked (HSM client and emulator)"
(
  reproducible_environment "$repo" "$target_dir" "$host"
  reproducible_cargo build --release --locked --manifest-path "$repo/Cargo.toml" --target-dir "$target_dir" \
    --bin sdctl
) || die "cargo build --release failed (above): nothing was released" 1
online="$target_dir/release/sdctl"
online_version=$("$online" --version 2>&1) || die "$online --version failed: $online_version" 1
grep -q '^build:   online' <<<"$online_version" ||
  die "$online does not report an online build: $(tr '\n' '|' <<<"$online_version")" 1
grep -qxF "commit:  $commit" <<<"$online_version" ||
  die "$online does not name commit $commit: $(tr '\n' '|' <<<"$online_version")" 1
pass "built $online"
air_gapped_version=$("$air_gapped" --version 2>&1)
grep -qxF "commit:  $commit" <<<"$air_gapped_version" ||
  die "$air_gapped does not name commit $commit: $(tr '\n' '|' <<<"$air_gapped_version")" 1

step "4. $out_dir"
staging=$(mktemp -d "$(dirname -- "$out_dir")/.$(basename -- "$out_dir").XXXXXX")
trap 'rm -rf -- "$staging"' EXIT
air_name="sdctl-$version-$host-air-gapped"
online_name="sdctl-$version-$host-online"
install -m 0755 -- "$air_gapped" "$staging/$air_name"
install -m 0755 -- "$online" "$staging/$online_name"
(cd -- "$staging" && sha256sum -- "$air_name" "$online_name" >SHA256SUMS)
epoch=$(git -C "$repo" log -1 --format=%ct HEAD)
first_line() { "$@" 2>/dev/null | head -n 1 || echo unknown; }
# The strings of an ELF file's .comment section (rustc, the linker, the C compiler).
comment_of() {
  if command -v readelf >/dev/null 2>&1; then
    readelf -p .comment -- "$1" 2>/dev/null | sed -n 's/^ *\[ *[0-9a-f]*\] *//p'
  else
    echo "(readelf is not installed)"
  fi
}
indent() { sed 's/^/    /'; }
{
  echo "sdctl $version, release of commit $commit"
  echo "commit date:        $(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S UTC') (SOURCE_DATE_EPOCH=$epoch)"
  echo "Cargo.lock SHA-256: $(sha256_of "$repo/Cargo.lock")"
  echo "target:             $host"
  echo "rustc:              $(rustc -V)"
  echo "                    $(rustc -vV | grep -E '^(commit-hash|LLVM version):' | tr '\n' ' ')"
  echo "cargo:              $(cargo -V)"
  echo "C compiler:         $(first_line cc --version)"
  echo "linker:             rust-lld of the Rust toolchain, driven by cc (see .comment below)"
  echo "C library:          $(first_line ldd --version) (start-up files linked in)"
  echo "assembler:          $(first_line as --version)"
  echo "perl (Configure):   $(perl -e 'print "perl $^V"' 2>/dev/null || echo unknown)"
  echo "system OpenSSL:     $(first_line openssl version) (the online binary links it at run time)"
  echo
  echo "$air_name: no network code, OpenSSL compiled in; sdctl --version says:"
  indent <<<"$air_gapped_version"
  echo "  and its .comment section (the compilers and linker that made it):"
  comment_of "$air_gapped" | indent
  echo "$online_name: HSM client and emulator, system OpenSSL; sdctl --version says:"
  indent <<<"$online_version"
  echo
  echo "SHA-256 (also in SHA256SUMS):"
  indent <"$staging/SHA256SUMS"
  echo
  echo "To check these files:  sha256sum -c SHA256SUMS"
  echo "To rebuild the air-gapped binary bit for bit, with the same rustc and C compiler as"
  echo "above (docs/reproducible-build.md), in a clone of the sdctl repository:"
  echo "    git checkout $commit"
  echo "    bash ceremony-scripts/build-offline.sh --expect-sha256 $(awk -v n="$air_name" '$2 == n { print $1 }' "$staging/SHA256SUMS")"
} >"$staging/BUILD-FACTS"
chmod 0644 "$staging/SHA256SUMS" "$staging/BUILD-FACTS"
chmod 0755 "$staging"
if ! check=$(cd -- "$staging" && sha256sum -c SHA256SUMS 2>&1); then
  printf '%s\n' "$check" | indent
  die "sha256sum -c SHA256SUMS failed in the staging directory: nothing was released" 1
fi
pass "sha256sum -c SHA256SUMS: $(tr '\n' ' ' <<<"$check")"
# Again: something may have appeared there during the build.
check_out_dir
if [[ -e "$out_dir" ]]; then
  old="$staging.old"
  mv -T -- "$out_dir" "$old"
  mv -T -- "$staging" "$out_dir"
  rm -rf -- "$old"
else
  mv -T -- "$staging" "$out_dir"
fi
trap - EXIT
indent <"$out_dir/SHA256SUMS"
info "SHA-256 of SHA256SUMS (publish it through a second channel; it vouches for both binaries):"
info "    $(sha256_of "$out_dir/SHA256SUMS")"
banner "Released: $out_dir (check it with: cd $out_dir && sha256sum -c SHA256SUMS)"
