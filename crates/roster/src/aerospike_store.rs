//! The roster on Aerospike (the on-call original's database): one record per day in the set
//! `roster` of the configured namespace, keyed by the date, every write committed on all
//! replicas. The client connects lazily (the app serves /healthz before the cluster answers)
//! and transient errors (timeouts, lost connections, a node leaving) are retried within the
//! same bounded budget as on MariaDB. The mapping between entries and bins is pure.

use super::metrics::Metrics;
use super::store::{RetryPolicy, Store, StoreError, Upsert, create_found_existing};
use aerospike::expressions::{and, ge, le, string_bin, string_val};
use aerospike::{
    AdminPolicy, Bin, Bins, Client, ClientPolicy, CommitLevel, Key, PartitionFilter, QueryPolicy,
    ReadPolicy, RecordExistsAction, ResultCode, Statement, Value, WritePolicy,
};
use chrono::NaiveDate;
use futures_util::StreamExt;
use roster_api::Entry;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The set every entry lives in.
pub const SET: &str = "roster";
const FIELDS: [&str; 5] = ["date", "name", "team", "contact", "note"];

/// The entries in Aerospike: one record per day in the set [`SET`], written with commit-all;
/// connected on first use, so the app starts before the cluster answers.
pub struct AerospikeStore {
    hosts: String,
    namespace: String,
    client: OnceCell<Client>,
    metrics: Arc<Metrics>,
    retry: RetryPolicy,
}

/// An entry as bins (absent optional fields are not written).
pub fn to_bins(entry: &Entry) -> Vec<Bin> {
    let mut bins = vec![
        Bin::new("date", Value::from(entry.date.to_string())),
        Bin::new("name", Value::from(entry.name.clone())),
    ];
    for (name, value) in [
        ("team", &entry.team),
        ("contact", &entry.contact),
        ("note", &entry.note),
    ] {
        if let Some(value) = value {
            bins.push(Bin::new(name, Value::from(value.clone())));
        }
    }
    bins
}

/// An entry from a record's bins; None when they do not hold one.
pub fn from_bins(bins: &aerospike::IndexMap<String, Value>) -> Option<Entry> {
    let text = |name: &str| match bins.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    Some(Entry {
        date: text("date")?.parse().ok()?,
        name: text("name")?,
        team: text("team"),
        contact: text("contact"),
        note: text("note"),
    })
}

/// Worth another try: the cluster or the network, not the request.
fn is_transient(err: &aerospike::Error) -> bool {
    err.is_client_timeout()
        || err.result_code() < 0
        || err.matches(&[
            ResultCode::Timeout,
            ResultCode::PartitionUnavailable,
            ResultCode::KeyBusy,
            ResultCode::DeviceOverload,
        ])
}

fn unavailable(err: aerospike::Error) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

impl AerospikeStore {
    /// A store on the cluster at `hosts` (`a:3000,b:3000`); nothing connects yet.
    pub fn new(hosts: &str, namespace: &str, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        AerospikeStore {
            hosts: hosts.to_string(),
            namespace: namespace.to_string(),
            client: OnceCell::new(),
            metrics,
            retry,
        }
    }

    async fn client(&self) -> Result<&Client, aerospike::Error> {
        self.client
            .get_or_try_init(|| async {
                let policy = ClientPolicy {
                    timeout: 2_000,
                    connect_timeout: 1_000,
                    ..ClientPolicy::default()
                };
                Client::new(&policy, &self.hosts).await
            })
            .await
    }

    fn key(&self, date: NaiveDate) -> Result<Key, aerospike::Error> {
        Key::new(self.namespace.clone(), SET, Value::from(date.to_string()))
    }

    fn write_policy(&self, exists: RecordExistsAction) -> WritePolicy {
        WritePolicy {
            // Acknowledged only when every replica has it: a node failing right after loses nothing.
            commit_level: CommitLevel::CommitAll,
            record_exists_action: exists,
            send_key: true,
            ..WritePolicy::default()
        }
    }

    /// Run `op` on the client (connecting first when need be) until it succeeds, fails for
    /// good, or the retry budget is spent.
    async fn retrying<'a, T, F, Fut>(&'a self, what: &str, op: F) -> Result<T, aerospike::Error>
    where
        F: Fn(&'a Client) -> Fut,
        Fut: Future<Output = Result<T, aerospike::Error>>,
    {
        let op = &op;
        self.retry
            .run(&self.metrics, what, is_transient, || async move {
                op(self.client().await?).await
            })
            .await
    }

    async fn put(
        &self,
        what: &str,
        entry: &Entry,
        exists: RecordExistsAction,
    ) -> Result<(), aerospike::Error> {
        let key = self.key(entry.date)?;
        let bins = to_bins(entry);
        let policy = self.write_policy(exists);
        self.retrying(what, |client| client.put(&policy, &key, &bins))
            .await
    }
}

impl Store for AerospikeStore {
    async fn list(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Entry>, StoreError> {
        // ISO dates sort as strings: the range is a filter on the date bin, no index needed.
        let mut entries = self
            .retrying("list", |client| {
                let mut policy = QueryPolicy::default();
                policy.base_policy.filter_expression = Some(and(vec![
                    ge(string_bin("date"), string_val(from.to_string())),
                    le(string_bin("date"), string_val(to.to_string())),
                ]));
                let statement = Statement::new(&self.namespace, SET, Bins::from(FIELDS));
                async move {
                    let records = client
                        .query(&policy, PartitionFilter::all(), statement)
                        .await?;
                    let mut stream = records.into_stream();
                    let mut entries = Vec::new();
                    while let Some(record) = stream.next().await {
                        entries.extend(from_bins(&record?.bins));
                    }
                    Ok(entries)
                }
            })
            .await
            .map_err(unavailable)?;
        // At-least-once delivery: a retried partition may repeat a record.
        entries.sort_by_key(|e| e.date);
        entries.dedup_by_key(|e| e.date);
        Ok(entries)
    }

    async fn get(&self, date: NaiveDate) -> Result<Option<Entry>, StoreError> {
        let key = self.key(date).map_err(unavailable)?;
        let policy = ReadPolicy::default();
        match self
            .retrying("get", |client| client.get(&policy, &key, Bins::All))
            .await
        {
            Ok(record) => Ok(from_bins(&record.bins)),
            Err(err) if err.server_result_code() == Some(ResultCode::KeyNotFoundError) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn create(&self, entry: &Entry) -> Result<(), StoreError> {
        match self
            .put("create", entry, RecordExistsAction::CreateOnly)
            .await
        {
            Ok(()) => Ok(()),
            Err(err) if err.server_result_code() == Some(ResultCode::KeyExistsError) => {
                create_found_existing(self, entry).await
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn upsert(&self, entry: &Entry) -> Result<Upsert, StoreError> {
        // Replace only an existing record first, so "updated" and "created" are told apart.
        match self
            .put("upsert", entry, RecordExistsAction::ReplaceOnly)
            .await
        {
            Ok(()) => return Ok(Upsert::Updated),
            Err(err) if err.server_result_code() == Some(ResultCode::KeyNotFoundError) => {}
            Err(err) => return Err(unavailable(err)),
        }
        match self
            .put("upsert", entry, RecordExistsAction::CreateOnly)
            .await
        {
            Ok(()) => Ok(Upsert::Created),
            // Created meanwhile by another request: this one's values win.
            Err(err) if err.server_result_code() == Some(ResultCode::KeyExistsError) => {
                self.put("upsert", entry, RecordExistsAction::Replace)
                    .await
                    .map_err(unavailable)?;
                Ok(Upsert::Updated)
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn delete(&self, date: NaiveDate) -> Result<bool, StoreError> {
        let key = self.key(date).map_err(unavailable)?;
        let policy = self.write_policy(RecordExistsAction::Update);
        self.retrying("delete", |client| client.delete(&policy, &key))
            .await
            .map_err(unavailable)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let client = self.client().await.map_err(unavailable)?;
        client
            .info(&AdminPolicy::default(), &["status"])
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_survives_the_trip_through_bins() {
        let entry = Entry {
            date: "2026-12-24".parse().unwrap(),
            name: "Ada".into(),
            team: Some("ops".into()),
            contact: None,
            note: Some("holiday".into()),
        };
        let bins: aerospike::IndexMap<String, Value> = to_bins(&entry)
            .into_iter()
            .map(|b| (b.name, b.value))
            .collect();
        assert!(!bins.contains_key("contact"));
        assert_eq!(from_bins(&bins), Some(entry));
    }

    #[test]
    fn a_record_without_a_date_is_no_entry() {
        let mut bins = aerospike::IndexMap::new();
        bins.insert("name".to_string(), Value::from("Ada"));
        assert_eq!(from_bins(&bins), None);
    }
}
