//! The load generator of a drill: a steady stream of reads and writes through the frontend VIP,
//! every write unique (its own day, far in the future, named after the run) and recorded when
//! acknowledged; and the pure figures computed from what it saw. It speaks the roster's API
//! through `roster_api` (its URLs and entry types), the crate the roster app is built on.

use chrono::{Days, NaiveDate};
use roster_api::{Entry, EntryInput, routes};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Read,
    Write,
}

/// One request the load generator sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub kind: Kind,
    /// Milliseconds since the load started: sent, answered (or given up).
    pub sent_ms: u64,
    pub done_ms: u64,
    pub ok: bool,
    /// Why it failed: HTTP status, or the client error.
    pub error: Option<String>,
}

/// How hard to push.
#[derive(Debug, Clone)]
pub struct Rates {
    pub writes_per_second: u32,
    pub reads_per_second: u32,
    /// HTTP clients the requests are spread over, round robin, each keeping its own
    /// keep-alive connections: HAProxy and the app see several clients, not one.
    pub connections: usize,
    /// A request not answered in this time has failed.
    pub request_timeout: Duration,
    /// At most this many requests in flight; a tick beyond it counts as a failure. Room for
    /// a stall of several seconds at the full rate (every request waits, none is refused).
    pub max_in_flight: usize,
}

/// The load's connections unless told otherwise (`failover-test --connections`).
pub const DEFAULT_CONNECTIONS: u16 = 8;

impl Default for Rates {
    /// 250 requests/s over 8 connections: a gap is seen to 10 ms for writes, and 200/s is
    /// reached with room to spare.
    fn default() -> Self {
        Rates {
            writes_per_second: 100,
            reads_per_second: 150,
            connections: usize::from(DEFAULT_CONNECTIONS),
            request_timeout: Duration::from_secs(15),
            max_in_flight: 4096,
        }
    }
}

impl Rates {
    /// Requests per second asked for.
    pub fn total_per_second(&self) -> u32 {
        self.writes_per_second + self.reads_per_second
    }
}

/// When request number `n` of a stream of `per_second` is due, after the start: the schedule
/// is fixed in advance, so a late tick is caught up at once instead of lowering the rate.
pub fn due(n: u64, per_second: u32) -> Duration {
    Duration::from_nanos(n.saturating_mul(1_000_000_000) / u64::from(per_second.max(1)))
}

/// The day written by write number `n` of a run: unique per run and far from any real roster
/// day (the page shows the coming four weeks).
pub fn write_day(run_offset_days: u64, n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2400, 1, 1).expect("valid date") + Days::new(run_offset_days + n)
}

/// The name written on a day: tells which run wrote it, so verification and clean-up find it.
pub fn write_name(run: &str, n: u64) -> String {
    format!("{run}-{n}")
}

/// What the load saw, shared with its tasks.
#[derive(Debug, Default)]
struct Record {
    samples: Vec<Sample>,
    /// Acknowledged writes: day → name.
    acked: BTreeMap<NaiveDate, String>,
}

/// A running load; `stop` ends it and returns what it saw.
pub struct Load {
    started: Instant,
    /// The same moment on the wall clock, ms since the Unix epoch.
    started_unix_ms: u64,
    record: Arc<Mutex<Record>>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
}

/// Everything the load saw.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub samples: Vec<Sample>,
    pub acked: BTreeMap<NaiveDate, String>,
}

impl Load {
    /// Start sending to `base_url` (`http://VIP:port`); writes named `run-N`, each carrying
    /// `api_token` (the roster refuses writes without it).
    pub fn start(
        base_url: &str,
        api_token: &str,
        run: &str,
        run_offset_days: u64,
        rates: Rates,
    ) -> Load {
        let connections = rates.connections.max(1);
        let clients: Vec<reqwest::Client> = (0..connections)
            .map(|_| {
                reqwest::Client::builder()
                    .timeout(rates.request_timeout)
                    .no_proxy()
                    .pool_max_idle_per_host(4)
                    .build()
                    .expect("HTTP client")
            })
            .collect();
        let record = Arc::new(Mutex::new(Record::default()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let in_flight = Arc::new(Semaphore::new(rates.max_in_flight));
        let mut tasks = Vec::new();
        for kind in [Kind::Write, Kind::Read] {
            let per_second = match kind {
                Kind::Write => rates.writes_per_second,
                Kind::Read => rates.reads_per_second,
            };
            if per_second == 0 {
                continue;
            }
            let ctx = Sender {
                clients: clients.clone(),
                base_url: base_url.to_string(),
                api_token: api_token.to_string(),
                run: run.to_string(),
                run_offset_days,
                record: record.clone(),
                started,
                in_flight: in_flight.clone(),
            };
            let mut stopped = stopped.clone();
            let start = tokio::time::Instant::from_std(started);
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep_until(start + due(n, per_second)) => {}
                        _ = stopped.changed() => break,
                    }
                    ctx.send(kind, n);
                    n += 1;
                }
            }));
        }
        Load {
            started,
            started_unix_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            record,
            stop,
            tasks,
            in_flight,
            max_in_flight: rates.max_in_flight,
        }
    }

    /// Milliseconds since the load started (the clock every sample uses).
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// When the load started on the wall clock, ms since the Unix epoch: lines its clock up
    /// with the hosts' journals.
    pub fn started_unix_ms(&self) -> u64 {
        self.started_unix_ms
    }

    /// Stop sending, wait for the requests in flight (each bounded by its timeout).
    pub async fn stop(self) -> Seen {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let _ = self.in_flight.acquire_many(self.max_in_flight as u32).await;
        let mut record = self.record.lock().expect("load record");
        let mut samples = std::mem::take(&mut record.samples);
        samples.sort_by_key(|s| s.sent_ms);
        Seen {
            samples,
            acked: std::mem::take(&mut record.acked),
        }
    }
}

/// What one sending task needs.
#[derive(Clone)]
struct Sender {
    /// One per connection; request `n` goes out on client `n % len`.
    clients: Vec<reqwest::Client>,
    base_url: String,
    api_token: String,
    run: String,
    run_offset_days: u64,
    record: Arc<Mutex<Record>>,
    started: Instant,
    in_flight: Arc<Semaphore>,
}

impl Sender {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn client(&self, n: u64) -> &reqwest::Client {
        &self.clients[n as usize % self.clients.len()]
    }

    fn send(&self, kind: Kind, n: u64) {
        let sent_ms = self.now_ms();
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            self.record
                .lock()
                .expect("load record")
                .samples
                .push(Sample {
                    kind,
                    sent_ms,
                    done_ms: sent_ms,
                    ok: false,
                    error: Some("not sent: too many requests in flight".into()),
                });
            return;
        };
        let ctx = self.clone();
        tokio::spawn(async move {
            let outcome = match kind {
                Kind::Write => ctx.write(n).await,
                Kind::Read => ctx.read(n).await,
            };
            let done_ms = ctx.now_ms();
            ctx.record
                .lock()
                .expect("load record")
                .samples
                .push(Sample {
                    kind,
                    sent_ms,
                    done_ms,
                    ok: outcome.is_ok(),
                    error: outcome.err(),
                });
            drop(permit);
        });
    }

    /// PUT a new day (idempotent, so HAProxy and the app may retry it); acknowledged = 200/201.
    async fn write(&self, n: u64) -> Result<(), String> {
        let day = write_day(self.run_offset_days, n);
        let name = write_name(&self.run, n);
        let url = routes::day_url(&self.base_url, day);
        let body = EntryInput {
            date: Some(day.to_string()),
            name: Some(name.clone()),
            note: Some("minicloud failover-test".into()),
            ..EntryInput::default()
        };
        let request = || {
            self.client(n)
                .put(&url)
                .bearer_auth(&self.api_token)
                .json(&body)
        };
        let response = send_idempotent(request).await?;
        let status = response.status().as_u16();
        if matches!(status, 200 | 201) {
            self.record
                .lock()
                .expect("load record")
                .acked
                .insert(day, name);
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    }

    /// GET a day acknowledged earlier: it must be there (read-after-write through the VIP).
    async fn read(&self, n: u64) -> Result<(), String> {
        let pick = {
            let record = self.record.lock().expect("load record");
            let count = record.acked.len();
            (count > 0).then(|| {
                let (day, name) = record
                    .acked
                    .iter()
                    .nth(n as usize % count)
                    .expect("index below count");
                (*day, name.clone())
            })
        };
        let url = match &pick {
            Some((day, _)) => routes::day_url(&self.base_url, *day),
            None => routes::entries_url(&self.base_url),
        };
        let response = send_idempotent(|| self.client(n).get(&url)).await?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        if let Some((day, name)) = pick {
            let entry: Entry = response.json().await.map_err(|e| describe(&e))?;
            if entry.name != name {
                return Err(format!("read {day}: expected {name}, got {:?}", entry.name));
            }
        }
        Ok(())
    }
}

/// Send an idempotent request; sent once more when it broke on a kept-alive connection the
/// proxy had closed meanwhile (HAProxy ends the sessions of a server it marks down), as HTTP
/// clients and browsers do for idempotent requests (RFC 9110, 9.2.2). A request that could not
/// connect or timed out is not sent again: that is a failure a client sees.
async fn send_idempotent(
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    match request().send().await {
        Ok(response) => Ok(response),
        Err(e) if closed_while_sending(&e) => request().send().await.map_err(|e| describe(&e)),
        Err(e) => Err(describe(&e)),
    }
}

/// The connection was up (no connect error, no timeout) but broke while the request went out.
fn closed_while_sending(err: &reqwest::Error) -> bool {
    err.is_request() && !err.is_connect() && !err.is_timeout()
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "could not connect".into()
    } else {
        format!("{err}")
    }
}

/// Requests sent per second in [from_ms, to_ms): the rate the load reached.
pub fn achieved_rate(samples: &[Sample], from_ms: u64, to_ms: u64) -> f64 {
    if to_ms <= from_ms {
        return 0.0;
    }
    let sent = samples
        .iter()
        .filter(|s| s.sent_ms >= from_ms && s.sent_ms < to_ms)
        .count();
    sent as f64 * 1000.0 / (to_ms - from_ms) as f64
}

/// Latency percentiles of the successful requests sent in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    pub requests: usize,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

/// p50/p99 of successful requests sent in [from_ms, to_ms).
pub fn latency(samples: &[Sample], from_ms: u64, to_ms: u64) -> Latency {
    let mut took: Vec<u64> = samples
        .iter()
        .filter(|s| s.ok && s.sent_ms >= from_ms && s.sent_ms < to_ms)
        .map(|s| s.done_ms - s.sent_ms)
        .collect();
    took.sort_unstable();
    let pick =
        |q: f64| (!took.is_empty()).then(|| took[((took.len() - 1) as f64 * q).round() as usize]);
    Latency {
        requests: took.len(),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    }
}

/// Longest time in [from_ms, to_ms] without a request of `kind` (any kind when None)
/// succeeding: the gap a client saw.
pub fn longest_gap_ms(samples: &[Sample], kind: Option<Kind>, from_ms: u64, to_ms: u64) -> u64 {
    longest_gap(samples, kind, from_ms, to_ms).1
}

/// When that gap began (ms since the load started): the success before it, or `from_ms`.
pub fn longest_gap_from_ms(
    samples: &[Sample],
    kind: Option<Kind>,
    from_ms: u64,
    to_ms: u64,
) -> u64 {
    longest_gap(samples, kind, from_ms, to_ms).0
}

/// The longest gap as (start, length), the earliest of equal ones.
fn longest_gap(samples: &[Sample], kind: Option<Kind>, from_ms: u64, to_ms: u64) -> (u64, u64) {
    let mut done: Vec<u64> = samples
        .iter()
        .filter(|s| s.ok && kind.is_none_or(|k| s.kind == k))
        .map(|s| s.done_ms.clamp(from_ms, to_ms))
        .collect();
    done.push(from_ms);
    done.push(to_ms);
    done.sort_unstable();
    done.windows(2)
        .map(|w| (w[0], w[1] - w[0]))
        .fold(
            (from_ms, 0),
            |best, gap| if gap.1 > best.1 { gap } else { best },
        )
}

/// When clients stopped seeing trouble after `fault_ms`: the first success after the last
/// failure sent before `until_ms`, as ms after the fault (0 when nothing failed).
pub fn recovered_after_ms(samples: &[Sample], fault_ms: u64, until_ms: u64) -> u64 {
    let last_failure = samples
        .iter()
        .filter(|s| !s.ok && s.sent_ms >= fault_ms && s.sent_ms < until_ms)
        .map(|s| s.done_ms)
        .max();
    let Some(last_failure) = last_failure else {
        return 0;
    };
    samples
        .iter()
        .filter(|s| s.ok && s.done_ms >= last_failure)
        .map(|s| s.done_ms)
        .min()
        .unwrap_or(last_failure)
        .saturating_sub(fault_ms)
}

/// Requests answered (ok, failed) per whole second since the load started, by when the answer
/// came: a stall shows as empty seconds, then a burst.
pub fn per_second(samples: &[Sample]) -> Vec<(u64, u64)> {
    let seconds = samples
        .iter()
        .map(|s| s.done_ms / 1000 + 1)
        .max()
        .unwrap_or(0);
    let mut buckets = vec![(0u64, 0u64); seconds as usize];
    for s in samples {
        let bucket = &mut buckets[(s.done_ms / 1000) as usize];
        if s.ok {
            bucket.0 += 1;
        } else {
            bucket.1 += 1;
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: Kind, sent_ms: u64, done_ms: u64, ok: bool) -> Sample {
        Sample {
            kind,
            sent_ms,
            done_ms,
            ok,
            error: (!ok).then(|| "HTTP 503".to_string()),
        }
    }

    #[test]
    fn the_schedule_is_fixed_in_advance() {
        assert_eq!(due(0, 250), Duration::ZERO);
        assert_eq!(due(250, 250), Duration::from_secs(1));
        assert_eq!(due(1, 3), Duration::from_nanos(333_333_333));
        assert_eq!(due(5, 0), Duration::from_secs(5), "no division by zero");
    }

    #[test]
    fn the_achieved_rate_counts_requests_sent_in_the_window() {
        let samples: Vec<Sample> = (0..300)
            .map(|i| sample(Kind::Read, i * 10, i * 10 + 5, i % 2 == 0))
            .collect();
        assert_eq!(achieved_rate(&samples, 0, 3000), 100.0);
        assert_eq!(achieved_rate(&samples, 1000, 1500), 100.0);
        assert_eq!(achieved_rate(&samples, 5000, 5000), 0.0);
    }

    /// A tiny roster API on loopback: PUT and GET of a day, and who connected.
    #[derive(Default)]
    struct FakeRoster {
        days: Mutex<BTreeMap<String, String>>,
        peers: Mutex<std::collections::HashSet<std::net::SocketAddr>>,
    }

    async fn fake_roster() -> (std::net::SocketAddr, Arc<FakeRoster>) {
        use axum::extract::{ConnectInfo, Path, State};
        use axum::http::StatusCode;
        use axum::routing::get;
        type Shared = State<Arc<FakeRoster>>;
        type Peer = ConnectInfo<std::net::SocketAddr>;
        async fn put(
            State(fake): Shared,
            ConnectInfo(peer): Peer,
            Path(day): Path<String>,
            axum::Json(body): axum::Json<serde_json::Value>,
        ) -> StatusCode {
            fake.peers.lock().unwrap().insert(peer);
            let name = body["name"].as_str().unwrap_or_default().to_string();
            fake.days.lock().unwrap().insert(day, name);
            StatusCode::OK
        }
        async fn get_day(
            State(fake): Shared,
            ConnectInfo(peer): Peer,
            Path(day): Path<String>,
        ) -> Result<axum::Json<serde_json::Value>, StatusCode> {
            fake.peers.lock().unwrap().insert(peer);
            let name = fake.days.lock().unwrap().get(&day).cloned();
            name.map(|name| axum::Json(serde_json::json!({ "date": day, "name": name })))
                .ok_or(StatusCode::NOT_FOUND)
        }
        let fake = Arc::new(FakeRoster::default());
        let app = axum::Router::new()
            .route("/api/v1/roster", get(|| async { "[]" }))
            .route("/api/v1/roster/{day}", get(get_day).put(put))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        (addr, fake)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_load_keeps_its_rate_over_several_connections() {
        let (addr, fake) = fake_roster().await;
        let rates = Rates {
            writes_per_second: 100,
            reads_per_second: 150,
            connections: 4,
            ..Rates::default()
        };
        let load = Load::start(&format!("http://{addr}"), "token", "t", 0, rates);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let end_ms = load.now_ms();
        let seen = load.stop().await;
        let rate = achieved_rate(&seen.samples, 0, end_ms);
        assert!((225.0..=275.0).contains(&rate), "{rate} requests/s");
        let writes = seen
            .samples
            .iter()
            .filter(|s| s.kind == Kind::Write && s.sent_ms < end_ms)
            .count();
        assert!((180..=220).contains(&writes), "{writes} writes in 2 s");
        let failed: Vec<&Sample> = seen.samples.iter().filter(|s| !s.ok).collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(seen.acked.len(), fake.days.lock().unwrap().len());
        let peers = fake.peers.lock().unwrap().len();
        assert!(peers >= 4, "{peers} connections");
    }

    #[test]
    fn writes_are_unique_and_far_from_real_days() {
        assert_eq!(write_day(0, 0).to_string(), "2400-01-01");
        assert_eq!(write_day(1000, 1).to_string(), "2402-09-28");
        assert_eq!(write_name("drill-abc", 7), "drill-abc-7");
    }

    #[test]
    fn the_longest_gap_counts_from_the_window_edges() {
        let samples = vec![
            sample(Kind::Read, 0, 100, true),
            sample(Kind::Write, 150, 200, true),
            sample(Kind::Write, 300, 2500, false),
            sample(Kind::Read, 400, 3100, true),
            sample(Kind::Write, 3200, 3300, true),
        ];
        assert_eq!(longest_gap_ms(&samples, None, 0, 4000), 2900);
        assert_eq!(longest_gap_ms(&samples, Some(Kind::Write), 0, 4000), 3100);
        // From the read answered at 100 ms, and from the write answered at 200 ms.
        assert_eq!(longest_gap_from_ms(&samples, None, 0, 4000), 200);
        assert_eq!(
            longest_gap_from_ms(&samples, Some(Kind::Write), 0, 4000),
            200
        );
        assert_eq!(longest_gap_ms(&[], None, 1000, 1500), 500);
        assert_eq!(longest_gap_from_ms(&[], None, 1000, 1500), 1000);
    }

    #[test]
    fn latency_is_of_successes_sent_in_the_window() {
        let samples: Vec<Sample> = (0..100)
            .map(|i| sample(Kind::Read, i * 10, i * 10 + i, true))
            .chain([sample(Kind::Read, 5, 9000, false)])
            .collect();
        let all = latency(&samples, 0, 10_000);
        assert_eq!(
            (all.requests, all.p50_ms, all.p99_ms),
            (100, Some(50), Some(98))
        );
        assert_eq!(latency(&samples, 5000, 6000), Latency::default());
    }

    #[test]
    fn recovery_is_the_first_success_after_the_last_failure() {
        let samples = vec![
            sample(Kind::Read, 900, 950, true),
            sample(Kind::Read, 1000, 1200, false),
            sample(Kind::Read, 1500, 3000, false),
            sample(Kind::Read, 2000, 3400, true),
            sample(Kind::Read, 9000, 9100, false),
        ];
        assert_eq!(recovered_after_ms(&samples, 1000, 8000), 2400);
        assert_eq!(recovered_after_ms(&samples[..1], 1000, 8000), 0);
    }

    #[test]
    fn per_second_buckets_count_successes_and_failures() {
        let samples = vec![
            sample(Kind::Read, 100, 150, true),
            sample(Kind::Read, 900, 1500, false),
            sample(Kind::Write, 2100, 2150, true),
            sample(Kind::Write, 200, 3950, true),
        ];
        assert_eq!(per_second(&samples), vec![(1, 0), (0, 1), (1, 0), (1, 0)]);
    }
}
