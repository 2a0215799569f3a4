//! A sample as the watch produces it and the recorder stores it.

use crate::{DbPoint, Sample};

/// A sample plus what the recorder keeps beyond the CSV columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleRow {
    pub sample: Sample,
    pub error: Option<String>,
    pub latency_ms: Option<f64>,
    pub steal_percent: Option<f64>,
    /// The node's databases, when their MANIFESTs changed since the last row.
    pub db: Option<DbPoint>,
}
