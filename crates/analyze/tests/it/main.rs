//! The analysis engine's integration tests, one binary: synthetic syncs with known truth.
mod common;

mod compare;
mod csv_nodes;
mod eta;
mod groundtruth;
mod json_contract;
mod parallel;
mod props;
mod stalls;
