//! minicloud: provision a high-availability web stack over SSH from one inventory YAML.
//!
//! Library root; the `minicloud` binary is a thin shell over [`cli::run`].

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
pub mod render;
pub mod roster;
pub mod secrets;
pub mod shell;
pub mod ssh;
pub mod status;
