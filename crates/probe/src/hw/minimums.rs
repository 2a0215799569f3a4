//! Per-role minimums (a TOML shipped in the repo, `data/minimums.toml`, overridable) and
//! the verdict of a report against them.
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{HardwareReport, ProbeError, Verdict, VerdictStatus};

pub const SHIPPED: &str = include_str!("../../data/minimums.toml");

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Minimums {
    pub role: BTreeMap<String, Role>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub label: String,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub cpu: CpuMin,
    #[serde(default)]
    pub memory: MemMin,
    #[serde(default)]
    pub disk: DiskMin,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuMin {
    pub cores: Option<f64>,
    pub single_core_score: Option<f64>,
    pub multi_core_score: Option<f64>,
    pub steal_percent_max: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemMin {
    pub total_gib: Option<f64>,
    pub available_gib: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskMin {
    pub free_gib: Option<f64>,
    pub fsync_p99_ms_max: Option<f64>,
    pub rand_read_iops: Option<f64>,
    pub seq_read_mb_s: Option<f64>,
    pub seq_write_mb_s: Option<f64>,
}

impl Minimums {
    pub fn parse(text: &str, origin: &str) -> Result<Minimums, ProbeError> {
        let m: Minimums = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            ProbeError::Minimums(format!(
                "{origin}, line {line}: {}",
                e.message().trim().replace('\n', " ")
            ))
        })?;
        if m.role.is_empty() {
            return Err(ProbeError::Minimums(format!(
                "{origin}: no [role.NAME] tables"
            )));
        }
        Ok(m)
    }

    pub fn shipped() -> Minimums {
        Minimums::parse(SHIPPED, "shipped minimums").expect("the shipped minimums parse")
    }

    pub fn load(path: &Path) -> Result<Minimums, ProbeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProbeError::Minimums(format!("minimums file {}: {e}", path.display())))?;
        Minimums::parse(&text, &format!("minimums file {}", path.display()))
    }

    pub fn check_role(&self, role: &str) -> Result<(), ProbeError> {
        if self.role.contains_key(role) {
            Ok(())
        } else {
            let known: Vec<&str> = self.role.keys().map(String::as_str).collect();
            Err(ProbeError::Minimums(format!(
                "no role `{role}` (roles: {})",
                known.join(", ")
            )))
        }
    }

    /// Verdicts for one role, or every role when `only` is `None`.
    pub fn verdicts(&self, r: &HardwareReport, only: Option<&str>) -> Vec<Verdict> {
        let mut out = Vec::new();
        for (name, role) in &self.role {
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let gib = |b: Option<u64>| b.map(|b| b as f64 / GIB);
            let items: [(&str, Option<f64>, Option<f64>, bool); 11] = [
                ("cpu.cores", role.cpu.cores, Some(r.cpu.cores as f64), true),
                (
                    "cpu.single_core_score",
                    role.cpu.single_core_score,
                    r.cpu.single_core_score,
                    true,
                ),
                (
                    "cpu.multi_core_score",
                    role.cpu.multi_core_score,
                    r.cpu.multi_core_score,
                    true,
                ),
                (
                    "cpu.steal_percent",
                    role.cpu.steal_percent_max,
                    r.cpu.steal_percent,
                    false,
                ),
                (
                    "memory.total_gib",
                    role.memory.total_gib,
                    gib(r.memory.total_bytes),
                    true,
                ),
                (
                    "memory.available_gib",
                    role.memory.available_gib,
                    gib(r.memory.available_bytes),
                    true,
                ),
                (
                    "disk.free_gib",
                    role.disk.free_gib,
                    gib(Some(r.disk.free_bytes)),
                    true,
                ),
                (
                    "disk.fsync_p99_ms",
                    role.disk.fsync_p99_ms_max,
                    r.disk.fsync_p99_ms,
                    false,
                ),
                (
                    "disk.rand_read_iops",
                    role.disk.rand_read_iops,
                    r.disk.rand_read_iops,
                    true,
                ),
                (
                    "disk.seq_read_mb_s",
                    role.disk.seq_read_mb_s,
                    r.disk.seq_read_mb_s,
                    true,
                ),
                (
                    "disk.seq_write_mb_s",
                    role.disk.seq_write_mb_s,
                    r.disk.seq_write_mb_s,
                    true,
                ),
            ];
            for (item, min, value, at_least) in items {
                let Some(min) = min else { continue };
                let status = match value {
                    None => VerdictStatus::Unknown,
                    Some(v) if (at_least && v >= min) || (!at_least && v <= min) => {
                        VerdictStatus::Meets
                    }
                    Some(_) => VerdictStatus::Below,
                };
                out.push(Verdict {
                    item: item.to_string(),
                    role: name.clone(),
                    status,
                    value,
                    minimum: min,
                    bound: if at_least { "at least" } else { "at most" },
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_parses_and_errors_name_line_and_key() {
        let m = Minimums::shipped();
        for r in [
            "zenon-node",
            "zenon-pillar",
            "ethereum-full",
            "substrate-validator",
        ] {
            m.check_role(r).unwrap();
        }
        let e = m.check_role("miner").unwrap_err().to_string();
        assert!(
            e.contains("no role `miner`") && e.contains("zenon-pillar"),
            "{e}"
        );
        let e = Minimums::parse("[role.x]\nlabel = \"x\"\ncpu.corez = 2\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.toml, line 3") && e.contains("corez"), "{e}");
    }
}
