#!/usr/bin/env bash
# The main job on the local lab (README): sets up this machine (Docker engine, debootstrap),
# builds minicloud, brings up the lab hosts and checks the stack's inventory for them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-host.sh

require_root "the lab"
ensure_packages docker.io debootstrap iproute2 tar
ensure_dockerd
ensure_inotify

echo "==> building minicloud"
cargo build --release --locked
minicloud=target/release/minicloud

echo "==> minicloud lab up"
"$minicloud" lab up
"$minicloud" lab status
echo "==> minicloud validate and render for the lab"
"$minicloud" validate -i .minicloud/lab/inventory.yml
"$minicloud" render -i .minicloud/lab/inventory.yml --out .minicloud/rendered
echo "The lab is up: $minicloud lab status, ... lab down to remove it."
