//! End-to-end tests of the `nodewarden` binary against real processes on loopback.
mod support;

mod anvil;
mod backup;
mod backup_crash;
mod backup_pg;
mod backup_s3;
mod check;
mod compare;
mod crosscheck;
mod dashboard;
mod dialects;
mod errors;
mod forks;
mod grafana;
mod leveldb;
mod loadtest;
mod probe;
mod report;
mod report_html;
mod restore_trusted;
mod s3;
mod ship;
mod sim_lifecycle;
mod tidy;
mod watch;
