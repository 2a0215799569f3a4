//! `nodewarden probe`'s text rendering.
use std::fmt::Write as _;

use nodewarden_model::hardware::{HardwareReport, VerdictStatus};

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "unknown".into(), |v| format!("{v:.prec$}"))
}

/// The hardware probe's terminal summary: figures per part, then one verdict line per
/// role and item.
pub fn probe_text(r: &HardwareReport) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let gib = |b: Option<u64>| opt(b.map(|b| b as f64 / GIB), 1);
    let (c, m, d) = (&r.cpu, &r.memory, &r.disk);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "CPU     {} — {} cores{}",
        c.model.as_deref().unwrap_or("unknown model"),
        c.cores,
        c.frequency_mhz
            .map(|f| format!(", {f:.0} MHz"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "        single-core score {} (BLAKE3 {} MB/s, index {} ops/s), all cores {} (×{} scaling)",
        opt(c.single_core_score, 0),
        opt(c.blake3_mb_s, 0),
        opt(c.index_ops_s, 0),
        opt(c.multi_core_score, 0),
        opt(c.multi_core_scaling, 2)
    );
    let _ = writeln!(
        s,
        "        steal {}% over the probe window",
        opt(c.steal_percent, 1)
    );
    let _ = writeln!(
        s,
        "Memory  {} GiB total, {} GiB available; swap {} GiB ({} GiB free)",
        gib(m.total_bytes),
        gib(m.available_bytes),
        gib(m.swap_total_bytes),
        gib(m.swap_free_bytes)
    );
    let _ = writeln!(
        s,
        "Disk    {}: {} GiB free of {} GiB{}",
        d.path.display(),
        gib(Some(d.free_bytes)),
        gib(Some(d.total_bytes)),
        if d.direct_io {
            ", O_DIRECT"
        } else {
            ", buffered + fadvise(DONTNEED)"
        }
    );
    let _ = writeln!(
        s,
        "        fsync p50 {} ms, p99 {} ms ({} samples); 4 KiB random read {} IOPS; sequential read {} MB/s, write {} MB/s",
        opt(d.fsync_p50_ms, 2),
        opt(d.fsync_p99_ms, 2),
        d.fsync_samples,
        opt(d.rand_read_iops, 0),
        opt(d.seq_read_mb_s, 0),
        opt(d.seq_write_mb_s, 0)
    );
    for n in &d.notes {
        let _ = writeln!(s, "        note: {n}");
    }
    let _ = writeln!(
        s,
        "\n{:<22} {:<24} {:<8} {:>12} {:>14}",
        "role", "item", "verdict", "value", "minimum"
    );
    for v in &r.verdicts {
        let status = match v.status {
            VerdictStatus::Meets => "meets",
            VerdictStatus::Below => "BELOW",
            VerdictStatus::Unknown => "unknown",
        };
        let bound = if v.bound == "at most" { "≤ " } else { "≥ " };
        let _ = writeln!(
            s,
            "{:<22} {:<24} {:<8} {:>12} {:>14}",
            v.role,
            v.item,
            status,
            opt(v.value, 1),
            format!("{bound}{}", v.minimum)
        );
    }
    let _ = writeln!(
        s,
        "\nMinimums are starting points (docs/PROBE.md); probe took {:.1} s.",
        r.duration_s
    );
    s
}
