//! The ground-truth harness: realistic sync traces with a recorded truth, and a scorer that
//! holds the analysis (and two naive baselines) against it.
//!
//! Unlike [`crate::synth`], which scripts one shape at a time for unit-level tests, a trace
//! here is drawn from a seed and mixes everything an operator's node does at once: three
//! dialects' quirks, steady or batch progress, blocks getting heavier with height, short
//! flat spots, stalls of several causes (crawls included), peer loss, RPC outages, process
//! restarts with counter resets, varied sample intervals, a chain that keeps growing, and
//! an RSS curve that is flat, a GC sawtooth, or leaking. `scripts/bench/analysis.sh` runs
//! it; docs/ANALYSIS.md holds the figures.

mod baseline;
mod rng;
mod score;
mod trace;

pub use baseline::{mean_rate_eta, naive_stalls};
pub use score::{Score, Scores, score_set, score_set_with};
pub use trace::{
    Dialect, MemoryShape, Trace, TraceTruth, TrueOutage, TrueStall, earlier_run, trace, trace_with,
};
