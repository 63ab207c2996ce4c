"""The same job as `minicloud up` for the lab's inventory, as a pyinfra user would write it:
packages, files (rendered by minicloud beforehand, so both tools write the same bytes), services,
and a reload or restart of the services whose files changed. Each host's data comes from the
inventory that `cargo bench --bench compare` generates (host.data.minicloud)."""

from pyinfra import host
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

spec = host.data.minicloud

apt.packages(name="Packages", packages=spec["packages"], update=False)

puts_by_unit = {}
for file in spec["files"]:
    put = files.put(
        name=f"File {file['path']}",
        src=file["src"],
        dest=file["path"],
        user=file["owner"],
        group=file["group"],
        mode=file["mode"],
    )
    if file["unit"]:
        puts_by_unit.setdefault(file["unit"], []).append(put)

for unit in spec["units"]:
    systemd.service(
        name=f"Service {unit['name']}",
        service=unit["name"],
        running=unit["state"] == "started",
        enabled=unit["enabled"],
    )

for unit, puts in puts_by_unit.items():
    reload = unit in spec["reload"]
    systemd.service(
        name=f"{'Reload' if reload else 'Restart'} {unit} (its files changed)",
        service=unit,
        reloaded=reload,
        restarted=not reload,
        _if=any_changed(*puts),
    )
