#!/usr/bin/env bash
# The project's test command (README): installs what the tests need on a fresh Debian 12
# machine, then runs formatting, lint and every test.
#
# Needs root: the tests run the daemons' own config checkers in private namespaces, and the lab
# test brings up Docker containers that boot systemd (it takes over the machine's lab and
# removes it at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-host.sh

require_root "the test suite"
# The daemons whose config checkers the tests run, namespace tools, the lab's substrate, and
# rsync + python3 for Debian's rrsync (the file sync key's forced command is pushed through it),
# and openssh-server for the loopback jump-host test (tests/ssh_jump.rs runs its own sshd).
ensure_packages haproxy keepalived nginx-light mariadb-server galera-4 nftables iproute2 util-linux \
    docker.io debootstrap tar openssh-client openssh-server chromium rsync python3
ensure_dockerd
ensure_inotify

echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy (every workspace member: minicloud, roster, roster-api)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo clippy --no-default-features (the control tool builds without the lab)"
cargo clippy --workspace --no-default-features --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked
