//! The roster's `/metrics`: requests by route and status, latency, database errors and retries,
//! in Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one request counter. Every value comes from a bounded set ([`method_label`], a
/// route template, a status code), so no client can grow the number of series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The method, by [`method_label`].
    pub method: &'static str,
    /// The route template that matched (`/api/v1/roster/{date}`), or `other`.
    pub route: String,
    /// The answer's status code.
    pub status: u16,
}

/// Labels of one latency histogram: the route alone (statuses would multiply the buckets).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template that matched, or `other`.
    pub route: String,
}

/// The method as a label: the standard ones by name, anything else (clients may send any
/// token as a method) folded into `other`, so made-up methods cannot add series forever.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Every series the app exports, registered under the prefix `roster`.
pub struct Metrics {
    registry: Registry,
    /// Requests by method, route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Seconds to answer, by route.
    pub latency: Family<RouteLabels, Histogram>,
    /// Database operations that failed (each attempt).
    pub db_errors: Counter,
    /// Database operations tried again after a transient failure.
    pub db_retries: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("roster");
        let requests = Family::<RequestLabels, Counter>::default();
        // 0.5 ms to ~16 s: from a cached read to a request that rode out a DB failover.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let db_errors = Counter::default();
        let db_retries = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "db_errors",
            "Database operations that failed (before or without retry)",
            db_errors.clone(),
        );
        registry.register(
            "db_retries",
            "Database operations retried after a transient error",
            db_retries.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            db_errors,
            db_retries,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        let get = axum::http::Method::GET;
        assert_eq!(method_label(&get), "GET");
        let made_up = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }
}
