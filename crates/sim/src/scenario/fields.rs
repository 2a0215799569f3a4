//! Serde helpers for the scenario's non-trivial value types.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Where a phase ends: a fixed height, or the (moving) chain tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Tip,
    Height(u64),
}

impl serde::Serialize for Until {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Until::Tip => s.serialize_str("tip"),
            Until::Height(h) => s.serialize_u64(*h),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Until {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Until;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"tip\" or a height")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Until, E> {
                match v {
                    "tip" => Ok(Until::Tip),
                    _ => v.parse().map(Until::Height).map_err(|_| {
                        E::invalid_value(de::Unexpected::Str(v), &"\"tip\" or a height")
                    }),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Until, E> {
                u64::try_from(v)
                    .map(Until::Height)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &"a height >= 0"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Until, E> {
                Ok(Until::Height(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A humantime string ("90s", "1h 30m"), or a plain number of seconds.
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = std::time::Duration;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration like \"90s\" or \"1m 30s\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        humantime::parse_duration(v).map_err(|e| E::custom(format!("invalid duration {v:?}: {e}")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(std::time::Duration::from_secs)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &"seconds >= 0"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(std::time::Duration::from_secs(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        std::time::Duration::try_from_secs_f64(v)
            .map_err(|_| E::invalid_value(de::Unexpected::Float(v), &"seconds >= 0"))
    }
}

pub mod duration {
    use super::*;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

pub mod opt_duration {
    use super::*;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        d.deserialize_any(DurationVisitor).map(Some)
    }
}
