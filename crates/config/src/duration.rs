//! Duration fields in the config, written the way people write them ("2s", "1h 30m").

use std::time::Duration;

use nodewarden_analyze::StallAfter;
use serde::{Deserialize, Deserializer};

/// `stall_after = "auto"` or a duration; parsed by the analysis crate, which owns the rule.
pub fn stall_after<'de, D: Deserializer<'de>>(d: D) -> Result<StallAfter, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// Durations written the way people write them: "2s", "500ms", "1h 30m".
pub mod human {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}")))
    }
}

pub mod human_opt {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::human::deserialize(d).map(Some)
    }
}
