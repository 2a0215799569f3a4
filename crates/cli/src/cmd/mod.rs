//! One module per subcommand: each turns its resolved arguments into library calls and
//! prints the result. No logic of their own beyond wiring and exit codes.

pub mod actions;
pub mod analyze;
pub mod backup;
pub mod check;
pub mod check_fork;
pub mod compare;
pub mod completions;
pub mod crosscheck;
pub mod db;
pub mod demo;
pub mod demo_backups;
pub mod experiment;
pub mod failover;
pub mod follow_backups;
pub mod input;
pub mod loadtest;
pub mod probe;
pub mod report;
pub mod sim;
pub mod watch;
pub mod window;
