//! The overview's small charts: the last hour of every node's height, target, rate and
//! peers, kept in memory from the published states (so they work without a recording), and
//! drawn by the same chart code as the report.
use std::collections::{HashMap, VecDeque};

use nodewarden_model::{NodeView, WatchState};
use nodewarden_svg::{Axis, Band, Chart, Series, Unit};
use serde::Serialize;

/// The longest window the cards offer.
pub const KEEP_MS: i64 = 3_600_000;
/// Points closer than this are merged: a 100 ms interval must not grow the hour to 36,000.
const MIN_GAP_MS: i64 = 1_000;

#[derive(Debug, Clone, Copy)]
struct Point {
    t_ms: i64,
    current: Option<u64>,
    target: Option<u64>,
    rate: Option<f64>,
    peers: Option<u32>,
    /// Start of the stall open at this point: points sharing it make one band.
    stall_since: Option<i64>,
}

/// Every node's recent points, oldest first.
#[derive(Debug, Default)]
pub struct Trends {
    nodes: HashMap<String, VecDeque<Point>>,
}

/// A node that has lost every peer it had: what its card says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeersLost {
    /// The most peers it had in the window before the loss.
    pub had: u32,
    /// Unix milliseconds of the first sample with none.
    pub since_ms: i64,
}

/// One card's charts and events, as `/api/trends` returns them.
#[derive(Debug, Serialize)]
pub struct CardTrend {
    pub height_svg: String,
    pub rate_svg: String,
    pub peers_lost: Option<PeersLost>,
}

impl Trends {
    pub fn push(&mut self, state: &WatchState) {
        for n in &state.nodes {
            if n.samples == 0 {
                continue;
            }
            let p = Point {
                t_ms: n.last_sample_ms,
                current: n.report.current,
                target: n.last_target.or(n.report.target),
                rate: n.rate_blocks_per_second,
                peers: n.report.peers,
                stall_since: n.stalled_since_ms,
            };
            let q = self.nodes.entry(n.report.name.clone()).or_default();
            if q.back().is_some_and(|last| p.t_ms <= last.t_ms) {
                continue;
            }
            // The newest point is always the latest state; it stays when the next arrives
            // only if it is a full gap after its own predecessor.
            let len = q.len();
            let crowded = len >= 2 && q[len - 1].t_ms - q[len - 2].t_ms < MIN_GAP_MS;
            if crowded {
                q.pop_back();
            }
            q.push_back(p);
            while q.front().is_some_and(|f| f.t_ms < p.t_ms - KEEP_MS) {
                q.pop_front();
            }
        }
        // Nodes gone from the config take their history with them.
        self.nodes
            .retain(|name, _| state.nodes.iter().any(|n| &n.report.name == name));
    }

    pub fn card(&self, n: &NodeView, window_ms: i64, now_ms: i64) -> CardTrend {
        let empty = VecDeque::new();
        let q = self.nodes.get(&n.report.name).unwrap_or(&empty);
        let from = now_ms - window_ms;
        let pts = thin(q.iter().filter(|p| p.t_ms >= from).collect(), from, now_ms);
        let x = |t: i64| (t - now_ms) as f64 / 60_000.0;
        // A younger history fills the width instead of hugging the right edge.
        let start = pts
            .first()
            .map_or(from, |p| p.t_ms.min(now_ms - 60_000).max(from));
        let axis_x = Axis::new("minutes (0 = now)", Unit::Number("")).range(x(start), 0.0);
        let line = |f: &dyn Fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
            pts.iter()
                .map(|p| (x(p.t_ms), f(p).unwrap_or(f64::NAN)))
                .collect()
        };
        let mut height = Chart::new("Height")
            .size(440, 190)
            .x(axis_x.clone())
            .y(Axis::new("height", Unit::Count))
            .empty_note("no samples yet")
            .series(Series::line(
                "height",
                nodewarden_svg::BLUE,
                line(&|p| p.current.map(|v| v as f64)),
            ))
            .series(Series::dashed(
                "target",
                nodewarden_svg::GREY,
                line(&|p| p.target.map(|v| v as f64)),
            ));
        let latest = q.back().map(|p| p.t_ms);
        for (since, until) in stalls(q.iter().filter(|p| p.t_ms >= from)) {
            // The open stall reaches "now"; an ended one its last stalled point.
            let to = if Some(until) == latest && n.stalled {
                0.0
            } else {
                x(until)
            };
            height = height.band(Band::new(x(since.max(start)), to, "stalled"));
        }
        let rate = Chart::new("Rate")
            .size(440, 160)
            .x(axis_x)
            .y(Axis::new("blocks/s", Unit::Number("")).from_zero())
            .empty_note("no rate yet")
            .series(Series::area(
                "blocks/s",
                nodewarden_svg::GREEN,
                line(&|p| p.rate),
            ));
        CardTrend {
            height_svg: height.render(),
            rate_svg: rate.render(),
            peers_lost: peers_lost(q),
        }
    }
}

/// A chart a few hundred pixels wide shows no more than one point per pixel column: an
/// hour at one point a second would send ~10× the bytes for the same picture, every poll.
const MAX_POINTS: i64 = 300;

/// The last point of each of [`MAX_POINTS`] equal time slices (the newest always kept).
fn thin(pts: Vec<&Point>, from: i64, now_ms: i64) -> Vec<&Point> {
    if pts.len() as i64 <= MAX_POINTS {
        return pts;
    }
    let slice = ((now_ms - from) / MAX_POINTS).max(1);
    let mut out: Vec<&Point> = Vec::with_capacity(MAX_POINTS as usize + 1);
    for p in pts {
        match out.last_mut() {
            Some(last) if (last.t_ms - from) / slice == (p.t_ms - from) / slice => *last = p,
            _ => out.push(p),
        }
    }
    out
}

/// `(start, last stalled point)` of every stall among `pts`, oldest first.
fn stalls<'a>(pts: impl Iterator<Item = &'a Point>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for p in pts {
        let Some(since) = p.stall_since else { continue };
        match out.last_mut() {
            Some(last) if last.0 == since => last.1 = p.t_ms,
            _ => out.push((since, p.t_ms)),
        }
    }
    out
}

/// Peers at 0 now after having some earlier in the hour: since when, and how many it had.
fn peers_lost(q: &VecDeque<Point>) -> Option<PeersLost> {
    if q.back()?.peers != Some(0) {
        return None;
    }
    let zero_from = q
        .iter()
        .rposition(|p| p.peers != Some(0))
        .map_or(0, |i| i + 1);
    let had = q
        .iter()
        .take(zero_from)
        .filter_map(|p| p.peers)
        .max()
        .filter(|&h| h > 0)?;
    Some(PeersLost {
        had,
        since_ms: q[zero_from].t_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodewarden_model::NodeReport;

    fn view(t_ms: i64, current: u64, peers: u32) -> NodeView {
        let mut v = NodeView::new(NodeReport {
            name: "a".into(),
            kind: "zenon".into(),
            url: "http://127.0.0.1:1".into(),
            ok: true,
            error: None,
            error_reason: None,
            state: None,
            current: Some(current),
            target: Some(1_000),
            peers: Some(peers),
            synced: false,
            progress_percent: None,
            head_height: None,
            head_hash: None,
            head_time: None,
            head_age_seconds: None,
            client_version: None,
            latency_ms: None,
        });
        v.samples = 1;
        v.last_sample_ms = t_ms;
        v.rate_blocks_per_second = Some(2.0);
        v
    }

    fn state(nodes: Vec<NodeView>) -> WatchState {
        WatchState {
            nodes,
            ..WatchState::default()
        }
    }

    #[test]
    fn keeps_an_hour_of_one_point_a_second() {
        let mut t = Trends::default();
        for i in 0..16_000i64 {
            // Four ticks a second: merged to one point per second.
            t.push(&state(vec![view(i * 250, i as u64, 8)]));
        }
        let q = &t.nodes["a"];
        assert!((3_000..=3_601).contains(&q.len()), "{} points", q.len());
        assert_eq!(
            q.back().unwrap().t_ms,
            15_999 * 250,
            "the newest state is drawn"
        );
        assert!(q.back().unwrap().t_ms - q.front().unwrap().t_ms <= KEEP_MS);
        // The hour's chart is thinned to the pixels it has.
        let now = 15_999 * 250;
        let hour = t.card(&view(now, 16_000, 8), KEEP_MS, now);
        let quarter = t.card(&view(now, 16_000, 8), 900_000, now);
        assert!(
            hour.height_svg.len() < 2 * quarter.height_svg.len(),
            "an hour costs {} bytes, 15 min {}",
            hour.height_svg.len(),
            quarter.height_svg.len()
        );
        t.push(&state(vec![]));
        assert!(
            t.nodes.is_empty(),
            "a node removed from the config is forgotten"
        );
    }

    #[test]
    fn charts_and_peer_loss() {
        let mut t = Trends::default();
        for i in 0..60 {
            let peers = if i < 40 { 8 } else { 0 };
            let mut v = view(i * 1_000, 100 + i as u64, peers);
            // A stall that ended (10 s to 20 s) and one still open (from 50 s).
            v.stalled_since_ms = match i {
                10..=20 => Some(10_000),
                50.. => Some(50_000),
                _ => None,
            };
            v.stalled = v.stalled_since_ms.is_some();
            t.push(&state(vec![v]));
        }
        let mut v = view(59_000, 159, 0);
        v.stalled_since_ms = Some(50_000);
        let card = t.card(&v, 900_000, 59_000);
        assert!(card.height_svg.starts_with("<svg"));
        assert_eq!(
            card.height_svg.matches("<g><title>stalled").count(),
            2,
            "both stalls shaded"
        );
        assert_eq!(
            stalls(t.nodes["a"].iter()),
            vec![(10_000, 20_000), (50_000, 59_000)]
        );
        assert!(card.rate_svg.contains("blocks/s"));
        assert_eq!(
            card.peers_lost,
            Some(PeersLost {
                had: 8,
                since_ms: 40_000
            })
        );
        // Peers back: no loss to report.
        t.push(&state(vec![view(61_000, 161, 3)]));
        assert_eq!(t.card(&v, 900_000, 61_000).peers_lost, None);
    }
}
