# Installs what tests and benchmarks need; idempotent, quiet when everything is present.
# Sourced by scripts/test.sh and scripts/bench/*.sh. Everything lands under .cache/ except
# Debian packages.

NW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NW_CACHE="$NW_ROOT/.cache"
ANVIL_VERSION=1.7.1
PLYVEL_VERSION=1.5.1

nw_log() { printf '==> %s\n' "$*" >&2; }

nw_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    nw_log "need root to run: $*"; return 1; fi
}

# apt_install PKG...: installs the Debian packages that are missing.
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  nw_log "installing Debian packages: ${missing[*]}"
  # Wait for a concurrent apt (unattended upgrades on a fresh machine) instead of failing.
  nw_sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  nw_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# A real Ethereum node (anvil) from npm; the binary ships inside the package.
install_anvil() {
  export NODEWARDEN_ANVIL="$NW_CACHE/tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
  [ -x "$NODEWARDEN_ANVIL" ] && return 0
  nw_log "installing anvil $ANVIL_VERSION from npm"
  command -v npm >/dev/null || apt_install npm
  mkdir -p "$NW_CACHE/tools"
  npm install --silent --no-audit --no-fund --prefix "$NW_CACHE/tools" \
    "@foundry-rs/anvil-linux-amd64@$ANVIL_VERSION" >/dev/null
  chmod +x "$NODEWARDEN_ANVIL"
}

# Python with plyvel (the real C++ LevelDB, shipped in the wheel) for cross-checks.
install_python_tools() {
  export NODEWARDEN_PYTHON="$NW_CACHE/py/bin/python"
  if [ -x "$NODEWARDEN_PYTHON" ] && "$NODEWARDEN_PYTHON" -c 'import plyvel' 2>/dev/null; then return 0; fi
  nw_log "installing plyvel $PLYVEL_VERSION into .cache/py"
  python3 -m venv "$NW_CACHE/py" || { apt_install python3-venv && python3 -m venv "$NW_CACHE/py"; }
  "$NW_CACHE/py/bin/pip" install -q --disable-pip-version-check "plyvel==$PLYVEL_VERSION"
}

# promtool, to check /metrics output and the alert rules (Debian's prometheus package).
install_promtool() {
  export NODEWARDEN_PROMTOOL=/usr/bin/promtool
  [ -x "$NODEWARDEN_PROMTOOL" ] || apt_install prometheus
  # The package starts a Prometheus server where an init system runs; the tests need none.
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    nw_sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
}

# Headless Chromium renders the HTML reports in the tests (screenshots must not be blank).
install_chromium() {
  command -v chromium >/dev/null || apt_install chromium
  export NODEWARDEN_CHROMIUM="${NODEWARDEN_CHROMIUM:-$(command -v chromium)}"
}

install_test_deps() {
  install_promtool
  install_anvil
  install_python_tools
  install_chromium
}
