//! The roster API against a real MariaDB server (Debian's mariadb-server), started by this test
//! in a throwaway data folder on a loopback port: every endpoint, every error code, concurrent
//! writes to one day, the database going away (answers 503 within the retry budget), and an
//! answer lost for good mid-statement (tried again on a fresh connection, written once).

use reqwest::StatusCode;
use roster::api::{AppState, router};
use roster::metrics::Metrics;
use roster::store::{MariaDbStore, RetryPolicy};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A MariaDB server of our own, killed when dropped.
struct MariaDb {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl MariaDb {
    fn start() -> MariaDb {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let status = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--skip-test-db"])
            .arg(format!("--datadir={}", data.display()))
            .stdout(Stdio::null())
            .status()
            .expect("mariadb-install-db (apt-get install mariadb-server; scripts/test.sh does)");
        assert!(status.success(), "mariadb-install-db failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("mariadbd")
            .args([
                "--no-defaults",
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-log-bin",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!(
                "--log-error={}",
                dir.path().join("error.log").display()
            ))
            .spawn()
            .expect("mariadbd");
        let db = MariaDb { child, dir, port };
        let started = Instant::now();
        while !db.sql("SELECT 1").status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "MariaDB did not start: {}",
                db.error_log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // The app's user, over TCP with a password, like on a real app node.
        let setup = db.sql("CREATE USER 'roster'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT ALL ON *.* TO 'roster'@'127.0.0.1';");
        assert!(
            setup.status.success(),
            "{}",
            String::from_utf8_lossy(&setup.stderr)
        );
        db
    }

    /// Run SQL as root over the server's socket.
    fn sql(&self, statements: &str) -> std::process::Output {
        Command::new("mariadb")
            .args(["--no-defaults", "--user=root", "-e", statements])
            .arg(format!(
                "--socket={}",
                self.dir.path().join("sock").display()
            ))
            .output()
            .unwrap()
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn url(&self, database: &str) -> String {
        format!("mysql://roster:pw@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The API token the test apps accept.
const TOKEN: &str = "roster-api-test-token";

/// A roster app on a loopback port, on its own fresh database.
struct App {
    base: String,
    http: reqwest::Client,
}

async fn start_app(db: &MariaDb, database: &str, budget: Duration) -> App {
    let retry = RetryPolicy {
        budget,
        ..RetryPolicy::default()
    };
    start_app_at(db, database, &db.url(database), retry).await
}

/// A roster app on its own fresh database of `db`, which it reaches at `url`.
async fn start_app_at(db: &MariaDb, database: &str, url: &str, retry: RetryPolicy) -> App {
    assert!(
        db.sql(&format!("CREATE DATABASE {database}"))
            .status
            .success()
    );
    let metrics = Arc::new(Metrics::default());
    let store = MariaDbStore::connect_lazy(url, 5, metrics.clone(), retry).unwrap();
    store.migrate(Duration::from_secs(20)).await.unwrap();
    serve(store, metrics).await
}

/// The roster on `store`, served on a loopback port.
async fn serve<S: roster::store::Store>(store: S, metrics: Arc<Metrics>) -> App {
    let app = router(Arc::new(AppState {
        store,
        metrics,
        node: "test-node".into(),
        api_token_sha256: Some(
            roster_api::token::parse_sha256_hex(&roster_api::token::token_sha256_hex(TOKEN))
                .unwrap(),
        ),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    App {
        base,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

impl App {
    /// A request as a client with the API token sends it (writes carry it; so do reads, harmlessly).
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.send_as(Some(TOKEN), method, path, body).await
    }

    async fn send_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roster_api_on_real_mariadb() {
    let db = MariaDb::start();
    let app = start_app(&db, "roster_api", Duration::from_secs(4)).await;

    // Health, readiness, metrics, page.
    let (status, body, headers) = app.send("GET", "/healthz", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Value::String("ok\n".into()))
    );
    assert_eq!(headers["x-served-by"], "test-node");
    let (status, body, _) = app.send("GET", "/readyz", None).await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ready")));
    let (status, page, _) = app.send("GET", "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.as_str()
            .unwrap()
            .contains("served by <strong id=\"node\">test-node</strong>")
    );

    api_scenario(&app).await;
    lost_answer_scenario(&db).await;

    // The database goes away: answers are a clean 503 within the retry budget, /healthz stays up.
    drop(db);
    let started = Instant::now();
    let (status, body, _) = app.send("GET", "/api/v1/roster/2026-12-27", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}: must fail cleanly, not hang",
        started.elapsed()
    );
    // Not ready, and only that: the database's error (its address, the user) stays in the log.
    let (status, body, _) = app.send_as(None, "GET", "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "database not reachable", "{body}");
    assert!(
        !body.to_string().contains("127.0.0.1") && !body.to_string().contains("roster"),
        "{body}"
    );
    assert_eq!(app.send("GET", "/healthz", None).await.0, StatusCode::OK);
    let (_, metrics, _) = app.send("GET", "/metrics", None).await;
    let retries = metrics
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("roster_db_retries_total"))
        .unwrap()
        .to_string();
    assert_ne!(
        retries, "roster_db_retries_total 0",
        "the outage must have been retried"
    );
}

/// A TCP relay to MariaDB that loses answers for good, as a DB VIP move does to a statement in
/// flight: the old holder can no longer send from the VIP, and the client, having sent its
/// statement, waits. Armed with a marker, the relay delivers the next client packet holding it
/// and then drops every answer on that connection (and ends it should the client send more:
/// the new holder would reset it). Other and later connections pass untouched.
struct LosingRelay {
    port: u16,
    armed: Arc<Mutex<Option<Vec<u8>>>>,
    lost: Arc<AtomicUsize>,
}

impl LosingRelay {
    async fn start(to_port: u16) -> LosingRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = LosingRelay {
            port: listener.local_addr().unwrap().port(),
            armed: Arc::default(),
            lost: Arc::default(),
        };
        let (armed, lost) = (relay.armed.clone(), relay.lost.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", to_port)).await.unwrap();
                tokio::spawn(relay_one(client, server, armed.clone(), lost.clone()));
            }
        });
        relay
    }

    /// Lose the answers after the next client packet that holds `marker`.
    fn arm(&self, marker: &str) {
        *self.armed.lock().unwrap() = Some(marker.as_bytes().to_vec());
    }

    /// Connections whose answers were lost so far.
    fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }
}

async fn relay_one(
    mut client: TcpStream,
    mut server: TcpStream,
    armed: Arc<Mutex<Option<Vec<u8>>>>,
    lost: Arc<AtomicUsize>,
) {
    let mut muted = false;
    let (mut up, mut down) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        tokio::select! {
            read = client.read(&mut up) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if muted {
                    return;
                }
                let hit = {
                    let mut armed = armed.lock().unwrap();
                    let hit = armed
                        .as_ref()
                        .is_some_and(|m| up[..n].windows(m.len()).any(|w| w == m.as_slice()));
                    if hit {
                        *armed = None;
                    }
                    hit
                };
                if server.write_all(&up[..n]).await.is_err() {
                    return;
                }
                if hit {
                    muted = true;
                    lost.fetch_add(1, Ordering::SeqCst);
                }
            }
            read = server.read(&mut down) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if !muted && client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The answer to a write is lost for good, before and after the server ran it: each try is
/// cut after the attempt timeout, its connection dropped, and the write tried again on a fresh
/// one; the client gets its 201 and the entry is there once. (Without the attempt timeout the
/// request hung until the client gave up: db-stop's rare failed requests.)
async fn lost_answer_scenario(db: &MariaDb) {
    let relay = LosingRelay::start(db.port).await;
    let attempt_timeout = Duration::from_millis(500);
    let retry = RetryPolicy {
        budget: Duration::from_secs(6),
        attempt_timeout,
        ..RetryPolicy::default()
    };
    let url = format!("mysql://roster:pw@127.0.0.1:{}/roster_lost", relay.port);
    let app = start_app_at(db, "roster_lost", &url, retry).await;
    let cases = [
        // The statement's text: lost before the server ran anything (prepare or query).
        ("2031-01-01", "First Try", "INSERT INTO roster_entries"),
        // The entry's own bytes: the server ran the insert, only the answer is lost; the
        // retry finds the day taken by this very entry.
        ("2031-01-02", "Second Try", "Second Try"),
    ];
    for (n, (day, name, marker)) in cases.into_iter().enumerate() {
        relay.arm(marker);
        let entry = json!({"date": day, "name": name});
        let started = Instant::now();
        let (status, body, _) = app.send("POST", "/api/v1/roster", Some(entry)).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::CREATED, "{marker}: {body}");
        assert_eq!(
            relay.lost(),
            n + 1,
            "{marker}: the answer must have been lost"
        );
        assert!(
            took >= attempt_timeout && took < Duration::from_secs(4),
            "{marker}: took {took:?}, must be one attempt timeout and a retry"
        );
        let (status, body, _) = app
            .send("GET", &format!("/api/v1/roster/{day}"), None)
            .await;
        assert_eq!((status, &body["name"]), (StatusCode::OK, &json!(name)));
    }
    let rows = db.sql("SELECT COUNT(*) FROM roster_lost.roster_entries");
    assert_eq!(String::from_utf8_lossy(&rows.stdout), "COUNT(*)\n2\n");
}

/// Every endpoint and error code, concurrent writes to one day, and the metrics: what any
/// storage backend must do the same (a fresh app, on storage without the days used here).
async fn api_scenario(app: &App) {
    // Writes without the token (or with a wrong one) are refused before anything is stored.
    for token in [None, Some("not-the-token")] {
        let (status, _, headers) = app
            .send_as(
                token,
                "POST",
                "/api/v1/roster",
                Some(json!({"date": "2026-12-24", "name": "Mallory"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers["www-authenticate"], "Bearer realm=\"roster\"");
        for method in ["PUT", "DELETE"] {
            let (status, _, _) = app
                .send_as(
                    token,
                    method,
                    "/api/v1/roster/2026-12-24",
                    Some(json!({"name": "Mallory"})),
                )
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method}");
        }
    }
    assert_eq!(
        app.send_as(None, "GET", "/api/v1/roster/2026-12-24", None)
            .await
            .0,
        StatusCode::NOT_FOUND,
        "reads need no token; the refused writes stored nothing"
    );

    // Create, read, conflict, idempotent retry of the same create.
    let ada = json!({"date": "2026-12-24", "name": "Ada", "team": "SRE", "contact": "+1 555 0100", "note": "holiday"});
    let (status, body, headers) = app.send("POST", "/api/v1/roster", Some(ada.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["location"], "/api/v1/roster/2026-12-24");
    assert_eq!(body, ada);
    assert_eq!(
        app.send("GET", "/api/v1/roster/2026-12-24", None).await.1,
        ada
    );
    let (status, body, _) = app.send("POST", "/api/v1/roster", Some(ada.clone())).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an identical create is a retried request: {body}"
    );
    let (status, body, _) = app
        .send(
            "POST",
            "/api/v1/roster",
            Some(json!({"date": "2026-12-24", "name": "Bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["existing"]["name"], "Ada");
    let (status, body, _) = app.send("GET", "/api/v1/roster/2026-12-25", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("2026-12-25"));

    // Bad input: 422 with a message naming the field.
    for (input, field) in [
        (json!({"date": "2026-13-01", "name": "A"}), Some("date")),
        (json!({"date": "24.12.2026", "name": "A"}), Some("date")),
        (json!({"name": "A"}), Some("date")),
        (json!({"date": "2026-12-26", "name": "  "}), Some("name")),
        (json!({"date": "2026-12-26"}), Some("name")),
        (
            json!({"date": "2026-12-26", "name": "x".repeat(101)}),
            Some("name"),
        ),
        (
            json!({"date": "2026-12-26", "name": "A", "note": "x".repeat(501)}),
            Some("note"),
        ),
        (
            json!({"date": "2026-12-26", "name": "A", "colour": "red"}),
            None,
        ),
        (json!(["not", "an", "object"]), None),
    ] {
        let (status, body, _) = app
            .send("POST", "/api/v1/roster", Some(input.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{input} -> {body}"
        );
        assert!(body["error"].is_string(), "{body}");
        assert_eq!(
            body.get("field").and_then(Value::as_str),
            field,
            "{input} -> {body}"
        );
    }
    let raw = app
        .http
        .post(format!("{}/api/v1/roster", app.base))
        .bearer_auth(TOKEN)
        .body("{not json")
        .header("content-type", "application/json");
    assert_eq!(
        raw.send().await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.send("GET", "/api/v1/roster/not-a-date", None).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // PUT: create then update (idempotent), body date must match the path.
    let carol = json!({"name": "Carol", "team": "DB"});
    let (status, body, _) = app
        .send("PUT", "/api/v1/roster/2026-12-27", Some(carol.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for _ in 0..2 {
        let (status, body, _) = app
            .send(
                "PUT",
                "/api/v1/roster/2026-12-27",
                Some(json!({"name": "Carol B"})),
            )
            .await;
        assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("Carol B")));
    }
    assert_eq!(
        app.send("GET", "/api/v1/roster/2026-12-27", None).await.1["team"],
        Value::Null
    );
    let (status, _, _) = app
        .send(
            "PUT",
            "/api/v1/roster/2026-12-27",
            Some(json!({"date": "2026-12-28", "name": "X"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.send("PUT", "/api/v1/roster/2026-02-30", Some(carol))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // List: range, order, bounds.
    let (status, list, _) = app
        .send("GET", "/api/v1/roster?from=2026-12-01&to=2026-12-31", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let dates: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, vec!["2026-12-24", "2026-12-27"]);
    let (_, list, _) = app
        .send("GET", "/api/v1/roster?from=2026-12-25&to=2026-12-26", None)
        .await;
    assert_eq!(list, json!([]));
    for bad in [
        "?from=2026-12-31&to=2026-12-01",
        "?from=2026-01-01&to=2027-06-01",
        "?from=yesterday",
        "?color=red",
        "?from=+262143-12-31",
        "?from=20261-01-01",
    ] {
        let (status, body, _) = app.send("GET", &format!("/api/v1/roster{bad}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} -> {body}");
    }
    assert_eq!(
        app.send("GET", "/api/v1/roster", None).await.0,
        StatusCode::OK
    );

    // "today".
    assert_eq!(
        app.send("GET", "/api/v1/roster/today", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send("PUT", "/api/v1/roster/today", Some(json!({"name": "Dan"})))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.send("GET", "/api/v1/roster/today", None).await.1["name"],
        "Dan"
    );

    // DELETE is idempotent.
    assert_eq!(
        app.send("DELETE", "/api/v1/roster/2026-12-24", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send("GET", "/api/v1/roster/2026-12-24", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send("DELETE", "/api/v1/roster/2026-12-24", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send("GET", "/nope", None).await.0,
        StatusCode::NOT_FOUND
    );

    // Concurrent writes to one day: exactly one create wins, the rest conflict; PUTs all land.
    let creates = (0..20).map(|i| {
        app.send(
            "POST",
            "/api/v1/roster",
            Some(json!({"date": "2027-01-05", "name": format!("P{i}")})),
        )
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19,
        "{statuses:?}"
    );
    let puts = (0..20).map(|i| {
        app.send(
            "PUT",
            "/api/v1/roster/2027-01-06",
            Some(json!({"name": format!("Q{i}")})),
        )
    });
    let results = futures_util::future::join_all(puts).await;
    assert!(
        results
            .iter()
            .all(|r| r.0 == StatusCode::OK || r.0 == StatusCode::CREATED),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let winner = app.send("GET", "/api/v1/roster/2027-01-06", None).await.1["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(winner.starts_with('Q'), "{winner}");

    // Metrics count requests by route and status.
    let (_, metrics, _) = app.send("GET", "/metrics", None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(
        metrics.contains(
            r#"roster_http_requests_total{method="POST",route="/api/v1/roster",status="409"} 20"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("roster_http_request_duration_seconds_bucket"));
}

/// The days [`api_scenario`] writes, to clear them from storage that outlives the test.
fn scenario_days() -> Vec<chrono::NaiveDate> {
    let mut days: Vec<chrono::NaiveDate> = [
        "2026-12-24",
        "2026-12-25",
        "2026-12-26",
        "2026-12-27",
        "2026-12-28",
        "2027-01-05",
        "2027-01-06",
    ]
    .iter()
    .map(|d| d.parse().unwrap())
    .collect();
    days.push(chrono::Local::now().date_naive());
    days
}

/// The same API on Aerospike. No Aerospike server can be installed from Debian's packages, so
/// this is ignored (cargo test lists it as such, with the reason) unless asked for:
/// `MINICLOUD_TEST_AEROSPIKE=host:port cargo test --test roster_api -- --ignored` (namespace
/// MINICLOUD_TEST_AEROSPIKE_NAMESPACE, default `test`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs an Aerospike server: MINICLOUD_TEST_AEROSPIKE=host:port cargo test --test roster_api -- --ignored"]
async fn roster_api_on_aerospike() {
    use roster::aerospike_store::AerospikeStore;
    use roster::store::Store;
    let hosts = std::env::var("MINICLOUD_TEST_AEROSPIKE").unwrap_or("127.0.0.1:3000".into());
    let namespace = std::env::var("MINICLOUD_TEST_AEROSPIKE_NAMESPACE").unwrap_or("test".into());
    let metrics = Arc::new(Metrics::default());
    let store = AerospikeStore::new(&hosts, &namespace, metrics.clone(), RetryPolicy::default());
    if let Err(e) = store.ready().await {
        panic!("no Aerospike server answers at {hosts} (MINICLOUD_TEST_AEROSPIKE): {e:?}");
    }
    for day in scenario_days() {
        store.delete(day).await.unwrap();
    }
    let app = serve(store, metrics).await;
    assert_eq!(app.send("GET", "/readyz", None).await.0, StatusCode::OK);
    api_scenario(&app).await;
}
