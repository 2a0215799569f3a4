#!/usr/bin/env bash
# The Ansible role, for real, against this machine (connection: local) into a throwaway
# root: first run changes things, a second run changes nothing, the rendered config loads
# in nodewarden, the units and the Prometheus target are where they belong, and a host
# whose nodes clash is refused before anything is written. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
install_ansible
bin=${NODEWARDEN_BIN:-target/debug/nodewarden}
[ -x "$bin" ] || cargo build -q -p nodewarden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-ansible: $*" >&2; exit 1; }

inventory() { # $1: the nodes as YAML flow
  cat >"$tmp/inventory.yml" <<YAML
nodewarden:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $(command -v python3)
      nodewarden_network: zenon-testnet
      nodewarden_nodes: $1
  vars:
    nodewarden_root: $tmp/root
    nodewarden_install: binary
    nodewarden_binary_src: $PWD/$bin
    nodewarden_manage_services: false
    nodewarden_prometheus_targets_dir: $tmp/prometheus
YAML
}
play() {
  ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP="$tmp/ansible-tmp" \
    "$NODEWARDEN_ANSIBLE_PLAYBOOK" -i "$tmp/inventory.yml" deploy/ansible/site.yml "$@"
}
changed() { sed -n 's/.*changed=\([0-9]*\).*/\1/p' | tail -n 1; }

mkdir -p "$tmp/prometheus"
inventory '[{name: znn-a, kind: zenon, rpc_port: 35997, data_dir: /srv/znn-a, process: znnd},
            {name: "znn b#2", kind: zenon, rpc_port: 45997, data_dir: /srv/znn-b},
            {name: eth, kind: ethereum, rpc_port: 8545, pid_file: /run/besu.pid, block_time: 12s}]'
first=$(play | tee "$tmp/first.log" | changed) || { cat "$tmp/first.log"; fail "first run failed"; }
[ "${first:-0}" -gt 0 ] || fail "first run changed nothing"
second=$(play | tee "$tmp/second.log" | changed) || { cat "$tmp/second.log"; fail "second run failed"; }
[ "$second" = 0 ] || { cat "$tmp/second.log"; fail "second run changed $second things: not idempotent"; }

root=$tmp/root
[ -x "$root/usr/bin/nodewarden" ] || fail "binary not installed"
for u in nodewarden.service nodewarden-check.service nodewarden-check.timer nodewarden-alert@.service; do
  [ -f "$root/lib/systemd/system/$u" ] || fail "unit $u missing"
done
# The rendered config loads: nodes are down, so exit 1 (not 2, which is a config error).
set +e
"$root/usr/bin/nodewarden" --config "$root/etc/nodewarden/nodewarden.toml" watch --once --json \
  --timeout 300ms >"$tmp/once.json" 2>"$tmp/once.err"
code=$?
set -e
[ "$code" = 1 ] || { cat "$tmp/once.err"; fail "watch --once on the rendered config: exit $code"; }
names=$(python3 -c 'import json,sys; print(",".join(n["name"] for n in json.load(open(sys.argv[1]))))' "$tmp/once.json")
[ "$names" = "znn-a,znn b#2,eth" ] || fail "nodes in the rendered config: $names"
target="$tmp/prometheus/nodewarden-localhost.yml"
grep -q '"localhost:9866"' "$target" || fail "file-SD target: $(cat "$target")"
grep -q 'network: "zenon-testnet"' "$target" || fail "file-SD labels: $(cat "$target")"

# Two nodes on one port: refused, naming the host, and nothing rewritten.
before=$(sha256sum "$root/etc/nodewarden/nodewarden.toml")
inventory '[{name: a, kind: zenon, rpc_port: 35997}, {name: b, kind: zenon, rpc_port: 35997}]'
if play >"$tmp/clash.log" 2>&1; then fail "a port clash was accepted"; fi
grep -q "must be unique on one host" "$tmp/clash.log" || { cat "$tmp/clash.log"; fail "clash message"; }
[ "$before" = "$(sha256sum "$root/etc/nodewarden/nodewarden.toml")" ] || fail "config rewritten on a clash"
echo "ansible: 4 passed, 0 failed"
