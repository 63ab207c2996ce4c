//! roster-api: the roster app's HTTP contract, in one place for everything that speaks it: the
//! app itself (the `roster` crate), the drill load generator of the control tool
//! (`minicloud::drill::load`) and the benchmarks (`benches/roster.rs`). A change of a path or a
//! field is made here once and every side follows, instead of URLs and JSON written by hand in
//! each of them.
//!
//! # Layout
//!
//! - [`model`]: an on-call entry as the app answers it ([`Entry`]) and as a client sends it
//!   ([`EntryInput`]), and the rules that make one valid (dates, lengths, list ranges), each
//!   broken rule an [`Invalid`] naming its field.
//! - [`error`]: [`ErrorBody`], the JSON body of every failed request.
//! - [`routes`]: every path the app serves (the route templates its router and its metrics
//!   use) and the URL builders clients use, e.g. [`routes::day_url`].
//! - [`token`]: the API token's SHA-256 as hex, the form `minicloud` renders into
//!   `roster.env` (`ROSTER_API_TOKEN_SHA256`) and the app reads back.
//!
//! Pure: no I/O and no web framework, so depending on it costs a client only serde, chrono and
//! sha2.

#![warn(missing_docs)]

pub mod error;
pub mod model;
pub mod routes;
pub mod token;

pub use error::ErrorBody;
pub use model::{Entry, EntryInput, Invalid};
