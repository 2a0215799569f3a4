//! Sync analytics for nodewarden: rate, ETA, stall windows, cost by height range and A/B
//! comparison, from samples (the columns of docs/ANALYSIS.md). Streaming and memory-bounded; never prints.
//!
//! * Live: feed samples to an [`Analyzer`] (or a [`NodeTracker`]) and read a [`LiveState`]
//!   on every tick.
//! * Batch: [`analyze`] / [`analyze_csv`] push every sample through the same trackers
//!   and return one [`Analysis`] per node.
//! * A/B: [`compare`] two [`Run`]s by height.
//!
//! The methods are described in docs/ANALYSIS.md.

mod analysis;
mod analyzer;
mod compare;
mod cost;
mod csv_read;
mod csv_write;
mod error;
mod eta;
pub mod groundtruth;
mod history;
mod memory;
mod options;
mod outage;
mod parallel;
mod parse;
mod peers;
mod prior;
mod rate;
pub mod remedy;
mod stall;
pub mod synth;
mod tracker;
pub mod window;

pub use analysis::{Analysis, LiveState, StalledSince};
pub use analyzer::{Analyzer, analyze, analyze_csv};
pub use compare::{BucketSpeed, Comparison, HeightTimes, Run, RunSummary, Verdict, compare};
pub use cost::{HeightCost, ProgressPoint};
pub use csv_read::{CsvReader, read_csv};
pub use csv_write::{CsvWriter, write_csv};
pub use error::AnalyzeError;
pub use eta::EtaMethod;
pub use memory::{FORECAST_HORIZON_SECONDS, exhaustion_seconds};
pub use nodewarden_model::{CSV_COLUMNS, ParseStateError, Sample, SyncState};
pub use options::{AnalyzeOptions, StallAfter};
pub use outage::Outage;
pub use peers::PeerLoss;
pub use prior::CostProfile;
pub use stall::{Stall, StallCause};
pub use tracker::NodeTracker;
