//! roster: the on-call roster web app the stack exists to keep up (a second binary,
//! `roster`, shipped by `minicloud up` to every app node).

pub mod aerospike_store;
pub mod api;
pub mod metrics;
pub mod model;
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
}

/// Run the app until SIGTERM or Ctrl-C, then finish in-flight requests and exit.
pub async fn serve(config: Config) -> Result<()> {
    let metrics = Arc::new(metrics::Metrics::default());
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
