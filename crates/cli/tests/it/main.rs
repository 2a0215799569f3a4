//! End-to-end tests of the `nodewarden` binary against real processes on loopback.
mod support;

mod anvil;
mod dialects;
mod errors;
mod leveldb;
mod loadtest;
mod sim_lifecycle;
mod watch;
