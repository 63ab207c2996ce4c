//! minicloud: provision a high-availability web stack over SSH from one inventory YAML.
//!
//! Library root; the `minicloud` binary is a thin shell over [`cli::run`].
//!
//! # Layout
//!
//! The Cargo workspace holds three crates: this one, the control tool (the root package:
//! `src/`, the `templates/` it embeds, `tests/`, `benches/`); `crates/roster`, the app the app
//! hosts run; and `crates/roster-api`, the roster's HTTP contract, the only code the two share.
//! `tests/workspace.rs` checks that the roster depends on nothing of this crate.
//!
//! Dependencies point down this list (cli → orchestration → roles/facts → transport);
//! nothing below `cli` reads arguments or prints verdicts.
//!
//! - [`cli`]: one function per command (`cmd_up`, `cmd_status`, ...) and `cli::Outcome`,
//!   the one place exit codes are decided (0 ok, 1 unhealthy or drill failed, 2 error, 3
//!   changes pending, 130 stopped by Ctrl-C).
//! - Orchestration: [`converge`] (`up` and `plan`: connect, read facts, ask the roles for the
//!   run's steps, then `plan` prints them and `up` hands the same list to `converge::execute`,
//!   which runs them over the `converge::host::Host` trait — SSH for real, a fake in unit
//!   tests; the run lock and Ctrl-C in `converge::lock` / `converge::interrupt`; the VIPs'
//!   notify scripts checked on their hosts before anything changes: `converge::notify`),
//!   [`status`] (read-only health), [`drill`] (failover drills under live load). [`limit`] is
//!   `--limit`: the words checked, matched against the inventory, and the scope (hosts a run
//!   may change, hosts it could not read) that `roles::limited` filters every planned step by.
//! - Roles: [`roles`] — one module per role (firewall, sysctl, galera, arbiter, aerospike, app,
//!   file_sync, frontend: the lb pair or the web pair as one enum), each owning its packages,
//!   files (`render::FileSpec` rows, templates from `templates/`), inbound firewall rules, the
//!   units `up` reads and `status` shows, and a pure planner: (inventory, facts) in, typed
//!   [`roles::Step`]s out, in quorum-safe order. No I/O. `roles::REGISTRY` lists them in the
//!   order their phases run.
//!
//!   **Adding a role** (say, memcached on the app hosts) is one new module under `src/roles/`
//!   with a `pub const ROLE: Role` — its phase name, whether its hosts run in parallel, its
//!   packages, units, services, files, firewall rules and planner, and for `--limit` the
//!   other hosts whose facts its planner decides on (`reads`) and its own rule for a limited
//!   run (`check_limited`; `roles::limited` has the defaults) — plus its templates in
//!   `templates/`, and one line in `REGISTRY`. Everything else reads the registry: the facts
//!   `up` gathers, the files `render` writes, the firewall table, `status`'s service list, and
//!   the phases `plan` shows and `up` runs.
//! - What is wanted: [`inventory`] (the YAML read into checked types: `inventory::text` holds
//!   the rule for every string by where it goes, `inventory::limits` the file bounds,
//!   `inventory::validate` how the parts fit), [`render`] (inventory → every host's files, from
//!   `templates/`), [`secrets`] (generated, checked, never shown).
//! - What is there: [`facts`] (one command per host, a pure parser of its output), [`galera`]
//!   and [`aerospike`] (their state, parsed). States are enums of the daemons' own words
//!   ([`word_enum`]): `facts::ActiveState`, `galera::ClusterStatus`, ...
//! - Transport: [`ssh`] (verified host keys, channels, held commands) and [`shell`] (commands
//!   built as argument lists, quoted in one place); [`commands`] builds what `status` and the
//!   drills run on hosts through it.
//! - Products beside the control tool: the roster app is `crates/roster` (nothing here goes into
//!   the binary `up` ships; [`drill`]'s load generator and the benches speak its API through
//!   `roster_api`); [`lab`] (local hosts in Docker) is behind the cargo feature `lab` (on by
//!   default) and never used by production paths: [`drill`] reaches its host control through
//!   one function, an error in a build without the feature, and [`lab_dir`] (the lab's file
//!   paths, every command's default inventory) is built either way.

pub mod aerospike;
pub mod cli;
pub mod commands;
pub mod converge;
pub mod drill;
pub mod facts;
pub mod files;
pub mod galera;
pub mod inventory;
pub mod json_output;
#[cfg(feature = "lab")]
pub mod lab;
pub mod lab_dir;
pub mod limit;
pub mod logging;
pub mod output;
pub mod platform;
pub mod render;
pub mod roles;
pub mod secrets;
pub mod shell;
pub mod ssh;
pub mod status;
pub mod word_enum;
