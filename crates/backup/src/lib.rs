//! The nodewarden backup engine: repository format v2 (docs/FORMAT.md; v1 still read), freeze, chunk,
//! pack, index, snapshots, retention, verify and restore. Libraries never print: progress
//! and notes go through [`Progress`].
mod backup;
mod child;
mod copy;
mod crypto;
mod error;
mod fetch;
mod follow;
mod forget;
mod format;
mod freeze;
mod lock;
mod migrate;
mod node;
mod pack;
mod pg;
mod progress;
mod prune;
mod repair;
mod repo;
mod restore;
mod resume;
mod service;
mod snapshots;
mod sniff;
mod verify;
mod walk;
mod window;

pub use backup::{Options as BackupOptions, Report as BackupReport, Source, backup, hot_source};
pub use child::SECRET_VARS;
pub use copy::{CopyReport, choose as choose_snapshots, compatible, copy};
pub use crypto::Secret;
pub use error::{BackupError, Result};
pub use follow::{CheckedVerify, RepositoryView, repository_view};
pub use forget::{Decision, KeepPolicy};
pub use format::{Entry, EntryKind, FORMAT_VERSION, READ_VERSIONS, Snapshot};
pub use freeze::{Frozen, Method as FreezeMethod, freeze, freeze_dir_for};
pub use lock::unlock;
pub use migrate::{MigrateReport, migrate};
pub use node::{NodeBackup, backup_node, recent_downtime};
pub use pg::restore as pg_restore;
pub use progress::{Progress, Silent};
pub use prune::{PruneReport, forget, prune};
pub use repair::{QUARANTINE, RepairReport, repair_index, repair_snapshots};
pub use repo::{InitOptions, Repository};
pub use restore::{RestoreOptions, RestoreReport, ServiceControl, check_entry, restore};
pub use service::NodeService;
pub use snapshots::{
    Listed, Summary, Unreadable, check_trusted, latest_per_node, list as list_snapshots,
    list_noting as list_snapshots_noting, parse_time, public_key_hex, scan as scan_snapshots,
    select, signing_key,
};
pub use verify::{VerifyReport, verify};
pub use walk::Selection;
pub use window::{Window, WindowOptions, check_missed, check_timeout, wait_for_window};

#[cfg(test)]
mod tests;
