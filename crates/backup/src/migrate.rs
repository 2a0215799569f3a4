//! `migrate`: a v1 repository to v2. v1 repositories are read and written as they are
//! (this build keeps their format); `migrate` is the explicit upgrade. It re-seals every
//! index and snapshot object bound to its name (their ids are unchanged: an id is the hash
//! of the plaintext) and then writes the authenticated v2 config. Packs are not touched:
//! a blob is bound to its id by its content hash, a pack header by the pack's name.
//!
//! Crash safety: objects are replaced one by one (a store write is atomic) while the
//! config still says v1, and a v1 repository opens objects sealed either way; the config
//! goes last. Re-running finishes an interrupted migration.
use crate::crypto::{Keys, Secret};
use crate::error::{BackupError, Result};
use crate::format::*;
use crate::lock::Lock;
use crate::progress::Progress;
use crate::repo::{Repository, config_bytes};

#[derive(Debug, Default, serde::Serialize)]
pub struct MigrateReport {
    pub from: u32,
    pub to: u32,
    /// Index and snapshot objects re-sealed.
    pub objects: usize,
    /// Objects that could not be read and were left as they are (named through Progress).
    pub unreadable: Vec<String>,
}

pub fn migrate(
    repo: &mut Repository,
    secret: Option<&Secret>,
    progress: &dyn Progress,
) -> Result<MigrateReport> {
    let from = repo.config.version;
    let mut report = MigrateReport {
        from,
        to: FORMAT_VERSION,
        ..Default::default()
    };
    if from >= FORMAT_VERSION {
        return Ok(report);
    }
    let (config, keys) = {
        let _lock = Lock::exclusive(repo, "migrate", progress)?;
        let mut keys = repo.keys.clone();
        keys.bind = true;
        if keys.encrypted() {
            let mut todo = repo.list("index/")?;
            todo.extend(repo.list("snapshots/")?);
            progress.phase("migrate", Some(todo.len() as u64));
            for meta in todo {
                let raw = repo.get(&meta.key)?;
                match repo.decode_json(&meta.key, &raw) {
                    Ok(json) => {
                        let z = zstd::bulk::compress(&json, 3)
                            .map_err(|e| BackupError::io(&meta.key, e))?;
                        repo.put(&meta.key, keys.seal_named(z, &meta.key))?;
                        report.objects += 1;
                    }
                    Err(e) => {
                        progress.note(&format!("left as it is: {e}"));
                        report.unreadable.push(meta.key);
                    }
                }
                progress.advance(1);
            }
        }
        let encryption = match (&repo.config.encryption, secret) {
            (Some(p), Some(s)) => Some(Keys::rewrap_v2(s, p)?),
            (Some(_), None) => {
                return Err(BackupError::Input(
                    "the repository is encrypted: a passphrase or key file is needed".into(),
                ));
            }
            (None, _) => None,
        };
        let mut config = RepoConfig {
            version: FORMAT_VERSION,
            family: Some(repo.config.family().to_string()),
            migrated_from: Some(from),
            encryption,
            mac: None,
            ..repo.config.clone()
        };
        config.mac = keys.config_mac(&config.mac_input());
        repo.put(CONFIG_KEY, config_bytes(&config)?)?;
        (config, keys)
    };
    repo.config = config;
    repo.keys = keys;
    Ok(report)
}

/// Turns a fresh v2 repository into what a v1 build writes (config without MAC, keys
/// wrapped without associated data, objects sealed unbound), for migration tests.
#[cfg(test)]
pub(crate) fn downgrade_for_tests(repo: &mut Repository, secret: Option<&Secret>) {
    let mut config = repo.config.clone();
    config.version = 1;
    config.family = None;
    config.mac = None;
    if let (Some(p), Some(s)) = (&config.encryption, secret) {
        config.encryption = Some(Keys::rewrap_v1_for_tests(s, p));
    }
    repo.put(CONFIG_KEY, config_bytes(&config).unwrap())
        .unwrap();
    repo.config = config;
    repo.keys.bind = false;
    repo.keys.bind_blobs = false;
}
