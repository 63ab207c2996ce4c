//! The lab's base image, built offline from Debian's packages (no container registry is
//! reachable): debootstrap a root filesystem with `base-image.sh`, import it into Docker. The
//! tag is a hash of the recipe and the mirror, so the image is rebuilt only when they change.

use super::docker::Engine;
use crate::platform::Release;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The recipe, embedded so the binary can build the image anywhere.
pub const RECIPE: &str = include_str!("base-image.sh");
pub const REPOSITORY: &str = "minicloud-lab";

/// `<codename>-<hash of recipe, mirror and codename>`: one image per Debian release.
pub fn image_tag(mirror: &str, release: &Release) -> String {
    let digest = Sha256::digest(format!("{RECIPE}\n{mirror}\n{}", release.codename).as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", release.codename)
}

/// `minicloud-lab:<tag>` (see [`image_tag`]).
pub fn image_name(mirror: &str, release: &Release) -> String {
    format!("{REPOSITORY}:{}", image_tag(mirror, release))
}

/// The Debian mirror to debootstrap from: `MINICLOUD_DEBIAN_MIRROR`, else the first Debian
/// archive this machine's apt is configured with, else deb.debian.org.
pub fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("MINICLOUD_DEBIAN_MIRROR") {
        return mirror;
    }
    let deb822 =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let classic = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    mirror_from_sources(&deb822, &classic)
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_string())
}

/// First main-archive URI (not the security archive) in deb822 or one-line apt sources.
pub fn mirror_from_sources(deb822: &str, classic: &str) -> Option<String> {
    let deb822_uris = deb822
        .lines()
        .filter_map(|l| l.strip_prefix("URIs:"))
        .flat_map(|l| l.split_whitespace());
    let classic_uris = classic
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("deb "))
        .filter_map(|l| l.split_whitespace().find(|w| w.contains("://")));
    deb822_uris
        .chain(classic_uris)
        .find(|uri| !uri.contains("security"))
        .map(|uri| uri.trim_end_matches('/').to_string())
}

/// Build and import the image of `release` unless it exists. Returns its name.
pub async fn ensure_image(engine: &Engine, release: &Release) -> Result<String> {
    let mirror = debian_mirror();
    let name = image_name(&mirror, release);
    if engine.image_exists(&name).await? {
        return Ok(name);
    }
    if which("debootstrap").is_none() {
        bail!(
            "the lab image {name} must be built, but debootstrap is not installed; hint: apt-get install debootstrap (scripts/lab.sh does)"
        );
    }
    let work = tempfile::Builder::new()
        .prefix("minicloud-rootfs-")
        .tempdir_in("/var/tmp")
        .context("scratch folder in /var/tmp")?;
    let rootfs = work.path().join("rootfs");
    // A spinner on a terminal; elsewhere (CI) a line per step of the recipe.
    let bar = crate::output::Progress::start();
    bar.set_message(format!(
        "lab image {name}: building from {mirror} (about a minute or two)"
    ));
    let result = run_recipe(&rootfs, &mirror, release.codename, &bar).await;
    if let Err(err) = result {
        bar.finish_and_clear();
        return Err(err);
    }
    bar.set_message(format!("lab image {name}: importing into Docker"));
    engine
        .import_rootfs(&rootfs, REPOSITORY, &image_tag(&mirror, release))
        .await?;
    bar.finish_and_clear();
    bar.println(format!("lab image {name}: built"));
    Ok(name)
}

async fn run_recipe(
    rootfs: &Path,
    mirror: &str,
    suite: &str,
    bar: &crate::output::Progress,
) -> Result<()> {
    let mut child = tokio::process::Command::new("bash")
        .args(["-c", RECIPE, "base-image.sh"])
        .arg(rootfs)
        .arg(mirror)
        .arg(suite)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting bash for the image recipe")?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let stderr = child.stderr.take().expect("piped");
    let stderr_task = tokio::spawn(async move {
        let mut tail = Vec::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        tail
    });
    let mut log_tail = Vec::new();
    while let Some(line) = lines.next_line().await? {
        if let Some(step) = line.strip_prefix("step: ") {
            bar.set_message(format!("lab image: {step}"));
        }
        log_tail.push(line);
        if log_tail.len() > 20 {
            log_tail.remove(0);
        }
    }
    let status = child.wait().await?;
    let err_tail = stderr_task.await.unwrap_or_default();
    if !status.success() {
        bail!(
            "the lab image recipe failed ({status}); last output:\n{}\n{}\nhint: the lab host must reach the \
             Debian mirror {mirror} (set MINICLOUD_DEBIAN_MIRROR to use another)",
            log_tail.join("\n"),
            err_tail.join("\n")
        );
    }
    Ok(())
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
        .or_else(|| {
            ["/usr/sbin", "/sbin"]
                .iter()
                .map(|d| Path::new(d).join(program))
                .find(|p| p.is_file())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_is_read_from_deb822_or_classic_sources() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nURIs: http://deb.debian.org/debian-security\n";
        assert_eq!(
            mirror_from_sources(deb822, "").as_deref(),
            Some("http://mirror.example/debian")
        );
        let classic = "# comment\ndeb http://security.debian.org/debian-security bookworm-security main\ndeb [arch=amd64] http://ftp.example/debian/ bookworm main\n";
        assert_eq!(
            mirror_from_sources("", classic).as_deref(),
            Some("http://ftp.example/debian")
        );
        assert_eq!(mirror_from_sources("", ""), None);
    }

    #[test]
    fn tag_follows_recipe_mirror_and_release() {
        let [bookworm, trixie] = [
            &crate::platform::SUPPORTED[0],
            &crate::platform::SUPPORTED[1],
        ];
        assert_eq!(
            image_tag("http://a/debian", bookworm),
            image_tag("http://a/debian", bookworm)
        );
        assert_ne!(
            image_tag("http://a/debian", bookworm),
            image_tag("http://b/debian", bookworm)
        );
        assert_ne!(
            image_tag("http://a/debian", bookworm),
            image_tag("http://a/debian", trixie)
        );
        assert!(image_tag("x", trixie).starts_with("trixie-"));
    }
}
