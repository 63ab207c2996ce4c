//! Every path the roster serves, and the URLs a client builds from them.
//!
//! The constants are the route templates the app's router is made of (axum's `{param}` syntax)
//! and the `route` label of its metrics; the builders take a base URL (`http://HOST:PORT`, a
//! trailing `/` is fine) and give a full URL.

use chrono::NaiveDate;

/// The web page (the coming four weeks, editable).
pub const PAGE: &str = "/";
/// The process serves (what HAProxy checks).
pub const HEALTHZ: &str = "/healthz";
/// The database answers (for the nodes; the frontend VIP refuses it).
pub const READYZ: &str = "/readyz";
/// Prometheus metrics (for the nodes; the frontend VIP refuses it).
pub const METRICS: &str = "/metrics";
/// The entries: `GET` a list (`?from=YYYY-MM-DD&to=YYYY-MM-DD`), `POST` a new one.
pub const ENTRIES: &str = "/api/v1/roster";
/// One day's entry: `GET`, `PUT`, `DELETE`. `{date}` is `YYYY-MM-DD` or `today`.
pub const ENTRY: &str = "/api/v1/roster/{date}";

/// `base` without its trailing slashes, so `base + path` has exactly one.
fn trimmed(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// The path of one day's entry, [`ENTRY`] filled in.
pub fn day_path(date: NaiveDate) -> String {
    format!("{ENTRIES}/{date}")
}

/// The URL of one day's entry under `base`.
pub fn day_url(base: &str, date: NaiveDate) -> String {
    format!("{}{}", trimmed(base), day_path(date))
}

/// The URL of the entries under `base` (a list of the default range, or where to `POST`).
pub fn entries_url(base: &str) -> String {
    format!("{}{ENTRIES}", trimmed(base))
}

/// The URL of the list of the days `from` to `to` (both included) under `base`.
pub fn range_url(base: &str, from: NaiveDate, to: NaiveDate) -> String {
    format!("{}?from={from}&to={to}", entries_url(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_day_path_is_the_route_template_filled_in() {
        assert_eq!(
            day_path(day("2400-01-01")),
            ENTRY.replace("{date}", "2400-01-01")
        );
    }

    #[test]
    fn urls_join_the_base_with_one_slash() {
        for base in ["http://10.231.50.100", "http://10.231.50.100/"] {
            assert_eq!(
                day_url(base, day("2026-12-24")),
                "http://10.231.50.100/api/v1/roster/2026-12-24"
            );
            assert_eq!(entries_url(base), "http://10.231.50.100/api/v1/roster");
            assert_eq!(
                range_url(base, day("2026-12-01"), day("2026-12-31")),
                "http://10.231.50.100/api/v1/roster?from=2026-12-01&to=2026-12-31"
            );
        }
    }
}
