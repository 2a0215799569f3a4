//! The nodewarden backup engine: repository format v1 (docs/FORMAT.md), freeze, chunk,
//! pack, index, snapshots, retention, verify and restore. Libraries never print: progress
//! and notes go through [`Progress`].
mod backup;
mod copy;
mod crypto;
mod error;
mod fetch;
mod follow;
mod forget;
mod format;
mod freeze;
mod lock;
mod node;
mod pack;
mod pg;
mod progress;
mod prune;
mod repo;
mod restore;
mod resume;
mod service;
mod snapshots;
mod verify;
mod walk;

pub use backup::{Options as BackupOptions, Report as BackupReport, Source, backup, hot_source};
pub use copy::{CopyReport, choose as choose_snapshots, compatible, copy};
pub use crypto::Secret;
pub use error::{BackupError, Result};
pub use follow::{CheckedVerify, RepositoryView, repository_view};
pub use forget::{Decision, KeepPolicy};
pub use format::{Entry, EntryKind, FORMAT_VERSION, Snapshot};
pub use freeze::{Frozen, Method as FreezeMethod, freeze, freeze_dir_for};
pub use node::{NodeBackup, backup_node};
pub use pg::restore as pg_restore;
pub use progress::{Progress, Silent};
pub use prune::{PruneReport, forget, prune};
pub use repo::{InitOptions, Repository};
pub use restore::{RestoreOptions, RestoreReport, ServiceControl, check_entry, restore};
pub use service::NodeService;
pub use snapshots::{
    Listed, Summary, check_trusted, latest_per_node, list as list_snapshots, parse_time,
    public_key_hex, select, signing_key,
};
pub use verify::{VerifyReport, verify};
pub use walk::Selection;

#[cfg(test)]
mod tests;
