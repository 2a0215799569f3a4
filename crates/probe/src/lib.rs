//! Two ways of asking "is this machine and this node fit for duty?":
//! [`health`] judges a running node against thresholds (the `check` command, in the
//! monitoring-plugin convention) and [`hw`] measures the hardware under a data dir (the
//! `probe` command) against per-role minimums. Nothing here prints.
pub mod health;
pub mod hw;
