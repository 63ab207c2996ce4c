//! roster: the on-call roster web app the stack exists to keep up, a page and a JSON API
//! (`/api/v1/roster`) on MariaDB Galera or Aerospike. Its binary, `roster` (`src/main.rs`), is
//! what `minicloud up` ships to every app node. It shares no code with the control tool: only
//! the `roster-api` crate, its HTTP contract, which the control tool's drills speak too.
//!
//! # Layout
//!
//! - This file: the configuration ([`Config`], flags or `ROSTER_*` variables), start-up with
//!   the chosen backend, graceful shutdown ([`serve`]).
//! - [`api`]: the HTTP surface: the router, its handlers, every error answer.
//! - [`auth`]: who may write (the API token, checked against its hash).
//! - [`store`]: the storage trait and MariaDB (Galera) behind it, with the retries that hide a
//!   failover; [`aerospike_store`]: the same trait on Aerospike.
//! - [`metrics`]: `/metrics` (requests, latency, database errors and retries).
//! - `migrations/`: the MariaDB schema, applied at start-up; `src/page.html`: the page.
//! - Elsewhere, in `roster-api`: the entry types and the rules that make one valid, the routes,
//!   the token hash.

#![warn(missing_docs)]

pub mod aerospike_store;
pub mod api;
pub mod auth;
pub mod metrics;
pub mod store;

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::{MariaDbStore, RetryPolicy};

/// Everything the app is configured with (flags or `ROSTER_*` environment variables).
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "roster",
    version,
    about = "The on-call roster: web page and JSON API (/api/v1/roster)."
)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// MariaDB URL, e.g. mysql://roster:PASSWORD@10.231.60.100:3306/roster (backend galera).
    #[arg(long, env = "ROSTER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the database pool.
    #[arg(long, env = "ROSTER_POOL_SIZE", default_value_t = 10)]
    pub pool_size: u32,
    /// This node's name, shown on the page and in the X-Served-By header.
    #[arg(long, env = "ROSTER_NODE_NAME", default_value = "roster")]
    pub node_name: String,
    /// Storage backend: galera (MariaDB/Galera through the DB VIP) or aerospike.
    #[arg(long, env = "ROSTER_BACKEND", default_value = "galera")]
    pub backend: String,
    /// Aerospike seed nodes, e.g. 10.231.60.41:3000,10.231.60.42:3000 (backend aerospike).
    #[arg(long, env = "ROSTER_AEROSPIKE_HOSTS")]
    pub aerospike_hosts: Option<String>,
    /// Aerospike namespace of the roster's records.
    #[arg(long, env = "ROSTER_AEROSPIKE_NAMESPACE", default_value = "roster")]
    pub aerospike_namespace: String,
    /// SHA-256 (64 hex digits) of the API token that POST, PUT and DELETE must carry as
    /// `Authorization: Bearer <token>`. Without it every write is refused.
    #[arg(long, env = "ROSTER_API_TOKEN_SHA256", hide_env_values = true)]
    pub api_token_sha256: Option<String>,
}

/// The token hash writes are checked against; None (writes refused) when not configured, said
/// in the log at startup so a node that refuses every write tells why.
fn write_token(config: &Config) -> Result<Option<[u8; 32]>> {
    match config.api_token_sha256.as_deref().map(str::trim) {
        None | Some("") => {
            tracing::warn!(
                "no API token hash configured (ROSTER_API_TOKEN_SHA256): every POST, PUT and DELETE is refused; reads are served"
            );
            Ok(None)
        }
        Some(hex) => roster_api::token::parse_sha256_hex(hex)
            .map(Some)
            .map_err(anyhow::Error::msg),
    }
}

/// Run the app until SIGTERM or Ctrl-C, then finish in-flight requests and exit.
pub async fn serve(config: Config) -> Result<()> {
    let metrics = Arc::new(metrics::Metrics::default());
    let api_token_sha256 = write_token(&config)?;
    match config.backend.as_str() {
        "galera" => {
            let url = config
                .database_url
                .as_deref()
                .context("the galera backend needs --database-url (or ROSTER_DATABASE_URL)")?;
            let store = MariaDbStore::connect_lazy(
                url,
                config.pool_size,
                metrics.clone(),
                RetryPolicy::default(),
            )
            .map_err(anyhow::Error::msg)?;
            let state = Arc::new(api::AppState {
                store,
                metrics,
                node: config.node_name.clone(),
                api_token_sha256,
            });
            let migrating = state.clone();
            // The schema is made in the background: the app answers /healthz (and says "not
            // ready" on /readyz) while the database is still coming up.
            tokio::spawn(async move {
                match migrating
                    .store
                    .migrate(Duration::from_secs(24 * 3600))
                    .await
                {
                    Ok(()) => tracing::info!("database schema ready"),
                    Err(e) => tracing::error!(error = %e, "giving up on the database schema"),
                }
            });
            run(&config, state).await
        }
        "aerospike" => {
            let hosts = config.aerospike_hosts.as_deref().context(
                "the aerospike backend needs --aerospike-hosts (or ROSTER_AEROSPIKE_HOSTS)",
            )?;
            let store = aerospike_store::AerospikeStore::new(
                hosts,
                &config.aerospike_namespace,
                metrics.clone(),
                RetryPolicy::default(),
            );
            let state = Arc::new(api::AppState {
                store,
                metrics,
                node: config.node_name.clone(),
                api_token_sha256,
            });
            run(&config, state).await
        }
        other => anyhow::bail!("no storage backend \"{other}\" (galera or aerospike)"),
    }
}

/// Serve `state` on the configured address until told to stop.
async fn run<S: store::Store>(config: &Config, state: Arc<api::AppState<S>>) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    tracing::info!(listen = %config.listen, node = %config.node_name, backend = %config.backend, "roster serving");
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("roster stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use roster_api::token::{parse_sha256_hex, token_sha256_hex};

    fn config(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("roster").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_token_hash_is_optional_but_never_malformed() {
        let hash = token_sha256_hex("t");
        assert_eq!(
            write_token(&config(&["--api-token-sha256", &hash])).unwrap(),
            Some(parse_sha256_hex(&hash).unwrap())
        );
        // Not configured: the app serves reads and refuses writes (the router's tests).
        assert_eq!(
            write_token(&config(&["--api-token-sha256", ""])).unwrap(),
            None
        );
        // A value that is not a hash stops the start instead of silently refusing everything.
        let err = write_token(&config(&["--api-token-sha256", "********"])).unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
    }
}
