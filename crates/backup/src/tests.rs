//! Engine tests on real directories and a real local repository.
mod attack_config;
mod attack_objects;
mod attack_restore;
mod compress;
mod fuzz;
mod fuzz_restore;
mod harness;
mod policy;
mod repo_ops;
mod restore_packs;
mod swap;
