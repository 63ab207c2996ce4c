//! The command line: what each command takes and does, in one place.

use crate::inventory;

use crate::render;
use crate::secrets::Secrets;
use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "minicloud",
    version,
    about = "Provision a high-availability web stack (HAProxy + keepalived, the roster app, MariaDB \
             Galera or Aerospike) over SSH from one inventory YAML.",
    after_help = "Start with `minicloud validate -i inventory/example.yml`, then `minicloud render \
                  -i inventory/example.yml --out rendered/` to see every file each host would get.\n\
                  Exit codes: 0 ok, 1 ran but unhealthy, 2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an inventory and print every problem at once (offline; touches no host).
    ///
    /// Exit 0 when the inventory is fit to use, 2 when it is not. Each problem names the file,
    /// its line and column or key path, and a hint.
    #[command(after_help = "Example:\n  minicloud validate -i inventory/example.yml")]
    Validate {
        /// Inventory file.
        #[arg(short, long, env = "MINICLOUD_INVENTORY")]
        inventory: PathBuf,
    },
    /// Render every config file per host (offline; touches no host). Secrets are masked.
    ///
    /// With --out DIR, writes DIR/<host>/<path on the host> for every host (DIR must be new,
    /// empty, or an earlier render output, which is replaced as a whole). With --host NAME
    /// --file PATH, prints one file; with --host alone, lists that host's files.
    #[command(
        after_help = "Examples:\n  minicloud render -i inventory/example.yml --out rendered/\n  \
                            minicloud render -i inventory/example.yml --host lb1 --file /etc/haproxy/haproxy.cfg"
    )]
    Render {
        /// Inventory file.
        #[arg(short, long, env = "MINICLOUD_INVENTORY")]
        inventory: PathBuf,
        /// Folder to write every host's files into.
        #[arg(long, conflicts_with_all = ["host", "file"], required_unless_present = "host")]
        out: Option<PathBuf>,
        /// Host whose files to list or print.
        #[arg(long)]
        host: Option<String>,
        /// Path on the host of the one file to print (with --host).
        #[arg(long, requires = "host")]
        file: Option<String>,
    },
}

/// Run one command; `Err` is an error the user sees with its causes (exit 2).
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { inventory } => {
            let inv = inventory::load(&inventory)?;
            println!("{}: ok ({} hosts)", inventory.display(), inv.hosts.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Render {
            inventory,
            out,
            host,
            file,
        } => {
            let inv = inventory::load(&inventory)?;
            let rendered = render::render_all(&inv, &Secrets::masked())?;
            if let Some(dir) = out {
                let count = render::dir::write_render_dir(&dir, &rendered)?;
                println!(
                    "wrote {count} files for {} hosts into {} (secrets masked)",
                    rendered.len(),
                    dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let host = host.expect("clap: --host is required without --out");
            let Some(files) = rendered.get(&host) else {
                let known: Vec<&str> = rendered.keys().map(String::as_str).collect();
                bail!(
                    "no host \"{host}\" in {} (hosts: {})",
                    inventory.display(),
                    known.join(", ")
                );
            };
            match file {
                None => files
                    .iter()
                    .for_each(|f| println!("{:o} {}:{} {}", f.mode, f.owner, f.group, f.path)),
                Some(path) => match files.iter().find(|f| f.path == path) {
                    Some(f) => print!("{}", f.content),
                    None => {
                        let paths: Vec<&str> = files.iter().map(|f| f.path).collect();
                        bail!(
                            "host {host} gets no file {path} (its files: {})",
                            paths.join(", ")
                        );
                    }
                },
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
