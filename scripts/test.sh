#!/usr/bin/env bash
# Every test, from a fresh Debian machine with Rust: installs what the tests need
# (idempotent), then checks formatting, runs clippy with warnings as errors, runs the whole
# test suite, the Ansible role and the Debian package. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh

started=$SECONDS
install_test_deps

nw_log "cargo fmt --check"
cargo fmt --all -- --check
nw_log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
nw_log "cargo test"
cargo test --workspace --locked
nw_log "ansible role (twice, into a throwaway root)"
scripts/test-ansible.sh
nw_log "Debian package (build, dpkg -i, dpkg -r)"
scripts/test-package.sh
nw_log "all tests passed in $((SECONDS - started))s"
