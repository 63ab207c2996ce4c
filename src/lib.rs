//! minicloud: provision a high-availability web stack over SSH from one inventory YAML.
//!
//! Library root; the `minicloud` binary is a thin shell over [`cli::run`].
//!
//! # Layout
//!
//! Dependencies point down this list; nothing below `cli` reads arguments or prints verdicts.
//!
//! - [`cli`]: one function per command, exit codes (0 ok, 1 unhealthy or drill failed, 2
//!   error, 130 stopped by Ctrl-C).
//! - Orchestration: [`converge`] (`up` and `plan`: which hosts, in which order, behind which
//!   gates; the run lock and Ctrl-C in `converge::lock` / `converge::interrupt`), [`status`]
//!   (read-only health), [`drill`] (failover drills under live load).
//! - What is wanted: [`inventory`] (the YAML read into checked types: `inventory::text` holds
//!   the rule for every string by where it goes, `inventory::limits` the file bounds,
//!   `inventory::validate` how the parts fit), [`render`] (inventory → every host's files, from
//!   `templates/`), [`secrets`] (generated, checked, never shown).
//! - What is there: [`facts`] (one command per host, a pure parser of its output), [`galera`]
//!   and [`aerospike`] (their state, parsed).
//! - Transport: [`ssh`] (verified host keys, channels, held commands) and [`shell`] (commands
//!   built as argument lists, quoted in one place).
//! - Products beside the control tool: the roster app the app hosts run is a crate of its own
//!   (`crates/roster`: it depends on nothing here, so only its own changes change the binary
//!   `up` ships), sharing only `crates/roster-api` (its HTTP contract, which [`drill`]'s load
//!   generator and the benches speak too); [`lab`] (local hosts in Docker; never used by
//!   production paths).

pub mod aerospike;
pub mod cli;
pub mod converge;
pub mod drill;
pub mod facts;
pub mod files;
pub mod galera;
pub mod inventory;
pub mod json_output;
pub mod lab;
pub mod logging;
pub mod output;
pub mod platform;
pub mod render;
pub mod secrets;
pub mod shell;
pub mod ssh;
pub mod status;
