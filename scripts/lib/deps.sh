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
  nw_sudo apt-get update -qq
  nw_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

install_test_deps() {
  install_anvil
  install_python_tools
}
