//! Facts → verdicts. Pure, so every threshold is unit-tested without a node.
use std::time::Duration;

use nodewarden_config::{CheckConfig, NodeConfig};
use nodewarden_rpc::{Kind, Status, SyncState};

use super::gather::{BackupFact, Facts, kind_of};
use super::{CheckResult, Level, Thresholds};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Every check of one node, in a fixed order (rpc, synced, head_age, peers, stalled, disk,
/// disk_days_left, process, memory, backup_age, pillar).
pub fn evaluate(node: &NodeConfig, cfg: &CheckConfig, f: &Facts) -> Vec<CheckResult> {
    let n = node.name.as_str();
    let kind = kind_of(node, f);
    let mut out = Vec::new();
    match &f.rpc {
        Ok((status, took)) => {
            out.push(
                CheckResult::new(
                    n,
                    "rpc",
                    Level::Ok,
                    format!("answered in {} ms", took.as_millis()),
                )
                .with_value(took.as_secs_f64(), "s"),
            );
            out.push(synced(n, node, cfg, f, status));
            out.push(head_age(n, node, cfg, f, status));
            out.push(peers(n, cfg, status, kind));
            out.push(stalled(n, cfg, f, status));
        }
        Err(e) => {
            out.push(CheckResult::new(n, "rpc", Level::Critical, e.clone()));
            for name in ["synced", "head_age", "peers", "stalled"] {
                out.push(CheckResult::new(
                    n,
                    name,
                    Level::Unknown,
                    "RPC unreachable".into(),
                ));
            }
        }
    }
    out.extend(disk(n, cfg, f));
    out.push(match &f.process {
        None => CheckResult::skipped(n, "process", "no `process` or `pid_file` configured".into()),
        Some((true, m)) => CheckResult::new(n, "process", Level::Ok, m.clone()),
        Some((false, m)) => CheckResult::new(n, "process", Level::Critical, m.clone()),
    });
    out.push(memory(n, cfg, f));
    out.push(backup(n, cfg, &f.backup));
    if let Some(p) = &f.pillar {
        out.push(pillar(n, cfg, p));
    }
    out
}

fn behind(s: &Status) -> Option<u64> {
    match (s.current, s.target) {
        (Some(c), Some(t)) if t > c => Some(t - c),
        _ => None,
    }
}

fn synced(n: &str, node: &NodeConfig, cfg: &CheckConfig, f: &Facts, s: &Status) -> CheckResult {
    let max_age = node.max_head_age(s.kind);
    if s.synced(f.now, max_age) {
        let h = s.current.map(|c| c.to_string()).unwrap_or_default();
        return CheckResult::new(n, "synced", Level::Ok, format!("synced at {h}"))
            .with_value(1.0, "");
    }
    let level = if cfg.not_synced == "critical" {
        Level::Critical
    } else {
        Level::Warning
    };
    let why = if s.peers == Some(0) || s.state == SyncState::NotEnoughPeers {
        "not synced: no (or not enough) peers, whatever the node says".to_string()
    } else if let Some(b) = behind(s) {
        format!(
            "syncing: {} of {} ({b} behind)",
            s.current.unwrap_or(0),
            s.target.unwrap_or(0)
        )
    } else {
        format!(
            "not synced: head older than {} (node says {})",
            secs(max_age.as_secs_f64()),
            s.state.as_str()
        )
    };
    CheckResult::new(n, "synced", level, why).with_value(0.0, "")
}

fn head_age(n: &str, node: &NodeConfig, cfg: &CheckConfig, f: &Facts, s: &Status) -> CheckResult {
    let Some(age) = s.head_age(f.now) else {
        return CheckResult::skipped(n, "head_age", "the node's head has no timestamp".into());
    };
    let warn = cfg
        .head_age_warning
        .unwrap_or_else(|| node.max_head_age(s.kind));
    let crit = cfg.head_age_critical.unwrap_or(warn * 3);
    let t = Thresholds::above(warn.as_secs_f64(), crit.as_secs_f64());
    if behind(s).is_some() {
        // Far behind, an old head is the expected state; `synced` and `stalled` judge it.
        let mut r = CheckResult::measured(n, "head_age", age, "s", t, String::new());
        r.status = Level::Ok;
        r.message = format!("head {} old while syncing (not judged)", secs(age));
        return r;
    }
    let block = node.block_time.unwrap_or_else(|| s.kind.block_time());
    let msg = format!(
        "head {} old ({:.1} block times of {})",
        secs(age),
        age / block.as_secs_f64().max(0.001),
        secs(block.as_secs_f64())
    );
    CheckResult::measured(n, "head_age", age, "s", t, msg)
}

fn peers(n: &str, cfg: &CheckConfig, s: &Status, kind: Option<Kind>) -> CheckResult {
    let Some(p) = s.peers else {
        return CheckResult::skipped(n, "peers", "the node does not report its peers".into());
    };
    let warn = cfg.peers_warning.unwrap_or(match kind {
        Some(Kind::Zenon) => 8,
        _ => 3,
    });
    let crit = cfg.peers_critical.min(warn);
    let t = Thresholds::below(warn as f64, crit as f64);
    CheckResult::measured(
        n,
        "peers",
        p as f64,
        "",
        t,
        format!("{p} peers (minimum {warn})"),
    )
}

fn stalled(n: &str, cfg: &CheckConfig, f: &Facts, s: &Status) -> CheckResult {
    let t = Thresholds::above(0.0, cfg.stall_critical.as_secs_f64());
    // The recording has watched for longer than any check can wait: prefer it when live.
    if let Some(r) = f.recording.as_ref().filter(|r| r.live) {
        // Judged by the watch's own tracker: the check never calls a stall what the
        // dashboard and `analyze` call a flat spot, nor the other way round.
        return match (r.stalled, r.unchanged_behind_s) {
            (Some((secs_stalled, h)), _) => CheckResult::measured(
                n,
                "stalled",
                secs_stalled,
                "s",
                t,
                format!(
                    "stalled for {} at height {h} while behind (recording `{}`)",
                    secs(secs_stalled),
                    r.run
                ),
            ),
            (None, Some(u)) if u > 0.0 => CheckResult::new(
                n,
                "stalled",
                Level::Ok,
                format!(
                    "height unchanged for {} while behind, not yet a stall at this node's pace (after {}; recording `{}`)",
                    secs(u),
                    secs(r.stall_after_s),
                    r.run
                ),
            )
            .with_value(0.0, "s"),
            _ => CheckResult::new(
                n,
                "stalled",
                Level::Ok,
                format!("progressing or at the tip (recording `{}`)", r.run),
            )
            .with_value(0.0, "s"),
        };
    }
    let Some(o) = &f.observation else {
        return CheckResult::skipped(
            n,
            "stalled",
            "no observation (--observe 0s) and no live recording".into(),
        );
    };
    let el = o.elapsed.as_secs_f64();
    let (c0, c1) = (s.current, o.later.current);
    match (behind(&o.later), c0, c1) {
        (Some(b), Some(a), Some(z)) if z <= a => CheckResult::measured(
            n,
            "stalled",
            el,
            "s",
            t,
            format!("height {z} did not move in {} while {b} behind", secs(el)),
        ),
        (Some(_), Some(a), Some(z)) => CheckResult::new(
            n,
            "stalled",
            Level::Ok,
            format!(
                "{} blocks in {} ({:.1}/s)",
                z - a,
                secs(el),
                (z - a) as f64 / el.max(0.001)
            ),
        )
        .with_value(0.0, "s"),
        _ => CheckResult::new(
            n,
            "stalled",
            Level::Ok,
            "not behind a known target (head age judges a node at the tip)".into(),
        )
        .with_value(0.0, "s"),
    }
}

fn disk(n: &str, cfg: &CheckConfig, f: &Facts) -> Vec<CheckResult> {
    let d = match &f.disk {
        None => {
            return vec![
                CheckResult::skipped(n, "disk_free", "no `data_dir` configured".into()),
                CheckResult::skipped(n, "disk_days_left", "no `data_dir` configured".into()),
            ];
        }
        Some(Err(e)) => {
            return vec![
                CheckResult::new(n, "disk_free", Level::Unknown, e.clone()),
                CheckResult::new(n, "disk_days_left", Level::Unknown, e.clone()),
            ];
        }
        Some(Ok(d)) => d,
    };
    let pct = if d.total_bytes == 0 {
        0.0
    } else {
        d.available_bytes as f64 * 100.0 / d.total_bytes as f64
    };
    let free = CheckResult::measured(
        n,
        "disk_free",
        pct,
        "%",
        Thresholds::below(
            cfg.disk_free_warning_percent,
            cfg.disk_free_critical_percent,
        ),
        format!(
            "{:.1} GiB free of {:.1} GiB ({pct:.1}%)",
            d.available_bytes as f64 / GIB,
            d.total_bytes as f64 / GIB
        ),
    );
    let t = Thresholds::below(cfg.days_until_full_warning, cfg.days_until_full_critical);
    let days = match d.growth_bytes_per_s {
        None => CheckResult::skipped(
            n,
            "disk_days_left",
            "growth unknown: no live recording and no observation".into(),
        ),
        Some(g) if g <= 0.0 => CheckResult::new(
            n,
            "disk_days_left",
            Level::Ok,
            format!("data dir not growing (from the {})", d.growth_source),
        ),
        Some(g) => {
            let days = d.available_bytes as f64 / g / 86400.0;
            CheckResult::measured(
                n,
                "disk_days_left",
                days,
                "",
                t,
                format!(
                    "{days:.1} days until full at {:.1} MiB/h (from the {})",
                    g * 3600.0 / 1048576.0,
                    d.growth_source
                ),
            )
        }
    };
    vec![free, days]
}

/// Hours until memory runs out at the process's RSS trend, when the trend is a leak. The
/// trend needs history (20 minutes of a live recording); GC sawtooth and restarts are not
/// leaks (`analyze`'s memory trend).
fn memory(n: &str, cfg: &CheckConfig, f: &Facts) -> CheckResult {
    let Some(r) = f.recording.as_ref().filter(|r| r.live) else {
        return CheckResult::skipped(
            n,
            "memory",
            "needs a live recording (watch --record)".into(),
        );
    };
    match (r.memory_growth, r.rss_bytes) {
        (Some((g, true)), Some(rss)) => {
            match nodewarden_analyze::exhaustion_seconds(g, rss, f.memory_available_bytes, None) {
                Some(s) => CheckResult::measured(
                    n,
                    "memory",
                    s / 3600.0,
                    "",
                    Thresholds::below(
                        cfg.memory_hours_left_warning,
                        cfg.memory_hours_left_critical,
                    ),
                    format!(
                        "RSS grows {:.1} MiB/h: available memory runs out in {:.1} h",
                        g * 3600.0 / 1048576.0,
                        s / 3600.0
                    ),
                ),
                None => CheckResult::new(
                    n,
                    "memory",
                    Level::Unknown,
                    "RSS grows, but the host's available memory is unknown".into(),
                ),
            }
        }
        (Some((g, _)), _) => CheckResult::new(
            n,
            "memory",
            Level::Ok,
            format!(
                "no significant RSS trend ({:+.1} MiB/h)",
                g * 3600.0 / 1048576.0
            ),
        ),
        _ => CheckResult::skipped(n, "memory", "too little RSS history for a trend".into()),
    }
}

fn backup(n: &str, cfg: &CheckConfig, b: &BackupFact) -> CheckResult {
    match b {
        BackupFact::NotConfigured => CheckResult::skipped(
            n,
            "backup_age",
            "no repository configured ([repository] url)".into(),
        ),
        BackupFact::NoSnapshot => CheckResult::new(
            n,
            "backup_age",
            Level::Critical,
            format!("the repository has no snapshot of `{n}`"),
        ),
        BackupFact::Error(e) => CheckResult::new(n, "backup_age", Level::Unknown, e.clone()),
        BackupFact::AgeSeconds(a) => CheckResult::measured(
            n,
            "backup_age",
            *a,
            "s",
            Thresholds::above(
                cfg.backup_age_warning.as_secs_f64(),
                cfg.backup_age_critical.as_secs_f64(),
            ),
            format!("last snapshot {} ago", secs(*a)),
        ),
    }
}

fn pillar(
    n: &str,
    cfg: &CheckConfig,
    p: &Result<nodewarden_rpc::zenon::PillarStats, String>,
) -> CheckResult {
    let p = match p {
        Ok(p) => p,
        Err(e) => return CheckResult::new(n, "pillar", Level::Critical, e.clone()),
    };
    if p.expected == 0 {
        return CheckResult::new(
            n,
            "pillar",
            Level::Ok,
            format!("pillar {}: no momentums expected yet this epoch", p.name),
        );
    }
    let ratio = p.produced as f64 / p.expected as f64;
    CheckResult::measured(
        n,
        "pillar",
        ratio * 100.0,
        "%",
        Thresholds::below(
            cfg.pillar_ratio_warning * 100.0,
            cfg.pillar_ratio_critical * 100.0,
        ),
        format!(
            "pillar {} produced {} of {} expected momentums ({:.0}%)",
            p.name,
            p.produced,
            p.expected,
            ratio * 100.0
        ),
    )
}

/// Durations the way an operator reads them.
fn secs(s: f64) -> String {
    let d = Duration::from_secs_f64(s.max(0.0));
    if s < 120.0 {
        format!("{s:.0}s")
    } else if s < 7200.0 {
        format!("{:.0}m", d.as_secs_f64() / 60.0)
    } else if s < 3.0 * 86400.0 {
        format!("{:.1}h", d.as_secs_f64() / 3600.0)
    } else {
        format!("{:.1}d", d.as_secs_f64() / 86400.0)
    }
}
