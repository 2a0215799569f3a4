//! The A/B page: both runs side by side, aligned by height.

use nodewarden_analyze::{Analysis, Comparison, RunSummary};

use super::{kv, page, table};
use crate::format::{age, bytes, count, opt, utc};
use crate::svg::{Axis, BLUE, Chart, GREEN, ORANGE, Series, Unit, escape};
use crate::text::{name, verdict_line};

fn side_by_side(a: &RunSummary, b: &RunSummary) -> String {
    let row = |label: &str, f: &dyn Fn(&RunSummary) -> String| vec![label.to_owned(), f(a), f(b)];
    let rows = vec![
        row("node (run)", &|s| format!("{} ({})", s.node, s.label)),
        row("samples", &|s| count(s.samples)),
        row("heights", &|s| {
            format!(
                "{} – {}",
                opt(s.start_height, count),
                opt(s.end_height, count)
            )
        }),
        row("synced", &|s| {
            if s.synced { "yes".into() } else { "no".into() }
        }),
        row("sync time", &|s| opt(s.sync_duration_seconds, age)),
        row("mean rate (blocks/s)", &|s| {
            opt(s.mean_rate_blocks_per_second, |r| format!("{r:.2}"))
        }),
        row("stalls", &|s| {
            format!("{} ({})", s.stalls_total, age(s.stalled_seconds))
        }),
        row("restarts / RPC errors", &|s| {
            format!("{} / {}", s.restarts, s.error_samples)
        }),
        row("CPU mean / peak (cores)", &|s| {
            format!(
                "{} / {}",
                opt(s.mean_cpu_cores, |c| format!("{c:.2}")),
                opt(s.peak_cpu_cores, |c| format!("{c:.2}"))
            )
        }),
        row("CPU total", &|s| {
            opt(s.cpu_seconds, |c| format!("{c:.0} s"))
        }),
        row("RSS mean / peak", &|s| {
            format!(
                "{} / {}",
                opt(s.mean_rss_bytes, |m| bytes(m as u64)),
                opt(s.peak_rss_bytes, bytes)
            )
        }),
        row("read / written", &|s| {
            format!(
                "{} / {}",
                opt(s.read_bytes, bytes),
                opt(s.written_bytes, bytes)
            )
        }),
    ];
    table(&["", "A", "B"], &rows, &[])
}

fn stalls(tag: &str, s: &RunSummary) -> String {
    if s.stalls.is_empty() {
        return format!("<p>{tag}: no stalls.</p>");
    }
    let rows: Vec<Vec<String>> = s
        .stalls
        .iter()
        .map(|st| {
            vec![
                utc(st.start_ms),
                count(st.height),
                age(st.duration_seconds),
                name(&st.cause),
            ]
        })
        .collect();
    format!(
        "<h3>Stalls in {tag} ({})</h3>{}",
        escape(&s.node),
        table(&["start", "height", "duration", "cause"], &rows, &[1, 2])
    )
}

/// The comparison page; `a` and `b` are the analyses behind it (for the rate curves).
pub fn compare_html(c: &Comparison, a: &Analysis, b: &Analysis, version: &str) -> String {
    let title = format!("A/B: {} vs {}", c.a.node, c.b.node);
    page(&title, &compare_fragment(c, a, b), version)
}

/// The comparison without the page around it, for the dashboard's A/B view.
pub fn compare_fragment(c: &Comparison, a: &Analysis, b: &Analysis) -> String {
    let title = format!("A/B: {} vs {}", c.a.node, c.b.node);
    let mut body = format!(
        "<h1>{}</h1><p class=\"meta\">A = {} ({}), B = {} ({}); aligned by height, not wall \
         time</p>",
        escape(&title),
        escape(&c.a.node),
        escape(&c.a.label),
        escape(&c.b.node),
        escape(&c.b.label)
    );
    let verdict_class = match name(&c.verdict).as_str() {
        "b-faster" | "a-faster" => "good",
        "unknown" => "bad",
        _ => "",
    };
    body.push_str(&format!(
        "<div class=\"card\"><p class=\"verdict {verdict_class}\">{}</p>{}</div>",
        escape(&verdict_line(c)),
        kv(&[
            (
                "common heights",
                format!(
                    "{} – {}",
                    opt(c.common_from_height, count),
                    opt(c.common_to_height, count)
                )
            ),
            (
                "speedup",
                opt(c.speedup, |s| format!(
                    "{s:.3} (A's time / B's time; > 1: B is faster)"
                ))
            ),
            ("verdict", name(&c.verdict)),
        ])
    ));
    body.push_str(&side_by_side(&c.a, &c.b));
    for chart in charts(c, a, b) {
        body.push_str(&chart.render());
    }
    body.push_str(&stalls("A", &c.a));
    body.push_str(&stalls("B", &c.b));
    body
}

pub(crate) fn charts(c: &Comparison, a: &Analysis, b: &Analysis) -> Vec<Chart> {
    let height = || Axis::new("height", Unit::Count);
    let ttl = |f: &dyn Fn(&nodewarden_analyze::HeightTimes) -> f64| {
        c.time_to_height
            .iter()
            .map(|p| (p.height as f64, f(p)))
            .collect::<Vec<_>>()
    };
    let speed: Vec<(f64, f64, f64)> = c
        .buckets
        .iter()
        .filter_map(|b| b.speedup.map(|s| (b.from as f64, b.to as f64, s)))
        .collect();
    // A bucket holding a stall can show a speedup of 50: cap the axis so the typical
    // ratios stay readable (the capped steps run along the top edge).
    let top = speed.iter().map(|s| s.2).fold(1.0, f64::max).min(6.0) * 1.1;
    let rate = |x: &Analysis| {
        x.cost_by_height
            .iter()
            .filter(|c| c.wall_seconds > 0.0)
            .map(|c| (c.from as f64, c.to as f64, c.blocks as f64 / c.wall_seconds))
            .collect::<Vec<_>>()
    };
    vec![
        Chart::new("Time to height (from the common start height)")
            .x(height())
            .y(Axis::new("time since the common start", Unit::Seconds).from_zero())
            .series(Series::line(
                format!("A: {}", c.a.node),
                BLUE,
                ttl(&|p| p.a_seconds),
            ))
            .series(Series::line(
                format!("B: {}", c.b.node),
                ORANGE,
                ttl(&|p| p.b_seconds),
            ))
            .empty_note("no common height range"),
        Chart::new("Speedup per height range (A's time / B's time; above 1: B is faster)")
            .x(height())
            .y(Axis::new("speedup", Unit::Number("×")).range(0.0, top))
            .series(Series::steps("speedup", GREEN, &speed))
            .rule(1.0, "same speed")
            .empty_note("no common height range"),
        Chart::new("Sync rate by height")
            .x(height())
            .y(Axis::new("blocks per second", Unit::Number("")).from_zero())
            .series(Series::steps(format!("A: {}", c.a.node), BLUE, &rate(a)))
            .series(Series::steps(format!("B: {}", c.b.node), ORANGE, &rate(b))),
    ]
}
