#!/usr/bin/env bash
# The Debian package, installed and removed for real: `dpkg -i` gives a working nodewarden
# with man pages, completions, units (none enabled) and its system user; `dpkg -r` and
# `--purge` take it away again. The dist binary must stay under 30 MiB. Needs root (CI is);
# leaves an operator's own installed nodewarden package alone. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "test-package: $*" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "test-package: skipped (needs root for dpkg)"; exit 0; fi
if dpkg -s nodewarden >/dev/null 2>&1; then
  echo "test-package: skipped (a nodewarden package is installed here; not touching it)"; exit 0
fi
deb=$(scripts/package.sh | tail -n 1)
[ -f "$deb" ] || fail "no package built ($deb)"
size=$(stat -c %s target/dist/nodewarden)
[ "$size" -lt $((30 << 20)) ] || fail "dist binary is $size bytes, over 30 MiB"
passed=1

trap 'dpkg --purge nodewarden >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null
version=$(/usr/bin/nodewarden --version)
[ "$version" = "nodewarden $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)" ] ||
  fail "installed binary says: $version"
for f in /usr/share/man/man1/nodewarden.1* /usr/share/man/man1/nodewarden-restore.1* \
  /usr/share/bash-completion/completions/nodewarden /usr/share/zsh/vendor-completions/_nodewarden \
  /usr/share/fish/vendor_completions.d/nodewarden.fish /lib/systemd/system/nodewarden.service \
  /lib/systemd/system/nodewarden-check.timer /etc/nodewarden/nodewarden.toml; do
  [ -e "$f" ] || fail "missing after install: $f"
done
man -w nodewarden >/dev/null 2>&1 || [ ! -x /usr/bin/man ] || fail "man cannot find nodewarden(1)"
bash -n /usr/share/bash-completion/completions/nodewarden || fail "bash completion does not parse"
getent passwd nodewarden >/dev/null || fail "no nodewarden system user"
[ "$(stat -c %U /var/lib/nodewarden)" = nodewarden ] || fail "/var/lib/nodewarden not the user's"
if ls /etc/systemd/system/*.wants/nodewarden* >/dev/null 2>&1; then fail "a unit was enabled"; fi
/usr/bin/nodewarden --config /etc/nodewarden/nodewarden.toml completions fish >/dev/null
passed=$((passed + 1))

dpkg -r nodewarden >/dev/null
[ ! -e /usr/bin/nodewarden ] || fail "binary left after dpkg -r"
[ ! -e /lib/systemd/system/nodewarden.service ] || fail "unit left after dpkg -r"
dpkg --purge nodewarden >/dev/null
[ ! -e /etc/nodewarden/nodewarden.toml ] || fail "config left after purge"
passed=$((passed + 1))
echo "package $(basename "$deb"): dist binary $((size >> 20)) MiB"
echo "package: $passed passed, 0 failed"
