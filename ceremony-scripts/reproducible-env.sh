# shellcheck shell=bash
# reproducible-env.sh -- the build environment that makes sdctl's release binaries the same
# bytes wherever, whenever and by whomever they are built. SOURCED by build-offline.sh and
# release.sh, never run on its own; docs/reproducible-build.md explains each part.
#
#   reproducible_environment REPO TARGET_DIR HOST
#       prepares, for the builds that reproducible_cargo runs:
#       - SOURCE_DATE_EPOCH: the commit's time (OpenSSL's "built on" date), LC_ALL=C, TZ=UTC;
#       - CARGO_ENCODED_RUSTFLAGS: rustc writes the checkout as /sdctl, cargo's home (the
#         crates' sources) as /cargo-home and the target directory as /target wherever a
#         source path lands in the binary (panic locations); it also replaces any rustflags
#         of cargo's configuration files;
#       - CFLAGS_<host> and CPATH: OpenSSL, compiled from source by openssl-src, names its
#         engine and provider directories after the install directory it is built in (inside
#         TARGET_DIR); a header written into TARGET_DIR/reproducible-build/ (a directory
#         that stays the same from build to build: the C build is redone when CPATH changes),
#         included before every OpenSSL source file, names fixed directories instead (the
#         static build loads neither from files).
#       It refuses (exit 2) a cargo configuration file outside the checkout that cargo would
#       read (.cargo/config.toml in a parent directory, or in cargo's home): it can change
#       the profile, the linker, the environment of build scripts or where OpenSSL comes from.
#       REPRODUCIBLE_EPOCH holds the date, for messages.
#   reproducible_cargo ARGS...
#       runs cargo in the checkout with the variables above and, from the caller's
#       environment, only those REPRODUCIBLE_KEEP lists (env -i), so no other variable
#       (RUSTFLAGS, CC, CFLAGS, CC_<target> spelled with dashes, RUSTC_BOOTSTRAP,
#       CARGO_PROFILE_*, CARGO_UNSTABLE_*, OPENSSL_*, PERL, COMPILER_PATH...) reaches the build.
#   unvouched_files REPO [PATH...]
#       prints the files (under the PATHs, default everything) whose changes `git status`
#       would not show: those marked assume-unchanged or skip-worktree (git update-index).
#   machine_paths_in BINARY PATH...
#       prints each PATH (a directory of the build machine) that BINARY names: a build that
#       does is not reproducible elsewhere.
#   reproducible_recipe COMMIT SHA256
#       prints the lines that tell someone else how to rebuild the same binary.

# The header that gives OpenSSL fixed run-time directories (see above). Its name is part of
# OpenSSL's recorded compiler flags, so it never changes.
REPRODUCIBLE_HEADER=sdctl-openssl-dirs.h

# What reproducible_cargo passes on from the caller's environment besides what
# reproducible_environment sets: where the tools and caches are, and how to reach crates.io
# (none of them changes the bytes of the binary).
REPRODUCIBLE_KEEP=(PATH HOME CARGO_HOME RUSTUP_HOME RUSTUP_TOOLCHAIN TMPDIR
  http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY SSL_CERT_FILE SSL_CERT_DIR)
REPRODUCIBLE_SET=()
REPRODUCIBLE_REPO=''
REPRODUCIBLE_EPOCH=''

reproducible_environment() {
  local repo=$1 target=$2 host=$3 headers=$2/reproducible-build cargo_home epoch dir config rustflags
  local -a flags=()
  case "$target" in
    *:*) die "$target: a target directory whose path holds ':' cannot be searched for headers (CPATH); choose another with --target-dir" ;;
  esac
  cargo_home=${CARGO_HOME:-$HOME/.cargo}
  # Configuration files cargo reads from the checkout's parents and from its home.
  dir=$(dirname -- "$repo")
  while :; do
    for config in "$dir/.cargo/config" "$dir/.cargo/config.toml"; do
      [[ -e "$config" ]] && die "$config: a cargo configuration file outside the checkout would change the build (profile, linker, environment, OpenSSL); move it away for a reproducible build"
    done
    [[ "$dir" == / ]] && break
    dir=$(dirname -- "$dir")
  done
  for config in "$cargo_home/config" "$cargo_home/config.toml"; do
    [[ -e "$config" ]] && die "$config: cargo's own configuration file would change the build (profile, linker, environment, OpenSSL); move it away, or give the build another CARGO_HOME"
  done
  epoch=$(git -C "$repo" log -1 --format=%ct HEAD 2>/dev/null) ||
    die "$repo: not a git checkout; a reproducible build takes its date from the commit (git clone the repository)"
  # rustc applies the last matching prefix: the target directory may be inside the checkout.
  flags+=("--remap-path-prefix=$repo=/sdctl")
  flags+=("--remap-path-prefix=$cargo_home=/cargo-home")
  if [[ -d "$cargo_home" && "$(cd -- "$cargo_home" && pwd -P)" != "$cargo_home" ]]; then
    flags+=("--remap-path-prefix=$(cd -- "$cargo_home" && pwd -P)=/cargo-home")
  fi
  flags+=("--remap-path-prefix=$target=/target")
  rustflags=$(
    IFS=$'\x1f'
    printf '%s' "${flags[*]}"
  )
  mkdir -p -- "$headers"
  cat >"$headers/$REPRODUCIBLE_HEADER" <<'EOF'
/* Written by sdctl's ceremony-scripts/reproducible-env.sh and included before every source
   file of the static OpenSSL: its engine and provider directories would otherwise name the
   directory the build ran in. The static build loads no engine or provider from files. */
#undef ENGINESDIR
#define ENGINESDIR "/nonexistent/sdctl-static-openssl/engines"
#undef MODULESDIR
#define MODULESDIR "/nonexistent/sdctl-static-openssl/modules"
EOF
  REPRODUCIBLE_REPO=$repo
  # shellcheck disable=SC2034 # for the caller's messages (build-offline.sh)
  REPRODUCIBLE_EPOCH=$epoch
  # -Wp,: OpenSSL's Configure would take a separate "-include FILE" file name for a target.
  REPRODUCIBLE_SET=(SOURCE_DATE_EPOCH="$epoch" LC_ALL=C TZ=UTC CARGO_ENCODED_RUSTFLAGS="$rustflags"
    "CFLAGS_${host//-/_}=-Wp,-include,$REPRODUCIBLE_HEADER" CPATH="$headers")
}

reproducible_cargo() {
  local name
  local -a env=()
  [[ -n "$REPRODUCIBLE_REPO" ]] || die "internal: reproducible_cargo before reproducible_environment"
  for name in "${REPRODUCIBLE_KEEP[@]}"; do
    if [[ -n "${!name+set}" ]]; then env+=("$name=${!name}"); fi
  done
  (cd -- "$REPRODUCIBLE_REPO" && env -i "${env[@]}" "${REPRODUCIBLE_SET[@]}" cargo "$@")
}

unvouched_files() {
  local repo=$1
  shift
  # `git ls-files -v` tags assume-unchanged files with a lowercase letter, skip-worktree
  # files with S.
  git -C "$repo" ls-files -v -- "$@" | sed -n 's/^[a-zS] //p'
}

machine_paths_in() {
  local binary=$1 path
  shift
  for path in "$@"; do
    # "/" alone, or an empty path, would match anything.
    if ((${#path} > 1)) && grep -q -a -F -- "$path/" "$binary"; then
      printf '%s\n' "$path"
    fi
  done
}

reproducible_recipe() {
  local commit=$1 digest=$2
  info "To rebuild it bit for bit (docs/reproducible-build.md): with $(rustc -V 2>/dev/null || echo 'the same rustc'),"
  info "$(cc --version 2>/dev/null | head -n 1 || echo 'the same C compiler'), in a clone of the sdctl repository:"
  info "  git checkout ${commit%% *} && bash ceremony-scripts/build-offline.sh --expect-sha256 $digest"
}
