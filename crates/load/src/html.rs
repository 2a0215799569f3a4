//! A self-contained HTML report: inline CSS and SVG, no scripts, nothing fetched.
use std::fmt::Write;

use nodewarden_svg::{Axis, BLUE, Chart, GREEN, GREY, PURPLE, Series, Unit, VERMILION, escape};

use crate::report::Report;

/// A line chart of named series: the project's one chart code base (`nodewarden-svg`).
fn chart(title: &str, x: Axis, y: Axis, series: Vec<Series>) -> String {
    series
        .into_iter()
        .fold(
            Chart::new(title).size(900, 260).x(x).y(y.from_zero()),
            Chart::series,
        )
        .render()
}

fn table(r: &Report) -> String {
    let mut s = String::from(
        "<table><tr><th>method</th><th>calls</th><th>rps</th><th>errors</th><th>min</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>",
    );
    let rows = r
        .methods
        .iter()
        .map(|(n, m)| (n.as_str(), m))
        .chain(std::iter::once(("all", &r.overall)));
    for (name, m) in rows {
        let l = &m.latency_ms;
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            escape(name),
            m.requests,
            m.rps,
            m.errors,
            l.min,
            l.p50,
            l.p90,
            l.p95,
            l.p99,
            l.max
        );
    }
    s.push_str("</table><p>Latencies in ms, measured from each request's intended send time.</p>");
    s
}

fn section(r: &Report) -> String {
    let mut s = table(r);
    if let Some(t) = &r.target_process {
        let class = if t.died { "fail" } else { "ok" };
        let _ = write!(
            s,
            "<p class=\"{class}\">{}</p>",
            escape(&crate::text::target_line(t))
        );
    }
    if !r.thresholds.is_empty() {
        s.push_str("<ul>");
        for t in &r.thresholds {
            let _ = write!(
                s,
                r#"<li class="{}">{} {} (observed {:.3})</li>"#,
                if t.pass { "ok" } else { "fail" },
                if t.pass { "✓" } else { "✗" },
                escape(&t.expr),
                t.observed
            );
        }
        s.push_str("</ul>");
    }
    for (name, e) in r.differing() {
        let _ = write!(
            s,
            "<p class=\"fail\">{}: {}/{} answers differ, e.g. <code>{}</code></p>",
            escape(name),
            e.differing,
            e.compared,
            escape(e.example.as_deref().unwrap_or(""))
        );
    }
    let tl = |f: fn(&crate::report::TimePoint) -> f64| -> Vec<(f64, f64)> {
        r.timeline.iter().map(|p| (p.t_s, f(p))).collect()
    };
    let time = || Axis::new("time since start", Unit::Seconds);
    s.push_str(&chart(
        "Throughput over time",
        time(),
        Axis::new("calls per second", Unit::Number("/s")),
        vec![Series::line("calls/s", BLUE, tl(|p| p.rps))],
    ));
    s.push_str(&chart(
        "Latency over time (per second)",
        time(),
        Axis::new("latency", Unit::Number("ms")),
        vec![
            Series::line("p50", GREEN, tl(|p| p.p50_ms)),
            Series::line("p99", VERMILION, tl(|p| p.p99_ms)),
            Series::dashed("max", GREY, tl(|p| p.max_ms)),
        ],
    ));
    // Percentiles on a "nines" axis: x = -log10(1 - q), so p90, p99, p99.9 are evenly spaced.
    let nines = |q: f64| -(1.0 - (q / 100.0).min(0.99999)).log10();
    let curve: Vec<(f64, f64)> = r.percentiles.iter().map(|(q, v)| (nines(*q), *v)).collect();
    s.push_str(&chart(
        "Latency by percentile",
        Axis::new(
            "nines: 1 = p90, 2 = p99, 3 = p99.9, 4 = p99.99",
            Unit::Number(""),
        ),
        Axis::new("latency", Unit::Number("ms")),
        vec![Series::line("latency", PURPLE, curve)],
    ));
    s
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:960px}svg{max-width:100%;height:auto}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}td:first-child{text-align:left}.ok{color:#2a7a2a}.fail{color:#b00020}code{font-size:90%}";

/// The report of one run.
pub fn render(r: &Report) -> String {
    page(&format!("nodewarden loadtest: {}", r.target), &section(r))
}

/// A sweep: one section per rate.
pub fn render_sweep(rates: &[f64], reports: &[Report]) -> String {
    let mut body = String::new();
    let achieved: Vec<(f64, f64)> = rates
        .iter()
        .zip(reports)
        .map(|(a, r)| (*a, r.overall.rps))
        .collect();
    let p99: Vec<(f64, f64)> = rates
        .iter()
        .zip(reports)
        .map(|(a, r)| (*a, r.overall.latency_ms.p99))
        .collect();
    let rate = || Axis::new("target rate (requests per second)", Unit::Number("/s"));
    body.push_str(&chart(
        "Achieved rate by target rate",
        rate(),
        Axis::new("achieved", Unit::Number("/s")),
        vec![Series::line("achieved", BLUE, achieved)],
    ));
    body.push_str(&chart(
        "p99 latency by target rate",
        rate(),
        Axis::new("p99", Unit::Number("ms")),
        vec![Series::line("p99", VERMILION, p99)],
    ));
    for (rate, r) in rates.iter().zip(reports) {
        let _ = write!(body, "<h2>rate {rate}/s</h2>{}", section(r));
    }
    let target = reports.first().map(|r| r.target.as_str()).unwrap_or("");
    page(&format!("nodewarden loadtest sweep: {target}"), &body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>{body}</body></html>\n",
        t = escape(title)
    )
}
