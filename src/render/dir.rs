//! Writing a whole render to a local folder, all or nothing.
//!
//! Files go into a fresh sibling folder first, which then takes the target's place, so a failed
//! or interrupted render never leaves a half-written tree. A folder is only replaced if it is
//! empty or carries the marker of an earlier render: never someone's unrelated files.

use super::HostFile;
use anyhow::{Context, Result, bail};
use indexmap::IndexMap;
use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Marker file that says "this folder is minicloud render output".
const MARKER: &str = ".minicloud-render";

/// Write `DIR/<host>/<path>` for every file; returns how many files were written.
pub fn write_render_dir(dir: &Path, rendered: &IndexMap<String, Vec<HostFile>>) -> Result<usize> {
    if dir.exists() && !is_replaceable(dir)? {
        bail!(
            "{} exists and is not an earlier render output (no {MARKER} in it); \
             hint: pass a new or empty folder to --out",
            dir.display()
        );
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = sibling(dir, "new");
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("removing stale {}", staging.display()))?;
    }
    let count = write_tree(&staging, rendered).inspect_err(|_| {
        let _ = fs::remove_dir_all(&staging);
    })?;
    if dir.exists() {
        let old = sibling(dir, "old");
        fs::rename(dir, &old).with_context(|| format!("moving the old {} aside", dir.display()))?;
        fs::rename(&staging, dir)
            .with_context(|| format!("putting the new {} in place", dir.display()))?;
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    } else {
        fs::rename(&staging, dir).with_context(|| format!("putting {} in place", dir.display()))?;
    }
    Ok(count)
}

fn is_replaceable(dir: &Path) -> Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let mut entries = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    Ok(dir.join(MARKER).is_file() || entries.next().is_none())
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "render".into());
    dir.with_file_name(format!(".{name}.{suffix}"))
}

fn write_tree(root: &Path, rendered: &IndexMap<String, Vec<HostFile>>) -> Result<usize> {
    fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    fs::write(
        root.join(MARKER),
        "written by `minicloud render`; replaced as a whole by the next one\n",
    )?;
    let mut count = 0;
    for (host, files) in rendered {
        for file in files {
            let target = root.join(host).join(file.path.trim_start_matches('/'));
            fs::create_dir_all(target.parent().expect("a file path has a parent"))?;
            // Created with its final mode: a file holding a secret is never readable by others.
            let mut out = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(file.mode)
                .open(&target)
                .with_context(|| format!("writing {}", target.display()))?;
            std::io::Write::write_all(&mut out, file.content.as_bytes())
                .with_context(|| format!("writing {}", target.display()))?;
            fs::set_permissions(&target, fs::Permissions::from_mode(file.mode))?;
            count += 1;
        }
    }
    Ok(count)
}
