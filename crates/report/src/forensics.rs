//! The evidence captured at stall starts, for the terminal and the HTML report.
use std::fmt::Write as _;

use nodewarden_model::Forensics;

use crate::format::utc;

const LOG_LINES_SHOWN: usize = 12;

pub fn forensics_text(items: &[Forensics]) -> String {
    let mut s = String::new();
    if items.is_empty() {
        return s;
    }
    let _ = writeln!(s, "\nEvidence captured when stalls began:");
    for f in items {
        let _ = writeln!(
            s,
            "  {} at {} (height {}):",
            f.node,
            utc(f.stall_start_ms),
            f.height
        );
        if let Some(t) = &f.threads {
            let _ = writeln!(s, "    threads: {t}");
        }
        if let Some(p) = &f.pprof {
            let goroutines =
                p.matches("\ngoroutine ").count() + usize::from(p.starts_with("goroutine "));
            let _ = writeln!(
                s,
                "    goroutine dump: {goroutines} goroutines, {} bytes",
                p.len()
            );
        }
        if let Some(log) = &f.log_tail {
            let lines: Vec<&str> = log.lines().collect();
            let _ = writeln!(
                s,
                "    log, last {} of {} lines captured:",
                LOG_LINES_SHOWN.min(lines.len()),
                lines.len()
            );
            for l in &lines[lines.len().saturating_sub(LOG_LINES_SHOWN)..] {
                let _ = writeln!(s, "      {l}");
            }
        }
        for n in &f.notes {
            let _ = writeln!(s, "    not captured: {n}");
        }
    }
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A section of `<details>` per capture, for the end of a report page.
pub fn forensics_html(items: &[Forensics]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut s = String::from("<section><h2>Evidence captured when stalls began</h2>");
    for f in items {
        let _ = write!(
            s,
            "<details><summary>{} — stall at {} (height {}){}</summary>",
            esc(&f.node),
            utc(f.stall_start_ms),
            f.height,
            f.threads
                .as_deref()
                .map(|t| format!(": {}", esc(t)))
                .unwrap_or_default()
        );
        if let Some(log) = &f.log_tail {
            let _ = write!(s, "<h3>Log tail</h3><pre>{}</pre>", esc(log));
        }
        if let Some(p) = &f.pprof {
            let _ = write!(s, "<h3>Goroutines</h3><pre>{}</pre>", esc(p));
        }
        for n in &f.notes {
            let _ = write!(s, "<p>Not captured: {}</p>", esc(n));
        }
        s.push_str("</details>");
    }
    s.push_str("</section>");
    s
}
