#!/usr/bin/env bash
# Recipe of the lab's base image: a Debian root filesystem (12 bookworm or 13 trixie) that boots
# systemd and sshd, like a small bare VM. `minicloud lab up [--os debian-13]` runs it as
# `bash base-image.sh ROOTFS MIRROR SUITE`, then imports ROOTFS as an image tagged with a hash of
# this file, the mirror and the suite: change the recipe, and the image is rebuilt.
#
# The hosts start bare of the stack (`minicloud up` installs it with apt, like on a real VM), but
# the stack's .deb files and apt lists are downloaded into the image so those installs are fast.
set -euo pipefail
rootfs=$1
mirror=$2
suite=${3:-bookworm}

BASE_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,iproute2,iputils-ping,sudo,ca-certificates,procps,netcat-openbsd,less
STACK_PACKAGES="haproxy keepalived mariadb-server mariadb-backup galera-4 galera-arbitrator-4 nginx-light rsync socat nftables lsyncd"
# What Ansible needs on a managed host (for `cargo bench --bench compare`); installed by that
# bench only, so minicloud's own runs still start from hosts without Python.
BENCH_PACKAGES="python3 python3-apt"

echo "step: debootstrap $suite from $mirror"
debootstrap --variant=minbase --include="$BASE_PACKAGES" "$suite" "$rootfs" "$mirror"

echo "step: apt sources"
cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
SOURCES

echo "step: download the stack's packages into the apt cache"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" apt-get update -q
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -q -y --download-only $STACK_PACKAGES $BENCH_PACKAGES
rm -f "$rootfs/etc/resolv.conf"

echo "step: host identity is made at first boot"
# Every host gets its own machine id and SSH host keys, as a freshly installed VM would.
: > "$rootfs/etc/machine-id"
rm -f "$rootfs"/etc/ssh/ssh_host_*
cat > "$rootfs/etc/systemd/system/minicloud-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate this host's SSH host keys (minicloud lab)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/minicloud-ssh-hostkeys.service \
    "$rootfs/etc/systemd/system/multi-user.target.wants/minicloud-ssh-hostkeys.service"

echo "step: a non-root user with sudo, as on many real hosts"
chroot "$rootfs" useradd --create-home --shell /bin/bash deploy
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > "$rootfs/etc/sudoers.d/deploy"
chmod 0440 "$rootfs/etc/sudoers.d/deploy"

echo "step: quiet units that have nothing to do in a container"
for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-modules-load.service \
            systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
echo "step: done"
