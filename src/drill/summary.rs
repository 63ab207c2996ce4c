//! `failover-test --repeat N`: what N rounds of the same drills add up to, per drill — how
//! many passed, the worst gaps, the spread of the longest write gap (p50, p99), failed
//! requests in all, and the slowest rate the load reached. A failover that passes by luck
//! shows here as a pass count below N or a p99 far above the p50. Pure: results in, figures out.

use super::DrillResult;
use super::catalog::DrillName;
use serde::Serialize;
use std::fmt::Write as _;

/// One drill over every round it ran in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillSummary {
    pub drill: DrillName,
    /// Rounds it ran in.
    pub runs: usize,
    /// Rounds it passed in.
    pub passed: usize,
    /// The longest time without any successful request, over every round.
    pub worst_gap_seconds: f64,
    /// The longest time without a successful write, over every round.
    pub worst_write_gap_seconds: f64,
    /// The median of the rounds' longest write gaps.
    pub write_gap_p50_seconds: f64,
    /// The 99th percentile of the rounds' longest write gaps (nearest rank: with fewer than
    /// 100 rounds, the worst).
    pub write_gap_p99_seconds: f64,
    /// Failed requests, every round together.
    pub failed_requests: usize,
    /// Requests sent, every round together.
    pub requests: usize,
    /// Acknowledged writes lost, every round together (node entries, as each result counts them).
    pub lost_writes: usize,
    /// The lowest rate the load reached in a round, requests per second.
    pub min_requests_per_second: f64,
}

/// The nearest-rank percentile `q` (0 < q ≤ 1) of `values`: the smallest value with at
/// least `q` of them at or below it. None for no values.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Per drill, in the order drills first ran, over every round.
pub fn summarize(rounds: &[Vec<DrillResult>]) -> Vec<DrillSummary> {
    let mut names: Vec<DrillName> = Vec::new();
    for result in rounds.iter().flatten() {
        if !names.contains(&result.drill.name) {
            names.push(result.drill.name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let runs: Vec<&DrillResult> = rounds
                .iter()
                .flatten()
                .filter(|r| r.drill.name == name)
                .collect();
            let write_gaps: Vec<f64> = runs.iter().map(|r| r.longest_write_gap_seconds).collect();
            let max = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0, f64::max);
            DrillSummary {
                drill: name,
                runs: runs.len(),
                passed: runs.iter().filter(|r| r.passed).count(),
                worst_gap_seconds: max(&mut runs.iter().map(|r| r.longest_gap_seconds)),
                worst_write_gap_seconds: max(&mut write_gaps.iter().copied()),
                write_gap_p50_seconds: percentile(&write_gaps, 0.5).unwrap_or(0.0),
                write_gap_p99_seconds: percentile(&write_gaps, 0.99).unwrap_or(0.0),
                failed_requests: runs.iter().map(|r| r.failed_requests).sum(),
                requests: runs.iter().map(|r| r.requests).sum(),
                lost_writes: runs.iter().map(|r| r.lost_writes.len()).sum(),
                min_requests_per_second: runs
                    .iter()
                    .map(|r| r.requests_per_second)
                    .fold(f64::INFINITY, f64::min),
            }
        })
        .collect()
}

/// The terminal table of a repeated run: one row per drill, then the verdict line.
/// `stopped` says why rounds were left undone, if they were.
pub fn table(summaries: &[DrillSummary], repeat: u32, stopped: Option<&str>) -> String {
    let header = [
        "drill",
        "passed",
        "worst gap",
        "worst write gap",
        "write gap p50/p99",
        "failed",
        "lost",
        "min req/s",
    ];
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            vec![
                s.drill.to_string(),
                format!("{}/{}", s.passed, s.runs),
                format!("{:.2} s", s.worst_gap_seconds),
                format!("{:.2} s", s.worst_write_gap_seconds),
                format!(
                    "{:.2}/{:.2} s",
                    s.write_gap_p50_seconds, s.write_gap_p99_seconds
                ),
                s.failed_requests.to_string(),
                s.lost_writes.to_string(),
                format!("{:.0}", s.min_requests_per_second),
            ]
        })
        .collect();
    let mut out = crate::status::table::columns(&header, &rows);
    let runs: usize = summaries.iter().map(|s| s.runs).sum();
    let passed: usize = summaries.iter().map(|s| s.passed).sum();
    let rounds = summaries.iter().map(|s| s.runs).max().unwrap_or(0);
    if let Some(why) = stopped {
        let _ = writeln!(out, "stopped after {rounds} of {repeat} round(s): {why}");
    }
    let _ = writeln!(
        out,
        "{rounds} round(s) of {repeat}: {passed} of {runs} drill run(s) passed"
    );
    out
}

/// `failover-test --repeat N --json` when N > 1 (docs/json.md): the summary, then every
/// round's results as `failover-test --json` prints one run's.
#[derive(Debug, Serialize)]
pub struct RepeatedRun<'a> {
    pub schema_version: u32,
    /// Rounds asked for.
    pub repeat: u32,
    /// Why rounds were left undone (a stack that did not turn healthy), or null.
    pub stopped: Option<&'a str>,
    pub summary: Vec<DrillSummary>,
    pub rounds: &'a [Vec<DrillResult>],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::{Marks, evaluate, load};

    #[test]
    fn percentiles_are_nearest_rank() {
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 0.5), Some(5.0));
        assert_eq!(percentile(&ten, 0.99), Some(10.0));
        assert_eq!(percentile(&ten, 0.9), Some(9.0));
        let hundred: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&hundred, 0.5), Some(50.0));
        assert_eq!(percentile(&hundred, 0.99), Some(99.0));
        assert_eq!(percentile(&[2.5], 0.99), Some(2.5));
        assert_eq!(percentile(&[3.0, 1.0], 0.5), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    /// A drill result whose writes stop for `gap_ms` from 5 s on (every request fails then,
    /// `failed` of them), over 20 s of 10 writes and 10 reads a second.
    fn result(name: &str, gap_ms: u64) -> DrillResult {
        let inv = crate::inventory::parse(crate::inventory::TEST_STACK).unwrap();
        let situation = crate::drill::catalog::Situation {
            inv: &inv,
            lab: true,
            frontend_vip_holder: None,
            db_vip_holder: None,
            hold: std::time::Duration::from_secs(10),
            dead_man: None,
            budgets: Default::default(),
        };
        let mut drill = crate::drill::catalog::drill(name.parse().unwrap(), &situation).unwrap();
        // These results carry no status samples: only the load's figures are judged.
        drill.vip_must_move = None;
        let mut seen = load::Seen::default();
        for i in 0..200u64 {
            let sent = i * 100;
            let ok = !(5000..5000 + gap_ms).contains(&sent);
            for kind in [load::Kind::Write, load::Kind::Read] {
                seen.samples.push(load::Sample {
                    kind,
                    sent_ms: sent,
                    done_ms: sent + 10,
                    ok,
                    error: (!ok).then(|| "HTTP 503".into()),
                });
            }
            if ok {
                seen.acked
                    .insert(load::write_day(0, i), load::write_name("r", i));
            }
        }
        let marks = Marks {
            fault_ms: Some(4000),
            restored_ms: Some(14_000),
            healthy_ms: Some(15_000),
            end_ms: 20_000,
            load_started_unix_ms: 0,
        };
        evaluate(drill, seen, marks, vec![], vec![], vec![])
    }

    #[test]
    fn a_summary_counts_passes_and_spreads_the_write_gaps() {
        // db-crash's write-gap budget is 4 s: gaps of 0.1 .. 4.9 s, one round each.
        let gaps = [0, 1000, 2000, 4800, 500];
        let rounds: Vec<Vec<DrillResult>> = gaps
            .iter()
            .map(|gap| vec![result("db-crash", *gap), result("app-down", 0)])
            .collect();
        let summary = summarize(&rounds);
        assert_eq!(
            summary.iter().map(|s| s.drill).collect::<Vec<_>>(),
            [DrillName::DbCrash, DrillName::AppDown]
        );
        let db = &summary[0];
        assert_eq!((db.runs, db.passed), (5, 4), "{db:?}");
        // Longest write gaps: 0.1, 1.1, 2.1, 4.9, 0.6 s (a success every 100 ms otherwise).
        assert!((db.worst_write_gap_seconds - 4.9).abs() < 1e-9, "{db:?}");
        assert!((db.write_gap_p50_seconds - 1.1).abs() < 1e-9, "{db:?}");
        assert!((db.write_gap_p99_seconds - 4.9).abs() < 1e-9, "{db:?}");
        assert!((db.worst_gap_seconds - 4.9).abs() < 1e-9, "{db:?}");
        // 10 + 20 + 48 + 5 ticks failed, a read and a write each.
        assert_eq!(db.failed_requests, 2 * (10 + 20 + 48 + 5));
        assert_eq!(db.requests, 5 * 400);
        assert_eq!(db.min_requests_per_second, 20.0);
        let app = &summary[1];
        assert_eq!((app.runs, app.passed, app.failed_requests), (5, 5, 0));
        let text = table(&summary, 10, Some("db-stop: the stack is not healthy"));
        assert!(text.starts_with("drill     passed  worst gap"), "{text}");
        assert!(text.contains("\ndb-crash  4/5     4.90 s"), "{text}");
        assert!(text.contains("1.10/4.90 s"), "{text}");
        assert!(
            text.contains("stopped after 5 of 10 round(s): db-stop: the stack is not healthy\n"),
            "{text}"
        );
        assert!(
            text.ends_with("5 round(s) of 10: 9 of 10 drill run(s) passed\n"),
            "{text}"
        );
    }
}
