//! Installing the Aerospike tier: the server package the user names (no public download is
//! reachable from every network) is checked before any host is touched, and installed with
//! Debian's service starts held. What to do when is `roles::aerospike`.

use crate::inventory::{Inventory, Role};
use crate::shell;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

pub use crate::roles::aerospike::{PackageKind, remote_path};

/// The package file on this machine (relative paths are from the inventory's folder), checked
/// to exist and be of a kind minicloud installs: an error names the key and what to do.
pub fn package_file(
    inv: &Inventory,
    inventory_path: &Path,
) -> Result<Option<(PathBuf, PackageKind)>> {
    if inv.hosts_with(Role::Aerospike).is_empty() {
        return Ok(None);
    }
    let hint = "download the Aerospike server package for Debian 12 x86_64 (the .tgz with asinstall, \
                or a .deb) from aerospike.com onto this machine and give its path in \
                services.aerospike.package";
    let Some(given) = inv
        .services
        .aerospike
        .as_ref()
        .and_then(|a| a.package.as_deref())
    else {
        bail!(
            "{}: services.aerospike.package is not set, so the Aerospike server cannot be installed; nothing was changed\n  hint: {hint}",
            inventory_path.display()
        );
    };
    let path = crate::ssh::expand_home(Path::new(given));
    let path = if path.is_relative() {
        inventory_path.parent().unwrap_or(Path::new(".")).join(path)
    } else {
        path
    };
    let kind = if given.ends_with(".tgz") || given.ends_with(".tar.gz") {
        PackageKind::Tgz
    } else if given.ends_with(".deb") {
        PackageKind::Deb
    } else {
        bail!(
            "{}: services.aerospike.package {given:?} is neither a .tgz nor a .deb; nothing was changed\n  hint: {hint}",
            inventory_path.display()
        );
    };
    if !path.is_file() {
        bail!(
            "{}: services.aerospike.package {given:?}: no such file ({}); nothing was changed\n  hint: {hint}",
            inventory_path.display(),
            path.display()
        );
    }
    Ok(Some((path, kind)))
}

/// Install the uploaded package (Debian's service starts held, as for every package).
pub fn install_script(kind: &PackageKind) -> String {
    let remote = shell::quote(remote_path(kind));
    let install = match kind {
        PackageKind::Tgz => format!(
            "d=$(mktemp -d)\ntar -xzf {remote} -C \"$d\"\ncd \"$d\"/*/\n./asinstall\ncd /\nrm -rf \"$d\""
        ),
        PackageKind::Deb => format!(
            "export DEBIAN_FRONTEND=noninteractive\napt-get install -y -q --no-install-recommends {remote}"
        ),
    };
    super::commands::holding_service_starts(&format!("{install}\nrm -f {remote}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oncall() -> (Inventory, PathBuf) {
        let path = PathBuf::from("examples/oncall-roster.yml");
        (crate::inventory::load(&path).unwrap(), path)
    }

    #[test]
    fn a_missing_package_is_refused_before_anything_is_touched() {
        let (inv, path) = oncall();
        let err = package_file(&inv, &path).unwrap_err().to_string();
        assert!(
            err.starts_with("examples/oncall-roster.yml: services.aerospike.package \"./packages/aerospike-server-community_7.2.0.1_tools-11.2.1_debian12_x86_64.tgz\": no such file (examples/./packages/"),
            "{err}"
        );
        assert!(
            err.contains("nothing was changed") && err.contains("hint: download"),
            "{err}"
        );
    }

    #[test]
    fn a_package_beside_the_inventory_is_found_by_kind() {
        let (mut inv, _) = oncall();
        let dir = tempfile::tempdir().unwrap();
        let inventory_path = dir.path().join("inv.yml");
        std::fs::write(dir.path().join("server.deb"), b"x").unwrap();
        inv.services.aerospike.as_mut().unwrap().package = Some("server.deb".into());
        let (path, kind) = package_file(&inv, &inventory_path).unwrap().unwrap();
        assert_eq!(
            (path, kind),
            (dir.path().join("server.deb"), PackageKind::Deb)
        );
        inv.services.aerospike.as_mut().unwrap().package = Some("server.zip".into());
        assert!(
            package_file(&inv, &inventory_path)
                .unwrap_err()
                .to_string()
                .contains("neither a .tgz nor a .deb")
        );
    }

    #[test]
    fn install_scripts_hold_service_starts_and_clean_up() {
        let tgz = install_script(&PackageKind::Tgz);
        assert!(
            tgz.contains("tar -xzf '/var/tmp/minicloud-aerospike.tgz'")
                && tgz.contains("./asinstall")
        );
        let deb = install_script(&PackageKind::Deb);
        assert!(deb.contains(
            "apt-get install -y -q --no-install-recommends '/var/tmp/minicloud-aerospike.deb'"
        ));
        for (script, remote) in [
            (tgz, "'/var/tmp/minicloud-aerospike.tgz'"),
            (deb, "'/var/tmp/minicloud-aerospike.deb'"),
        ] {
            assert!(script.contains("policy-rc.d"), "{script}");
            assert!(
                script.trim_end().ends_with(&format!("rm -f {remote}")),
                "{script}"
            );
        }
    }
}
