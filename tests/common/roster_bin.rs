//! Where the roster binary built with the minicloud under test is. Shared by the tests
//! (`tests/common`) and the benchmarks (`benches/common`, through `#[path]`).
//!
//! Cargo names only the test's own package's binaries (`CARGO_BIN_EXE_minicloud`), and the
//! roster is a package of its own (`crates/roster`): it is found beside minicloud in the target
//! folder (`target/debug/roster`), where an installed minicloud finds it too. `cargo build` and
//! `cargo test` at the workspace root build it; `cargo test --test NAME` alone does not, so a
//! roster older than its sources is refused too (the test would ship yesterday's app).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The roster binary beside the minicloud under test. Panics, saying how to build it, when it
/// is missing or older than its sources.
pub fn roster_bin() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = Path::new(env!("CARGO_BIN_EXE_minicloud")).with_file_name("roster");
        let release = path.parent().is_some_and(|dir| dir.ends_with("release"));
        let build = if release {
            "cargo build --release -p roster"
        } else {
            "cargo build -p roster"
        };
        let built = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| {
                panic!(
                    "no roster binary at {} (beside the minicloud under test); hint: `{build}`, \
                     or run `cargo build` / `cargo test` at the workspace root, which build every \
                     member",
                    path.display()
                )
            });
        if let Some((newer, _)) = newest_source().filter(|(_, changed)| *changed > built) {
            panic!(
                "the roster binary at {} is older than {}; hint: `{build}` (`cargo test --test \
                 NAME` builds only minicloud)",
                path.display(),
                newer.display()
            );
        }
        path.to_str().expect("a UTF-8 target folder").to_string()
    })
}

/// The most recently changed source of the roster binary: the `.rs` and `.html` files under
/// `src/` of its crate and of roster-api (all of which cargo tracks, so a build after a change
/// always relinks the binary; a manifest edit may not, hence not the manifests).
fn newest_source() -> Option<(PathBuf, SystemTime)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    let mut pending: Vec<PathBuf> = ["roster", "roster-api"]
        .iter()
        .map(|krate| root.join(krate).join("src"))
        .collect();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "html")
            && let Ok(changed) = meta.modified()
            && newest.as_ref().is_none_or(|(_, t)| changed > *t)
        {
            newest = Some((path, changed));
        }
    }
    newest
}
