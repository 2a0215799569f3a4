//! The `watch --once` table.

use nodewarden_model::NodeReport;

use crate::format::{age, count, percent};

/// A fixed-width table of one-shot statuses, one row per node; failed nodes show their error.
pub fn status_table(reports: &[NodeReport]) -> String {
    let header = [
        "NODE", "KIND", "STATE", "HEIGHT", "TARGET", "PROGRESS", "PEERS", "SYNCED", "HEAD AGE",
        "VERSION",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut errors = Vec::new();
    for r in reports {
        if !r.ok {
            errors.push(format!(
                "{}: {}",
                r.name,
                r.error.as_deref().unwrap_or("failed")
            ));
            rows.push(vec![r.name.clone(), r.kind.clone(), "error".into()]);
            continue;
        }
        let opt = |v: Option<u64>| v.map(count).unwrap_or_else(|| "-".into());
        rows.push(vec![
            r.name.clone(),
            r.kind.clone(),
            r.state
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "-".into()),
            opt(r.current),
            opt(r.target),
            r.progress_percent
                .map(percent)
                .unwrap_or_else(|| "-".into()),
            r.peers.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            if r.synced { "yes" } else { "no" }.into(),
            r.head_age_seconds.map(age).unwrap_or_else(|| "-".into()),
            r.client_version.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                // Numbers right-aligned so digits line up.
                if (3..=6).contains(&i) {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for e in errors {
        out.push_str(&e);
        out.push('\n');
    }
    out
}
