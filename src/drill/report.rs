//! How drills are shown: a table in the terminal, and a self-contained HTML page with an SVG
//! timeline per drill (requests per second and errors, with the fault, the restore and the
//! return to healthy marked). Pure: results in, text out.

use super::DrillResult;
use super::catalog::Drill;
use crate::inventory::VipKind;
use std::fmt::Write as _;

fn seconds(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1} s"))
        .unwrap_or_else(|| "-".into())
}

fn ms(value: Option<u64>) -> String {
    value.map(|v| format!("{v}")).unwrap_or_else(|| "-".into())
}

/// The terminal table: one row per drill, then each failure.
pub fn table(results: &[DrillResult]) -> String {
    let header = [
        "drill",
        "target",
        "result",
        "requests",
        "failed",
        "gap",
        "write gap",
        "p99 ms before/during/after",
        "detect",
        "recover",
        "lost",
        "req/s",
    ];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.drill.name.to_string(),
                r.drill.targets.join(","),
                if r.passed {
                    "pass".into()
                } else {
                    "FAIL".into()
                },
                r.requests.to_string(),
                r.failed_requests.to_string(),
                format!("{:.1} s", r.longest_gap_seconds),
                format!("{:.1} s", r.longest_write_gap_seconds),
                format!(
                    "{}/{}/{}",
                    ms(r.latency_before.p99_ms),
                    ms(r.latency_during.p99_ms),
                    ms(r.latency_after.p99_ms)
                ),
                seconds(r.detect_seconds),
                format!("{:.1} s", r.recover_seconds),
                format!("{} of {}", r.lost_writes.len(), r.acknowledged_writes),
                format!("{:.0}", r.requests_per_second),
            ]
        })
        .collect();
    let mut out = crate::status::table::columns(&header, &rows);
    for r in results {
        for failure in &r.failures {
            let _ = writeln!(out, "{}: {failure}", r.drill.name);
        }
        if !r.errors.is_empty() && !r.passed {
            let errors: Vec<String> = r.errors.iter().map(|(e, n)| format!("{n}× {e}")).collect();
            let _ = writeln!(
                out,
                "{}: client errors: {}",
                r.drill.name,
                errors.join(", ")
            );
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let _ = writeln!(
        out,
        "{} drill(s): {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    );
    out
}

/// What each drill would do, for `--dry-run`.
pub fn dry_run(drills: &[Drill]) -> String {
    let mut out = String::new();
    for d in drills {
        let _ = writeln!(out, "{}: {}", d.name, d.summary);
        if let Some(kind) = d.backup_ready_first {
            let who = match kind {
                VipKind::Database => {
                    "another db host's keepalived is BACKUP (ready for the DB VIP)"
                }
                VipKind::Frontend => {
                    "another frontend VIP holder's keepalived is BACKUP (ready for the VIP)"
                }
            };
            let _ = writeln!(out, "  first: wait until {who}");
        }
        for dead_man in &d.dead_men {
            let _ = writeln!(out, "  arm dead-man switch: {}", dead_man.describe());
        }
        for step in &d.inject {
            let _ = writeln!(out, "  inject: {}", step.describe());
        }
        let _ = writeln!(out, "  hold {} s under load", d.hold_seconds);
        for step in &d.restore {
            let _ = writeln!(out, "  restore: {}", step.describe());
        }
        let _ = writeln!(
            out,
            "  then: disarm, wait until status is healthy, read every acknowledged write back from every db node"
        );
        let mut budget = vec![format!("lost writes {}", d.budget.max_lost_writes)];
        if let Some(v) = d.budget.max_failed {
            budget.push(format!("failed requests ≤ {v}"));
        }
        if let Some(v) = d.budget.max_gap_seconds {
            budget.push(format!("longest gap ≤ {v} s"));
        }
        if let Some(v) = d.budget.max_write_gap_seconds {
            budget.push(format!("longest write gap ≤ {v} s"));
        }
        if let Some(vip) = &d.vip_must_move {
            budget.push(format!("the {vip} VIP moves to a healthy host"));
        }
        let _ = writeln!(out, "  budget: {}", budget.join(", "));
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG timeline: stacked bars of ok (green) and failed (red) requests per second, and
/// vertical lines at the fault, the restore and the return to healthy.
pub fn timeline_svg(result: &DrillResult) -> String {
    let (width, height, left, bottom) = (760.0, 180.0, 40.0, 24.0);
    let seconds = result.per_second.len().max(1) as f64;
    let peak = result
        .per_second
        .iter()
        .map(|(ok, failed)| ok + failed)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let plot_w = width - left - 10.0;
    let plot_h = height - bottom - 10.0;
    let x = |second: f64| left + second / seconds * plot_w;
    let bar_w = (plot_w / seconds).max(1.0) - 0.5;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/>",
        height - bottom,
        width - 10.0,
        height - bottom
    );
    let _ = writeln!(svg, "<text x=\"2\" y=\"16\">{peak:.0}/s</text>");
    for (i, (ok, failed)) in result.per_second.iter().enumerate() {
        let ok_h = *ok as f64 / peak * plot_h;
        let failed_h = *failed as f64 / peak * plot_h;
        let base = height - bottom;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{ok_h:.1}\" fill=\"#3a3\"><title>{i} s: {ok} ok</title></rect>",
            x(i as f64),
            base - ok_h
        );
        if *failed > 0 {
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" height=\"{failed_h:.1}\" fill=\"#d22\"><title>{i} s: {failed} failed</title></rect>",
                x(i as f64),
                base - ok_h - failed_h
            );
        }
    }
    let marks = [
        (result.marks.fault_ms, "fault", "#d22"),
        (result.marks.restored_ms, "restore", "#26c"),
        (result.marks.healthy_ms, "healthy", "#3a3"),
    ];
    for (row, (at, label, color)) in marks.into_iter().enumerate() {
        if let Some(ms) = at {
            let px = x(ms as f64 / 1000.0);
            // Each label on a row of its own: marks close in time must not overlap.
            let _ = writeln!(
                svg,
                "<line x1=\"{px:.1}\" y1=\"10\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{}\" fill=\"{color}\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">{label}</text>",
                height - bottom,
                px + 3.0,
                22 + 13 * row
            );
        }
    }
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"{}\">0 s</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{seconds:.0} s (answers per second: ok green, failed red)</text>",
        height - 6.0,
        width - 10.0,
        height - 6.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// The whole report as one self-contained HTML page.
pub fn html(results: &[DrillResult], stack: &str, when: &str) -> String {
    let mut out = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>minicloud failover-test: {stack}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;max-width:60em}} table{{border-collapse:collapse}} \
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}} .pass{{color:#262}} .fail{{color:#b00;font-weight:bold}}\
         </style></head><body>\n<h1>failover-test: {}</h1>\n<p>{}</p>\n<pre>{}</pre>\n",
        escape(stack),
        escape(when),
        escape(&table(results))
    );
    for r in results {
        let class = if r.passed { "pass" } else { "fail" };
        let _ = writeln!(
            out,
            "<h2>{} <span class=\"{class}\">{}</span></h2>\n<p>{}</p>",
            escape(r.drill.name.as_str()),
            if r.passed { "pass" } else { "FAIL" },
            escape(&r.drill.summary)
        );
        out.push_str(&timeline_svg(r));
        let _ = writeln!(
            out,
            "<table><tr><th>requests</th><td>{} ({:.0}/s)</td><th>failed</th><td>{}</td><th>acknowledged writes</th><td>{}</td><th>lost</th><td>{}</td></tr>\
             <tr><th>longest gap</th><td>{:.1} s</td><th>longest write gap</th><td>{:.1} s</td><th>detected after</th><td>{}</td><th>clients recovered after</th><td>{:.1} s</td></tr>\
             <tr><th>p50/p99 before</th><td>{}/{} ms</td><th>during</th><td>{}/{} ms</td><th>after</th><td>{}/{} ms</td><th>healthy after restore</th><td>{}</td></tr></table>",
            r.requests,
            r.requests_per_second,
            r.failed_requests,
            r.acknowledged_writes,
            r.lost_writes.len(),
            r.longest_gap_seconds,
            r.longest_write_gap_seconds,
            seconds(r.detect_seconds),
            r.recover_seconds,
            ms(r.latency_before.p50_ms),
            ms(r.latency_before.p99_ms),
            ms(r.latency_during.p50_ms),
            ms(r.latency_during.p99_ms),
            ms(r.latency_after.p50_ms),
            ms(r.latency_after.p99_ms),
            seconds(r.healthy_seconds),
        );
        for failure in &r.failures {
            let _ = writeln!(out, "<p class=\"fail\">{}</p>", escape(failure));
        }
        for note in &r.notes {
            let _ = writeln!(out, "<p>{}</p>", escape(note));
        }
        let _ = writeln!(out, "<details><summary>status while it ran</summary><pre>");
        for o in &r.observations {
            let _ = writeln!(
                out,
                "{:>7.1} s  {}",
                o.at_ms as f64 / 1000.0,
                escape(&o.summary)
            );
        }
        out.push_str("</pre></details>\n");
    }
    out.push_str("</body></html>\n");
    out
}
