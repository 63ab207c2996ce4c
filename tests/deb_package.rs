//! The Debian package of the control tool (scripts/deb.sh), installed in a clean lab host: a
//! fresh container of the lab's base image, without network. `minicloud` is on PATH, validates
//! and renders the examples it ships, finds the roster beside it, and the completions and man
//! pages are where bash and man look.
//!
//! Packages the binaries this test run built (MINICLOUD_BIN_DIR); needs root, dockerd and the
//! lab's base image, which it builds when no lab test has yet. It does not touch the lab's hosts.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The lab's default base image, built here when no lab test has built it yet (it takes a
/// few minutes once; the lab tests then reuse it), so the package is always tried.
fn lab_image() -> String {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = minicloud::lab::docker::Engine::connect().await.unwrap();
        minicloud::lab::image::ensure_image(&engine, &minicloud::platform::SUPPORTED[0])
            .await
            .unwrap()
    })
}

#[test]
fn the_package_installs_and_runs_in_a_clean_lab_host() {
    if std::env::var_os("MINICLOUD_SKIP_LAB_TESTS").is_some() {
        eprintln!("SKIPPED: MINICLOUD_SKIP_LAB_TESTS is set; the package test did not run");
        return;
    }
    let image = lab_image();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_minicloud")).parent().unwrap();
    // The roster deb.sh packages from there: another package's binary, so checked to be built
    // and up to date first.
    common::roster_bin();
    let built = Command::new(root.join("scripts/deb.sh"))
        .env("MINICLOUD_BIN_DIR", bin_dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = root.join(String::from_utf8(built.stdout).unwrap().trim());
    let script = r#"set -e
        dpkg -i /tmp/minicloud.deb >/dev/null
        echo "path: $(command -v minicloud) $(command -v roster)"
        cd /usr/share/doc/minicloud/examples
        minicloud validate -i default.yml
        minicloud render -i default.yml --host lb1 --file /etc/haproxy/haproxy.cfg | grep -m1 '^global'
        ls /usr/share/bash-completion/completions/minicloud /usr/share/zsh/vendor-completions/_minicloud \
           /usr/share/fish/vendor_completions.d/minicloud.fish /usr/share/man/man1/minicloud-plan.1.gz
        head -1 default.yml
        ls ../inventory.schema.json
        # The roster is found beside minicloud: plan gets as far as connecting (no network here).
        minicloud plan -i default.yml 2>&1 | tail -3 || true
    "#;
    let name = format!("minicloud-deb-test-{}", std::process::id());
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--name", &name, "-v"])
        .arg(format!("{}:/tmp/minicloud.deb:ro", deb.display()))
        .args(["--entrypoint", "/bin/sh", &image, "-c", script])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    for expected in [
        "path: /usr/bin/minicloud /usr/bin/roster",
        "default.yml: ok (6 hosts)",
        "\nglobal\n",
        "/usr/share/man/man1/minicloud-plan.1.gz",
        "# yaml-language-server: $schema=../inventory.schema.json",
        "nothing was changed on any host",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    assert!(!text.contains("cannot read the roster binary"), "{text}");
}
