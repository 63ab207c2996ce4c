//! The command line: what each command takes and does, in one place.

use crate::converge;
use crate::drill::{self, DrillOptions, catalog::DrillName};
use crate::inventory;
#[cfg(feature = "lab")]
use crate::inventory::Net;
#[cfg(feature = "lab")]
use crate::lab::{self, Lab};
use crate::lab_dir::LabDir;
use crate::output::{self, ColorChoice};

use crate::render;
use crate::secrets::Secrets;
use crate::status::{self, StatusOptions, StatusReader};
use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "minicloud",
    version,
    about = "Provision a high-availability web stack (HAProxy + keepalived, the roster app, MariaDB \
             Galera or Aerospike) over SSH from one inventory YAML.",
    after_help = "Start with `minicloud validate -i inventory/example.yml`, then `minicloud render \
                  -i inventory/example.yml --out rendered/` to see every file each host would get.\n\
                  Exit codes: 0 ok, 1 ran but unhealthy, 2 error, 3 changes pending (only `plan \
                  --detailed-exitcode`). JSON outputs (--json) are described in docs/json.md."
)]
/// The command line as parsed: the global flags and one command.
pub struct Cli {
    /// Log what minicloud does to stderr: -v each step, -vv every SSH command too (secret
    /// values are masked; what goes to a host on stdin is never logged).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only errors and the final verdict (no progress, no per-host lines). JSON output
    /// and what a command is asked to print (a rendered file) are unaffected.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour output: auto is on a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command, with its flags.
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
        /// Print the outcome as JSON on stdout: every problem with its key path, line, column,
        /// message and hint (docs/json.md). The exit code is the same.
        #[arg(long)]
        json: bool,
    },
    /// Render every config file per host (offline; touches no host). Secrets are masked
    /// unless --show-secrets.
    ///
    /// With --out DIR, writes DIR/<host>/<path on the host> for every host (DIR must be new,
    /// empty, or an earlier render output, which is replaced as a whole; files keep the mode
    /// they get on the host, so secret files stay private). With --host NAME --file PATH,
    /// prints one file; with --host alone, lists that host's files.
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
        /// Fill in the real secrets from the inventory's secrets file (and MINICLOUD_* variables)
        /// instead of masks. The output then holds passwords: keep it private.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Converge the hosts to the inventory: install, configure, start, in quorum-safe order.
    ///
    /// Reads every host first (nothing changes unless all answer), then: packages, the Galera
    /// tier (bootstrap from the most advanced node or join one node at a time, each gated on
    /// Synced), the DB VIP, garbd, the roster app (rolling, each gated on /healthz), HAProxy and
    /// keepalived (backup before the VIP holder), and checks that the VIP serves. Only what
    /// differs is touched: a second run changes nothing. Exit 0 converged, 2 failed.
    ///
    /// With --limit, only the hosts named change; `plan --limit` with the same words shows
    /// exactly those steps.
    #[command(
        after_help = "Examples:\n  minicloud up                      (the lab's inventory)\n  \
                            minicloud up -i prod.yml --accept-new-host-keys\n  minicloud up --json\n  \
                            minicloud up --limit app1         (only app1 changes; the others are read)\n  \
                            minicloud up --limit db,lb2       (every db host, and lb2)\n\n\
                      Ctrl-C stops after the commands in progress on each host and reports what was\n\
                      done (exit 130); a second Ctrl-C stops at once. Either way the next `up`\n\
                      continues from where this one stopped."
    )]
    Up {
        /// Which inventory, and how to reach its hosts.
        #[command(flatten)]
        target: TargetArgs,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Seconds to wait for a host that another `up` is working on (one run at a time per
        /// host), before giving up without changing anything.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        lock_wait: u64,
        #[command(flatten)]
        limit: LimitArgs,
    },
    /// Show what `up` would change on each host, with a diff of every file; changes nothing.
    ///
    /// Exit 0 whether or not changes are pending, 2 when it could not run; with
    /// --detailed-exitcode, 0 in sync, 3 changes pending, 2 error (a CI drift check).
    #[command(
        after_help = "Examples:\n  minicloud plan                    (the lab's inventory)\n  \
                            minicloud plan -i prod.yml --detailed-exitcode   (0 in sync, 3 drift, 2 error)\n  \
                            minicloud plan --json | jq '.hosts.lb1.steps'\n  \
                            minicloud plan --limit app1       (what `up --limit app1` would do)\n\n\
                      The --json shape is documented in docs/json.md."
    )]
    Plan {
        /// Which inventory, and how to reach its hosts.
        #[command(flatten)]
        target: TargetArgs,
        /// Print the steps per host as JSON on stdout (docs/json.md).
        #[arg(long)]
        json: bool,
        /// Exit 3 when changes are pending, 0 when every host is in sync (2 stays an error).
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        limit: LimitArgs,
    },
    /// The whole cluster's health: a verdict, the VIPs, one table per tier. Changes nothing.
    ///
    /// Every host is read in parallel over SSH with one read-only command (services, VIPs held,
    /// Galera state, HAProxy's view of its backends, the roster's /readyz); a host that does
    /// not answer within --timeout is shown as unreachable without holding up the others. The
    /// frontend VIP is asked for /api/v1/roster from here, as a client would. The verdict is
    /// `healthy`, `degraded: <why>` (serving, redundancy lost) or `down: <why>` (clients are
    /// refused). Exit 0 healthy, 1 degraded or down, 2 could not run. Host keys must already be
    /// known (`up --accept-new-host-keys` records them); status never writes known_hosts.
    #[command(
        after_help = "Examples:\n  minicloud status                  (the lab's inventory)\n  \
                            minicloud status -i prod.yml --json | jq .summary\n  \
                            minicloud status --watch --interval 1\n  \
                            minicloud status --limit db       (the db hosts' rows and verdict only)\n\n\
                      The --json shape is documented in docs/status.md."
    )]
    Status(StatusArgs),
    /// HA drills under live load that prove nothing was lost. Exit 0 all passed, 1 a drill
    /// missed its budget, 2 could not run.
    ///
    /// Each drill: status must be healthy → reads and writes start through the frontend VIP
    /// (every write unique, recorded when acknowledged) → the fault is injected, after its
    /// dead-man switch is armed on the host (it undoes the fault by itself should this run be
    /// interrupted) → held under load → undone → status healthy again → every acknowledged
    /// write is read back from every db node directly → figures against the budget. Faults:
    /// app-down, app-crash, lb-down, db-crash, db-partition, db-total-outage (whose recovery
    /// is `minicloud up`). Planned changes, which clients must not notice (no failed request,
    /// write gap within --max-write-gap-planned[-db]): db-stop (the DB VIP drained off its holder,
    /// then a clean stop) and rolling-change-app|lb|db (`up` with one harmless setting of the
    /// tier changed in memory, then `up` again to roll it back). Ctrl-C undoes the fault in
    /// place and stops.
    ///
    /// On an inventory that is not the lab's, the drills to run are named and confirmed first
    /// (on a terminal, or with --yes), and db-total-outage (every db node killed at once) runs
    /// only when named with --drill.
    #[command(
        name = "failover-test",
        after_help = "Examples:\n  minicloud failover-test --dry-run\n  \
                            minicloud failover-test --drill app-down,lb-down\n  \
                            minicloud failover-test --json --report reports/\n  \
                            minicloud failover-test --repeat 10 --drill db-crash,lb-down\n\n\
                      The HTML report (one SVG timeline per drill) goes to --report DIR \
                      (default .minicloud/reports/<time>/)."
    )]
    FailoverTest(FailoverTestArgs),
    /// The stack's secrets: which there are, where each comes from, and rotating one.
    ///
    /// Secrets live in `<inventory>.secrets.yml` beside the inventory (mode 0600, generated by
    /// the first `up`); MINICLOUD_ROSTER_DB_PASSWORD, MINICLOUD_SST_PASSWORD and
    /// MINICLOUD_HAPROXY_STATS_PASSWORD override the file. No command prints a value.
    #[command(
        after_help = "Examples:\n  minicloud secrets list\n  minicloud secrets rotate roster-db-password"
    )]
    Secrets {
        /// `list` or `rotate`.
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Local lab hosts: Docker containers that boot systemd and sshd like small VMs.
    ///
    /// `lab up` writes an inventory for them (.minicloud/lab/inventory.yml, or under
    /// MINICLOUD_LAB_DIR) that every other command can use. Needs root and a running dockerd.
    #[command(
        after_help = "Examples:\n  minicloud lab up\n  minicloud lab status\n  \
                            minicloud lab kill db1 && minicloud lab start db1\n  \
                            minicloud lab partition db2 --network backend && minicloud lab heal db2 --network backend\n  \
                            minicloud lab up --bastion        (hosts reached only through a bastion)\n  \
                            minicloud lab down"
    )]
    #[cfg(feature = "lab")]
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// Print the inventory's JSON Schema (draft 2020-12), generated from the types minicloud
    /// reads the inventory into: editors complete and check an inventory with it.
    ///
    /// The same schema is committed as docs/inventory.schema.json, which the example
    /// inventories name in their first line for yaml-language-server (VS Code's YAML extension,
    /// Neovim, Helix). Some checks only `validate` makes (addresses inside their network,
    /// quorum, unique VRRP ids).
    #[command(
        after_help = "Examples:\n  minicloud schema > inventory.schema.json\n\n\
                            Then, first line of an inventory:\n  \
                            # yaml-language-server: $schema=./inventory.schema.json"
    )]
    Schema,
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = "Examples:\n  \
                            minicloud completions bash > /etc/bash_completion.d/minicloud\n  \
                            minicloud completions zsh > \"${fpath[1]}/_minicloud\"\n  \
                            minicloud completions fish > ~/.config/fish/completions/minicloud.fish")]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page, or with --out DIR write one per command (minicloud.1,
    /// minicloud-plan.1, minicloud-lab-up.1, ...).
    #[command(after_help = "Examples:\n  minicloud man | man -l -\n  \
                            minicloud man --out /usr/local/share/man/man1")]
    Man {
        /// Folder to write every command's page into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// What `status` takes.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Inventory file (default: the lab's, .minicloud/lab/inventory.yml or under MINICLOUD_LAB_DIR).
    #[arg(short, long, env = "MINICLOUD_INVENTORY")]
    pub inventory: Option<PathBuf>,
    /// Print JSON (see docs/status.md); with --watch, one object per line.
    #[arg(long)]
    pub json: bool,
    /// Check again every --interval seconds until Ctrl-C (SSH connections stay open).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between checks with --watch.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,
    /// Ask for the passphrase of an encrypted SSH key on the terminal, even when the ssh-agent
    /// holds it (without this flag: the agent, else the terminal is asked anyway).
    #[arg(long)]
    pub ask_pass: bool,
    /// Longest wait for one host (connect and read); each /readyz check gets half of it
    /// (between 1 and 3 s), so a roster stuck on its database does not hide its host.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Show and judge only these hosts (comma-separated host and role names, e.g. db or
    /// db1,app). Every host is still read, as the tiers' verdicts need them (Galera's size,
    /// who holds a VIP), but a problem of a host outside the limit is not counted, and one
    /// that does not answer is a warning. The verdict line says the view is limited: a
    /// limited `healthy` says nothing of the hosts outside it.
    #[arg(long, value_name = "HOSTS|ROLES")]
    pub limit: Option<String>,
}

/// `--limit` of `up` and `plan`.
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Change only these hosts: host and role names, comma-separated (e.g. app1, db, or
    /// lb,db1; `host:NAME` / `role:NAME` when a name is both). The other hosts are still read
    /// where a gate or a decision needs them (Galera quorum, who holds a VIP, which node
    /// bootstraps) and are never changed; one that cannot be reached is only a warning,
    /// unless a kept step needs it, which refuses the run before anything changes.
    #[arg(long, value_name = "HOSTS|ROLES")]
    pub limit: Option<String>,
}

/// `--limit` checked and matched against the inventory, before any host is contacted (a bad
/// word is an error, exit 2). Parsed here rather than by clap, whose own error would echo
/// the raw value, control characters and all.
fn resolve_limit(
    inv: &inventory::Inventory,
    text: Option<&str>,
) -> Result<Option<crate::limit::Limit>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let arg = crate::limit::parse(text).map_err(anyhow::Error::msg)?;
    Ok(Some(crate::limit::Limit::resolve(inv, &arg)?))
}

/// What `failover-test` takes.
#[derive(Debug, clap::Args)]
pub struct FailoverTestArgs {
    /// Which inventory, and how to reach its hosts.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Drills to run, comma-separated (default: all that apply to the inventory).
    #[arg(long, value_delimiter = ',')]
    pub drill: Vec<DrillName>,
    /// Print what each drill would do, and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Folder for the HTML report and report.json.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Seconds each fault is held under load before it is undone.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub hold: u64,
    /// Seconds after a fault at which its dead-man switch undoes it if this run has not
    /// (default: hold + 60; hold + 300 for the total outage). Must exceed --hold.
    #[arg(long, value_name = "SECONDS")]
    pub dead_man: Option<u64>,
    /// Budget: failed requests allowed in app-down and app-crash.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_failed_app: u64,
    /// Budget: longest gap without a successful request in lb-down.
    #[arg(long, default_value_t = drill::catalog::LB_MAX_GAP_SECONDS, value_name = "SECONDS")]
    pub max_gap_lb: f64,
    /// Budget: longest gap without a successful write in db drills (not the total outage).
    #[arg(long, default_value_t = drill::catalog::DB_MAX_WRITE_GAP_SECONDS, value_name = "SECONDS")]
    pub max_write_gap_db: f64,
    /// Budget: longest gap without a successful write in the app and lb tiers' planned
    /// changes (rolling-change-app, rolling-change-lb; they must also fail no request).
    #[arg(long, default_value_t = drill::catalog::PLANNED_MAX_WRITE_GAP_SECONDS, value_name = "SECONDS")]
    pub max_write_gap_planned: f64,
    /// Budget: the same for the db tier's planned changes (db-stop, rolling-change-db).
    #[arg(long, default_value_t = drill::catalog::PLANNED_DB_MAX_WRITE_GAP_SECONDS, value_name = "SECONDS")]
    pub max_write_gap_planned_db: f64,
    /// Writes per second of the load.
    #[arg(long, default_value_t = drill::load::Rates::default().writes_per_second)]
    pub writes_per_second: u32,
    /// Reads per second of the load.
    #[arg(long, default_value_t = drill::load::Rates::default().reads_per_second)]
    pub reads_per_second: u32,
    /// HTTP connections the load's requests are spread over (each client keeps its own).
    #[arg(long, default_value_t = drill::load::DEFAULT_CONNECTIONS,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub connections: u16,
    /// Run the selected drills this many times, then print a summary per drill: passes of N,
    /// worst gaps, p50/p99 of the longest write gap, failed requests in all, the load's
    /// lowest rate (with --json, an object: see docs/json.md).
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Run on an inventory that is not the lab's without asking (the drills break real
    /// hosts on purpose). Without it, a terminal is asked, and anything else refused.
    #[arg(long)]
    pub yes: bool,
}

impl FailoverTestArgs {
    /// The drills' options from the flags (`lab`: the lab's folder when the inventory is
    /// the lab's).
    fn drill_options(&self, path: &std::path::Path, lab: Option<LabDir>) -> DrillOptions {
        DrillOptions {
            drills: self.drill.clone(),
            hold: Duration::from_secs(self.hold),
            dead_man: self.dead_man.map(Duration::from_secs),
            budgets: drill::catalog::Budgets {
                app_max_failed: self.max_failed_app,
                lb_max_gap_seconds: self.max_gap_lb,
                db_max_write_gap_seconds: self.max_write_gap_db,
                planned_max_write_gap_seconds: self.max_write_gap_planned,
                planned_db_max_write_gap_seconds: self.max_write_gap_planned_db,
            },
            rates: drill::load::Rates {
                writes_per_second: self.writes_per_second,
                reads_per_second: self.reads_per_second,
                connections: usize::from(self.connections),
                ..Default::default()
            },
            lab,
            inventory_path: path.to_path_buf(),
            converge: self.target.options(),
            healthy_timeout: Duration::from_secs(180),
        }
    }
}

/// Which inventory, and how to reach its hosts.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Inventory file (default: the lab's, .minicloud/lab/inventory.yml or under MINICLOUD_LAB_DIR).
    #[arg(short, long, env = "MINICLOUD_INVENTORY")]
    pub inventory: Option<PathBuf>,
    /// Record host keys not yet in known_hosts (after you checked their fingerprints). A
    /// changed key is refused regardless.
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Ask for the passphrase of an encrypted SSH key on the terminal, even when the ssh-agent
    /// holds it (without this flag: the agent, else the terminal is asked anyway). Never
    /// stored; without a terminal, an error.
    #[arg(long)]
    pub ask_pass: bool,
    /// The roster binary to ship to app hosts (default: `roster` beside this program, or
    /// MINICLOUD_ROSTER_BIN).
    #[arg(long)]
    pub roster_binary: Option<PathBuf>,
}

/// The inventory given, else the lab's.
fn inventory_or_lab(inventory: Option<&PathBuf>) -> Result<PathBuf> {
    match inventory {
        Some(path) => Ok(path.clone()),
        None => Ok(LabDir::from_env()?.inventory()),
    }
}

impl TargetArgs {
    fn inventory_path(&self) -> Result<PathBuf> {
        inventory_or_lab(self.inventory.as_ref())
    }

    fn options(&self) -> converge::Options {
        converge::Options {
            accept_new_host_keys: self.accept_new_host_keys,
            lock_wait: Duration::from_secs(60),
            roster_binary: self.roster_binary.clone(),
            limit: None,
        }
    }
}

/// `secrets list` and `secrets rotate`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Name each secret, what it is for and where its value comes from (never the value).
    List {
        /// Inventory file (default: the lab's).
        #[arg(short, long, env = "MINICLOUD_INVENTORY")]
        inventory: Option<PathBuf>,
        /// Print the list as JSON on stdout (docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Give one secret a new random value and roll it out with `up`, safely: the roster's
    /// database password is changed one app host at a time, each just before that host
    /// restarts with it (gated on /healthz and /readyz); the SST password is applied without
    /// restarting MariaDB; HAProxy reloads gracefully; the file sync key is replaced on every
    /// app host, then lsyncd restarts. The secrets file is written first: should the rollout
    /// stop, the next `up` finishes it.
    Rotate {
        /// roster-db-password, sst-password, haproxy-stats-password or file-sync-key.
        name: String,
        /// Which inventory, and how to reach its hosts.
        #[command(flatten)]
        target: TargetArgs,
        /// Print up's report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// `minicloud lab ...` (only with the `lab` feature).
#[cfg(feature = "lab")]
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Create or repair the lab: networks, hosts, SSH key, known_hosts, inventory.
    ///
    /// Idempotent: a healthy host is left alone, a stopped one started, a missing or outdated
    /// one (re)created, hosts no longer listed removed. The base image is built once (a minute
    /// or two, from Debian's packages) and reused while its recipe is unchanged.
    Up {
        /// Hosts by kind and number: lbN (HAProxy), appN (roster; app1 also garbd when the db
        /// hosts are even), dbN (Galera), asN (Aerospike).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "lb1,lb2,app1,app2,db1,db2"
        )]
        hosts: Vec<String>,
        /// Folders the lab's inventory keeps in sync across the app hosts (services.file_sync),
        /// comma-separated, e.g. /srv/shared.
        #[arg(long, value_delimiter = ',', value_name = "PATHS")]
        file_sync: Vec<String>,
        /// The hosts' OS: debian-12 (bookworm) or debian-13 (trixie). Hosts made from another
        /// release's image are recreated.
        #[arg(long, default_value = "debian-12", value_parser = parse_release)]
        os: &'static crate::platform::Release,
        /// Put the hosts behind a bastion: a `bastion` host on a third network (mgmt,
        /// 10.231.70.0/24) is all this machine reaches (an nftables table of the lab's own,
        /// `inet minicloud_lab`, rejects its connections to the lab networks); the inventory
        /// reaches every host through it, by name, as the sudo user `deploy`, and lets SSH in
        /// from the bastion only. `status` and `failover-test` then ask the frontend VIP
        /// through the bastion too. `lab up` without it (or `lab down`) removes the wall; after
        /// an `up` behind the bastion the hosts let SSH in from it only, so go back with
        /// `lab down` first.
        #[arg(long)]
        bastion: bool,
    },
    /// Remove every container and network the lab created, its nftables table (the bastion
    /// layout's wall) and its local files (the image stays).
    Down,
    /// List the lab's hosts: container running, reachable over SSH. Exit 1 when one is not.
    Status {
        /// Print the list as JSON on stdout (docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Stop a host cleanly (systemd shuts its services down).
    Stop { host: String },
    /// Kill a host (SIGKILL to the container): nothing gets to shut down.
    Kill { host: String },
    /// Start a stopped or killed host and wait until it has booted.
    Start { host: String },
    /// Cut a host's link to one network, as if its cable were pulled.
    Partition {
        host: String,
        #[arg(long, value_enum)]
        network: NetworkArg,
    },
    /// Restore a host's link cut by `partition`.
    Heal {
        host: String,
        #[arg(long, value_enum)]
        network: NetworkArg,
    },
}

/// `--network` of `lab partition` and `lab heal`.
#[cfg(feature = "lab")]
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NetworkArg {
    /// The clients' network (lb and app hosts).
    Frontend,
    /// The database network (app and db hosts).
    Backend,
}

#[cfg(feature = "lab")]
impl From<NetworkArg> for Net {
    fn from(arg: NetworkArg) -> Net {
        match arg {
            NetworkArg::Frontend => Net::Frontend,
            NetworkArg::Backend => Net::Backend,
        }
    }
}

/// How a command ended. [`Outcome::code`] is the one place its exit code is decided (an
/// `Err` is 2, printed by `main` with its causes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: done; healthy; in sync; every drill passed.
    Ok,
    /// 1: ran, but the stack is degraded or down, or a drill missed its budget.
    Unhealthy,
    /// 2: did not do what was asked, and said why (`validate --json` of a bad inventory,
    /// an `up` that stopped on a failed step).
    Failed,
    /// 3: `plan --detailed-exitcode` with changes pending (as Terraform's
    /// `-detailed-exitcode`, but with 2 kept for errors, as in every other command).
    ChangesPending,
    /// 130: `up` stopped by Ctrl-C.
    Interrupted,
}

impl Outcome {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Unhealthy => 1,
            Outcome::Failed => 2,
            Outcome::ChangesPending => 3,
            Outcome::Interrupted => 130,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(outcome.code())
    }
}

/// Run the async part of a command to its end: the process's one tokio runtime is built here.
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Runtime::new()?.block_on(work)
}

/// Run one command; `Err` is an error the user sees with its causes (exit 2).
pub fn run(cli: Cli) -> Result<ExitCode> {
    let settings = output::init(cli.color, cli.quiet);
    crate::logging::init(cli.verbose, settings.color_stderr);
    crate::ssh::passphrase::set_ask_pass(match &cli.command {
        Command::Up { target, .. } | Command::Plan { target, .. } => target.ask_pass,
        Command::Status(args) => args.ask_pass,
        Command::FailoverTest(args) => args.target.ask_pass,
        Command::Secrets {
            command: SecretsCommand::Rotate { target, .. },
        } => target.ask_pass,
        _ => false,
    });
    let outcome = match cli.command {
        Command::Validate { inventory, json } => cmd_validate(&inventory, json)?,
        Command::Render {
            inventory,
            out,
            host,
            file,
            show_secrets,
        } => cmd_render(&inventory, out, host, file, show_secrets)?,
        Command::Up {
            target,
            json,
            lock_wait,
            limit,
        } => cmd_up(&target, json, lock_wait, limit.limit.as_deref())?,
        Command::Plan {
            target,
            json,
            detailed_exitcode,
            limit,
        } => cmd_plan(
            &target,
            json,
            detailed_exitcode,
            limit.limit.as_deref(),
            settings,
        )?,
        Command::Status(args) => cmd_status(&args)?,
        Command::FailoverTest(args) => cmd_failover_test(args)?,
        Command::Secrets {
            command: SecretsCommand::List { inventory, json },
        } => cmd_secrets_list(inventory.as_ref(), json)?,
        Command::Secrets {
            command: SecretsCommand::Rotate { name, target, json },
        } => cmd_secrets_rotate(&name, &target, json, settings)?,
        // The lab's commands keep their own exit codes (0, or 1 when a host is down).
        #[cfg(feature = "lab")]
        Command::Lab { command } => return block_on(run_lab(command)),
        Command::Schema => cmd_schema()?,
        Command::Completions { shell } => cmd_completions(shell)?,
        Command::Man { out } => cmd_man(out, settings)?,
    };
    Ok(outcome.into())
}

/// `validate`: the inventory read and checked; with --json the outcome as JSON (exit 2 when
/// the inventory is not fit, its problems in the JSON).
fn cmd_validate(inventory: &std::path::Path, json: bool) -> Result<Outcome> {
    if json {
        let loaded = inventory::load(inventory);
        let outcome = if loaded.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        output::set_code_on_closed_stdout(outcome.code());
        let report = crate::json_output::validate(inventory, &loaded);
        crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(outcome);
    }
    let inv = inventory::load(inventory)?;
    crate::outln!("{}: ok ({} hosts)", inventory.display(), inv.hosts.len())?;
    Ok(Outcome::Ok)
}

/// `render`: every host's files into `out`, or one host's list of files, or one file.
fn cmd_render(
    inventory: &std::path::Path,
    out: Option<PathBuf>,
    host: Option<String>,
    file: Option<String>,
    show_secrets: bool,
) -> Result<Outcome> {
    let inv = inventory::load(inventory)?;
    let secrets = if show_secrets {
        Secrets::load_existing(&crate::secrets::secrets_path(inventory))?
    } else {
        Secrets::masked()
    };
    let rendered = render::render_all(&inv, &secrets)?;
    if let Some(dir) = out {
        let count = render::dir::write_render_dir(&dir, &rendered)?;
        crate::outln!(
            "wrote {count} files for {} hosts into {} ({})",
            rendered.len(),
            dir.display(),
            if show_secrets {
                "WITH secrets: keep them private"
            } else {
                "secrets masked"
            }
        )?;
        return Ok(Outcome::Ok);
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
        None => {
            for f in files {
                crate::outln!("{:o} {}:{} {}", f.mode, f.owner, f.group, f.path)?;
            }
        }
        Some(path) => match files.iter().find(|f| f.path == path) {
            Some(f) => crate::out!("{}", f.content)?,
            None => {
                let paths: Vec<&str> = files.iter().map(|f| f.path).collect();
                bail!(
                    "host {host} gets no file {path} (its files: {})",
                    paths.join(", ")
                );
            }
        },
    }
    Ok(Outcome::Ok)
}

/// Ask now, before any spinner and before the hosts are connected in parallel, for the
/// passphrase of each encrypted key file the hosts and their jump hosts use (one prompt per
/// file; not for a key the ssh-agent holds, unless --ask-pass).
fn unlock_keys(inv: &inventory::Inventory) -> Result<()> {
    let mut keys: Vec<(PathBuf, String)> = Vec::new();
    for host in inv.hosts.keys() {
        let target = inv.ssh_target(host, false);
        let files = target
            .key
            .iter()
            .chain(target.jumps.iter().filter_map(|hop| hop.key.as_ref()));
        for file in files {
            let file = crate::ssh::expand_home(file);
            if !keys.iter().any(|(known, _)| *known == file) {
                keys.push((file, host.to_string()));
            }
        }
    }
    block_on(crate::ssh::passphrase::prepare(&keys))
}

/// `up` with `target`, its report printed; exit 0 converged, 2 failed, 130 stopped by Ctrl-C.
fn cmd_up(target: &TargetArgs, json: bool, lock_wait: u64, limit: Option<&str>) -> Result<Outcome> {
    let path = target.inventory_path()?;
    let inv = inventory::load(&path)?;
    let limit = resolve_limit(&inv, limit)?;
    unlock_keys(&inv)?;
    tracing::info!("up: {} hosts from {}", inv.hosts.len(), path.display());
    let mut opts = target.options();
    opts.lock_wait = Duration::from_secs(lock_wait);
    opts.limit = limit;
    let report = block_on(async {
        converge::interrupt::listen(|message| eprintln!("{message}"));
        converge::up(&inv, &path, &opts).await
    })?;
    print_up_report(&report, json)?;
    Ok(if converge::interrupt::requested() {
        Outcome::Interrupted
    } else if report.failed.is_some() {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

/// `plan`: what `up` would change, as text or JSON; with --detailed-exitcode, 3 when
/// changes are pending.
fn cmd_plan(
    target: &TargetArgs,
    json: bool,
    detailed_exitcode: bool,
    limit: Option<&str>,
    settings: output::Settings,
) -> Result<Outcome> {
    let path = target.inventory_path()?;
    let inv = inventory::load(&path)?;
    let mut opts = target.options();
    opts.limit = resolve_limit(&inv, limit)?;
    unlock_keys(&inv)?;
    let plan = block_on(converge::plan(&inv, &path, &opts))?;
    let pending = plan.hosts.values().any(|steps| !steps.is_empty());
    let outcome = if detailed_exitcode && pending {
        Outcome::ChangesPending
    } else {
        Outcome::Ok
    };
    output::set_code_on_closed_stdout(outcome.code());
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&crate::json_output::plan(&plan))?
        )?;
    } else {
        print_plan(&plan, settings)?;
    }
    Ok(outcome)
}

/// `status`: one check printed (exit 1 unless healthy), or with --watch one every interval
/// until Ctrl-C.
fn cmd_status(args: &StatusArgs) -> Result<Outcome> {
    let path = inventory_or_lab(args.inventory.as_ref())?;
    let inv = inventory::load(&path)?;
    let limit = resolve_limit(&inv, args.limit.as_deref())?;
    unlock_keys(&inv)?;
    let opts = StatusOptions {
        timeout: seconds("--timeout", args.timeout)?,
        limit,
    };
    if args.watch {
        let interval = seconds("--interval", args.interval)?;
        return block_on(watch_status(&inv, opts, interval, args.json));
    }
    let status = block_on(status::status(&inv, opts))?;
    let outcome = status_outcome(&status);
    output::set_code_on_closed_stdout(outcome.code());
    print_status(&status, args.json, false)?;
    Ok(outcome)
}

/// `failover-test`: the drills chosen (and confirmed off the lab), then shown (--dry-run) or
/// run; exit 1 when one missed its budget.
fn cmd_failover_test(args: FailoverTestArgs) -> Result<Outcome> {
    let path = args.target.inventory_path()?;
    let inv = inventory::load(&path)?;
    let lab_dir = LabDir::from_env()?;
    // Without the lab feature there is no lab host control: every inventory is treated as one
    // that is not the lab's (drills then use systemctl and nftables over SSH).
    let is_lab = cfg!(feature = "lab")
        && std::fs::canonicalize(&path).ok() == std::fs::canonicalize(lab_dir.inventory()).ok();
    if let Some(after) = args.dead_man
        && after <= args.hold
    {
        bail!(
            "--dead-man {after} must exceed --hold {}: the switch would undo the fault while it is held",
            args.hold
        );
    }
    let mut opts = args.drill_options(&path, is_lab.then_some(lab_dir.clone()));
    if !is_lab {
        outside_the_lab(&inv, &mut opts, &path, args.yes || args.dry_run)?;
    }
    if args.dry_run {
        let drills = drill::plan(&inv, &opts, None)?;
        crate::out!("{}", drill::report::dry_run(&drills))?;
        crate::outln!(
            "(dry run: nothing was touched; VIP drills target whichever host holds the VIP when they start)"
        )?;
        return Ok(Outcome::Ok);
    }
    unlock_keys(&inv)?;
    if is_lab && !is_root() {
        bail!("drills on the lab use its host control, which needs root; hint: run as root");
    }
    block_on(run_drills(
        &inv,
        opts,
        args.repeat,
        args.json,
        args.report,
        &lab_dir,
    ))
}

/// `secrets list`: each secret, where its value comes from (never the value).
fn cmd_secrets_list(inventory: Option<&PathBuf>, json: bool) -> Result<Outcome> {
    let path = inventory_or_lab(inventory)?;
    // A missing or broken inventory is an error (exit 2), not a list about nothing.
    inventory::load(&path)?;
    let secrets_path = crate::secrets::secrets_path(&path);
    let sources: Vec<crate::json_output::SecretSource> = crate::secrets::NAMES
        .iter()
        .map(|(name, variable, what)| {
            let (source, from) = match variable
                .filter(|_| crate::secrets::from_environment(*variable).is_some())
            {
                Some(variable) => ("environment", Some(variable.to_string())),
                None if secrets_path.exists() => ("file", Some(secrets_path.display().to_string())),
                None => ("not_generated", None),
            };
            crate::json_output::SecretSource {
                name: name.to_string(),
                source,
                from,
                what: what.to_string(),
            }
        })
        .collect();
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&crate::json_output::secrets(&sources))?
        )?;
        return Ok(Outcome::Ok);
    }
    let rows: Vec<Vec<String>> = sources
        .iter()
        .map(|s| {
            let from = match (s.source, &s.from) {
                ("environment", Some(variable)) => format!("environment ({variable})"),
                (_, Some(file)) => file.clone(),
                (_, None) => "not generated yet (the first `up` does)".to_string(),
            };
            vec![s.name.clone(), from, s.what.clone()]
        })
        .collect();
    crate::out!(
        "{}",
        status::table::columns(&["name", "from", "what"], &rows)
    )?;
    Ok(Outcome::Ok)
}

/// `secrets rotate`: a new value written to the secrets file, then rolled out by `up`.
fn cmd_secrets_rotate(
    name: &str,
    target: &TargetArgs,
    json: bool,
    settings: output::Settings,
) -> Result<Outcome> {
    let path = target.inventory_path()?;
    inventory::load(&path)?;
    let secrets_path = crate::secrets::secrets_path(&path);
    Secrets::rotate(&secrets_path, name)?;
    if !settings.quiet {
        output::say(&format!(
            "{name}: new value written to {}; rolling it out with `up`",
            secrets_path.display()
        ));
    }
    cmd_up(target, json, 60, None)
}

/// `schema`: the inventory's JSON Schema.
fn cmd_schema() -> Result<Outcome> {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(&inventory::json_schema())?
    )?;
    Ok(Outcome::Ok)
}

/// `completions SHELL`: the completion script on stdout.
fn cmd_completions(shell: clap_complete::Shell) -> Result<Outcome> {
    let mut script = Vec::new();
    // Generated into memory: clap_complete panics when its writer fails (a closed pipe).
    clap_complete::generate(shell, &mut Cli::command(), "minicloud", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
        .map_err(output::stdout_error)?;
    Ok(Outcome::Ok)
}

/// `man`: the man page on stdout, or with --out one page per command written there.
fn cmd_man(out: Option<PathBuf>, settings: output::Settings) -> Result<Outcome> {
    let Some(dir) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut page)?;
        std::io::Write::write_all(&mut std::io::stdout().lock(), &page)
            .map_err(output::stdout_error)?;
        return Ok(Outcome::Ok);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut command = Cli::command();
    // Built first: subcommands get their full names (minicloud-lab-up) only then.
    command.build();
    let count = write_man_pages(&command, &dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    if !settings.quiet {
        crate::outln!("wrote {count} man pages into {}", dir.display())?;
    }
    Ok(Outcome::Ok)
}

/// `--os NAME` of `lab up`.
#[cfg(feature = "lab")]
fn parse_release(name: &str) -> Result<&'static crate::platform::Release, String> {
    crate::platform::Release::by_lab_name(name)
}

#[cfg(feature = "lab")]
async fn run_lab(command: LabCommand) -> Result<ExitCode> {
    if !is_root() {
        bail!(
            "the lab needs root (Docker, debootstrap and network links); hint: run it as root, e.g. with sudo"
        );
    }
    let lab = Lab::open(LabDir::from_env()?).await?;
    match command {
        LabCommand::Up {
            hosts,
            file_sync,
            os,
            bastion,
        } => {
            let actions = lab.up(&hosts, &file_sync, os, bastion).await?;
            for (host, action) in &actions {
                let what = match action {
                    lab::HostAction::LeftAlone => "healthy, left alone".to_string(),
                    lab::HostAction::Started => "was stopped: started".to_string(),
                    lab::HostAction::Created => "created".to_string(),
                    lab::HostAction::Recreated(why) => format!("recreated ({why})"),
                };
                if !output::settings().quiet {
                    crate::outln!("{host:<8} {what}")?;
                }
            }
            crate::outln!(
                "lab ready: {} hosts reachable over SSH; inventory: {}",
                actions.len(),
                lab.dir.inventory().display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Down => {
            let (containers, networks) = lab.down().await?;
            crate::outln!(
                "removed {} containers and {} networks; the base image stays",
                containers.len(),
                networks.len()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Status { json } => {
            let rows = lab.status().await?;
            if json {
                let report = crate::json_output::lab_status(&rows);
                let healthy = report["healthy"] == true;
                output::set_code_on_closed_stdout(u8::from(!healthy));
                crate::outln!("{}", serde_json::to_string_pretty(&report)?)?;
                return Ok(if healthy {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            crate::outln!("{:<8} {:<10} {:<30} ssh", "host", "container", "addresses")?;
            let mut healthy = true;
            for row in &rows {
                let addresses: Vec<String> = row
                    .addresses
                    .iter()
                    .map(|(net, a)| format!("{}={a}", net.key()))
                    .collect();
                let ssh = match &row.ssh {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("unreachable: {e}"),
                };
                healthy &= row.running && row.ssh.is_ok();
                let state = if row.running { "running" } else { "stopped" };
                crate::outln!(
                    "{:<8} {state:<10} {:<30} {ssh}",
                    row.name,
                    addresses.join(" ")
                )?;
            }
            Ok(if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        LabCommand::Stop { host } => lab
            .stop(&host)
            .await
            .and_then(|_| done(&format!("{host} stopped"))),
        LabCommand::Kill { host } => lab
            .kill(&host)
            .await
            .and_then(|_| done(&format!("{host} killed"))),
        LabCommand::Start { host } => lab
            .start(&host)
            .await
            .and_then(|_| done(&format!("{host} started and booted"))),
        LabCommand::Partition { host, network } => {
            lab.partition(&host, network.into()).await.and_then(|_| {
                done(&format!(
                    "{host} cut off the {} network",
                    Net::from(network).key()
                ))
            })
        }
        LabCommand::Heal { host, network } => {
            lab.heal(&host, network.into()).await.and_then(|_| {
                done(&format!(
                    "{host} back on the {} network",
                    Net::from(network).key()
                ))
            })
        }
    }
}

#[cfg(feature = "lab")]
fn done(message: &str) -> Result<ExitCode> {
    crate::outln!("{message}")?;
    Ok(ExitCode::SUCCESS)
}

/// One man page per command and subcommand (`minicloud-lab-up.1`), skipping clap's `help`
/// subcommands, which would only repeat the pages; returns how many were written.
fn write_man_pages(command: &clap::Command, dir: &std::path::Path) -> Result<usize> {
    let name = command.get_display_name().unwrap_or(command.get_name());
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(dir.join(format!("{name}.1")), page)?;
    let mut count = 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        count += write_man_pages(sub, dir)?;
    }
    Ok(count)
}

/// The drill that takes the whole database down at once: on real hosts, only when named.
const TOTAL_OUTAGE: DrillName = DrillName::DbTotalOutage;

/// Drills on an inventory that is not the lab's break real hosts: leave out the total outage
/// unless it was named, then name every drill to run and have it confirmed on a terminal
/// (`confirmed`: --yes, or a dry run that touches nothing); without a terminal, refuse.
fn outside_the_lab(
    inv: &inventory::Inventory,
    opts: &mut DrillOptions,
    path: &std::path::Path,
    confirmed: bool,
) -> Result<()> {
    if opts.drills.is_empty() {
        // Every drill that applies, as the default run would choose them, bar the outage.
        opts.drills = drill::plan(inv, opts, None)?
            .into_iter()
            .map(|d| d.name)
            .filter(|name| *name != TOTAL_OUTAGE)
            .collect();
        if opts.drills.is_empty() {
            bail!("no drill applies to {}", path.display());
        }
        output::say(&format!(
            "{TOTAL_OUTAGE} left out: {} is not the lab's inventory (name it with --drill to run it)",
            path.display()
        ));
    }
    if confirmed {
        return Ok(());
    }
    let drills = drill::plan(inv, opts, None)?;
    let listed: Vec<String> = drills
        .iter()
        .map(|d| format!("  {}: {}", d.name, d.summary))
        .collect();
    let names: Vec<&str> = drills.iter().map(|d| d.name.as_str()).collect();
    if !std::io::stdin().is_terminal() {
        bail!(
            "failover-test on {}, which is not the lab's inventory, would inject these faults \
             into its hosts: {}; nothing was touched; hint: run it on a terminal to confirm, or \
             pass --yes (see what each drill does with --dry-run)",
            path.display(),
            names.join(", ")
        );
    }
    output::say(&format!(
        "{} is not the lab's inventory. These drills break its hosts on purpose, each undone \
         after --hold:\n{}",
        path.display(),
        listed.join("\n")
    ));
    eprint!("Type yes to run them: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("not confirmed: nothing was touched");
    }
    Ok(())
}

/// Plan for people: notes, then each host's changes (diffs coloured on a terminal), then the
/// verdict line, which is all `-q` keeps.
fn print_plan(plan: &converge::Plan, settings: output::Settings) -> Result<()> {
    let changes = plan.changed_hosts();
    print_warnings(&plan.warnings);
    let outside = |host: &str| plan.limit.as_ref().is_some_and(|l| !l.contains(host));
    if !settings.quiet {
        for note in &plan.notes {
            crate::outln!("note: {note}")?;
        }
        for (host, lines) in &plan.hosts {
            match (lines.is_empty(), outside(host)) {
                (true, true) => {
                    crate::outln!("{host}: outside --limit (read only, not changed)")?;
                    continue;
                }
                (true, false) => {
                    crate::outln!("{host}: no change")?;
                    continue;
                }
                (false, true) => {
                    crate::outln!("{host}: outside --limit, read by the gates of the changes:")?
                }
                (false, false) => crate::outln!("{host}:")?,
            }
            for line in lines {
                // Masked again on the way out: every value loaded or read from a host.
                let masked = crate::secrets::redact(line.trim_end());
                for text in masked.lines() {
                    if settings.color_stdout {
                        crate::outln!("  {}", output::color_diff_line(text))?;
                    } else {
                        crate::outln!("  {text}")?;
                    }
                }
            }
        }
    }
    match &plan.limit {
        None => crate::outln!(
            "plan: {changes} of {} hosts would change (nothing was changed)",
            plan.hosts.len()
        )?,
        Some(limit) => crate::outln!(
            "plan: {changes} of {} hosts in --limit {} would change; the {} others are not changed by `up --limit` (nothing was changed)",
            limit.hosts.len(),
            limit.text(),
            plan.hosts.len() - limit.hosts.len()
        )?,
    }
    Ok(())
}

/// Warnings (hosts outside `--limit` that did not answer) on stderr, before the output; the
/// JSON outputs carry them in `warnings` too.
fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        output::say(&format!("warning: {warning}"));
    }
}

/// Effective user id 0, read from /proc so no C bindings are needed.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A positive number of seconds from the command line.
fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        bail!("{flag} must be a positive number of seconds, not {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// 0 healthy, 1 degraded or down.
fn status_outcome(status: &status::Status) -> Outcome {
    match status.verdict {
        status::Verdict::Healthy => Outcome::Ok,
        _ => Outcome::Unhealthy,
    }
}

fn print_status(status: &status::Status, json: bool, one_line: bool) -> Result<()> {
    print_warnings(&status.warnings);
    match (json, one_line) {
        (true, true) => crate::outln!(
            "{}",
            serde_json::to_string(&crate::json_output::versioned(status)?)?
        )?,
        (true, false) => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&crate::json_output::versioned(status)?)?
        )?,
        (false, _) if output::settings().quiet => {
            let text = status::table::render(status);
            crate::outln!("{}", text.lines().next().unwrap_or_default())?
        }
        (false, _) => crate::out!("{}", status::table::render(status))?,
    }
    Ok(())
}

/// Check, print, wait, again, until Ctrl-C; the exit code is the last check's.
async fn watch_status(
    inv: &inventory::Inventory,
    opts: StatusOptions,
    interval: Duration,
    json: bool,
) -> Result<Outcome> {
    let clear_screen = !json && std::io::stdout().is_terminal();
    let mut reader = StatusReader::new(inv, opts)?;
    // One listener for the whole watch: a Ctrl-C that comes during a check is kept for the wait.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let code = loop {
        let status = reader.read().await;
        if clear_screen {
            crate::out!("\x1b[H\x1b[2J")?;
        }
        print_status(&status, json, true)?;
        if !json {
            crate::outln!(
                "refreshing every {} s; Ctrl-C stops",
                interval.as_secs_f64()
            )?;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = interrupt.recv() => break status_outcome(&status),
        }
    };
    reader.close().await;
    Ok(code)
}

/// Run the drills `repeat` times (Ctrl-C undoes the fault in place), print and write the
/// report. A round that cannot start (the stack not healthy) after the first ends the
/// repeats: the rounds done are still summarised, and the run counts as failed.
async fn run_drills(
    inv: &inventory::Inventory,
    opts: DrillOptions,
    repeat: u32,
    json: bool,
    report_dir: Option<PathBuf>,
    lab_dir: &LabDir,
) -> Result<Outcome> {
    let started = chrono::Utc::now();
    let runner = drill::Runner::new(inv, opts);
    let progress = |line: &str| {
        tracing::info!("drill: {line}");
        if !output::settings().quiet {
            output::say(line);
        }
    };
    let repeated = async {
        let mut rounds: Vec<Vec<drill::DrillResult>> = Vec::new();
        for round in 0..repeat {
            match runner.run_round(round, repeat, &progress).await {
                Ok(results) => rounds.push(results),
                Err(err) if rounds.is_empty() => return Err(err),
                Err(err) => return Ok((rounds, Some(format!("{err:#}")))),
            }
        }
        Ok((rounds, None))
    };
    let (rounds, stopped) = tokio::select! {
        done = repeated => done?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: undoing the fault in place");
            runner.undo().await?;
            bail!("interrupted; the fault in place was undone");
        }
    };
    let results: Vec<drill::DrillResult> = rounds.iter().flatten().cloned().collect();
    let dir = match report_dir {
        Some(dir) => dir,
        None => lab_dir
            .root
            .parent()
            .unwrap_or(&lab_dir.root)
            .join("reports")
            .join(started.format("%Y%m%d-%H%M%S").to_string()),
    };
    std::fs::create_dir_all(&dir)?;
    let when = format!("{} UTC", started.format("%Y-%m-%d %H:%M:%S"));
    std::fs::write(
        dir.join("index.html"),
        drill::report::html(&results, &inv.name, &when),
    )?;
    // One run keeps the bare array of its results; repeats wrap the rounds with a summary.
    let summary = drill::summary::summarize(&rounds);
    let json_text = if repeat == 1 {
        serde_json::to_string_pretty(&results)?
    } else {
        serde_json::to_string_pretty(&drill::summary::RepeatedRun {
            schema_version: 1,
            repeat,
            stopped: stopped.as_deref(),
            summary: summary.clone(),
            rounds: &rounds,
        })?
    };
    std::fs::write(dir.join("report.json"), &json_text)?;
    if json {
        crate::outln!("{json_text}")?;
    } else if repeat == 1 {
        crate::out!("{}", drill::report::table(&results))?;
    } else {
        crate::out!("{}", drill::report::table(&results))?;
        crate::outln!()?;
        crate::out!(
            "{}",
            drill::summary::table(&summary, repeat, stopped.as_deref())
        )?;
    }
    eprintln!("report: {}", dir.join("index.html").display());
    Ok(if stopped.is_none() && results.iter().all(|r| r.passed) {
        Outcome::Ok
    } else {
        Outcome::Unhealthy
    })
}

fn print_up_report(report: &converge::Report, json: bool) -> Result<()> {
    print_warnings(&report.warnings);
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&crate::json_output::versioned(report)?)?
        )?;
        return Ok(());
    }
    let changed = report.changed_hosts();
    let total = report.changes.len();
    let quiet = output::settings().quiet;
    let outside = |host: &str| report.limit.as_ref().is_some_and(|l| !l.contains(host));
    for (host, changes) in report.changes.iter().filter(|_| !quiet) {
        if changes.is_empty() && outside(host) {
            crate::outln!("{host:<10} outside --limit, unchanged")?;
        } else if changes.is_empty() {
            crate::outln!("{host:<10} unchanged")?;
        } else {
            crate::outln!(
                "{host:<10} {} change(s): {}",
                changes.len(),
                changes.join("; ")
            )?;
        }
    }
    let failed = usize::from(report.failed.is_some());
    crate::outln!(
        "{changed} changed, {} unchanged, {failed} failed",
        total - changed
    )?;
    if let Some(why) = &report.failed {
        output::say(&format!(
            "error: {why}\nThe next `minicloud up` continues from where this one stopped."
        ));
    }
    Ok(())
}
