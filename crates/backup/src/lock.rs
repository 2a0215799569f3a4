//! Repository locks: objects under `locks/`. Backups take shared locks, prune and forget an
//! exclusive one. A lock whose process is gone (same host, pid dead) or that is older than
//! a day is stale and removed, so a crashed process never wedges the repository. A held lock
//! is rewritten every hour, so a backup that runs for days (a big node to a slow bucket) is
//! never taken for stale by another host's prune, which would delete its unindexed packs.
use bytes::Bytes;
use chrono::Utc;

use crate::error::{BackupError, Result};
use crate::format::{LockFile, hex};
use crate::progress::Progress;
use crate::repo::Repository;

const STALE_AFTER_HOURS: i64 = 24;
/// A lock dated further ahead than this is not a clock a bit off but forged or broken:
/// obeying it would block the repository until that date.
const FUTURE_SLACK_MINUTES: i64 = 60;
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub struct Lock<'a> {
    repo: &'a Repository,
    key: String,
    /// Dropping the sender stops the refresher.
    refresher: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl<'a> Lock<'a> {
    pub fn shared(repo: &'a Repository, what: &str, p: &dyn Progress) -> Result<Lock<'a>> {
        Lock::take(repo, what, false, p)
    }

    pub fn exclusive(repo: &'a Repository, what: &str, p: &dyn Progress) -> Result<Lock<'a>> {
        Lock::take(repo, what, true, p)
    }

    fn take(
        repo: &'a Repository,
        what: &str,
        exclusive: bool,
        p: &dyn Progress,
    ) -> Result<Lock<'a>> {
        Lock::take_refreshed(repo, what, exclusive, p, REFRESH_EVERY)
    }

    pub(crate) fn take_refreshed(
        repo: &'a Repository,
        what: &str,
        exclusive: bool,
        p: &dyn Progress,
        every: std::time::Duration,
    ) -> Result<Lock<'a>> {
        // Check, write ours, check again: two racing takers both see each other and at
        // least one backs off, which is all a lock needs.
        conflicts(repo, exclusive, None, p)?;
        let key = format!("locks/{}", hex(&crate::crypto::random::<16>()));
        let body = Bytes::from(lock_body(exclusive, what));
        repo.block_on(repo.store().put_new(&key, body))?;
        let mut taken = Lock {
            repo,
            key,
            refresher: None,
        };
        conflicts(repo, exclusive, Some(&taken.key), p)?;
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (r, k, what) = (repo.clone(), taken.key.clone(), what.to_string());
        let handle = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                // A failed refresh is retried at the next tick; the lock only goes stale
                // after a day of failures.
                let _ = r.put(&k, lock_body(exclusive, &what));
            }
        });
        taken.refresher = Some((tx, handle));
        Ok(taken)
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if let Some((tx, handle)) = self.refresher.take() {
            drop(tx);
            let _ = handle.join();
        }
        let _ = self.repo.delete(&self.key);
    }
}

fn conflicts(
    repo: &Repository,
    exclusive: bool,
    ours: Option<&str>,
    p: &dyn Progress,
) -> Result<()> {
    for meta in repo.list("locks/")? {
        if Some(meta.key.as_str()) == ours {
            continue;
        }
        let Ok(raw) = repo.get(&meta.key) else {
            continue;
        };
        let Ok(other) = serde_json::from_slice::<LockFile>(&raw) else {
            continue;
        };
        if future(&other) {
            p.note(&format!(
                "ignoring {} dated in the future ({}, `{}`, pid {} on {}); `nodewarden unlock` removes it",
                meta.key,
                other.time.escape_debug(),
                other.what.escape_debug(),
                other.pid,
                other.hostname.escape_debug()
            ));
            continue;
        }
        if stale(&other) {
            p.note(&format!(
                "removing stale lock of {} (pid {} on {}, since {})",
                other.what, other.pid, other.hostname, other.time
            ));
            repo.delete(&meta.key)?;
            continue;
        }
        if exclusive || other.exclusive {
            return Err(BackupError::Locked(format!(
                "repository {} is locked by `{}` (pid {} on {}, since {}); try again when it is done",
                repo.describe(),
                other.what,
                other.pid,
                other.hostname,
                other.time
            )));
        }
    }
    Ok(())
}

/// Who holds the lock, stamped now.
fn lock_body(exclusive: bool, what: &str) -> Vec<u8> {
    let lock = LockFile {
        hostname: hostname(),
        pid: std::process::id(),
        time: Utc::now().to_rfc3339(),
        exclusive,
        what: what.to_string(),
    };
    serde_json::to_vec(&lock).expect("lock serialises")
}

fn future(l: &LockFile) -> bool {
    chrono::DateTime::parse_from_rfc3339(&l.time)
        .is_ok_and(|t| (t.with_timezone(&Utc) - Utc::now()).num_minutes() > FUTURE_SLACK_MINUTES)
}

/// Removes locks: stale, future-dated and unreadable ones, or with `all` every lock (for
/// when the operator knows no other nodewarden is running). Returns the keys removed.
pub fn unlock(repo: &Repository, all: bool, p: &dyn Progress) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for meta in repo.list("locks/")? {
        let name = meta.key.trim_start_matches("locks/");
        if name.is_empty() || name.contains('/') {
            // A folder marker or a stray key, not a lock.
            continue;
        }
        let lock = repo
            .get(&meta.key)
            .ok()
            .and_then(|raw| serde_json::from_slice::<LockFile>(&raw).ok());
        let why = match &lock {
            None => Some("unreadable"),
            Some(l) if future(l) => Some("dated in the future"),
            Some(l) if stale(l) => Some("stale"),
            Some(_) if all => Some("removed on request"),
            Some(_) => None,
        };
        if let Some(why) = why {
            repo.delete(&meta.key)?;
            p.note(&format!("removed {} ({why})", meta.key));
            removed.push(meta.key);
        }
    }
    Ok(removed)
}

fn stale(l: &LockFile) -> bool {
    if l.hostname == hostname() && l.pid != std::process::id() {
        // SAFETY: kill(pid, 0) only checks whether the process exists.
        let alive = unsafe { libc::kill(l.pid as i32, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            return true;
        }
    }
    chrono::DateTime::parse_from_rfc3339(&l.time)
        .map(|t| (Utc::now() - t.with_timezone(&Utc)).num_hours() >= STALE_AFTER_HOURS)
        .unwrap_or(true)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
