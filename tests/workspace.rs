//! The workspace split holds: the roster app builds from nothing of the control tool, the
//! control tool carries none of the roster's web and database stack, and the lab is a feature
//! production builds can leave out. Read from `cargo metadata`, so a dependency added in the
//! wrong place fails here.
//!
//! Why it matters in operation (issue #19): when the roster was a binary of the minicloud
//! package, changing only a config template (the Galera one) produced a different roster
//! binary, so the next `up` redeployed and restarted the roster on every app host. The roster
//! binary is now built from `crates/roster` and `crates/roster-api` alone: neither depends on
//! minicloud (checked below, through every workspace crate they pull in), and neither embeds a
//! file from outside its own folder (checked below on every `include_str!`, `include_bytes!`
//! and `sqlx::migrate!`), so `templates/` is read by the minicloud crate only and a template
//! change cannot change the roster binary.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo metadata` of the workspace: its own packages with what each declares (no resolve,
/// so it needs no network and no other platform's crates).
fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--offline",
            "--no-deps",
        ])
        .current_dir(root())
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON")
}

fn package<'a>(meta: &'a Value, name: &str) -> &'a Value {
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name} in the workspace"))
}

/// The dependencies a package's library and binaries are built with (normal and build, not
/// dev): (name, optional).
fn built_with(package: &Value) -> Vec<(String, bool)> {
    package["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null() || d["kind"] == "build")
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["optional"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Every workspace package `name` is built from, itself excluded, following dependencies
/// through the workspace (a crate from the registry cannot depend on a path crate of ours).
fn workspace_closure(meta: &Value, name: &str) -> BTreeSet<String> {
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let mut seen = BTreeSet::new();
    let mut pending = vec![name.to_string()];
    while let Some(next) = pending.pop() {
        for (dep, _) in built_with(package(meta, &next)) {
            if members.contains(&dep) && seen.insert(dep.clone()) {
                pending.push(dep);
            }
        }
    }
    seen
}

#[test]
fn the_workspace_is_the_control_tool_the_roster_and_its_api() {
    let meta = metadata();
    let names = |key: &str| -> BTreeSet<String> {
        meta[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in cargo metadata"))
            .iter()
            .map(|id| {
                let id = id.as_str().unwrap();
                meta["packages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["id"] == id)
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .unwrap()
            })
            .collect()
    };
    let all: BTreeSet<String> = ["minicloud", "roster", "roster-api"]
        .map(String::from)
        .into();
    assert_eq!(names("workspace_members"), all);
    // `cargo build` at the root builds minicloud and roster side by side (`up` finds the
    // roster beside itself), and `cargo test` there tests every member.
    assert_eq!(names("workspace_default_members"), all);
}

#[test]
fn the_roster_is_built_from_nothing_of_the_control_tool() {
    let meta = metadata();
    assert_eq!(
        workspace_closure(&meta, "roster"),
        BTreeSet::from(["roster-api".to_string()]),
        "the roster may depend on roster-api only, never on minicloud"
    );
    assert_eq!(
        workspace_closure(&meta, "roster-api"),
        BTreeSet::new(),
        "roster-api depends on no workspace crate"
    );
    // The control tool speaks the roster's API through the same crate (the drills' load
    // generator), and shares nothing else with it.
    assert_eq!(
        workspace_closure(&meta, "minicloud"),
        BTreeSet::from(["roster-api".to_string()])
    );
}

#[test]
fn the_control_tool_carries_none_of_the_rosters_stack() {
    let meta = metadata();
    let minicloud = built_with(package(&meta, "minicloud"));
    for web_or_db in ["axum", "sqlx", "aerospike", "prometheus-client"] {
        assert!(
            !minicloud.iter().any(|(name, _)| name == web_or_db),
            "minicloud depends on {web_or_db}: only the roster (crates/roster) should"
        );
    }
    // The roster does use them: the check above looks at the right names.
    let roster = built_with(package(&meta, "roster"));
    for web_or_db in ["axum", "sqlx", "aerospike", "prometheus-client"] {
        assert!(
            roster.iter().any(|(name, _)| name == web_or_db),
            "{web_or_db}"
        );
    }
}

#[test]
fn the_lab_is_a_default_feature_that_alone_enables_bollard() {
    let meta = metadata();
    let minicloud = package(&meta, "minicloud");
    let bollard: Vec<&Value> = minicloud["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["name"] == "bollard")
        .collect();
    assert_eq!(bollard.len(), 1, "bollard is declared once");
    assert_eq!(bollard[0]["optional"], true, "bollard is optional");
    assert!(bollard[0]["kind"].is_null(), "a normal dependency");
    let features = minicloud["features"].as_object().unwrap();
    assert_eq!(features["lab"], serde_json::json!(["dep:bollard"]));
    assert_eq!(features["default"], serde_json::json!(["lab"]));
    let enabling: Vec<&String> = features
        .iter()
        .filter(|(_, enables)| {
            enables
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().contains("bollard"))
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(enabling, ["lab"], "only the lab feature enables bollard");
    for other in ["roster", "roster-api"] {
        assert!(
            !built_with(package(&meta, other))
                .iter()
                .any(|(name, _)| name == "bollard"),
            "{other} depends on bollard"
        );
    }
}

/// Every file embedded by a `.rs` file under `dir` (`include_str!`, `include_bytes!`,
/// `sqlx::migrate!`), resolved as the compiler does: relative to the file for the includes, to
/// the crate's folder for `migrate!`.
fn embedded(krate: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![krate.join("src")];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (macro_call, base) in [
            ("include_str!(\"", path.parent().unwrap()),
            ("include_bytes!(\"", path.parent().unwrap()),
            ("migrate!(\"", krate),
        ] {
            for (at, _) in text.match_indices(macro_call) {
                let rest = &text[at + macro_call.len()..];
                let relative = &rest[..rest.find('"').unwrap()];
                found.push(base.join(relative));
            }
        }
    }
    found
}

/// `path` with `.` and `..` taken out, without touching the file system.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn the_roster_embeds_nothing_from_outside_its_own_crates() {
    for krate in ["roster", "roster-api"] {
        let dir = root().join("crates").join(krate);
        for file in embedded(&dir) {
            let file = normalized(&file);
            assert!(
                file.starts_with(&dir),
                "{krate} embeds {}, outside crates/{krate}: a change there would change the \
                 roster binary",
                file.display()
            );
        }
    }
    // The scan sees what the roster does embed, and what minicloud embeds from templates/.
    let roster = embedded(&root().join("crates/roster"));
    let roster: Vec<PathBuf> = roster.iter().map(|p| normalized(p)).collect();
    assert!(
        roster.contains(&root().join("crates/roster/src/page.html")),
        "{roster:?}"
    );
    assert!(
        roster.contains(&root().join("crates/roster/migrations")),
        "{roster:?}"
    );
    let minicloud = embedded(&root());
    assert!(
        minicloud
            .iter()
            .any(|p| normalized(p).starts_with(root().join("templates"))),
        "the scan finds minicloud's templates: {minicloud:?}"
    );
}
