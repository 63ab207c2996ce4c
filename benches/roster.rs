//! Benchmark of the roster app (run: `cargo bench --bench roster`, as root with dockerd; it
//! takes over the machine's lab and removes it at the end).
//!
//! Requests/s and latency (p50, p99) for GET and PUT through the HAProxy VIP (the firewall
//! admits the roster's port from lb hosts only, so not direct to an app node), beside an axum hello-world served in this process and measured with the same
//! client in the same run, so the figures read as ratios. Printed, never asserted.

mod common;

use std::time::{Duration, Instant};

const WORKERS: usize = 16;
const SECONDS: u64 = 8;
/// The lab's frontend VIP.
const VIP: &str = "http://10.231.50.100";

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
}

/// `WORKERS` clients, each sending requests back to back for `SECONDS`; PUTs carry `token`
/// (the roster API token writes need).
async fn load(
    base: &str,
    method: &str,
    path_of: fn(usize, usize) -> String,
    token: &str,
) -> Figures {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(WORKERS)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let workers = (0..WORKERS).map(|worker| {
        let client = client.clone();
        let base = base.to_string();
        let token = token.to_string();
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        tokio::spawn(async move {
            let (mut latencies, mut failed, mut n) = (Vec::new(), 0, 0);
            while Instant::now() < deadline {
                let url = format!("{base}{}", path_of(worker, n));
                let mut request = client.request(method.clone(), url);
                if method == reqwest::Method::PUT {
                    request = request.bearer_auth(&token).json(&roster_api::EntryInput {
                        name: Some(format!("bench {worker}-{n}")),
                        ..Default::default()
                    });
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => failed += 1,
                }
                n += 1;
            }
            (latencies, failed)
        })
    });
    let mut latencies = Vec::new();
    let mut failed = 0;
    for result in futures_util::future::join_all(workers).await {
        let (l, f) = result.unwrap();
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        per_second: latencies.len() as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
        failed,
    }
}

/// Days spread over a year so PUTs from different workers rarely touch the same row.
fn day(worker: usize, n: usize) -> String {
    let date = chrono::NaiveDate::from_ymd_opt(2028, 1, 1).unwrap()
        + chrono::Duration::days(((worker * 31 + n) % 360) as i64);
    roster_api::routes::day_path(date)
}

fn main() {
    common::fresh_stack(&minicloud::lab::topology::DEFAULT_HOSTS.join(","));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let table = runtime.block_on(async {
        let hello = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hello_base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, hello).await.unwrap() });
        let baseline = load(&hello_base, "GET", |_, _| "/".into(), "").await;
        let token = minicloud::secrets::Secrets::load_existing(&minicloud::secrets::secrets_path(
            &common::inventory(),
        ))
        .unwrap()
        .roster_api_token;
        // Seed the days the GETs read.
        load(VIP, "PUT", day, &token).await;
        let mut table = format!(
            "{WORKERS} concurrent clients, {SECONDS} s each, on this machine alongside the lab; \
             the baseline is an axum hello-world served in the bench process. Only through the \
             VIP: the firewall admits the roster's own port from lb hosts only.\n\n\
             | target | req/s | p50 ms | p99 ms | failed | req/s × hello-world |\n\
             | --- | --- | --- | --- | --- | --- |\n"
        );
        let mut row = |name: &str, f: &Figures| {
            table.push_str(&format!(
                "| {name} | {:.0} | {:.2} | {:.2} | {} | {:.2} |\n",
                f.per_second,
                f.p50.as_secs_f64() * 1e3,
                f.p99.as_secs_f64() * 1e3,
                f.failed,
                f.per_second / baseline.per_second
            ))
        };
        row("axum hello-world, in process (baseline)", &baseline);
        row(
            "GET through the HAProxy VIP",
            &load(VIP, "GET", day, &token).await,
        );
        row(
            "PUT through the HAProxy VIP",
            &load(VIP, "PUT", day, &token).await,
        );
        table
    });
    println!("{table}");
    common::write_results("roster", "Roster throughput", &table);
    common::lab_down();
}
