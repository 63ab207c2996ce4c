#!/usr/bin/env bash
# The main job on the local lab (README): sets up this machine (Docker engine, debootstrap),
# builds minicloud and the roster app, brings up the lab hosts, and converges them to the stack
# with `minicloud up`: HAProxy + keepalived, the roster app, MariaDB Galera + garbd.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-host.sh

require_root "the lab"
# nftables: `lab up --bastion` walls this machine off the lab networks with a table of its own.
ensure_packages docker.io debootstrap iproute2 tar nftables
ensure_dockerd
ensure_inotify

echo "==> building minicloud and roster (static: the roster binary runs on any x86-64 Linux host)"
target=x86_64-unknown-linux-gnu
# At the workspace root: every member, so the minicloud and roster binaries side by side.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target"
minicloud=target/$target/release/minicloud
export MINICLOUD_ROSTER_BIN=target/$target/release/roster

echo "==> minicloud lab up"
"$minicloud" lab up
echo "==> minicloud up"
"$minicloud" up
"$minicloud" lab status
echo
echo "The stack is up: open http://10.231.50.100/ (the frontend VIP) from this machine."
echo "Again: $minicloud up (changes nothing); preview changes: $minicloud plan; remove: $minicloud lab down"
