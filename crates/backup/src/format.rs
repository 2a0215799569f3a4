//! Repository format v2 (docs/FORMAT.md; v1 is still read and written): the objects and
//! their JSON shapes.
use serde::{Deserialize, Serialize};

use crate::crypto::{EncryptionParams, Id};

/// What `init` writes and `migrate` upgrades to.
pub const FORMAT_VERSION: u32 = 2;
/// The versions this build opens.
pub const READ_VERSIONS: std::ops::RangeInclusive<u32> = 1..=2;
pub const CONFIG_KEY: &str = "config";
pub const PACK_MAGIC: &[u8; 8] = b"NWPACK01";

/// Blob payload flags (the first plaintext byte of every blob).
pub const BLOB_RAW: u8 = 0;
pub const BLOB_ZSTD: u8 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoConfig {
    pub version: u32,
    pub id: String,
    pub created: String,
    pub chunker: ChunkerParams,
    /// Target pack size in bytes.
    pub pack_size: u64,
    pub encryption: Option<EncryptionParams>,
    /// v2: shared by a repository and the copies `copy` creates from it; snapshot bodies
    /// name it and signatures therefore cover it. Absent: the repository's `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// v2: set by `migrate` (the version the repository had before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_from: Option<u32>,
    /// v2, encrypted: keyed BLAKE3 (a key derived from the master keys) over this config
    /// serialised without `mac`, so that any edit is detected once the key is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl RepoConfig {
    /// The bytes `mac` covers: the config as this build serialises it, without `mac`.
    pub fn mac_input(&self) -> Vec<u8> {
        let mut c = self.clone();
        c.mac = None;
        serde_json::to_vec(&c).unwrap_or_default()
    }

    pub fn family(&self) -> &str {
        self.family.as_deref().unwrap_or(&self.id)
    }

    /// Sizes a crafted config could use to crash or exhaust the tool, refused up front.
    pub fn check_bounds(&self) -> Result<(), String> {
        let c = &self.chunker;
        // fastcdc's own limits (it asserts them), and small files held in memory whole.
        let ok = (64..=(1 << 20)).contains(&c.min)
            && (256..=(4 << 20)).contains(&c.avg)
            && (1024..=(16 << 20)).contains(&c.max)
            && c.min <= c.avg
            && c.avg <= c.max
            && c.small_file <= 64 << 20;
        if !ok {
            return Err(format!("chunker parameters out of bounds: {c:?}"));
        }
        // `init` writes 1 MiB to 1 GiB; smaller is only slow (tests use 128 KiB).
        if !(1 << 12..=1 << 30).contains(&self.pack_size) {
            return Err(format!("pack_size {} out of bounds", self.pack_size));
        }
        if !(8..=64).contains(&self.id.len()) || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("id is not 8 to 64 hex digits".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    /// Files up to this size are one chunk; larger ones go through FastCDC.
    pub small_file: u64,
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        ChunkerParams {
            // LevelDB tables (2 MiB) and most small files are one chunk: they never change
            // in place, so cutting them buys no deduplication and costs a gear-hash pass.
            small_file: 4 << 20,
            min: 256 << 10,
            avg: 1 << 20,
            max: 4 << 20,
        }
    }
}

/// Where a blob lives inside a pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobEntry {
    pub id: String,
    pub offset: u64,
    pub length: u64,
    /// Plaintext size of the chunk.
    pub raw_len: u64,
}

/// An index file: the blobs of some packs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IndexFile {
    pub packs: Vec<IndexPack>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexPack {
    pub id: String,
    pub size: u64,
    pub blobs: Vec<BlobEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Relative, `/`-separated, no `.`/`..` components (checked again on restore).
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    #[serde(default)]
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    #[serde(default)]
    pub inode: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A symlink target that is not UTF-8, as hex of its bytes (`target` is then absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
}

/// A PostgreSQL database dumped into the snapshot (`pg_dump -Fc`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PgDump {
    pub database: String,
    pub size: u64,
    pub chunks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    /// RFC 3339, UTC.
    pub time: String,
    pub node: String,
    /// zenon, ethereum, substrate, or `dir` for `--hot`.
    pub kind: String,
    pub height: Option<u64>,
    pub head_hash: Option<String>,
    pub hostname: String,
    pub source: String,
    pub tool_version: String,
    pub parent: Option<String>,
    pub size_bytes: u64,
    pub files: u64,
    pub downtime_ms: Option<u64>,
    /// Wall time from the start of the backup to the snapshot being written (read, chunk,
    /// pack, index); absent in snapshots written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub freeze: Option<String>,
    /// v2: the repository family (`config.family`) the snapshot was made in; signed with
    /// the body, so a signed snapshot cannot be replayed into an unrelated repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub tree: Vec<Entry>,
    #[serde(default)]
    pub pg: Vec<PgDump>,
}

/// The stored snapshot object: the body as exact JSON text, so a signature covers bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotFile {
    pub body: String,
    pub signature: Option<SignatureBlock>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignatureBlock {
    pub algorithm: String,
    pub public_key: String,
    pub signature: String,
}

/// A repository lock (`locks/<random>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockFile {
    pub hostname: String,
    pub pid: u32,
    pub time: String,
    pub exclusive: bool,
    pub what: String,
}

pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn parse_id(s: &str) -> Option<Id> {
    unhex(s)?.try_into().ok()
}

/// Where a pack is stored. Ids come from index files an attacker may have written, so a
/// short or odd one must not panic: it names a key that does not exist.
pub fn pack_key(id: &str) -> String {
    format!("packs/{}/{id}", id.get(..2).unwrap_or(id))
}

/// Whether `s` is an object id: 64 lowercase hex digits.
pub fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
