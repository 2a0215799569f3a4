//! Snapshot objects: listing, display names, selection, signatures.
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;

use crate::error::{BackupError, Result};
use crate::format::*;
use crate::progress::Progress;
use crate::repo::Repository;

/// A snapshot as listed: its id, its parsed body and whether (and by whom) it is signed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub snapshot: Snapshot,
    pub file: SnapshotFile,
    pub time: DateTime<Utc>,
}

/// The `snapshots --json` shape (a contract with scripts: docs/FORMAT.md).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: String,
    pub short_id: String,
    pub name: String,
    pub time: String,
    pub node: String,
    pub kind: String,
    pub height: Option<u64>,
    pub head_hash: Option<String>,
    pub size_bytes: u64,
    pub files: u64,
    pub signed: bool,
    pub signer: Option<String>,
    pub downtime_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub parent: Option<String>,
}

impl Listed {
    pub fn name(&self) -> String {
        display_name(&self.snapshot, &self.time)
    }

    pub fn summary(&self) -> Summary {
        let s = &self.snapshot;
        Summary {
            id: self.id.clone(),
            short_id: self.id.get(..8).unwrap_or(&self.id).to_string(),
            name: self.name(),
            time: s.time.clone(),
            node: s.node.clone(),
            kind: s.kind.clone(),
            height: s.height,
            head_hash: s.head_hash.clone(),
            size_bytes: s.size_bytes,
            files: s.files,
            signed: self.file.signature.is_some(),
            signer: self.file.signature.as_ref().map(|s| s.public_key.clone()),
            downtime_ms: s.downtime_ms,
            duration_ms: s.duration_ms,
            parent: s.parent.clone(),
        }
    }
}

/// `<node>-h<height>-<hash8>-<yyyymmddThhmmssZ>`; an unknown height or hash is 0 / zeroes.
pub fn display_name(s: &Snapshot, time: &DateTime<Utc>) -> String {
    let hash = s
        .head_hash
        .as_deref()
        .map(|h| h.trim_start_matches("0x"))
        .unwrap_or("");
    let hash8 = hash.get(..8).unwrap_or("00000000");
    // Names reach terminals: a crafted snapshot must not smuggle escape sequences there.
    let clean = |t: &str| -> String {
        t.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    format!(
        "{}-h{}-{}-{}",
        clean(&s.node),
        s.height.unwrap_or(0),
        clean(hash8),
        time.format("%Y%m%dT%H%M%SZ")
    )
}

pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| BackupError::Input(format!("time `{s}` is not RFC 3339 ({e})")))
}

/// A snapshot object that could not be read: its key and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub key: String,
    pub error: String,
}

/// Every readable snapshot, oldest first (ties broken by id so the order is stable), and
/// every unreadable one: one damaged object must not hide the others. Store errors (the
/// network, permissions) still fail the whole listing: they say nothing about damage.
pub fn scan(repo: &Repository) -> Result<(Vec<Listed>, Vec<Unreadable>)> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut keys = Vec::new();
    for meta in repo.list("snapshots/")? {
        // Not one of ours (an S3 folder marker, a stray file): never fetched, which could
        // fail the whole listing on a key the store refuses.
        if is_id(meta.key.trim_start_matches("snapshots/")) {
            keys.push(meta.key);
        } else {
            bad.push(Unreadable {
                error: format!("{}: not a snapshot object name", meta.key.escape_debug()),
                key: meta.key,
            });
        }
    }
    repo.get_each(&keys, |key, raw| {
        match read_one(repo, key, &raw) {
            Ok(l) => out.push(l),
            Err(e) => bad.push(Unreadable {
                key: key.to_string(),
                error: e.to_string(),
            }),
        }
        Ok(())
    })?;
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    Ok((out, bad))
}

/// One snapshot object, checked against its name.
pub fn read_one(repo: &Repository, key: &str, raw: &[u8]) -> Result<Listed> {
    let file: SnapshotFile = repo.decode(key, raw)?;
    let snapshot: Snapshot = serde_json::from_str(&file.body)
        .map_err(|e| BackupError::Integrity(format!("{key}: {e}")))?;
    let time =
        parse_time(&snapshot.time).map_err(|e| BackupError::Integrity(format!("{key}: {e}")))?;
    Ok(Listed {
        id: key.trim_start_matches("snapshots/").to_string(),
        snapshot,
        file,
        time,
    })
}

/// The readable snapshots; each unreadable one is named through `progress`.
pub fn list_noting(repo: &Repository, progress: &dyn Progress) -> Result<Vec<Listed>> {
    let (good, bad) = scan(repo)?;
    for b in &bad {
        progress.note(&format!("skipping unreadable {}: {}", b.key, b.error));
    }
    Ok(good)
}

/// The readable snapshots, oldest first (see [`scan`] for the unreadable ones).
pub fn list(repo: &Repository) -> Result<Vec<Listed>> {
    Ok(scan(repo)?.0)
}

/// By full id, unique id prefix, display name, or `latest`.
pub fn select<'a>(all: &'a [Listed], selector: &str) -> Result<&'a Listed> {
    if all.is_empty() {
        return Err(BackupError::Input(
            "the repository has no snapshots yet".into(),
        ));
    }
    if selector == "latest" {
        return Ok(all.last().expect("not empty"));
    }
    if let Some(s) = all
        .iter()
        .find(|s| s.id == selector || s.name() == selector)
    {
        return Ok(s);
    }
    let matches: Vec<&Listed> = all.iter().filter(|s| s.id.starts_with(selector)).collect();
    match matches.len() {
        1 if selector.len() >= 4 => Ok(matches[0]),
        0 => Err(BackupError::Input(format!(
            "no snapshot `{selector}` (use an id, a unique id prefix, a name or `latest`)"
        ))),
        1 => Err(BackupError::Input(format!(
            "snapshot prefix `{selector}` is too short: give at least 4 characters"
        ))),
        n => Err(BackupError::Input(format!(
            "snapshot prefix `{selector}` is ambiguous: {n} snapshots match"
        ))),
    }
}

/// A 32-byte ed25519 seed, as 64 hex digits (whitespace allowed) or 32 raw bytes.
pub fn signing_key(bytes: &[u8], path: &str) -> Result<SigningKey> {
    let seed: [u8; 32] = std::str::from_utf8(bytes)
        .ok()
        .and_then(unhex)
        .and_then(|v| v.try_into().ok())
        .or_else(|| bytes.try_into().ok())
        .ok_or_else(|| {
            BackupError::Input(format!(
                "signing key {path}: expected 64 hex digits (an ed25519 seed)"
            ))
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn public_key_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

pub fn sign(body: &str, key: &SigningKey) -> SignatureBlock {
    SignatureBlock {
        algorithm: "ed25519".into(),
        public_key: public_key_hex(key),
        signature: hex(&key.sign(body.as_bytes()).to_bytes()),
    }
}

/// Refuses an unsigned snapshot, one signed by another key, a bad signature, or a signed
/// snapshot made for another repository (replayed into this one). Snapshots that predate
/// the binding (no `repository` in the body) pass only in a v1 or migrated repository.
pub fn check_trusted(repo: &Repository, l: &Listed, trusted_hex: &str) -> Result<()> {
    check_signature(l, trusted_hex)?;
    let name = l.name();
    match &l.snapshot.repository {
        Some(f) if f == repo.config.family() => Ok(()),
        Some(f) => Err(BackupError::Input(format!(
            "snapshot {name} was signed for repository {f}, not this one ({}); refusing a replayed snapshot",
            repo.config.family()
        ))),
        None if repo.config.version < 2 || repo.config.migrated_from.is_some() => Ok(()),
        None => Err(BackupError::Input(format!(
            "snapshot {name} is signed but does not name its repository; refusing it in a v2 repository"
        ))),
    }
}

fn check_signature(l: &Listed, trusted_hex: &str) -> Result<()> {
    let trusted: [u8; 32] = unhex(trusted_hex)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            BackupError::Input(format!(
                "trusted key `{trusted_hex}`: expected an ed25519 public key as 64 hex digits"
            ))
        })?;
    let name = l.name();
    let Some(sig) = &l.file.signature else {
        return Err(BackupError::Input(format!(
            "snapshot {name} is not signed; refusing it (a trusted signer was required)"
        )));
    };
    let key = VerifyingKey::from_bytes(&trusted)
        .map_err(|e| BackupError::Input(format!("trusted key: {e}")))?;
    if sig.algorithm != "ed25519" || unhex(&sig.public_key).as_deref() != Some(&trusted[..]) {
        return Err(BackupError::Input(format!(
            "snapshot {name} is signed by {}, not by the trusted key",
            sig.public_key
        )));
    }
    let bytes: [u8; 64] = unhex(&sig.signature)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| BackupError::Input(format!("snapshot {name}: malformed signature")))?;
    key.verify(l.file.body.as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| {
            BackupError::Input(format!(
                "snapshot {name}: the signature does not match its contents"
            ))
        })
}

/// The newest snapshot of each node: what monitoring needs to judge backup age.
pub fn latest_per_node(all: &[Listed]) -> std::collections::BTreeMap<&str, &Listed> {
    let mut out = std::collections::BTreeMap::new();
    for l in all {
        let e = out.entry(l.snapshot.node.as_str()).or_insert(l);
        if l.time > e.time {
            *e = l;
        }
    }
    out
}
