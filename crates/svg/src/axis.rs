//! Axis scales: "nice" tick positions and unit-aware labels.
//!
//! Ticks land on values a person would pick (1-2-5 steps, whole minutes, binary byte
//! units) so a reader can interpolate between them without arithmetic.

/// What an axis measures; decides tick spacing and label text.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// Plain numbers with an optional suffix ("cores", "blocks/s", "×").
    Number(&'static str),
    /// Heights and other counts: 1-2-5 ticks, thousands as k, millions as M.
    Count,
    /// Seconds, labelled as durations ("90s" → "1m30s"), ticks on whole clock units.
    Seconds,
    /// Bytes, ticks on round binary units.
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
}

/// The tick positions covering `[lo, hi]` and the axis range rounded out to them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
}

/// About `target` ticks over `[lo, hi]`. The range is widened to whole ticks only on the
/// y axis (`round_out`); an x axis keeps the data's own extent so shared time axes align.
pub fn scale(lo: f64, hi: f64, unit: &Unit, target: usize, round_out: bool) -> Scale {
    let (lo, hi) = if !(lo.is_finite() && hi.is_finite()) {
        (0.0, 1.0)
    } else if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        // A flat series still needs a visible range around it.
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / target.max(1) as f64;
    let step = match unit {
        Unit::Seconds => duration_step(raw),
        Unit::Bytes | Unit::BytesPerSecond => byte_step(raw),
        Unit::Number(_) | Unit::Count => decimal_step(raw),
    };
    let (lo, hi) = if round_out {
        ((lo / step).floor() * step, (hi / step).ceil() * step)
    } else {
        (lo, hi)
    };
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    Scale { lo, hi, ticks }
}

fn decimal_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn duration_step(raw: f64) -> f64 {
    const STEPS: [f64; 20] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        10800.0, 21600.0, 43200.0, 86400.0, 172800.0, 604800.0,
    ];
    if raw < 1.0 {
        return decimal_step(raw);
    }
    STEPS
        .iter()
        .copied()
        .find(|&s| s >= raw)
        .unwrap_or_else(|| decimal_step(raw / 86400.0) * 86400.0)
}

fn byte_step(raw: f64) -> f64 {
    let unit = 1024f64.powi((raw.max(1.0).log2() / 10.0).floor() as i32);
    decimal_step(raw / unit) * unit
}

/// Label text for a tick (or any value) on an axis of `unit`.
pub fn label(v: f64, unit: &Unit) -> String {
    match unit {
        Unit::Number(suffix) => {
            let s = trim(v, 3);
            if suffix.is_empty() {
                s
            } else {
                format!("{s} {suffix}")
            }
        }
        Unit::Count => count(v),
        Unit::Seconds => duration(v),
        Unit::Bytes => bytes(v),
        Unit::BytesPerSecond => format!("{}/s", bytes(v)),
    }
}

fn trim(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

fn count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", trim(v / 1e9, 2))
    } else if a >= 1e6 {
        format!("{}M", trim(v / 1e6, 2))
    } else if a >= 1000.0 && v.fract() == 0.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}", crate::count(a as u64))
    } else {
        trim(v, 2)
    }
}

fn duration(v: f64) -> String {
    let neg = if v < 0.0 { "-" } else { "" };
    let s = v.abs();
    // Sub-second steps put ticks between whole seconds: keep their fraction, or two ticks
    // would read the same.
    if s > 0.0 && s < 60.0 && (s - s.round()).abs() > 1e-9 {
        return format!("{neg}{}s", trim(s, 2));
    }
    let s = s.round() as u64;
    let body = match s {
        0..60 => format!("{s}s"),
        60..3600 if s.is_multiple_of(60) => format!("{}m", s / 60),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ if s.is_multiple_of(86400) => format!("{}d", s / 86400),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    };
    format!("{neg}{body}")
}

fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = v.abs();
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{} {}", trim(x, 1), UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ticks_are_round_and_cover_the_range() {
        let s = scale(3.0, 97.0, &Unit::Count, 5, true);
        assert_eq!((s.lo, s.hi), (0.0, 100.0));
        assert_eq!(s.ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    }

    #[test]
    fn short_durations_have_distinct_labels() {
        let sc = scale(1.2, 4.9, &Unit::Seconds, 6, false);
        let labels: Vec<String> = sc.ticks.iter().map(|&t| label(t, &Unit::Seconds)).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(labels, unique, "{labels:?}");
        assert_eq!(label(1.5, &Unit::Seconds), "1.5s");
        assert_eq!(label(2.0, &Unit::Seconds), "2s");
    }

    #[test]
    fn duration_ticks_fall_on_clock_units() {
        let s = scale(0.0, 1000.0, &Unit::Seconds, 6, false);
        assert_eq!(s.ticks[1], 300.0, "{:?}", s.ticks);
        assert_eq!(label(300.0, &Unit::Seconds), "5m");
        assert_eq!(label(90.0, &Unit::Seconds), "1m30s");
        assert_eq!(label(7200.0, &Unit::Seconds), "2h");
    }

    #[test]
    fn byte_ticks_use_binary_units() {
        let s = scale(0.0, 300.0 * 1048576.0, &Unit::Bytes, 4, true);
        assert_eq!(label(s.ticks[1], &Unit::Bytes), "100 MiB");
        assert_eq!(label(1536.0, &Unit::BytesPerSecond), "1.5 KiB/s");
    }

    #[test]
    fn flat_and_empty_ranges_still_have_ticks() {
        assert!(scale(5.0, 5.0, &Unit::Count, 5, true).ticks.len() >= 2);
        assert!(scale(0.0, 0.0, &Unit::Count, 5, true).ticks.len() >= 2);
        assert!(
            scale(f64::NAN, 1.0, &Unit::Count, 5, true).ticks.len() >= 2,
            "NaN never panics"
        );
        assert_eq!(label(12_345.0, &Unit::Count), "12,345");
        assert_eq!(label(2_500_000.0, &Unit::Count), "2.5M");
        assert_eq!(label(1.5, &Unit::Number("×")), "1.5 ×");
    }
}
