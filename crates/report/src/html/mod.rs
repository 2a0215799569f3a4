//! Self-contained HTML reports: one file, inline CSS and SVG charts, no script and no
//! network, so it opens offline, in a mail attachment or from a bundle.

mod compare;
mod run;

pub use compare::{compare_fragment, compare_html};
pub use run::{NodeData, node_fragment, report_html};

use crate::svg::escape;

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;
 background:#f4f5f7;margin:0;padding:24px}
main{max-width:1140px;margin:0 auto}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 10px;padding-top:8px;border-top:2px solid #d9dce1}
h3{font-size:15px;margin:20px 0 8px;color:#444}
p.meta{color:#666;margin:0 0 16px;font-size:13px}
.card{background:#fff;border:1px solid #dde0e4;border-radius:6px;padding:12px 16px;
 margin:12px 0}
.verdict{font-size:17px;font-weight:600}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{padding:4px 10px;text-align:left;border-bottom:1px solid #eceef1;vertical-align:top}
th{background:#eef0f3;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{background:none;color:#555;font-weight:500;width:150px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}
svg.chart{display:block;max-width:100%;height:auto;margin:8px 0;border:1px solid #dde0e4;
 border-radius:6px}
.bad{color:#b3261e;font-weight:600}.good{color:#1b7a3d;font-weight:600}
footer{color:#888;font-size:12px;margin-top:32px}
";

/// The report's stylesheet, also served to the dashboard so fragments look the same.
pub const REPORT_CSS: &str = CSS;

/// The page around `body`.
pub(crate) fn page(title: &str, body: &str, version: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{CSS}</style></head><body><main>{body}\
         <footer>nodewarden {v} · self-contained report: no scripts, no network · \
         methods: docs/ANALYSIS.md</footer></main></body></html>\n",
        t = escape(title),
        v = escape(version)
    )
}

/// A two-column table of labelled values; values are text, escaped here.
pub(crate) fn kv(rows: &[(&str, String)]) -> String {
    let mut s = String::from("<table class=\"kv\">");
    for (k, v) in rows {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        ));
    }
    s.push_str("</table>");
    s
}

/// A table from a header and text rows; `numeric` columns are right-aligned.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], numeric: &[usize]) -> String {
    let cls = |i: usize| {
        if numeric.contains(&i) {
            " class=\"n\""
        } else {
            ""
        }
    };
    let mut s = String::from("<table><tr>");
    for (i, h) in header.iter().enumerate() {
        s.push_str(&format!("<th{}>{}</th>", cls(i), escape(h)));
    }
    s.push_str("</tr>");
    for row in rows {
        s.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            s.push_str(&format!("<td{}>{}</td>", cls(i), escape(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

#[cfg(test)]
mod tests;
