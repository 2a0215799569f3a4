# Installs what tests and benchmarks need; idempotent, quiet when everything is present.
# Sourced by scripts/test.sh and scripts/bench/*.sh. Everything lands under .cache/ except
# Debian packages.

NW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NW_CACHE="$NW_ROOT/.cache"
ANVIL_VERSION=1.7.1
PLYVEL_VERSION=1.5.1
ROCKSDICT_VERSION=0.3.29

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

# Python with plyvel and rocksdict (the real C++ LevelDB and RocksDB, shipped in their
# wheels) for cross-checks.
install_python_tools() {
  export NODEWARDEN_PYTHON="$NW_CACHE/py/bin/python"
  if [ -x "$NODEWARDEN_PYTHON" ] && "$NODEWARDEN_PYTHON" -c 'import plyvel, rocksdict' 2>/dev/null; then return 0; fi
  nw_log "installing plyvel $PLYVEL_VERSION and rocksdict $ROCKSDICT_VERSION into .cache/py"
  [ -x "$NW_CACHE/py/bin/pip" ] || python3 -m venv "$NW_CACHE/py" ||
    { apt_install python3-venv && python3 -m venv "$NW_CACHE/py"; }
  "$NW_CACHE/py/bin/pip" install -q --disable-pip-version-check "plyvel==$PLYVEL_VERSION" \
    "rocksdict==$ROCKSDICT_VERSION"
}

# moto's standalone server: a real S3-compatible endpoint on loopback for the S3 backend
# tests (unsigned requests are accepted, any credentials work). Shares the .cache/py venv.
MOTO_VERSION=5.2.1
install_s3_server() {
  export NODEWARDEN_MOTO="$NW_CACHE/py/bin/moto_server"
  if [ -x "$NODEWARDEN_MOTO" ] && [ -x "$NW_CACHE/py/bin/python" ] &&
    [ "$("$NW_CACHE/py/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" = "$MOTO_VERSION" ]; then
    return 0
  fi
  nw_log "installing moto[server] $MOTO_VERSION into .cache/py"
  [ -x "$NW_CACHE/py/bin/pip" ] || python3 -m venv "$NW_CACHE/py" ||
    { apt_install python3-venv && python3 -m venv "$NW_CACHE/py"; }
  "$NW_CACHE/py/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

# ansible-core (PyPI) for the deployment role's test; shares the .cache/py venv.
ANSIBLE_CORE_VERSION=2.18.19
install_ansible() {
  export NODEWARDEN_ANSIBLE_PLAYBOOK="$NW_CACHE/py/bin/ansible-playbook"
  if [ -x "$NODEWARDEN_ANSIBLE_PLAYBOOK" ]; then return 0; fi
  nw_log "installing ansible-core $ANSIBLE_CORE_VERSION into .cache/py"
  [ -x "$NW_CACHE/py/bin/pip" ] || python3 -m venv "$NW_CACHE/py" ||
    { apt_install python3-venv && python3 -m venv "$NW_CACHE/py"; }
  "$NW_CACHE/py/bin/pip" install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION"
}

# cargo-deb (crates.io) builds the Debian package; a few minutes to build, cached.
CARGO_DEB_VERSION=3.8.0
install_cargo_deb() {
  export NODEWARDEN_CARGO_DEB="$NW_CACHE/cargo-deb/bin/cargo-deb"
  [ -x "$NODEWARDEN_CARGO_DEB" ] && return 0
  nw_log "installing cargo-deb $CARGO_DEB_VERSION from crates.io into .cache/cargo-deb"
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --root "$NW_CACHE/cargo-deb" -q
}

# oha (an HTTP load generator, crates.io) for the loadtest benchmark; a few minutes to build.
OHA_VERSION=1.16.0
install_oha() {
  export NODEWARDEN_OHA="$NW_CACHE/oha/bin/oha"
  [ -x "$NODEWARDEN_OHA" ] && return 0
  nw_log "installing oha $OHA_VERSION from crates.io into .cache/oha"
  cargo install oha --version "$OHA_VERSION" --locked --root "$NW_CACHE/oha" -q
}

# s3s-fs (crates.io): an S3 server on a local directory, in Rust, for the S3 benchmark (moto,
# in Python, would be the bottleneck there). About 7 minutes to build on 2 cores; cached.
S3S_FS_VERSION=0.14.1
install_s3s_fs() {
  export NODEWARDEN_S3S_FS="$NW_CACHE/s3s-fs/bin/s3s-fs"
  [ -x "$NODEWARDEN_S3S_FS" ] && return 0
  nw_log "installing s3s-fs $S3S_FS_VERSION from crates.io into .cache/s3s-fs"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --root "$NW_CACHE/s3s-fs" -q
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

# playwright-core drives Debian's Chromium in the dashboard tests (it downloads no browser).
PLAYWRIGHT_VERSION=1.65.1
install_playwright() {
  export NODEWARDEN_PLAYWRIGHT="$NW_CACHE/tools/node_modules/playwright-core"
  [ -f "$NODEWARDEN_PLAYWRIGHT/package.json" ] && return 0
  nw_log "installing playwright-core $PLAYWRIGHT_VERSION from npm"
  command -v npm >/dev/null || apt_install npm
  mkdir -p "$NW_CACHE/tools"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund \
    --prefix "$NW_CACHE/tools" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
}

# A real PostgreSQL for the backup tests (pg_dump/pg_restore): a throwaway cluster
# listening on 127.0.0.1 only, trust auth, started once and reused. PostgreSQL refuses to run
# as root, so as root the cluster belongs to the `postgres` user and lives outside the
# checkout, which that user may not be able to reach (a clone under /root).
NW_PG_PORT=${NW_PG_PORT:-55432}
start_test_postgres() {
  export NODEWARDEN_PG_URL="postgres://nodewarden@127.0.0.1:$NW_PG_PORT/postgres"
  command -v pg_dump >/dev/null || apt_install postgresql
  local bin dir=$NW_CACHE/pg as=()
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -x "$bin/pg_ctl" ] || apt_install postgresql
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  if [ "$(id -u)" = 0 ]; then
    as=(runuser -u postgres --)
    dir=/var/tmp/nodewarden-test-pg
  fi
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$NW_PG_PORT"; then return 0; fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    nw_log "creating a test PostgreSQL cluster in $dir"
    (cd / && "${as[@]}" "$bin/initdb" --no-instructions -D "$dir/data" -U nodewarden --auth=trust >/dev/null)
  fi
  nw_log "starting the test PostgreSQL on 127.0.0.1:$NW_PG_PORT"
  (cd / && "${as[@]}" "$bin/pg_ctl" -s -w -D "$dir/data" -l "$dir/log" \
    -o "-h 127.0.0.1 -p $NW_PG_PORT -k $dir" start)
}

# release_binary DIR: build the release binary and copy it into DIR, so that a concurrent
# build cannot swap it under a running benchmark; prints the copy's path.
release_binary() {
  (cd "$NW_ROOT" && cargo build --release --locked -q) >&2
  cp "${CARGO_TARGET_DIR:-$NW_ROOT/target}/release/nodewarden" "$1/nodewarden"
  echo "$1/nodewarden"
}

install_test_deps() {
  start_test_postgres
  install_promtool
  install_anvil
  install_python_tools
  install_s3_server
  install_chromium
  install_playwright
}
