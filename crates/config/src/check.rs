//! The `[check]` thresholds of `nodewarden check` (docs/CHECK.md).

use std::time::Duration;

use serde::Deserialize;

use crate::duration::{human, human_opt};

/// The `[check]` table: thresholds of `nodewarden check`, one pair per check. Absent keys
/// take the defaults below; kind-dependent ones (peers, head age) are resolved per node.
/// Documented in docs/CHECK.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// How long to watch a node for progress when no recent recording answers.
    #[serde(with = "human")]
    pub observe: Duration,
    /// Status when the node is not synced but otherwise healthy: "warning" or "critical".
    pub not_synced: String,
    /// Fewer peers than this: WARNING [default: zenon 8 (below that go-zenon stops
    /// syncing), others 3].
    pub peers_warning: Option<u32>,
    /// Fewer peers than this: CRITICAL.
    pub peers_critical: u32,
    #[serde(deserialize_with = "human_opt::deserialize")]
    pub head_age_warning: Option<Duration>,
    #[serde(deserialize_with = "human_opt::deserialize")]
    pub head_age_critical: Option<Duration>,
    /// A node behind its target whose height has not moved for this long: CRITICAL
    /// (any shorter no-progress window seen is a WARNING).
    #[serde(with = "human")]
    pub stall_critical: Duration,
    pub disk_free_warning_percent: f64,
    pub disk_free_critical_percent: f64,
    pub days_until_full_warning: f64,
    pub days_until_full_critical: f64,
    #[serde(with = "human")]
    pub backup_age_warning: Duration,
    #[serde(with = "human")]
    pub backup_age_critical: Duration,
    /// Hours until the node process's memory runs out at its RSS trend (significant trends
    /// only, from a live recording): WARNING below the first, CRITICAL below the second.
    pub memory_hours_left_warning: f64,
    pub memory_hours_left_critical: f64,
    /// Produced / expected momentums of a zenon pillar in the current epoch.
    pub pillar_ratio_warning: f64,
    pub pillar_ratio_critical: f64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            observe: Duration::from_secs(5),
            not_synced: "warning".into(),
            peers_warning: None,
            peers_critical: 1,
            head_age_warning: None,
            head_age_critical: None,
            stall_critical: Duration::from_secs(120),
            disk_free_warning_percent: 10.0,
            disk_free_critical_percent: 5.0,
            days_until_full_warning: 14.0,
            days_until_full_critical: 3.0,
            backup_age_warning: Duration::from_secs(26 * 3600),
            backup_age_critical: Duration::from_secs(50 * 3600),
            memory_hours_left_warning: 72.0,
            memory_hours_left_critical: 12.0,
            pillar_ratio_warning: 0.9,
            pillar_ratio_critical: 0.5,
        }
    }
}

impl CheckConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !matches!(self.not_synced.as_str(), "warning" | "critical") {
            return Err(format!(
                "check.not_synced `{}` must be \"warning\" or \"critical\"",
                self.not_synced
            ));
        }
        let pairs = [
            (
                "check.disk_free_*_percent",
                self.disk_free_warning_percent,
                self.disk_free_critical_percent,
                100.0,
            ),
            (
                "check.pillar_ratio_*",
                self.pillar_ratio_warning,
                self.pillar_ratio_critical,
                1.0,
            ),
        ];
        for (key, w, c, max) in pairs {
            if !(0.0..=max).contains(&w) || !(0.0..=max).contains(&c) || c > w {
                return Err(format!(
                    "{key}: must lie in 0..={max} with critical <= warning (got warning {w}, critical {c})"
                ));
            }
        }
        let (w, c) = (self.days_until_full_warning, self.days_until_full_critical);
        if !(c >= 0.0 && w >= c) {
            return Err(format!(
                "check.days_until_full_*: need 0 <= critical <= warning (got warning {w}, critical {c})"
            ));
        }
        let (w, c) = (
            self.memory_hours_left_warning,
            self.memory_hours_left_critical,
        );
        if !(c >= 0.0 && w >= c && w.is_finite()) {
            return Err(format!(
                "check.memory_hours_left_*: need 0 <= critical <= warning (got warning {w}, critical {c})"
            ));
        }
        if self.backup_age_critical < self.backup_age_warning {
            return Err(
                "check.backup_age_critical must not be below check.backup_age_warning".into(),
            );
        }
        if self.observe > Duration::from_secs(300) {
            return Err("check.observe must be at most 5m".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::Config;

    fn parse(check: &str) -> Result<Config, String> {
        Config::parse(&format!("[check]\n{check}\n"), Path::new("n.toml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn check_table_defaults_overrides_and_errors() {
        let c = parse("").unwrap().check;
        assert_eq!((c.peers_critical, c.observe.as_secs()), (1, 5));
        let c = parse("observe = \"0s\"\npeers_warning = 4\nhead_age_critical = \"5m\"")
            .unwrap()
            .check;
        assert_eq!((c.observe.as_secs(), c.peers_warning), (0, Some(4)));
        assert_eq!(c.head_age_critical.map(|d| d.as_secs()), Some(300));
        let e = parse("observe = \"5s\"\npeers_warnin = 3").unwrap_err();
        assert!(
            e.contains("n.toml, line 3") && e.contains("peers_warnin"),
            "{e}"
        );
        let e = parse("disk_free_warning_percent = 5.0\ndisk_free_critical_percent = 10.0")
            .unwrap_err();
        assert!(e.contains("check.disk_free_*_percent"), "{e}");
        let e = parse("not_synced = \"maybe\"").unwrap_err();
        assert!(e.contains("check.not_synced `maybe`"), "{e}");
    }
}
