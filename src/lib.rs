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
//! - Products beside the control tool: the roster app is `crates/roster` (nothing here goes into
//!   the binary `up` ships; [`drill`]'s load generator and the benches speak its API through
//!   `roster_api`); [`lab`] (local hosts in Docker) is behind the cargo feature `lab` (on by
//!   default) and never used by production paths: [`drill`] reaches its host control through
//!   one function, an error in a build without the feature, and [`lab_dir`] (the lab's file
//!   paths, every command's default inventory) is built either way.

pub mod aerospike;
pub mod cli;
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
pub mod logging;
pub mod output;
pub mod platform;
pub mod render;
pub mod secrets;
pub mod shell;
pub mod ssh;
pub mod status;
