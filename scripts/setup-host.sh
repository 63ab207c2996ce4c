# Shared set-up for scripts/test.sh and scripts/lab.sh (sourced, not run): installs Debian
# packages that are missing, starts the Docker engine, and raises the inotify limit the lab's
# systemd hosts need. Each step checks first and does nothing when it already holds.

require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: $1 needs root (it installs Debian packages, runs Docker and sets a sysctl)" >&2
        echo "hint: run it as root, e.g. sudo $0" >&2
        exit 2
    fi
}

# ensure_packages PKG...: apt-get install the ones not installed yet.
ensure_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "==> installing ${missing[*]}"
    # Debian starts services on install; hold those starts (with a policy-rc.d of our own,
    # removed after, unless the machine already has one).
    local own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || {
        [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
        echo "error: apt-get install ${missing[*]} failed" >&2
        exit 2
    }
    [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# ensure_dockerd: make sure a Docker engine answers on /var/run/docker.sock.
ensure_dockerd() {
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    echo "==> starting the Docker engine"
    if [ -d /run/systemd/system ]; then
        systemctl start docker
    else
        # No systemd on this machine (a container, a CI runner): run dockerd in the background.
        nohup dockerd > /var/log/minicloud-dockerd.log 2>&1 &
    fi
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "error: the Docker engine did not start; see /var/log/minicloud-dockerd.log" >&2
    tail -n 20 /var/log/minicloud-dockerd.log >&2 2>/dev/null || true
    exit 2
}

# ensure_inotify: every systemd lab host takes ~6 inotify instances; the default 128 stops the
# lab at about 20 hosts (systemd dies at boot with "Too many open files").
ensure_inotify() {
    local current
    current=$(cat /proc/sys/fs/inotify/max_user_instances)
    if [ "$current" -lt 8192 ]; then
        echo "==> raising fs.inotify.max_user_instances from $current to 8192 (lab hosts boot systemd)"
        sysctl -qw fs.inotify.max_user_instances=8192
    fi
}
