//! Storage of roster entries: the [`Store`] trait the API uses, and MariaDB (Galera) behind it.
//!
//! A Galera failover shows up as lost connections, "node not ready" (1047) and certification
//! conflicts (1213) for a few seconds. Those are retried with backoff inside a bounded budget,
//! so a short failover is invisible to clients and a long one fails cleanly instead of hanging.

use super::metrics::Metrics;
use chrono::NaiveDate;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use roster_api::Entry;
use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool, MySqlPoolOptions,
};
use sqlx::{Executor, MySql};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// The day already has a different entry (create).
    Conflict(Entry),
    /// The database did not answer within the retry budget, or refused for a reason retrying
    /// cannot fix.
    Unavailable(String),
}

/// Outcome of an upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// The day had no entry (201).
    Created,
    /// The day's entry was replaced (200).
    Updated,
}

/// What the API needs from storage. Every write is safe to retry.
pub trait Store: Send + Sync + 'static {
    /// The entries from `from` to `to` (both included), by day.
    fn list(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;
    /// The day's entry, if it has one.
    fn get(
        &self,
        date: NaiveDate,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send;
    /// Insert; an identical existing entry counts as created (a retried request), a different
    /// one is a conflict.
    fn create(&self, entry: &Entry) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Create or replace the day's entry.
    fn upsert(&self, entry: &Entry) -> impl Future<Output = Result<Upsert, StoreError>> + Send;
    /// Whether the day had an entry.
    fn delete(&self, date: NaiveDate) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The database answers through the pool.
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A create found the day taken: the same entry is our own earlier attempt, applied before its
/// answer got lost (the request is done); another one is a conflict.
pub(crate) async fn create_found_existing<S: Store>(
    store: &S,
    entry: &Entry,
) -> Result<(), StoreError> {
    match store.get(entry.date).await? {
        Some(existing) if existing == *entry => Ok(()),
        Some(existing) => Err(StoreError::Conflict(existing)),
        None => Err(StoreError::Unavailable(
            "the entry vanished while being created; try again".into(),
        )),
    }
}

/// MariaDB errors a failover causes, worth another try: deadlock / certification conflict,
/// WSREP not ready, lock wait timeout, server shutting down, connection killed, server gone,
/// connection lost.
const RETRYABLE: [u16; 7] = [1213, 1047, 1205, 1053, 1927, 2006, 2013];
const DUPLICATE_KEY: u16 = 1062;
const UNKNOWN_VARIABLE: u16 = 1193;

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Longest time one operation may take, retries included; then it fails (503).
    pub budget: Duration,
    /// The wait before the first retry; doubled after each.
    pub first_backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
    /// Longest time one try may wait for the database's answer; then its connection is
    /// dropped and the operation tried again on a fresh one. An answer can be lost for good:
    /// when the DB VIP moves while a statement runs, the old holder can no longer send from
    /// the VIP and the client, having nothing more to send, would wait forever. (MariaDB
    /// only; the Aerospike client has its own per-call timeout.)
    pub attempt_timeout: Duration,
}

impl RetryPolicy {
    /// Run `op` until it succeeds, fails in a way `transient` says retrying cannot fix, or the
    /// budget is spent; every error and retry is counted in `metrics`.
    pub async fn run<T, E, F, Fut>(
        &self,
        metrics: &Metrics,
        what: &str,
        transient: impl Fn(&E) -> bool,
        mut op: F,
    ) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let mut backoff = self.first_backoff;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(err) => {
                    metrics.db_errors.inc();
                    if !transient(&err) || started.elapsed() + backoff > self.budget {
                        tracing::warn!(operation = what, error = %err, "database operation failed");
                        return Err(err);
                    }
                    metrics.db_retries.inc();
                    tracing::info!(operation = what, error = %err, backoff_ms = backoff.as_millis() as u64, "retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Covers a DB VIP move (3 x advert_int plus the track script's fall) with room to spare,
        // and stays well under HAProxy's server timeout. The waits stay short (at most 250 ms)
        // so that a statement retried through a failover runs soon after the database is back:
        // with 1 s waits the retry came up to a second late, the larger part of db-crash's gap
        // beyond Galera's suspect timeout.
        RetryPolicy {
            budget: Duration::from_secs(8),
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(250),
            // Above the longest pause a healthy Galera cluster imposes on a statement on the
            // LAN timers (a dead member suspected after 1.5 s, measured write gaps up to
            // 2.2 s); a try cut during a longer pause is simply tried again.
            attempt_timeout: Duration::from_secs(3),
        }
    }
}

fn mysql_number(err: &sqlx::Error) -> Option<u16> {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(|e| e.number()),
        _ => None,
    }
}

/// Whether another attempt may succeed.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(_) => mysql_number(err).is_some_and(|n| RETRYABLE.contains(&n)),
        _ => false,
    }
}

/// The entries in MariaDB (the table `roster_entries`, through the DB VIP on Galera), every
/// operation retried through a failover.
pub struct MariaDbStore {
    pool: MySqlPool,
    metrics: Arc<Metrics>,
    retry: RetryPolicy,
}

/// How long the server keeps one of our sessions that says nothing (MariaDB's default: 8 h).
/// After the DB VIP moves, every connection the app had to the old holder is dead, and the
/// old holder may never hear of it: the app's FIN reaches the new holder, a node cut off by a
/// partition hears nothing, and a session whose last answer was never acknowledged is not
/// idle to TCP keepalives either. Those sessions kept their slots for hours; repeated
/// partitions on the lab filled max_connections (151), and the node refused the app ("Too
/// many connections") when the VIP came back to it. With this, the server ends them a minute
/// after their last word.
pub const SESSION_WAIT_TIMEOUT: &str = "SET SESSION wait_timeout = 60";

/// The pool closes a connection idle this long, before the server's
/// [`SESSION_WAIT_TIMEOUT`] would.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

impl MariaDbStore {
    /// A pool to `url`; connects lazily, so the app starts (and answers /healthz) before the
    /// database does.
    pub fn connect_lazy(
        url: &str,
        pool_size: u32,
        metrics: Arc<Metrics>,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        let options =
            MySqlConnectOptions::from_str(url).map_err(|e| format!("bad database URL: {e}"))?;
        let pool = MySqlPoolOptions::new()
            .max_connections(pool_size)
            // Short: while the DB VIP moves, connects hang; better to retry soon than wait long.
            .acquire_timeout(Duration::from_secs(1))
            // Below the session's wait_timeout: the pool closes an idle connection before the
            // server does.
            .idle_timeout(POOL_IDLE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Reads wait until this node has applied every write the cluster committed
                    // before them: read-after-write holds across nodes. Servers without wsrep
                    // do not know the variable, and need no waiting.
                    match conn.execute("SET SESSION wsrep_sync_wait = 1").await {
                        Err(e) if mysql_number(&e) != Some(UNKNOWN_VARIABLE) => return Err(e),
                        _ => {}
                    }
                    conn.execute(SESSION_WAIT_TIMEOUT).await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(MariaDbStore {
            pool,
            metrics,
            retry,
        })
    }

    /// Create or update the schema, retried until the database answers or `budget` runs out.
    pub async fn migrate(&self, budget: Duration) -> Result<(), String> {
        let started = Instant::now();
        let mut backoff = self.retry.first_backoff;
        loop {
            // Two app nodes may migrate at once; the statements are idempotent, and a loser of
            // the race sees the migration applied on its next try.
            match sqlx::migrate!("./migrations").run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() < budget => {
                    tracing::warn!(error = %e, "schema migration failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                }
                Err(e) => return Err(format!("schema migration failed: {e}")),
            }
        }
    }

    /// INSERT the entry (retried like every operation); a duplicate day comes back as the error.
    async fn insert(
        &self,
        what: &str,
        entry: &Entry,
    ) -> Result<sqlx::mysql::MySqlQueryResult, sqlx::Error> {
        self.retrying(what, |conn| {
            sqlx::query("INSERT INTO roster_entries (day, name, team, contact, note) VALUES (?, ?, ?, ?, ?)")
                .bind(entry.date)
                .bind(&entry.name)
                .bind(&entry.team)
                .bind(&entry.contact)
                .bind(&entry.note)
                .execute(conn)
                .boxed()
        })
        .await
    }

    /// Run `op` until it succeeds, fails for good, or the retry budget is spent; each try
    /// is bounded like [`MariaDbStore::attempt`].
    async fn retrying<T, F>(&self, what: &str, op: F) -> Result<T, sqlx::Error>
    where
        F: for<'c> Fn(&'c mut MySqlConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
    {
        let op = &op;
        self.retry
            .run(&self.metrics, what, is_transient, || self.attempt(op))
            .await
    }

    /// One try of `op` on a connection of the pool, given up after the policy's
    /// `attempt_timeout`. A connection whose answer did not come is detached and dropped,
    /// never returned: the pool would test it on release by reading the lost answer first,
    /// and that wait has no end.
    async fn attempt<T, F>(&self, op: &F) -> Result<T, sqlx::Error>
    where
        F: for<'c> Fn(&'c mut MySqlConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
    {
        let mut conn = self.pool.acquire().await?;
        match tokio::time::timeout(self.retry.attempt_timeout, op(&mut conn)).await {
            Ok(result) => result,
            Err(_) => {
                drop(conn.detach());
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no answer from the database within {} ms",
                        self.retry.attempt_timeout.as_millis()
                    ),
                )))
            }
        }
    }
}

/// `op` as a statement [`MariaDbStore::retrying`] takes: names the closure's type where it is
/// kept in a variable (its answer borrows the connection it is given).
fn statement<T, F>(op: F) -> F
where
    F: for<'c> Fn(&'c mut MySqlConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
{
    op
}

fn unavailable(err: sqlx::Error) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

const LIST: &str = "SELECT day, name, team, contact, note FROM roster_entries WHERE day BETWEEN ? AND ? ORDER BY day";
const GET: &str = "SELECT day, name, team, contact, note FROM roster_entries WHERE day = ?";

/// A row of `roster_entries` as [`LIST`] and [`GET`] read it: the column `day` is the entry's
/// `date` (the API types know nothing of the database).
#[derive(sqlx::FromRow)]
struct Row {
    day: NaiveDate,
    name: String,
    team: Option<String>,
    contact: Option<String>,
    note: Option<String>,
}

impl From<Row> for Entry {
    fn from(row: Row) -> Entry {
        Entry {
            date: row.day,
            name: row.name,
            team: row.team,
            contact: row.contact,
            note: row.note,
        }
    }
}

impl Store for MariaDbStore {
    async fn list(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Entry>, StoreError> {
        self.retrying("list", |conn| {
            sqlx::query_as::<MySql, Row>(LIST)
                .bind(from)
                .bind(to)
                .fetch_all(conn)
                .boxed()
        })
        .await
        .map(|rows| rows.into_iter().map(Entry::from).collect())
        .map_err(unavailable)
    }

    async fn get(&self, date: NaiveDate) -> Result<Option<Entry>, StoreError> {
        self.retrying("get", |conn| {
            sqlx::query_as::<MySql, Row>(GET)
                .bind(date)
                .fetch_optional(conn)
                .boxed()
        })
        .await
        .map(|row| row.map(Entry::from))
        .map_err(unavailable)
    }

    async fn create(&self, entry: &Entry) -> Result<(), StoreError> {
        let inserted = self.insert("create", entry).await;
        match inserted {
            Ok(_) => Ok(()),
            Err(err) if mysql_number(&err) == Some(DUPLICATE_KEY) => {
                create_found_existing(self, entry).await
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn upsert(&self, entry: &Entry) -> Result<Upsert, StoreError> {
        // UPDATE first, INSERT when the day has no row. (A single INSERT .. ON DUPLICATE KEY
        // UPDATE cannot tell "created" from "unchanged": with CLIENT_FOUND_ROWS both report 1.)
        let update = statement(|conn| {
            sqlx::query(
                "UPDATE roster_entries SET name = ?, team = ?, contact = ?, note = ? WHERE day = ?",
            )
            .bind(&entry.name)
            .bind(&entry.team)
            .bind(&entry.contact)
            .bind(&entry.note)
            .bind(entry.date)
            .execute(conn)
            .boxed()
        });
        if self
            .retrying("upsert", update)
            .await
            .map_err(unavailable)?
            .rows_affected()
            > 0
        {
            return Ok(Upsert::Updated);
        }
        let inserted = self.insert("upsert", entry).await;
        match inserted {
            Ok(_) => Ok(Upsert::Created),
            // The row exists (unchanged by our UPDATE, or created meanwhile by another request):
            // apply this request's values over it.
            Err(err) if mysql_number(&err) == Some(DUPLICATE_KEY) => {
                self.retrying("upsert", update).await.map_err(unavailable)?;
                Ok(Upsert::Updated)
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn delete(&self, date: NaiveDate) -> Result<bool, StoreError> {
        let result = self
            .retrying("delete", |conn| {
                sqlx::query("DELETE FROM roster_entries WHERE day = ?")
                    .bind(date)
                    .execute(conn)
                    .boxed()
            })
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected() > 0)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.attempt(&|conn| sqlx::query("SELECT 1").execute(conn).boxed())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
