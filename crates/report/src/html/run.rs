//! The report of one run: per node, a summary, the stalls and the charts, all time charts
//! on one shared time axis so a stall lines up with what CPU, memory and disk did.

use nodewarden_analyze::{Analysis, Stall};
use nodewarden_model::DbPoint;

use super::{kv, page, table};
use crate::format::{age, bytes, count, opt, percent, utc};
use crate::svg::{
    Axis, BLUE, Band, Chart, GREEN, GREY, ORANGE, PURPLE, SKY, Series, Unit, VERMILION, escape,
};
use crate::text::{
    OUTAGE_HEADER, PEER_HEADER, STALL_HEADER, eta_range, name, outage_rows, peer_rows, slowest,
    stall_rows,
};
use crate::timeline::TimePoint;

/// What the page shows of one node: its analysis, its time series and its database points
/// (empty when none were recorded).
pub struct NodeData<'a> {
    pub analysis: &'a Analysis,
    pub timeline: &'a [TimePoint],
    pub db: &'a [DbPoint],
    /// The watchdog's restarts of this node, drawn on the height chart.
    pub restarts: Vec<&'a nodewarden_model::RemedyEvent>,
}

/// The whole report. `source` says where the samples came from (file, run).
pub fn report_html(title: &str, source: &str, version: &str, nodes: &[NodeData<'_>]) -> String {
    let mut body = format!(
        "<h1>{}</h1><p class=\"meta\">{} · {} node{}</p>",
        escape(title),
        escape(source),
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" }
    );
    for n in nodes {
        body.push_str(&node_section(n));
    }
    if nodes.is_empty() {
        body.push_str("<p>No samples.</p>");
    }
    page(title, &body, version)
}

fn summary(a: &Analysis) -> String {
    let rows = [
        (
            "state",
            format!(
                "{}{}",
                name(&a.state),
                if a.synced { ", synced" } else { ", not synced" }
            ),
        ),
        (
            "height / target",
            format!(
                "{} / {} ({})",
                opt(a.current, count),
                opt(a.target, count),
                opt(a.progress, |p| percent(p * 100.0))
            ),
        ),
        ("sync time", opt(a.sync_duration_seconds, age)),
        (
            "rate now / mean",
            format!(
                "{} / {} blocks/s",
                opt(a.rate_blocks_per_second, |r| format!("{r:.2}")),
                opt(a.mean_rate_blocks_per_second, |r| format!("{r:.2}"))
            ),
        ),
        ("ETA (range)", eta_range(a)),
        (
            "stalls",
            format!(
                "{}, {} in total; threshold {}{}",
                a.stalls_total,
                age(a.stalled_seconds),
                age(a.stall_after_seconds),
                if a.stall_after_auto { " (auto)" } else { "" }
            ),
        ),
        (
            "outages",
            format!(
                "{}, {} in total (failed polls, restarts)",
                a.outages_total,
                age(a.outage_seconds)
            ),
        ),
    ];
    let res = [
        (
            "CPU mean / peak",
            format!(
                "{} / {} cores",
                opt(a.mean_cpu_cores, |c| format!("{c:.2}")),
                opt(a.peak_cpu_cores, |c| format!("{c:.2}"))
            ),
        ),
        (
            "RSS mean / peak",
            format!(
                "{} / {}{}",
                opt(a.mean_rss_bytes, |b| bytes(b as u64)),
                opt(a.peak_rss_bytes, bytes),
                match a.memory_growth_bytes_per_second {
                    Some(g) if a.memory_growth_significant => {
                        format!("; growing {}/h", bytes(g.max(0.0) as u64 * 3600))
                    }
                    _ => String::new(),
                }
            ),
        ),
        (
            "read / written",
            format!(
                "{} / {}",
                opt(a.read_bytes, bytes),
                opt(a.written_bytes, bytes)
            ),
        ),
        (
            "data dir",
            format!(
                "{} ({} growth)",
                opt(a.data_dir_bytes, bytes),
                opt(a.data_dir_growth_bytes, |g| format!(
                    "{}{}",
                    if g < 0 { "-" } else { "+" },
                    bytes(g.unsigned_abs())
                ))
            ),
        ),
        (
            "samples",
            format!(
                "{} ({} RPC errors, {} restarts)",
                count(a.samples),
                a.error_samples,
                a.restarts
            ),
        ),
        (
            "time",
            format!(
                "{} → {} ({})",
                utc(a.first_ms),
                utc(a.last_ms),
                age(a.duration_seconds)
            ),
        ),
    ];
    format!(
        "<div class=\"card grid\"><div>{}</div><div>{}</div></div>",
        kv(&rows),
        kv(&res)
    )
}

/// Stall bands on a time axis (seconds since `first_ms`).
fn time_bands(stalls: &[Stall], first_ms: i64) -> Vec<Band> {
    stalls
        .iter()
        .map(|s| {
            Band::new(
                (s.start_ms - first_ms) as f64 / 1000.0,
                (s.end_ms - first_ms) as f64 / 1000.0,
                name(&s.cause),
            )
            .detail(describe(s))
        })
        .collect()
}

/// Peer-loss bands for the peers chart: where the count fell to half or less.
fn peer_bands(a: &nodewarden_analyze::Analysis) -> Vec<Band> {
    a.peer_losses
        .iter()
        .map(|p| {
            Band::new(
                (p.start_ms - a.first_ms) as f64 / 1000.0,
                (p.end_ms - a.first_ms) as f64 / 1000.0,
                "peer loss",
            )
            .detail(format!(
                "peers {} → {} for {}, {} at 0",
                p.from,
                p.min,
                age((p.end_ms - p.start_ms) as f64 / 1000.0),
                age(p.zero_seconds)
            ))
        })
        .collect()
}

fn describe(s: &Stall) -> String {
    format!(
        "stall at height {}: {} for {}{}",
        count(s.height),
        name(&s.cause),
        age(s.duration_seconds),
        if s.ongoing { " (ongoing)" } else { "" }
    )
}

fn node_section(n: &NodeData<'_>) -> String {
    let a = n.analysis;
    let mut s = format!("<h2>{}</h2>", escape(&a.node));
    s.push_str(&summary(a));
    if !a.stalls.is_empty() {
        s.push_str("<h3>Stalls</h3>");
        s.push_str(&table(
            &STALL_HEADER,
            &stall_rows(&a.stalls, a.first_ms, n.db),
            &[0, 2, 5, 6, 7, 8],
        ));
    }
    if !a.outages.is_empty() {
        s.push_str("<h3>Outages (failed polls, restarts)</h3>");
        s.push_str(&table(&OUTAGE_HEADER, &outage_rows(a), &[0, 2, 3]));
    }
    if !a.peer_losses.is_empty() {
        s.push_str("<h3>Peer losses</h3>");
        s.push_str(&table(&PEER_HEADER, &peer_rows(a), &[0, 3, 4]));
    }
    for chart in charts(n) {
        s.push_str(&chart.render());
    }
    let worst = slowest(a, 8);
    if !worst.is_empty() {
        s.push_str("<h3>Slowest height ranges</h3>");
        let rows: Vec<Vec<String>> = worst
            .iter()
            .map(|c| {
                vec![
                    format!("{} – {}", count(c.from), count(c.to)),
                    format!("{:.2}", c.wall_seconds / c.blocks as f64),
                    age(c.wall_seconds),
                    age(c.stalled_seconds),
                    format!("{:.1}", c.cpu_seconds),
                    bytes(c.read_bytes),
                    bytes(c.written_bytes),
                ]
            })
            .collect();
        s.push_str(&table(
            &[
                "heights", "s/block", "wall", "stalled", "CPU s", "read", "written",
            ],
            &rows,
            &[1, 2, 3, 4, 5, 6],
        ));
    }
    s
}

/// Every chart of one node, in reading order.
pub(crate) fn charts(n: &NodeData<'_>) -> Vec<Chart> {
    let a = n.analysis;
    let t = |p: &TimePoint| (p.t_ms - a.first_ms) as f64 / 1000.0;
    let series = |f: &dyn Fn(&TimePoint) -> Option<f64>| -> Vec<(f64, f64)> {
        n.timeline
            .iter()
            .map(|p| (t(p), f(p).unwrap_or(f64::NAN)))
            .collect()
    };
    let bands = time_bands(&a.stalls, a.first_ms);
    let span = a.duration_seconds.max(1.0);
    let time = || Axis::new("time since the first sample", Unit::Seconds).range(0.0, span);
    let small = |c: Chart| c.size(1100, 220);
    let mut out = vec![
        Chart::new("Height and target over time")
            .x(time())
            .y(Axis::new("height", Unit::Count))
            .bands(bands.clone())
            .bands(peer_bands(a))
            .bands(crate::remedies::restart_bands(&n.restarts, a.first_ms))
            .series(Series::area(
                "height",
                BLUE,
                series(&|p| p.height.map(|h| h as f64)),
            ))
            .series(Series::dashed(
                "target",
                GREY,
                series(&|p| p.target.map(|h| h as f64)),
            )),
    ];
    if !n.db.is_empty() {
        out.push(small(db_chart(n, time(), bands.clone())));
    }
    let per_bucket = |f: &dyn Fn(&nodewarden_analyze::HeightCost) -> Option<f64>| {
        a.cost_by_height
            .iter()
            .filter_map(|c| f(c).map(|v| (c.from as f64, c.to as f64, v)))
            .collect::<Vec<_>>()
    };
    let height_bands: Vec<Band> = a
        .stalls
        .iter()
        .map(|s| {
            Band::new(
                s.height as f64,
                s.end_height.max(s.height) as f64,
                name(&s.cause),
            )
            .detail(describe(s))
        })
        .collect();
    let height_axis = || Axis::new("height", Unit::Count);
    out.push(
        Chart::new("Sync rate by height")
            .x(height_axis())
            .y(Axis::new("blocks per second", Unit::Number("")).from_zero())
            .bands(height_bands)
            .series(Series::steps(
                "blocks/s (wall time per height range)",
                BLUE,
                &per_bucket(&|c| (c.wall_seconds > 0.0).then(|| c.blocks as f64 / c.wall_seconds)),
            )),
    );
    out.push(small(
        Chart::new("CPU over time")
            .x(time())
            .y(Axis::new("cores", Unit::Number("")).from_zero())
            .bands(bands.clone())
            .series(Series::area(
                "CPU (cores)",
                VERMILION,
                series(&|p| p.cpu_cores),
            )),
    ));
    out.push(small(
        Chart::new("Memory (RSS) over time")
            .x(time())
            .y(Axis::new("RSS", Unit::Bytes).from_zero())
            .bands(bands.clone())
            .series(Series::area(
                "RSS",
                PURPLE,
                series(&|p| p.rss_bytes.map(|b| b as f64)),
            )),
    ));
    out.push(small(
        Chart::new("Disk IO over time")
            .x(time())
            .y(Axis::new("bytes per second", Unit::BytesPerSecond).from_zero())
            .bands(bands.clone())
            .series(Series::line(
                "read",
                SKY,
                series(&|p| p.read_bytes_per_second),
            ))
            .series(Series::line(
                "write",
                ORANGE,
                series(&|p| p.write_bytes_per_second),
            )),
    ));
    out.push(small(
        Chart::new("Peers over time")
            .x(time())
            .y(Axis::new("peers", Unit::Count).from_zero())
            .bands(bands)
            .bands(peer_bands(a))
            .series(Series::line(
                "peers (fewest per interval)",
                GREEN,
                series(&|p| p.peers.map(f64::from)),
            )),
    ));
    out.push(
        Chart::new("Cost by height: time per height range")
            .x(height_axis())
            .y(Axis::new("seconds", Unit::Seconds).from_zero())
            .series(Series::steps(
                "wall",
                BLUE,
                &per_bucket(&|c| Some(c.wall_seconds)),
            ))
            .series(Series::steps(
                "CPU",
                VERMILION,
                &per_bucket(&|c| Some(c.cpu_seconds)),
            ))
            .series(Series::steps(
                "stalled",
                GREY,
                &per_bucket(&|c| Some(c.stalled_seconds)),
            )),
    );
    out.push(small(
        Chart::new("Cost by height: disk IO per height range")
            .x(height_axis())
            .y(Axis::new("bytes", Unit::Bytes).from_zero())
            .series(Series::steps(
                "read",
                SKY,
                &per_bucket(&|c| Some(c.read_bytes as f64)),
            ))
            .series(Series::steps(
                "written",
                ORANGE,
                &per_bucket(&|c| Some(c.written_bytes as f64)),
            )),
    ));
    out
}

/// L0 files and the highest compaction score over time, stall bands behind: a stall whose
/// band sits on a mountain of L0 files is the database's. Each point holds until the next
/// (the recording keeps one only when a MANIFEST changed).
fn db_chart(n: &NodeData<'_>, time: Axis, bands: Vec<Band>) -> Chart {
    let a = n.analysis;
    let last_s = (a.last_ms - a.first_ms) as f64 / 1000.0;
    let series = |f: &dyn Fn(&DbPoint) -> f64| -> Vec<(f64, f64, f64)> {
        n.db.iter()
            .enumerate()
            .map(|(i, p)| {
                let from = (p.t_ms - a.first_ms) as f64 / 1000.0;
                let to =
                    n.db.get(i + 1)
                        .map_or(last_s, |q| (q.t_ms - a.first_ms) as f64 / 1000.0);
                (from, to.max(from), f(p))
            })
            .collect()
    };
    Chart::new("Database: L0 files and compaction debt over time")
        .x(time)
        .y(Axis::new("L0 files / score", Unit::Number("")).from_zero())
        .bands(bands)
        .series(Series::steps(
            "L0 files",
            ORANGE,
            &series(&|p| p.l0_files as f64),
        ))
        .series(Series::steps(
            "highest compaction score (≥ 1: behind)",
            VERMILION,
            &series(&|p| p.max_score),
        ))
}

/// One node's section (summary, stalls, charts) without the page around it: the dashboard's
/// node page shows exactly what the report shows.
pub fn node_fragment(n: &NodeData<'_>) -> String {
    node_section(n)
}
