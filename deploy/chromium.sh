#!/usr/bin/env bash
# The Chromium the browser tests (tests/e2e/browser) drive through Playwright.
#
# Usage: deploy/chromium.sh
#
# Prints the path of a working Chromium executable on stdout (one line, nothing else).
# CHROMIUM_PATH names it (default /usr/bin/chromium). When the default is missing, Debian's
# `chromium` and `fonts-dejavu-core` packages are installed with apt-get (needs root); the
# apt-get output goes to var/chromium-install.log. The browser only ever comes from the
# distribution's packages: never run `playwright install`. A CHROMIUM_PATH other than the
# default must already exist (nothing is installed for it).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
VAR_DIR=$REPO_ROOT/var
INSTALL_LOG=$VAR_DIR/chromium-install.log
LOCK_FILE=$VAR_DIR/.chromium.lock

DEFAULT_PATH=/usr/bin/chromium
CHROMIUM=${CHROMIUM_PATH:-$DEFAULT_PATH}
PACKAGES=(chromium fonts-dejavu-core)

die() { echo "chromium.sh: error: $*" >&2; exit 1; }
note() { echo "chromium.sh: $*" >&2; }

package_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# The packages from PACKAGES that are not installed yet (all of them without dpkg-query).
missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! command -v dpkg-query >/dev/null 2>&1 || ! package_installed "$pkg"; then
      echo "$pkg"
    fi
  done
}

install_chromium() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "$CHROMIUM is missing and apt-get is unavailable; install Chromium from your distribution's packages and set CHROMIUM_PATH to its executable"
  ((EUID == 0)) ||
    die "$CHROMIUM is missing; installing ${missing[*]} with apt-get needs root (run as root, or install them yourself: sudo apt-get install ${missing[*]})"
  note "installing ${missing[*]} from the Debian packages (apt-get; output in $INSTALL_LOG)…"
  # DPkg::Lock::Timeout: wait for another apt/dpkg run (e.g. pg.sh installing PostgreSQL)
  # instead of failing at once.
  if ! { apt-get update -q &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold "${missing[@]}"; } \
       >"$INSTALL_LOG" 2>&1; then
    tail -n 30 "$INSTALL_LOG" >&2
    die "installing ${missing[*]} with apt-get failed (full output: $INSTALL_LOG)"
  fi
}

main() {
  mkdir -p "$VAR_DIR"
  if [[ ! -x $CHROMIUM ]]; then
    [[ $CHROMIUM == "$DEFAULT_PATH" ]] ||
      die "CHROMIUM_PATH=$CHROMIUM is not an executable file; unset it to use (and if needed install) $DEFAULT_PATH"
    exec 9>"$LOCK_FILE"
    flock -w 900 9 || die "timed out waiting for the lock $LOCK_FILE"
    [[ -x $CHROMIUM ]] || install_chromium
    [[ -x $CHROMIUM ]] ||
      die "the packages are installed but $CHROMIUM does not exist (see $INSTALL_LOG)"
  fi
  # It must start: the Debian launcher refuses CPUs without SSE3, a broken install fails here.
  local version
  if ! version=$(timeout 60 "$CHROMIUM" --headless --no-sandbox --version 2>/dev/null); then
    die "$CHROMIUM does not run ('$CHROMIUM --version' failed)"
  fi
  note "using $version ($CHROMIUM)"
  echo "$CHROMIUM"
}

main "$@"
