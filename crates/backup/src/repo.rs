//! An open repository: the store, the keys, and the typed objects on top of them.
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use nodewarden_store::{Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Handle;

use crate::crypto::{Id, Keys, Secret};
use crate::error::{BackupError, Result};
use crate::format::*;

/// Engine code is synchronous (it runs on blocking threads); the store is async, so the
/// repository carries the runtime handle that drives it.
#[derive(Debug, Clone)]
pub struct Repository {
    store: Arc<dyn Store>,
    rt: Handle,
    pub keys: Keys,
    pub config: RepoConfig,
}

/// Where one chunk lives.
#[derive(Debug, Clone, Copy)]
pub struct Loc {
    pub pack: u32,
    pub offset: u64,
    pub length: u32,
    pub raw_len: u32,
}

/// Every index file merged: chunk id → location; duplicates (after an interrupted prune)
/// are harmless, the first wins.
#[derive(Debug, Default)]
pub struct Index {
    pub packs: Vec<String>,
    pub pack_sizes: Vec<u64>,
    pub chunks: HashMap<Id, Loc>,
    pub files: Vec<String>,
    /// Index files that could not be read (key, why): skipped so that the rest of the
    /// repository stays usable; `prune` refuses to run while there are any.
    pub unreadable: Vec<(String, String)>,
    /// Pack id → its number in `packs`, so a pack named by two files is listed once.
    pack_no: HashMap<String, u32>,
}

impl Index {
    pub fn pack_of(&self, loc: &Loc) -> &str {
        &self.packs[loc.pack as usize]
    }

    /// Whether every pack id and blob entry of an index file is well-formed, so that a
    /// crafted one is refused whole instead of half merged.
    pub fn check(key: &str, file: &IndexFile) -> Result<()> {
        let bad = |m: String| Err(BackupError::Integrity(format!("{key}: {m}")));
        for p in &file.packs {
            if !is_id(&p.id) {
                return bad(format!("bad pack id `{}`", p.id.escape_debug()));
            }
            for b in &p.blobs {
                let end = b.offset.checked_add(b.length);
                if parse_id(&b.id).is_none() {
                    return bad(format!("bad blob id `{}`", b.id.escape_debug()));
                }
                if end.is_none_or(|e| e > p.size)
                    || b.length > MAX_CHUNK + 1024
                    || b.raw_len > MAX_CHUNK
                {
                    return bad(format!("blob {} of pack {}: bad place or size", b.id, p.id));
                }
            }
        }
        Ok(())
    }

    /// Merges one index file (stored under `key`) into the index.
    pub fn add(&mut self, key: &str, file: IndexFile) -> Result<()> {
        Index::check(key, &file)?;
        self.files.push(key.to_string());
        for p in file.packs {
            let no = match self.pack_no.get(&p.id) {
                Some(&no) => no,
                None => {
                    let no = self.packs.len() as u32;
                    self.pack_no.insert(p.id.clone(), no);
                    self.packs.push(p.id);
                    self.pack_sizes.push(p.size);
                    no
                }
            };
            for b in p.blobs {
                let id = parse_id(&b.id).ok_or_else(|| {
                    BackupError::Integrity(format!("{key}: bad blob id `{}`", b.id))
                })?;
                self.chunks.entry(id).or_insert(Loc {
                    pack: no,
                    offset: b.offset,
                    length: b.length as u32,
                    raw_len: b.raw_len as u32,
                });
            }
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct InitOptions {
    pub secret: Option<Secret>,
    /// Target pack size in bytes [default 32 MiB]. Bigger packs mean fewer requests to a
    /// remote store; smaller ones less rewriting in prune.
    pub pack_size: Option<u64>,
    /// Share chunking and chunk ids with this repository, so that `copy` moves blobs without
    /// re-hashing them and snapshots keep their ids and signatures.
    pub like: Option<Repository>,
}

/// No chunk is larger: files up to `small_file` (at most 64 MiB) are one chunk, FastCDC
/// cuts at most 16 MiB. Caps what a crafted blob or index entry can make us allocate.
pub const MAX_CHUNK: u64 = 64 << 20;
/// Caps a decompressed index or snapshot object (a million files take about 300 MiB).
const MAX_OBJECT: u64 = 2 << 30;

/// Packs between 1 MiB and 1 GiB: the engine holds a pack in memory while writing it.
pub const PACK_SIZES: std::ops::RangeInclusive<u64> = (1 << 20)..=(1 << 30);

impl Repository {
    pub fn init(store: Arc<dyn Store>, rt: Handle, opts: InitOptions) -> Result<Repository> {
        if store.is_remote() && opts.secret.is_none() {
            return Err(BackupError::Input(format!(
                "{} is a remote repository and must be encrypted: give it a passphrase or key file",
                store.describe()
            )));
        }
        let like = opts.like.as_ref();
        if let Some(l) = like
            && l.keys.encrypted()
            && opts.secret.is_none()
        {
            return Err(BackupError::Input(format!(
                "{} is encrypted; a copy of it must be too: give a passphrase or key file for {}",
                l.describe(),
                store.describe()
            )));
        }
        let pack_size = opts
            .pack_size
            .or(like.map(|l| l.config.pack_size))
            .unwrap_or(32 << 20);
        if !PACK_SIZES.contains(&pack_size) {
            return Err(BackupError::Input(format!(
                "pack size {pack_size} bytes: expected 1 MiB to 1 GiB"
            )));
        }
        let (keys, encryption) = match &opts.secret {
            Some(s) => {
                let (k, p) = Keys::create(s, like.map(|l| &l.keys))?;
                (k, Some(p))
            }
            None => (Keys::plain(), None),
        };
        let mut config = RepoConfig {
            version: FORMAT_VERSION,
            id: hex(&crate::crypto::random::<16>()),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            chunker: like.map(|l| l.config.chunker).unwrap_or_default(),
            pack_size,
            encryption,
            family: like.map(|l| l.config.family().to_string()),
            migrated_from: None,
            mac: None,
        };
        config.mac = keys.config_mac(&config.mac_input());
        let text = config_bytes(&config)?;
        rt.block_on(store.put_new(CONFIG_KEY, Bytes::from(text)))
            .map_err(|e| match e {
                StoreError::AlreadyExists { store, .. } => {
                    BackupError::Input(format!("a repository already exists at {store}"))
                }
                e => e.into(),
            })?;
        Ok(Repository {
            store,
            rt,
            keys,
            config,
        })
    }

    /// Whether a repository lives in `store` (its `config` object exists).
    pub fn exists(store: &Arc<dyn Store>, rt: &Handle) -> Result<bool> {
        match rt.block_on(store.get(CONFIG_KEY)) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the stored config says the repository is encrypted (unauthenticated: only
    /// for deciding whether an inherited secret applies).
    pub fn is_encrypted(store: &Arc<dyn Store>, rt: &Handle) -> Result<bool> {
        let raw = rt.block_on(store.get(CONFIG_KEY))?;
        let config: RepoConfig =
            serde_json::from_slice(&raw).map_err(|e| BackupError::Config(e.to_string()))?;
        Ok(config.encryption.is_some())
    }

    pub fn open(store: Arc<dyn Store>, rt: Handle, secret: Option<&Secret>) -> Result<Repository> {
        let raw = rt.block_on(store.get(CONFIG_KEY)).map_err(|e| {
            if e.is_not_found() {
                BackupError::Input(format!(
                    "no repository at {}: create one with `nodewarden init` first",
                    store.describe()
                ))
            } else {
                e.into()
            }
        })?;
        let (config, keys) = open_config(&raw, store.as_ref(), secret)?;
        Ok(Repository {
            store,
            rt,
            keys,
            config,
        })
    }

    pub fn describe(&self) -> String {
        self.store.describe()
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The store, shared: callers read its transfer counters after the engine is done.
    pub fn store_arc(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub fn put(&self, key: &str, data: Vec<u8>) -> Result<()> {
        Ok(self.block_on(self.store.put(key, Bytes::from(data)))?)
    }

    pub fn get(&self, key: &str) -> Result<Bytes> {
        Ok(self.block_on(self.store.get(key))?)
    }

    /// Fetches `keys` with up to `parallelism()` requests in flight and hands each object to
    /// `f` in key order: listing 100 snapshots or index files pays one round trip's worth
    /// of waiting per `parallelism()` objects, not per object. A store error stops it.
    pub fn get_each(
        &self,
        keys: &[String],
        mut f: impl FnMut(&str, Bytes) -> Result<()>,
    ) -> Result<()> {
        use futures::StreamExt;
        let n = self.store.parallelism().max(1);
        let store = &self.store;
        self.block_on(async {
            let mut fetched = futures::stream::iter(keys)
                .map(|k| async move { (k, store.get(k).await) })
                .buffered(n);
            while let Some((k, r)) = fetched.next().await {
                f(k, r?)?;
            }
            Ok(())
        })
    }

    pub fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        Ok(self.block_on(self.store.get_range(key, offset, len))?)
    }

    pub fn list(&self, prefix: &str) -> Result<Vec<nodewarden_store::ObjectMeta>> {
        Ok(self.block_on(self.store.list(prefix))?)
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        Ok(self.block_on(self.store.delete(key))?)
    }

    /// Every key deleted (durably) when this returns; the store may delete them at once.
    pub fn delete_many(&self, keys: &[String]) -> Result<()> {
        Ok(self.block_on(self.store.delete_many(keys))?)
    }

    /// JSON → zstd → seal (in v2 bound to `<folder>/<id>`); the object's id is the
    /// BLAKE3 of the JSON.
    pub fn encode<T: Serialize>(&self, folder: &str, value: &T) -> (String, Vec<u8>) {
        let json = serde_json::to_vec(value).expect("repository objects serialise");
        let id = hex(blake3::hash(&json).as_bytes());
        let z = zstd::bulk::compress(&json, 3).expect("zstd compresses in memory");
        let sealed = self.keys.seal_named(z, &format!("{folder}/{id}"));
        (id, sealed)
    }

    /// Opens an index or snapshot object and checks that its content is what its name
    /// says (`<folder>/<BLAKE3 of the JSON>`), so that no object passes for another.
    pub fn decode<T: DeserializeOwned>(&self, key: &str, sealed: &[u8]) -> Result<T> {
        let json = self.decode_json(key, sealed)?;
        serde_json::from_slice(&json).map_err(|e| BackupError::Integrity(format!("{key}: {e}")))
    }

    /// [`Repository::decode`] up to the checked JSON bytes.
    pub fn decode_json(&self, key: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        // Keys come from a listing an attacker controls: shown escaped.
        let bad = |m: String| BackupError::Integrity(format!("{}: {m}", key.escape_debug()));
        let name = key.rsplit('/').next().unwrap_or(key);
        if !is_id(name) {
            return Err(bad("the object's name is not an id".into()));
        }
        let z = self.keys.open_named(sealed, key)?;
        let json = unzstd(&z, MAX_OBJECT).map_err(bad)?;
        if hex(blake3::hash(&json).as_bytes()) != name {
            return Err(bad(
                "content does not match its name (edited, or stored under another name)".into(),
            ));
        }
        Ok(json)
    }

    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let raw = self.get(key)?;
        self.decode(key, &raw)
    }

    /// Writes an object under `<folder>/<id>` and returns the id.
    pub fn save<T: Serialize>(&self, folder: &str, value: &T) -> Result<String> {
        let (id, data) = self.encode(folder, value);
        self.put(&format!("{folder}/{id}"), data)?;
        Ok(id)
    }

    /// Every readable index file merged; a damaged one is skipped and listed in
    /// `unreadable` (a store error still fails: that is not damage).
    pub fn load_index(&self) -> Result<Index> {
        let mut index = Index::default();
        let mut keys = Vec::new();
        for meta in self.list("index/")? {
            if is_id(meta.key.trim_start_matches("index/")) {
                keys.push(meta.key);
            } else {
                let e = format!("{}: not an index object name", meta.key.escape_debug());
                index.unreadable.push((meta.key, e));
            }
        }
        self.get_each(&keys, |key, raw| {
            let file = self
                .decode::<IndexFile>(key, &raw)
                .and_then(|f| Index::check(key, &f).map(|()| f));
            match file {
                Ok(f) => index.add(key, f)?,
                Err(e) => index.unreadable.push((key.to_string(), e.to_string())),
            }
            Ok(())
        })?;
        Ok(index)
    }

    /// Reads, opens, decompresses and checks one chunk against its id.
    pub fn read_chunk(&self, index: &Index, id: &Id) -> Result<Vec<u8>> {
        let loc = index.chunks.get(id).ok_or_else(|| {
            BackupError::Integrity(format!("chunk {} is not in the index", hex(id)))
        })?;
        let pack = index.pack_of(loc);
        let sealed = self.get_range(&pack_key(pack), loc.offset, loc.length as u64)?;
        self.open_blob(id, &sealed, &format!("pack {pack}"))
    }

    pub fn open_blob(&self, id: &Id, sealed: &[u8], place: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open_blob_into(id, sealed, place, &mut out)?;
        Ok(out)
    }

    /// [`Repository::open_blob`] into `out`, reusing its allocation and the thread's
    /// decryption buffer and zstd context: the restore and verify hot path.
    pub fn open_blob_into(
        &self,
        id: &Id,
        sealed: &[u8],
        place: &str,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        SCRATCH.with(|cell| {
            let (dctx, plain) = &mut *cell.borrow_mut();
            let ad = self.keys.blob_ad(id);
            self.keys
                .open_into(sealed, &ad, &blob_what(id, place), plain)?;
            self.unpack(id, plain, place, dctx, out)
        })
    }

    /// Opens a blob and checks it against its id, but returns it as stored (`flag ‖
    /// payload`): `copy` re-seals that for another repository without recompressing.
    pub fn open_blob_stored(&self, id: &Id, sealed: &[u8], place: &str) -> Result<Vec<u8>> {
        let plain = self
            .keys
            .open(sealed, &self.keys.blob_ad(id), &blob_what(id, place))?;
        SCRATCH.with(|cell| {
            let (dctx, out) = &mut *cell.borrow_mut();
            self.unpack(id, &plain, place, dctx, out)
        })?;
        Ok(plain)
    }

    /// `flag ‖ payload` → the chunk in `out`, checked against its id.
    fn unpack(
        &self,
        id: &Id,
        plain: &[u8],
        place: &str,
        dctx: &mut zstd::bulk::Decompressor<'static>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let what = || blob_what(id, place);
        let bad = |m: String| BackupError::Integrity(format!("{}: {m}", what()));
        let (flag, payload) = plain
            .split_first()
            .ok_or_else(|| bad("empty blob".into()))?;
        out.clear();
        match *flag {
            BLOB_RAW => out.extend_from_slice(payload),
            BLOB_ZSTD => {
                // Our frames carry their content size: one exact allocation, one pass. The
                // size is the frame's claim, so it is capped before anything is allocated
                // (decompression never writes past the reserved capacity).
                let size = zstd::zstd_safe::get_frame_content_size(payload)
                    .ok()
                    .flatten()
                    .ok_or_else(|| bad("zstd frame without a content size".into()))?;
                if size > MAX_CHUNK {
                    return Err(bad(format!("zstd frame claims {size} bytes")));
                }
                out.reserve(size as usize);
                dctx.decompress_to_buffer(payload, out)
                    .map_err(|e| bad(e.to_string()))?;
            }
            f => return Err(bad(format!("unknown flag {f}"))),
        }
        if self.keys.chunk_id(out) != *id {
            return Err(bad("content does not match its id".into()));
        }
        Ok(())
    }
}

/// Decompresses a whole zstd stream, refusing more than `limit` bytes of output.
pub fn unzstd(z: &[u8], limit: u64) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(z)
        .map_err(|e| e.to_string())?
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > limit {
        return Err(format!("decompresses to more than {limit} bytes"));
    }
    Ok(out)
}

/// The config as stored (pretty JSON: operators read it).
pub fn config_bytes(config: &RepoConfig) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(config).map_err(|e| BackupError::Config(e.to_string()))
}

/// Parses, bounds-checks and authenticates a stored config; opens the keys.
pub fn open_config(
    raw: &[u8],
    store: &dyn Store,
    secret: Option<&Secret>,
) -> Result<(RepoConfig, Keys)> {
    let config: RepoConfig =
        serde_json::from_slice(raw).map_err(|e| BackupError::Config(e.to_string()))?;
    if !READ_VERSIONS.contains(&config.version) {
        return Err(BackupError::Input(format!(
            "repository {} has format version {}; this nodewarden reads versions {} to {}",
            store.describe(),
            config.version,
            READ_VERSIONS.start(),
            READ_VERSIONS.end()
        )));
    }
    config.check_bounds().map_err(BackupError::Config)?;
    if let Some(p) = &config.encryption {
        crate::crypto::check_kdf(&p.kdf)?;
    }
    let keys = match (&config.encryption, secret) {
        // An attacker who cannot forge the MAC can still delete `encryption`; that must
        // not turn into reading (and writing) plaintext.
        (None, _) if store.is_remote() => {
            return Err(BackupError::Config(format!(
                "{} says it is not encrypted; remote repositories are always encrypted, so it was edited — refusing it",
                store.describe()
            )));
        }
        (None, Some(_)) => {
            return Err(BackupError::Config(format!(
                "{} is not encrypted, but a passphrase or key file was given; if it was created encrypted its config was edited — refusing it (unset the passphrase to open a plain repository)",
                store.describe()
            )));
        }
        (None, None) => Keys::plain(),
        (Some(p), Some(s)) => {
            let mut k = Keys::unlock(s, p, config.version)?;
            k.bind_blobs = config.version >= 2 && config.migrated_from.is_none();
            k
        }
        (Some(_), None) => {
            return Err(BackupError::Input(format!(
                "repository {} is encrypted: set NODEWARDEN_PASSWORD, or give a password file or key file",
                store.describe()
            )));
        }
    };
    if config.version >= 2 && keys.encrypted() {
        let expected = keys.config_mac(&config.mac_input());
        if config.mac.is_none() || config.mac != expected {
            return Err(BackupError::Config(format!(
                "{}: config does not authenticate under the repository key (edited or forged)",
                store.describe()
            )));
        }
    }
    Ok((config, keys))
}

thread_local! {
    /// Per thread, reused chunk after chunk: a zstd context and a buffer for plaintext.
    static SCRATCH: std::cell::RefCell<(zstd::bulk::Decompressor<'static>, Vec<u8>)> =
        std::cell::RefCell::new((
            zstd::bulk::Decompressor::new().expect("a zstd context allocates"),
            Vec::new(),
        ));
}

fn blob_what(id: &Id, place: &str) -> String {
    format!("chunk {} in {place}", hex(id))
}
