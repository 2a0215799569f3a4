//! Renderers. Nothing here prints: every function returns the text for the CLI to write.
mod format;
mod live;
mod status;

pub use format::{age, bytes, count, percent};
pub use live::{live_line, log_line};
pub use status::status_table;
