//! The roster's HTTP surface: the JSON API under `/api/v1/roster`, the web page, `/healthz`
//! (the process serves: what HAProxy checks), `/readyz` (the database answers) and `/metrics`.
//!
//! Nothing a client sends can make it panic or answer 5xx: every date is checked by
//! [`model::parse_date`] (one range, checked arithmetic), every query and path is read by hand
//! into a 422 naming the field, and writes need the API token ([`super::auth`]).

use super::auth;
use super::metrics::{Metrics, RequestLabels, RouteLabels, method_label};
use super::store::{Store, StoreError, Upsert};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Local, NaiveDate};
use roster_api::model::{self, Entry, EntryInput, Invalid};
use roster_api::{ErrorBody, routes};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Days a list shows when the client gives no `to`.
const DEFAULT_DAYS: u64 = 28;
const PAGE: &str = include_str!("page.html");

/// What every handler shares.
pub struct AppState<S> {
    /// Where the entries are kept.
    pub store: S,
    /// What `/metrics` shows, counted by every request.
    pub metrics: Arc<Metrics>,
    /// This app node's name, shown on the page and in `X-Served-By`.
    pub node: String,
    /// SHA-256 of the API token writes must carry; None refuses every write (fail closed).
    pub api_token_sha256: Option<[u8; 32]>,
}

/// Every endpoint, with writes gated on the API token and every request counted.
pub fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route(routes::PAGE, get(page::<S>))
        .route(routes::HEALTHZ, get(|| async { "ok\n" }))
        .route(routes::READYZ, get(readyz::<S>))
        .route(routes::METRICS, get(metrics::<S>))
        .route(routes::ENTRIES, get(list::<S>).post(create::<S>))
        .route(
            routes::ENTRY,
            get(get_one::<S>).put(put::<S>).delete(delete::<S>),
        )
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such endpoint (the API is under /api/v1/roster)",
                None,
            )
        })
        // Layers added later run first: the count sees refused writes too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            authorize::<S>,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe::<S>))
        .with_state(state)
}

/// Refuse a write without the right token before anything reads its body.
async fn authorize<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    request: Request,
    next: Next,
) -> Response {
    if auth::is_write(request.method())
        && let Err(refused) = auth::check(state.api_token_sha256.as_ref(), request.headers())
    {
        return refused.into_response();
    }
    next.run(request).await
}

/// Count and time every request, and say which node served it.
async fn observe<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    if let Ok(node) = HeaderValue::from_str(&state.node) {
        response.headers_mut().insert("x-served-by", node);
    }
    response
}

fn error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    let body = ErrorBody {
        field: field.map(str::to_string),
        ..ErrorBody::new(message)
    };
    (status, Json(body)).into_response()
}

/// Every way a request can fail, each answered with a JSON body.
enum ApiError {
    /// 422: a field broke a rule.
    Invalid(Invalid),
    /// 422: the body or query could not be read at all.
    Unreadable(String),
    NotFound(String),
    Store(StoreError),
}

impl From<Invalid> for ApiError {
    fn from(problem: Invalid) -> Self {
        ApiError::Invalid(problem)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::Store(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Invalid(p) => error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("{}: {}", p.field, p.error),
                Some(p.field),
            ),
            ApiError::Unreadable(why) => error(StatusCode::UNPROCESSABLE_ENTITY, &why, None),
            ApiError::NotFound(why) => error(StatusCode::NOT_FOUND, &why, None),
            ApiError::Store(StoreError::Conflict(existing)) => {
                let body = ErrorBody {
                    existing: Some(existing.clone()),
                    ..ErrorBody::new(format!(
                        "{} already has an entry; use PUT to change it",
                        existing.date
                    ))
                };
                (StatusCode::CONFLICT, Json(body)).into_response()
            }
            ApiError::Store(StoreError::Unavailable(why)) => {
                tracing::warn!(error = %why, "answering 503");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is not answering; try again shortly",
                    None,
                )
            }
        }
    }
}

type ApiResult = Result<Response, ApiError>;

/// A date from the URL: `YYYY-MM-DD`, or `today`. A path that is not even UTF-8 once decoded
/// is a bad date too (not axum's plain-text 400).
fn path_date(path: Result<Path<String>, PathRejection>) -> Result<NaiveDate, ApiError> {
    let Ok(Path(text)) = path else {
        return Err(ApiError::Invalid(Invalid {
            field: "date",
            error: "not a date; use YYYY-MM-DD, e.g. 2026-12-24".into(),
        }));
    };
    if text == "today" {
        return Ok(Local::now().date_naive());
    }
    Ok(model::parse_date("date", &text)?)
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(value)| value)
        .map_err(|rejection| ApiError::Unreadable(rejection.body_text()))
}

async fn page<S: Store>(State(state): State<Arc<AppState<S>>>) -> Html<String> {
    Html(PAGE.replace("{{NODE}}", &html_escape(&state.node)))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Ready when the database answers. The answer says only that; the database's own error
/// (addresses, user names) goes to the journal, never to a client.
async fn readyz<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    match state.store.ready().await {
        Ok(()) => Json(json!({ "status": "ready", "node": state.node })).into_response(),
        Err(err) => {
            let why = match err {
                StoreError::Unavailable(why) => why,
                StoreError::Conflict(_) => "unexpected conflict".into(),
            };
            tracing::warn!(error = %why, "not ready: the database is not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "not ready",
                    "node": state.node,
                    "error": "database not reachable",
                })),
            )
                .into_response()
        }
    }
}

async fn metrics<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// A list's range from its query string: `from` and `to`, each at most once, nothing else.
fn range(pairs: &[(String, String)]) -> Result<(NaiveDate, NaiveDate), model::Invalid> {
    let (mut from, mut to) = (None, None);
    for (key, value) in pairs {
        let (field, slot) = match key.as_str() {
            "from" => ("from", &mut from),
            "to" => ("to", &mut to),
            _ => {
                return Err(model::Invalid {
                    field: "query",
                    error: "unknown parameter; only from and to (YYYY-MM-DD)".into(),
                });
            }
        };
        if slot.is_some() {
            return Err(model::Invalid {
                field,
                error: "given more than once".into(),
            });
        }
        *slot = Some(model::parse_date(field, value)?);
    }
    let from = from.unwrap_or_else(|| Local::now().date_naive());
    let to = to.unwrap_or_else(|| model::default_to(from, DEFAULT_DAYS));
    model::check_range(from, to)?;
    Ok((from, to))
}

async fn list<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult {
    let Query(pairs) = query.map_err(|_| model::Invalid {
        field: "query",
        error: "not a query string; use ?from=YYYY-MM-DD&to=YYYY-MM-DD".into(),
    })?;
    let (from, to) = range(&pairs)?;
    Ok(Json(state.store.list(from, to).await?).into_response())
}

async fn get_one<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    date: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let date = path_date(date)?;
    match state.store.get(date).await? {
        Some(entry) => Ok(Json(entry).into_response()),
        None => Err(ApiError::NotFound(format!(
            "nobody is on call on {date} yet"
        ))),
    }
}

async fn create<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    payload: Result<Json<EntryInput>, JsonRejection>,
) -> ApiResult {
    let entry: Entry = body(payload)?.into_entry(None)?;
    state.store.create(&entry).await?;
    let location = routes::day_path(entry.date);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(entry),
    )
        .into_response())
}

async fn put<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    date: Result<Path<String>, PathRejection>,
    payload: Result<Json<EntryInput>, JsonRejection>,
) -> ApiResult {
    let date = path_date(date)?;
    let entry = body(payload)?.into_entry(Some(date))?;
    Ok(match state.store.upsert(&entry).await? {
        Upsert::Created => (StatusCode::CREATED, Json(entry)).into_response(),
        Upsert::Updated => Json(entry).into_response(),
    })
}

/// Idempotent: deleting a day that has no entry is also 204, so a retried DELETE is harmless.
async fn delete<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    date: Result<Path<String>, PathRejection>,
) -> ApiResult {
    state.store.delete(path_date(date)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Method;
    use proptest::prelude::*;
    use roster_api::model::{MAX_DATE, MIN_DATE};
    use roster_api::token::{parse_sha256_hex, token_sha256_hex};
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use tower::ServiceExt;

    const TOKEN: &str = "test-token-0123456789";

    /// Storage in a map; `down` makes every call fail like a database that went away (with
    /// the kind of text MariaDB gives, which must never reach a client). Like MariaDB's DATE,
    /// it fails on a day outside 1000..=9999, which the API must never pass it.
    #[derive(Default)]
    struct MemoryStore {
        entries: Mutex<BTreeMap<NaiveDate, Entry>>,
        down: bool,
    }

    const DB_ERROR: &str = "Access denied for user 'roster'@'10.231.60.11' (using password: YES)";

    impl MemoryStore {
        fn check(&self) -> Result<(), StoreError> {
            if self.down {
                Err(StoreError::Unavailable(DB_ERROR.into()))
            } else {
                Ok(())
            }
        }

        fn day(&self, date: NaiveDate) -> Result<(), StoreError> {
            self.check()?;
            if !(1000..=9999).contains(&chrono::Datelike::year(&date)) {
                return Err(StoreError::Unavailable(format!(
                    "Incorrect DATE value: '{date}'"
                )));
            }
            Ok(())
        }
    }

    impl Store for MemoryStore {
        async fn list(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Entry>, StoreError> {
            self.day(from)?;
            self.day(to)?;
            assert!(
                MIN_DATE <= from && to <= MAX_DATE,
                "{from}..{to} reached the store"
            );
            let entries = self.entries.lock().unwrap();
            Ok(entries.range(from..=to).map(|(_, e)| e.clone()).collect())
        }
        async fn get(&self, date: NaiveDate) -> Result<Option<Entry>, StoreError> {
            self.day(date)?;
            Ok(self.entries.lock().unwrap().get(&date).cloned())
        }
        async fn create(&self, entry: &Entry) -> Result<(), StoreError> {
            self.day(entry.date)?;
            let mut entries = self.entries.lock().unwrap();
            match entries.get(&entry.date) {
                Some(existing) if existing != entry => Err(StoreError::Conflict(existing.clone())),
                _ => {
                    entries.insert(entry.date, entry.clone());
                    Ok(())
                }
            }
        }
        async fn upsert(&self, entry: &Entry) -> Result<Upsert, StoreError> {
            self.day(entry.date)?;
            Ok(
                match self
                    .entries
                    .lock()
                    .unwrap()
                    .insert(entry.date, entry.clone())
                {
                    Some(_) => Upsert::Updated,
                    None => Upsert::Created,
                },
            )
        }
        async fn delete(&self, date: NaiveDate) -> Result<bool, StoreError> {
            self.day(date)?;
            Ok(self.entries.lock().unwrap().remove(&date).is_some())
        }
        async fn ready(&self) -> Result<(), StoreError> {
            self.check()
        }
    }

    fn state(store: MemoryStore, token: Option<&str>) -> Arc<AppState<MemoryStore>> {
        Arc::new(AppState {
            store,
            metrics: Arc::new(Metrics::default()),
            node: "test".into(),
            api_token_sha256: token.map(|t| parse_sha256_hex(&token_sha256_hex(t)).unwrap()),
        })
    }

    /// One request through the real router: (status, body as JSON or as a string, headers).
    async fn send(
        state: &Arc<AppState<MemoryStore>>,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value, axum::http::HeaderMap) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = router(state.clone()).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (parts.status, value, parts.headers)
    }

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// Every byte but the unreserved ones as %XX: any string fits in a URI this way.
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// Anything a client might put where a date goes: near-dates, signed and huge years,
    /// unicode, long strings.
    fn date_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            (any::<i32>(), 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
            (1960i32..10_100, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            "[+-]?[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}",
            Just("+262143-12-31".to_string()),
            Just("today".to_string()),
            any::<String>(),
            ".{0,2000}",
        ]
    }

    /// A 4xx must say which input was wrong.
    fn assert_names(status: StatusCode, body: &serde_json::Value, fields: &[&str]) {
        assert!(
            status.is_success() || status.is_client_error(),
            "{status}: {body}"
        );
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            let field = body["field"].as_str().unwrap_or_default();
            assert!(fields.contains(&field), "{body} names none of {fields:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn any_list_query_is_answered_2xx_or_4xx_naming_the_field(
            pairs in proptest::collection::vec(
                (prop_oneof!["from", "to", ".{0,12}"], date_like()), 0..4),
            raw in "[ -~]{0,80}",
        ) {
            let state = state(MemoryStore::default(), Some(TOKEN));
            let query: Vec<String> =
                pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            for uri in [
                format!("/api/v1/roster?{}", query.join("&")),
                format!("/api/v1/roster?{}", raw.replace([' ', '#'], "+")),
            ] {
                if uri.parse::<axum::http::Uri>().is_err() {
                    continue;
                }
                let (status, body, _) = run(send(&state, Method::GET, &uri, None, None));
                assert_names(status, &body, &["from", "to", "query"]);
            }
        }

        #[test]
        fn any_path_date_is_answered_2xx_or_4xx_naming_the_field(date in date_like()) {
            let state = state(MemoryStore::default(), Some(TOKEN));
            let uri = format!("/api/v1/roster/{}", encode(&date));
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let body = (method == Method::PUT).then(|| json!({"name": "A"}));
                let (status, body, _) = run(send(&state, method, &uri, Some(TOKEN), body));
                assert_names(status, &body, &["date"]);
            }
        }

        #[test]
        fn any_body_date_is_answered_2xx_or_4xx_naming_the_field(
            date in date_like(),
            path in date_like(),
        ) {
            let state = state(MemoryStore::default(), Some(TOKEN));
            let (status, body, _) = run(send(&state, Method::POST, "/api/v1/roster", Some(TOKEN),
                Some(json!({"date": date, "name": "A"}))));
            assert_names(status, &body, &["date"]);
            let uri = format!("/api/v1/roster/{}", encode(&path));
            let (status, body, _) = run(send(&state, Method::PUT, &uri, Some(TOKEN),
                Some(json!({"date": date, "name": "A"}))));
            assert_names(status, &body, &["date"]);
        }
    }

    #[test]
    fn the_dates_that_broke_the_list_are_refused_or_clamped() {
        let state = state(MemoryStore::default(), Some(TOKEN));
        run(async {
            for (query, field) in [
                ("from=+262143-12-31", "from"),
                ("from=262143-12-31", "from"),
                ("from=-0001-01-01", "from"),
                ("to=+10000-01-01", "to"),
                ("from=2026-01-01&from=2026-01-02", "from"),
                ("color=red", "query"),
            ] {
                let (status, body, _) = send(
                    &state,
                    Method::GET,
                    &format!("/api/v1/roster?{query}"),
                    None,
                    None,
                )
                .await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
                assert_eq!(body["field"], field, "{query}: {body}");
            }
            // A path that does not decode to UTF-8 is a bad date, not a plain-text 400.
            let (status, body, _) =
                send(&state, Method::GET, "/api/v1/roster/%FF%FE", None, None).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(body["field"], "date", "{body}");
            // The default 28 days from the last day stop at the last day.
            let (status, body, _) = send(
                &state,
                Method::GET,
                "/api/v1/roster?from=9999-12-31",
                None,
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        });
    }

    #[test]
    fn writes_need_the_token_and_reads_do_not() {
        let state = state(MemoryStore::default(), Some(TOKEN));
        let ada = json!({"date": "2026-12-24", "name": "Ada"});
        run(async {
            for token in [None, Some("wrong"), Some("test-token-012345678")] {
                let (status, _, headers) = send(
                    &state,
                    Method::POST,
                    "/api/v1/roster",
                    token,
                    Some(ada.clone()),
                )
                .await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
                assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer realm=\"roster\"");
                for method in [Method::PUT, Method::DELETE] {
                    let (status, _, _) = send(
                        &state,
                        method,
                        "/api/v1/roster/2026-12-24",
                        token,
                        Some(json!({"name": "X"})),
                    )
                    .await;
                    assert_eq!(status, StatusCode::UNAUTHORIZED);
                }
            }
            assert!(state.store.entries.lock().unwrap().is_empty());
            let (status, _, _) = send(
                &state,
                Method::POST,
                "/api/v1/roster",
                Some(TOKEN),
                Some(ada.clone()),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
            let (status, body, _) =
                send(&state, Method::GET, "/api/v1/roster/2026-12-24", None, None).await;
            assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("Ada")));
            let (status, _, _) = send(
                &state,
                Method::DELETE,
                "/api/v1/roster/2026-12-24",
                Some(TOKEN),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        });
    }

    #[test]
    fn without_a_token_hash_every_write_is_refused() {
        let state = state(MemoryStore::default(), None);
        run(async {
            let (status, body, _) = send(
                &state,
                Method::PUT,
                "/api/v1/roster/2026-12-24",
                Some(TOKEN),
                Some(json!({"name": "A"})),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("ROSTER_API_TOKEN_SHA256")
            );
            assert_eq!(
                send(&state, Method::GET, "/api/v1/roster", None, None)
                    .await
                    .0,
                StatusCode::OK
            );
        });
        assert!(state.store.entries.lock().unwrap().is_empty());
    }

    #[test]
    fn readyz_says_what_is_not_ready_and_never_the_database_error() {
        let state = state(
            MemoryStore {
                down: true,
                ..Default::default()
            },
            Some(TOKEN),
        );
        run(async {
            let (status, body, _) = send(&state, Method::GET, "/readyz", None, None).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body["error"], "database not reachable");
            let text = body.to_string();
            assert!(
                !text.contains("10.231") && !text.contains("roster'@"),
                "{text}"
            );
            let (status, body, _) = send(&state, Method::GET, "/api/v1/roster", None, None).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(!body.to_string().contains("10.231"), "{body}");
        });
    }

    #[test]
    fn made_up_methods_and_paths_add_no_metric_series() {
        let state = state(MemoryStore::default(), Some(TOKEN));
        let series = |state: &Arc<AppState<MemoryStore>>, name: &str| {
            state
                .metrics
                .render()
                .lines()
                .filter(|l| l.starts_with(name) && l.contains('{'))
                .count()
        };
        run(async {
            for i in 0..1000 {
                let method = Method::from_bytes(format!("M{i}X").as_bytes()).unwrap();
                send(&state, method, "/", None, None).await;
                send(&state, Method::GET, &format!("/x{i}/{i}"), None, None).await;
                send(
                    &state,
                    Method::GET,
                    &format!("/api/v1/roster/2026-01-{:02}", i % 28 + 1),
                    None,
                    None,
                )
                .await;
            }
        });
        let text = state.metrics.render();
        // One method label for the made-up ones, one route for every unknown path, one route
        // for every date: 3 series, whatever the 3000 requests were.
        assert_eq!(series(&state, "roster_http_requests_total"), 3, "{text}");
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(text.contains(r#"route="/api/v1/roster/{date}""#), "{text}");
        assert!(!text.contains("M1X") && !text.contains("/x1/"), "{text}");
        assert_eq!(
            series(&state, "roster_http_request_duration_seconds_count"),
            3,
            "{text}"
        );
    }

    #[test]
    fn encoded_spellings_of_internal_paths_do_not_reach_them() {
        // HAProxy's deny rule matches the literal paths and passes these spellings on as they
        // are (checked against haproxy 2.6): the router must not decode or normalize its way
        // to the internal endpoints.
        let state = state(MemoryStore::default(), Some(TOKEN));
        run(async {
            for uri in [
                "/%6detrics",
                "/%72eadyz",
                "/metrics/",
                "//metrics",
                "//readyz",
                "/./readyz",
                "/x/../readyz",
                "/readyz;x",
                "/METRICS",
            ] {
                let (status, _, _) = send(&state, Method::GET, uri, None, None).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            }
        });
    }
}
