"""pyinfra inventory for `cargo bench --bench compare`: the lab's hosts as root with the lab's
key, host keys checked against the lab's known_hosts, each with its part of the desired state
(hosts.json, written by the bench) as `host.data.minicloud`."""

import json
import os

_state = json.load(open(os.environ["MINICLOUD_BENCH_HOSTS"]))

hosts = [
    (
        h["name"],
        {
            "ssh_hostname": h["address"],
            "ssh_user": "root",
            "ssh_key": os.environ["MINICLOUD_BENCH_KEY"],
            "ssh_known_hosts_file": os.environ["MINICLOUD_BENCH_KNOWN_HOSTS"],
            "ssh_strict_host_key_checking": "yes",
            "minicloud": h,
        },
    )
    for h in _state["hosts"]
]
