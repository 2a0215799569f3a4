//! The data dir: its lock, its layout and its LevelDB databases.
//!
//! Only the writer thread touches a `ChainDb`. The RPC answers come from the
//! published snapshot and the deterministic chain, never from the database.

mod layout;
mod lock;

use std::path::{Path, PathBuf};

use nodewarden_model::Kind;
use rusty_leveldb::compressor::SnappyCompressor;
use rusty_leveldb::{CompressorId, DB, Options, WriteBatch};

use crate::chain::Chain;
use crate::error::SimError;

pub use layout::{db_paths, ensure_files, zenon_address};
pub use lock::DirLock;

/// Meta keys in the main database (values are big-endian u64 unless noted).
pub mod keys {
    /// Highest block stored: the height the node reports and resumes from.
    pub const HEIGHT: &[u8] = b"nodewarden-sim:height";
    /// Hash of that block (32 bytes).
    pub const HEAD_HASH: &[u8] = b"nodewarden-sim:head-hash";
    /// Wall-clock ms at which the chain tip was `ANCHOR_TIP`.
    pub const ANCHOR_MS: &[u8] = b"nodewarden-sim:anchor-ms";
    pub const ANCHOR_TIP: &[u8] = b"nodewarden-sim:anchor-tip";
    /// Followed by the stall height (u64 BE): that stall has been served.
    pub const STALL_DONE: &[u8] = b"nodewarden-sim:stall-done:";
}

/// Blocks between two zenon consensus records and two cache frontier records.
const CONSENSUS_EVERY: u64 = 100;
const CACHE_EVERY: u64 = 1_000;

/// What a data dir remembers across restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meta {
    pub height: Option<u64>,
    pub anchor: Option<(u64, u64)>,
}

struct Db {
    db: DB,
    path: PathBuf,
}

impl Db {
    fn open(path: PathBuf) -> Result<Db, SimError> {
        std::fs::create_dir_all(&path).map_err(|e| SimError::io(&path, e))?;
        let db = DB::open(&path, options()).map_err(|e| SimError::db(&path, e))?;
        Ok(Db { db, path })
    }

    fn write(&mut self, batch: WriteBatch) -> Result<(), SimError> {
        // sync=true pushes the log record to the OS before returning, so a
        // SIGKILL loses nothing already reported over RPC.
        self.db
            .write(batch, true)
            .map_err(|e| SimError::db(&self.path, e))
    }

    fn get_u64(&mut self, key: &[u8]) -> Option<u64> {
        let v = self.db.get(key)?;
        Some(u64::from_be_bytes(v.as_ref().try_into().ok()?))
    }

    fn close(mut self) -> Result<(), SimError> {
        self.db.close().map_err(|e| SimError::db(&self.path, e))
    }
}

/// LevelDB options that keep the files readable by the C++ LevelDB.
fn options() -> Options {
    Options {
        // rusty-leveldb defaults to no compression; real LevelDB uses snappy.
        compressor: SnappyCompressor::ID,
        // Like C++ LevelDB's default: replay the old log into a table and
        // start a new one on open, rather than appending after a possibly torn tail.
        reuse_logs: false,
        reuse_manifest: false,
        create_if_missing: true,
        ..Options::default()
    }
}

pub struct ChainDb {
    kind: Kind,
    chain: Chain,
    block_bytes: usize,
    main: Db,
    consensus: Option<Db>,
    cache: Option<Db>,
    value: Vec<u8>,
}

impl ChainDb {
    pub fn open(
        kind: Kind,
        dir: &Path,
        chain_name: &str,
        chain: Chain,
        block_bytes: usize,
    ) -> Result<ChainDb, SimError> {
        let paths = db_paths(kind, dir, chain_name);
        let main = Db::open(paths.main)?;
        let consensus = paths.consensus.map(Db::open).transpose()?;
        let cache = paths.cache.map(Db::open).transpose()?;
        Ok(ChainDb {
            kind,
            chain,
            block_bytes,
            main,
            consensus,
            cache,
            value: Vec::with_capacity(block_bytes),
        })
    }

    pub fn meta(&mut self) -> Meta {
        let height = self.main.get_u64(keys::HEIGHT);
        let anchor = self
            .main
            .get_u64(keys::ANCHOR_MS)
            .zip(self.main.get_u64(keys::ANCHOR_TIP));
        Meta { height, anchor }
    }

    pub fn stall_done(&mut self, at: u64) -> bool {
        self.main.db.get(&stall_key(at)).is_some()
    }

    /// Stores the clock anchor (first start of a data dir, or one that lost it).
    pub fn set_anchor(&mut self, anchor_ms: u64, anchor_tip: u64) -> Result<(), SimError> {
        let mut b = WriteBatch::default();
        b.put(keys::ANCHOR_MS, &anchor_ms.to_be_bytes());
        b.put(keys::ANCHOR_TIP, &anchor_tip.to_be_bytes());
        self.main.write(b)
    }

    /// Writes blocks `from..=to` and moves the stored height to `to`, all in
    /// one batch so the height never points past what is stored.
    pub fn append(&mut self, from: u64, to: u64) -> Result<(), SimError> {
        let mut b = WriteBatch::default();
        for h in from..=to {
            self.put_block(&mut b, h);
        }
        b.put(keys::HEIGHT, &to.to_be_bytes());
        b.put(keys::HEAD_HASH, &self.chain.hash(to));
        self.main.write(b)?;
        self.write_side_records(from, to)
    }

    pub fn mark_stall_done(&mut self, at: u64) -> Result<(), SimError> {
        let mut b = WriteBatch::default();
        b.put(&stall_key(at), b"1");
        self.main.write(b)
    }

    /// Flushes and closes every database (their LOCK files are released).
    pub fn close(self, height: u64) -> Result<(), SimError> {
        let ChainDb {
            chain,
            main,
            consensus,
            mut cache,
            ..
        } = self;
        if let Some(cache) = cache.as_mut() {
            let mut b = WriteBatch::default();
            b.put(b"frontier", &frontier(&chain, height));
            cache.write(b)?;
        }
        let results = [
            Some(main.close()),
            consensus.map(Db::close),
            cache.map(Db::close),
        ];
        results.into_iter().flatten().collect()
    }

    fn put_block(&mut self, b: &mut WriteBatch, h: u64) {
        self.chain.block_value(h, self.block_bytes, &mut self.value);
        let be = h.to_be_bytes();
        match self.kind {
            // go-zenon keys momentums by height.
            Kind::Zenon => b.put(&[b"m".as_slice(), &be].concat(), &self.value),
            // geth's scheme: header by number+hash, and a hash → number index.
            Kind::Ethereum => {
                let hash = self.chain.hash(h);
                b.put(&[b"h".as_slice(), &be, &hash].concat(), &self.value);
                b.put(&[b"H".as_slice(), &hash].concat(), &be);
            }
            Kind::Substrate => b.put(&[b"b".as_slice(), &be].concat(), &self.value),
        }
    }

    fn write_side_records(&mut self, from: u64, to: u64) -> Result<(), SimError> {
        if let Some(db) = self.consensus.as_mut() {
            let first = from.div_ceil(CONSENSUS_EVERY);
            let last = to / CONSENSUS_EVERY;
            if first <= last {
                let mut b = WriteBatch::default();
                for epoch in first..=last {
                    let mut rec = [0u8; 96];
                    self.chain.derive_into("consensus", epoch, &mut rec);
                    b.put(&[b"e".as_slice(), &epoch.to_be_bytes()].concat(), &rec);
                }
                db.write(b)?;
            }
        }
        if let Some(db) = self.cache.as_mut()
            && from.div_ceil(CACHE_EVERY) <= to / CACHE_EVERY
        {
            let mut b = WriteBatch::default();
            b.put(b"frontier", &frontier(&self.chain, to));
            db.write(b)?;
        }
        Ok(())
    }
}

fn stall_key(at: u64) -> Vec<u8> {
    [keys::STALL_DONE, &at.to_be_bytes()].concat()
}

fn frontier(chain: &Chain, height: u64) -> Vec<u8> {
    [height.to_be_bytes().as_slice(), &chain.hash(height)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::TempDir;

    #[test]
    fn blocks_and_meta_survive_close_and_reopen() {
        let tmp = TempDir::new("store");
        let chain = Chain::new(7, 1);
        let mut s = ChainDb::open(Kind::Zenon, tmp.path(), "x", chain.clone(), 256).unwrap();
        assert_eq!(s.meta(), Meta::default());
        s.set_anchor(1_000, 50).unwrap();
        s.append(1, 250).unwrap();
        s.mark_stall_done(120).unwrap();
        s.close(250).unwrap();

        let mut s = ChainDb::open(Kind::Zenon, tmp.path(), "x", chain.clone(), 256).unwrap();
        let meta = s.meta();
        assert_eq!(meta.height, Some(250));
        assert_eq!(meta.anchor, Some((1_000, 50)));
        assert!(s.stall_done(120));
        assert!(!s.stall_done(121));
        let mut expect = Vec::new();
        chain.block_value(77, 256, &mut expect);
        let got = s
            .main
            .db
            .get(&[b"m".as_slice(), &77u64.to_be_bytes()].concat());
        assert_eq!(got.as_deref(), Some(expect.as_slice()));
        assert!(
            s.consensus
                .as_mut()
                .unwrap()
                .db
                .get(b"e\0\0\0\0\0\0\0\x02")
                .is_some()
        );
        s.close(250).unwrap();
        for sub in ["nom", "consensus", "cache"] {
            assert!(tmp.path().join(sub).join("CURRENT").exists(), "{sub}");
        }
    }

    #[test]
    fn ethereum_layout_indexes_hashes() {
        let tmp = TempDir::new("store-eth");
        let chain = Chain::new(3, 5);
        let mut s = ChainDb::open(Kind::Ethereum, tmp.path(), "x", chain.clone(), 128).unwrap();
        s.append(0, 10).unwrap();
        let idx = s.main.db.get(&[b"H".as_slice(), &chain.hash(7)].concat());
        assert_eq!(idx.as_deref(), Some(7u64.to_be_bytes().as_slice()));
        s.close(10).unwrap();
        assert!(tmp.path().join("database").join("CURRENT").exists());
    }
}
