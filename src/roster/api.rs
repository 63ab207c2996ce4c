//! The roster's HTTP surface: the JSON API under `/api/v1/roster`, the web page, `/healthz`
//! (the process serves: what HAProxy checks), `/readyz` (the database answers) and `/metrics`.

use super::metrics::{Metrics, RequestLabels, RouteLabels};
use super::model::{self, Entry, EntryInput, Invalid};
use super::store::{Store, StoreError, Upsert};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, Local, NaiveDate};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Days a list shows when the client gives no `to`.
const DEFAULT_DAYS: i64 = 28;
const PAGE: &str = include_str!("page.html");

pub struct AppState<S> {
    pub store: S,
    pub metrics: Arc<Metrics>,
    /// This app node's name, shown on the page and in `X-Served-By`.
    pub node: String,
}

pub fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/", get(page::<S>))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz::<S>))
        .route("/metrics", get(metrics::<S>))
        .route("/api/v1/roster", get(list::<S>).post(create::<S>))
        .route(
            "/api/v1/roster/{date}",
            get(get_one::<S>).put(put::<S>).delete(delete::<S>),
        )
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such endpoint (the API is under /api/v1/roster)",
                None,
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe::<S>))
        .with_state(state)
}

/// Count and time every request, and say which node served it.
async fn observe<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
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
    let mut body = json!({ "error": message });
    if let Some(field) = field {
        body["field"] = json!(field);
    }
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
            ApiError::Invalid(p) => error(StatusCode::UNPROCESSABLE_ENTITY, &format!("{}: {}", p.field, p.error), Some(p.field)),
            ApiError::Unreadable(why) => error(StatusCode::UNPROCESSABLE_ENTITY, &why, None),
            ApiError::NotFound(why) => error(StatusCode::NOT_FOUND, &why, None),
            ApiError::Store(StoreError::Conflict(existing)) => (
                StatusCode::CONFLICT,
                Json(json!({ "error": format!("{} already has an entry; use PUT to change it", existing.date), "existing": existing })),
            )
                .into_response(),
            ApiError::Store(StoreError::Unavailable(why)) => {
                tracing::warn!(error = %why, "answering 503");
                error(StatusCode::SERVICE_UNAVAILABLE, "the database is not answering; try again shortly", None)
            }
        }
    }
}

type ApiResult = Result<Response, ApiError>;

/// A date from the URL: `YYYY-MM-DD`, or `today`.
fn path_date(text: &str) -> Result<NaiveDate, ApiError> {
    if text == "today" {
        return Ok(Local::now().date_naive());
    }
    Ok(model::parse_date("date", text)?)
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

async fn readyz<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    match state.store.ready().await {
        Ok(()) => Json(json!({ "status": "ready", "node": state.node })).into_response(),
        Err(err) => {
            let why = match err {
                StoreError::Unavailable(why) => why,
                StoreError::Conflict(_) => "unexpected conflict".into(),
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not ready", "node": state.node, "error": why })),
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

async fn list<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    range: Result<Query<Range>, QueryRejection>,
) -> ApiResult {
    let Query(range) = range.map_err(|rejection| ApiError::Unreadable(rejection.body_text()))?;
    let from = range
        .from
        .as_deref()
        .map(|t| model::parse_date("from", t))
        .transpose()?
        .unwrap_or_else(|| Local::now().date_naive());
    let to = range
        .to
        .as_deref()
        .map(|t| model::parse_date("to", t))
        .transpose()?
        .unwrap_or(from + Duration::days(DEFAULT_DAYS - 1));
    model::check_range(from, to)?;
    Ok(Json(state.store.list(from, to).await?).into_response())
}

async fn get_one<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(date): Path<String>,
) -> ApiResult {
    let date = path_date(&date)?;
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
    let location = format!("/api/v1/roster/{}", entry.date);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(entry),
    )
        .into_response())
}

async fn put<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(date): Path<String>,
    payload: Result<Json<EntryInput>, JsonRejection>,
) -> ApiResult {
    let date = path_date(&date)?;
    let entry = body(payload)?.into_entry(Some(date))?;
    Ok(match state.store.upsert(&entry).await? {
        Upsert::Created => (StatusCode::CREATED, Json(entry)).into_response(),
        Upsert::Updated => Json(entry).into_response(),
    })
}

/// Idempotent: deleting a day that has no entry is also 204, so a retried DELETE is harmless.
async fn delete<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(date): Path<String>,
) -> ApiResult {
    state.store.delete(path_date(&date)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
