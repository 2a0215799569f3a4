//! Renderers. Nothing here prints: every function returns the text for the CLI to write.
//!
//! * terminal: [`status_table`], [`live_line`], [`log_line`], [`analysis_text`],
//!   [`comparison_text`];
//! * HTML with inline SVG charts: [`report_html`], [`compare_html`], built on [`svg`],
//!   the chart module the dashboard shares;
//! * [`RunPass`]: one pass over a run's samples feeding the analysis, the charts and the
//!   CSV exports, shared by `report` and the dashboard;
//! * [`Timeline`]: the bounded time series the charts draw;
//! * [`Bundle`]: a shareable `.tar.zst`, scrubbed by [`redact()`].
mod bundle;
mod db;
mod forensics;
mod format;
mod html;
mod live;
mod pass;
mod probe;
pub mod redact;
mod remedies;
mod status;
mod text;
mod timeline;

pub use bundle::{Bundle, RunBundle, write_run_bundle};
pub use db::db_text;
pub use forensics::{forensics_html, forensics_text};
pub use format::{age, bytes, count, percent, utc};
pub use html::{NodeData, REPORT_CSS, compare_fragment, compare_html, node_fragment, report_html};
pub use live::{live_line, log_line};
pub use nodewarden_svg as svg;
pub use pass::{BundleInput, CHART_POINTS, PassError, RunPass, RunResult, write_bundle};
pub use probe::probe_text;
pub use redact::redact;
pub use remedies::{remedies_html, remedies_text};
pub use status::status_table;
pub use text::{analysis_text, analysis_text_db, comparison_text, name, verdict_line};
pub use timeline::{TimePoint, Timeline};
