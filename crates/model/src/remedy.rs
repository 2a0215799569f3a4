//! One watchdog restart (or, with `dry_run`, one restart it would have made): what the
//! recording keeps, `report` lists and the metrics count (docs/MAINTENANCE.md).
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemedyEvent {
    pub node: String,
    /// When the restart was decided (unix milliseconds): the event's identity in a run.
    pub t_ms: i64,
    /// `stalled` or `no_peers`.
    pub reason: String,
    /// `restart`, or `dry_run` when it was only logged.
    pub action: String,
    /// The decision in words, with the rule that fired.
    pub detail: String,
    /// The stop and start commands succeeded (`None` while running, and for `dry_run`).
    pub ok: Option<bool>,
    pub error: Option<String>,
    pub height: Option<u64>,
    /// Blocks per second over the rule's duration before the restart, and as long after it
    /// (`None` until that time has passed).
    pub rate_before: Option<f64>,
    pub rate_after: Option<f64>,
    /// The node moved faster after the restart than before it.
    pub helped: Option<bool>,
}
