//! Polling nodes. [`poll_once`] reads every configured node once; [`Watcher`] is the engine
//! of `nodewarden watch`: every tick it reads all nodes concurrently (a slow or dead node
//! never delays the others), samples their processes and data dirs, feeds the analysis
//! (rate, ETA, stalls: the same code `report` uses) and hands samples to the recorder.
mod db;
mod engine;
mod forensics;
pub mod forks;
mod once;
mod remedy;
mod run;
mod view;

pub use engine::{Evidence, WatchOptions, Watcher};
pub use once::{from_status, poll_once};
pub use remedy::Remedies;
pub use run::run;

#[cfg(test)]
mod tests;
