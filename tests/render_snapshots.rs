//! Snapshot tests of every rendered file for the reference inventory and both original systems.
//! A change to any template or to the context shows up here as a reviewable diff.

use minicloud::{inventory, render, secrets::Secrets};
use std::path::Path;

const INVENTORIES: &[(&str, &str)] = &[
    ("example", "inventory/example.yml"),
    ("mini_cloud", "examples/mini-cloud.yml"),
    ("oncall_roster", "examples/oncall-roster.yml"),
];

fn snapshot_name(host: &str, path: &str) -> String {
    format!("{host}{}", path.replace(['/', '.'], "_"))
}

#[test]
fn every_rendered_file_matches_its_snapshot() {
    for (label, file) in INVENTORIES {
        let inv = inventory::load(Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
        let rendered = render::render_all(&inv, &Secrets::masked()).unwrap();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(format!("snapshots/{label}"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            let mut table = String::new();
            for (host, files) in &rendered {
                for f in files {
                    table.push_str(&format!(
                        "{host} {} {:o} {}:{} checker={:?} unit={} secret={}\n",
                        f.path, f.mode, f.owner, f.group, f.checker, f.unit, f.secret
                    ));
                    insta::assert_snapshot!(snapshot_name(host, f.path), f.content);
                }
            }
            // Which host gets which file, with owner, mode and checker.
            insta::assert_snapshot!("file_table", table);
        });
    }
}

/// The reference inventory with a notify script on both VIPs: each VIP's instance gets its
/// own script, on the hosts of that VIP only.
#[test]
fn keepalived_with_notify_hooks_matches_its_snapshot() {
    let text = std::fs::read_to_string("inventory/example.yml")
        .unwrap()
        .replace(
            "# notify: /usr/local/sbin/move-vip",
            "notify: /usr/local/sbin/move-vip",
        )
        .replace(
            "# notify: /usr/local/sbin/move-db-vip",
            "notify: /usr/local/sbin/move-db-vip",
        );
    let inv = inventory::parse(&text).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(inventory::validate(&inv).is_empty());
    let rendered = render::render_all(&inv, &Secrets::masked()).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/notify");
    settings.set_prepend_module_to_snapshot(false);
    let mut seen = 0;
    settings.bind(|| {
        for (host, files) in &rendered {
            for f in files
                .iter()
                .filter(|f| f.path == "/etc/keepalived/keepalived.conf")
            {
                insta::assert_snapshot!(snapshot_name(host, f.path), f.content);
                let lines: Vec<&str> = f.content.lines().filter(|l| l.contains("notify")).collect();
                let expected = if host.starts_with("lb") {
                    "    notify \"/usr/local/sbin/move-vip\""
                } else {
                    "    notify \"/usr/local/sbin/move-db-vip\""
                };
                assert_eq!(lines, [expected], "{host}");
                seen += 1;
            }
        }
    });
    assert_eq!(seen, 4, "lb1, lb2, db1 and db2 run keepalived");
}

#[test]
fn masked_render_holds_no_secret_value() {
    // The mini-cloud example adds file sync (its SSH key) to what the reference inventory has.
    for path in ["inventory/example.yml", "examples/mini-cloud.yml"] {
        masked_render_holds_no_secret_value_of(path);
    }
}

fn masked_render_holds_no_secret_value_of(path: &str) {
    let inv = inventory::load(Path::new(path)).unwrap();
    let secrets = Secrets {
        roster_db_password: "roster-pw-XYZZY".into(),
        sst_password: "sst-pw-XYZZY".into(),
        haproxy_stats_password: "stats-pw-XYZZY".into(),
        file_sync_private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nXYZZY\n".into(),
        file_sync_public_key: "ssh-ed25519 AAAApublic minicloud-file-sync".into(),
        roster_api_token: "api-token-PLUGH".into(),
    };
    let real = render::render_all(&inv, &secrets).unwrap();
    // App hosts get the API token's hash, never the token.
    let token_hash = roster_api::token::token_sha256_hex("api-token-PLUGH");
    assert!(
        real.values()
            .flatten()
            .all(|f| !f.content.contains("api-token-PLUGH"))
    );
    let envs: Vec<_> = real
        .values()
        .flatten()
        .filter(|f| f.path.ends_with("roster.env"))
        .collect();
    assert!(!envs.is_empty());
    for env in envs {
        assert!(
            env.content
                .contains(&format!("ROSTER_API_TOKEN_SHA256={token_hash}\n")),
            "{}",
            env.content
        );
        assert_eq!(env.mode & 0o077, 0, "{} is private", env.path);
    }
    let with_secret: Vec<_> = real
        .values()
        .flatten()
        .filter(|f| f.content.contains("XYZZY"))
        .collect();
    assert!(
        !with_secret.is_empty(),
        "secrets must reach the files that need them"
    );
    for f in with_secret {
        assert!(
            f.secret,
            "{} holds a secret but is not marked secret",
            f.path
        );
        assert_eq!(
            f.mode & 0o004,
            0,
            "{} holds a secret but is world-readable",
            f.path
        );
    }
    let masked = render::render_all(&inv, &Secrets::masked()).unwrap();
    assert!(
        masked
            .values()
            .flatten()
            .all(|f| !f.content.contains("XYZZY") && !f.content.contains(&token_hash))
    );
}
