//! The bastion layout's wall: this machine must not reach the lab networks itself, only the
//! bastion on mgmt. Docker gives this machine an address on every bridge it makes, so the wall
//! is explicit: an nftables table of the lab's own ([`TABLE`]) whose output hook rejects new
//! connections from this machine to the frontend and backend subnets. Traffic between
//! containers is bridged, never this machine's output, so the bastion still reaches the hosts;
//! replies to connections the hosts open (`established`) still pass.
//!
//! The table is created whole by `lab up --bastion` and deleted whole by `lab up` without it
//! and by `lab down`; no other table or rule (Docker's, anyone's) is touched.

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;

/// The lab's own nftables table (family inet).
pub const TABLE: &str = "minicloud_lab";

/// Rules that wall this machine off `subnets`, replacing any earlier version of the table in
/// one transaction (declaring the table first makes the delete safe when there is none).
pub fn wall_script(subnets: &[&str]) -> String {
    let set = subnets.join(", ");
    format!(
        "table inet {TABLE}\ndelete table inet {TABLE}\n\
         table inet {TABLE} {{\n\
         \x20 comment \"minicloud lab: this machine reaches the lab hosts only through the bastion\"\n\
         \x20 chain output {{\n\
         \x20   type filter hook output priority filter; policy accept;\n\
         \x20   ip daddr {{ {set} }} ct state established,related accept\n\
         \x20   ip daddr {{ {set} }} reject with icmpx type admin-prohibited\n\
         \x20 }}\n\
         }}\n"
    )
}

/// Removes the table, whether it is there or not.
pub fn remove_script() -> String {
    format!("table inet {TABLE}\ndelete table inet {TABLE}\n")
}

/// Wall this machine off `subnets`.
pub async fn wall(subnets: &[&str]) -> Result<()> {
    nft(&wall_script(subnets)).await.map_err(|err| {
        err.context(
            "walling this machine off the lab networks; hint: the bastion layout needs nftables \
             (apt-get install nftables) and root",
        )
    })
}

/// Take the wall down (nothing to do when nft is not installed: it cannot have been built).
pub async fn remove() -> Result<()> {
    match nft(&remove_script()).await {
        Err(err) if is_missing_nft(&err) => Ok(()),
        other => other.context("removing the lab's nftables table"),
    }
}

/// Whether the lab's table is loaded.
pub async fn present() -> Result<bool> {
    let out = tokio::process::Command::new("nft")
        .args(["list", "table", "inet", TABLE])
        .output()
        .await;
    match out {
        Ok(out) => Ok(out.status.success()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err).context("running nft"),
    }
}

fn is_missing_nft(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
}

/// `nft -f -` with `script` on its input, as one transaction.
async fn nft(script: &str) -> Result<()> {
    let mut child = tokio::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(script.as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await.context("waiting for nft")?;
    if !out.status.success() {
        bail!(
            "nft -f refused the rules: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_is_one_table_of_the_labs_own_replaced_whole() {
        let script = wall_script(&["10.231.50.0/24", "10.231.60.0/24"]);
        // Replaced as a whole, in one transaction; nothing outside the table is named.
        assert!(script.starts_with(
            "table inet minicloud_lab\ndelete table inet minicloud_lab\ntable inet minicloud_lab {"
        ));
        assert_eq!(script.matches("table ").count(), 3, "{script}");
        assert!(!script.contains("flush"), "{script}");
        // Only this machine's own output, only the lab's subnets, new connections refused.
        assert!(script.contains("type filter hook output priority filter; policy accept;"));
        assert!(script.contains(
            "ip daddr { 10.231.50.0/24, 10.231.60.0/24 } reject with icmpx type admin-prohibited"
        ));
        let accept = script.find("ct state established,related accept").unwrap();
        assert!(accept < script.find("reject").unwrap(), "{script}");
        assert_eq!(
            remove_script(),
            "table inet minicloud_lab\ndelete table inet minicloud_lab\n"
        );
    }

    #[test]
    fn a_missing_nft_is_told_apart_from_a_refusal() {
        let missing = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(is_missing_nft(&missing));
        assert!(!is_missing_nft(&anyhow::anyhow!(
            "nft -f refused the rules"
        )));
    }
}
