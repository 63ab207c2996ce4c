#!/usr/bin/env bash
# The project's test command (README): installs what the tests need on a fresh Debian 12
# machine, then runs formatting, lint and every test.
#
# The tests run the daemons' own config checkers (haproxy, keepalived, nginx, mariadbd, nft)
# inside private namespaces, so this needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages whose checkers the tests run, and the tools they use to set up namespaces.
PACKAGES=(haproxy keepalived nginx-light mariadb-server galera-4 nftables iproute2 util-linux)

if [ "$(id -u)" -ne 0 ]; then
    echo "error: the tests need root (they install Debian packages and use network namespaces)" >&2
    echo "hint: run it as root, e.g. sudo $0" >&2
    exit 2
fi

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    # Debian starts services on install; the tests only need the checkers, so hold the starts
    # (with a policy-rc.d of our own, removed after, unless the machine already has one).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --locked
