//! Engine tests on real directories and a real local repository.
mod harness;
mod policy;
mod repo_ops;
mod restore_packs;
mod swap;
