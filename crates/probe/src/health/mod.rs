//! `nodewarden check`: facts about a node ([`gather`]) judged against thresholds
//! ([`evaluate`]) into [`CheckResult`]s, rendered in the monitoring-plugin convention
//! ([`render`]).
mod evaluate;
mod gather;
mod recording;
mod render;

pub use evaluate::evaluate;
pub use gather::{BackupFact, DiskFacts, Facts, Observation, fs_space, gather};
pub use recording::{RecordingFacts, from_recording};
pub use render::{json_report, status_line};

use serde::Serialize;

/// Plugin states, with the exit codes Nagios, Icinga and friends expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Level {
    pub fn exit_code(self) -> i32 {
        match self {
            Level::Ok => 0,
            Level::Warning => 1,
            Level::Critical => 2,
            Level::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }

    /// Severity for the overall status: a measured problem outranks a measurement that
    /// failed, so UNKNOWN sits between OK and WARNING.
    fn rank(self) -> u8 {
        match self {
            Level::Ok => 0,
            Level::Unknown => 1,
            Level::Warning => 2,
            Level::Critical => 3,
        }
    }

    pub fn worst(self, other: Level) -> Level {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Alert when the value rises above the thresholds (head age, stall time).
    Above,
    /// Alert when the value falls below them (peers, free space).
    Below,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub direction: Direction,
}

impl Thresholds {
    pub fn above(warning: f64, critical: f64) -> Thresholds {
        Thresholds {
            warning: Some(warning),
            critical: Some(critical),
            direction: Direction::Above,
        }
    }

    pub fn below(warning: f64, critical: f64) -> Thresholds {
        Thresholds {
            warning: Some(warning),
            critical: Some(critical),
            direction: Direction::Below,
        }
    }

    pub fn judge(&self, v: f64) -> Level {
        let bad = |t: Option<f64>| match (t, self.direction) {
            (Some(t), Direction::Above) => v > t,
            (Some(t), Direction::Below) => v < t,
            (None, _) => false,
        };
        if bad(self.critical) {
            Level::Critical
        } else if bad(self.warning) {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

/// One check of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub node: String,
    pub name: &'static str,
    pub status: Level,
    pub value: Option<f64>,
    /// Nagios unit of measure: "s", "%", "B" or "" (a plain count).
    pub unit: &'static str,
    pub thresholds: Option<Thresholds>,
    pub message: String,
    /// Not configured for this node (no data dir, process, repository or pillar): listed
    /// so the gap is visible, but not counted in the overall status.
    pub skipped: bool,
}

impl CheckResult {
    pub fn new(node: &str, name: &'static str, status: Level, message: String) -> CheckResult {
        CheckResult {
            node: node.to_string(),
            name,
            status,
            value: None,
            unit: "",
            thresholds: None,
            message,
            skipped: false,
        }
    }

    pub fn skipped(node: &str, name: &'static str, message: String) -> CheckResult {
        CheckResult {
            skipped: true,
            ..CheckResult::new(node, name, Level::Unknown, message)
        }
    }

    pub fn measured(
        node: &str,
        name: &'static str,
        value: f64,
        unit: &'static str,
        t: Thresholds,
        message: String,
    ) -> CheckResult {
        CheckResult {
            value: Some(value),
            unit,
            thresholds: Some(t),
            ..CheckResult::new(node, name, t.judge(value), message)
        }
    }

    pub fn with_value(mut self, value: f64, unit: &'static str) -> CheckResult {
        self.value = Some(value);
        self.unit = unit;
        self
    }
}

/// The worst status of the counted checks; no counted checks at all is UNKNOWN.
pub fn overall(results: &[CheckResult]) -> Level {
    let mut counted = results.iter().filter(|r| !r.skipped).peekable();
    if counted.peek().is_none() {
        return Level::Unknown;
    }
    counted.fold(Level::Ok, |acc, r| acc.worst(r.status))
}

#[cfg(test)]
mod tests;
