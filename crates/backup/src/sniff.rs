//! What a file says about compressing it, read before any zstd is spent on it.
//!
//! LevelDB and RocksDB tables name their block compression: every block ends in a 5-byte
//! trailer (1 compression-type byte, a 4-byte checksum), the footer at the end of the file
//! locates the index and metaindex blocks, and RocksDB's properties block names the
//! compressor. A table whose blocks zstd/zlib already compressed gains nothing from
//! another pass; one whose blocks snappy/LZ4 compressed (byte-oriented, no entropy coding)
//! still shrinks under a cheap zstd level. Everything else gets a trial compression of a
//! sample (`pack::encode_blob`). The parse reads a few hundred bytes at the table's end,
//! trusts nothing it reads (every offset is checked against the file), and answers
//! `Unknown` rather than fail: the answer only picks how a chunk is stored, never what.
use std::os::unix::fs::FileExt;

/// How the chunks of one file are to be compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Not a table (or not one this parser knows): the trial compression decides.
    Unknown,
    /// A table whose blocks are stored uncompressed: compress as usual.
    Plain,
    /// A table whose blocks an engine already compressed with this codec.
    Engine(Codec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Snappy, LZ4, LZ4HC: repeats only, no entropy coding; a cheap zstd level still gains.
    Lz,
    /// zstd, zlib, bzip2, xpress: entropy-coded already; stored raw without a trial.
    Entropy,
}

impl Hint {
    /// The hint for one block-compression type byte (LevelDB and RocksDB share the codes).
    fn of_type(t: u8) -> Hint {
        match t {
            0 => Hint::Plain,
            1 | 4 | 5 => Hint::Engine(Codec::Lz),
            2 | 3 | 6 | 7 => Hint::Engine(Codec::Entropy),
            _ => Hint::Unknown,
        }
    }

    /// The hint for RocksDB's `rocksdb.compression` property.
    fn of_name(name: &[u8]) -> Hint {
        match name {
            b"NoCompression" => Hint::Plain,
            b"Snappy" | b"LZ4" | b"LZ4HC" => Hint::Engine(Codec::Lz),
            b"ZSTD" | b"ZSTDNotFinal" | b"Zlib" | b"BZip2" | b"Xpress" => {
                Hint::Engine(Codec::Entropy)
            }
            _ => Hint::Unknown,
        }
    }
}

/// Positioned reads of a whole file or a byte slice (tests use real tables in memory).
pub trait At {
    fn size(&self) -> u64;
    /// Fills `buf` from `off`, or false if it cannot (short file, I/O error).
    fn at(&self, off: u64, buf: &mut [u8]) -> bool;
}

impl At for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn at(&self, off: u64, buf: &mut [u8]) -> bool {
        let Ok(start) = usize::try_from(off) else {
            return false;
        };
        match start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
        {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}

/// A file with its size as listed (a live file that changes under us only makes reads fail).
pub struct SizedFile<'a>(pub &'a std::fs::File, pub u64);

impl At for SizedFile<'_> {
    fn size(&self) -> u64 {
        self.1
    }
    fn at(&self, off: u64, buf: &mut [u8]) -> bool {
        off.checked_add(buf.len() as u64)
            .is_some_and(|end| end <= self.1)
            && self.0.read_exact_at(buf, off).is_ok()
    }
}

const LEGACY_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const ROCKSDB_MAGIC: u64 = 0x88e2_41b7_85f4_cff7;
const TRAILER: u64 = 5;
/// Metaindex and properties blocks are a few KiB; a claim beyond this is not believed.
const MAX_META_BLOCK: u64 = 1 << 20;
/// The index entries read from the front of an uncompressed index block, and how many of
/// their data blocks' trailers are looked at.
const INDEX_PREFIX: u64 = 64 << 10;
const SAMPLED_BLOCKS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Handle {
    off: u64,
    size: u64,
}

/// The compression of a LevelDB/RocksDB table, from its footer and meta blocks.
pub fn table(f: &(impl At + ?Sized)) -> Hint {
    parse(f).unwrap_or(Hint::Unknown)
}

fn parse(f: &(impl At + ?Sized)) -> Option<Hint> {
    let len = f.size();
    let mut tail = [0u8; 53];
    let n = len.min(53) as usize;
    if n < 48 || !f.at(len - n as u64, &mut tail[..n]) {
        return None;
    }
    let tail = &tail[..n];
    let magic = u64::from_le_bytes(tail[n - 8..].try_into().ok()?);
    let footer_start = len - 48;
    let (meta, index) = match magic {
        LEGACY_MAGIC => {
            let mut p = &tail[n - 48..];
            (handle(&mut p)?, Some(handle(&mut p)?))
        }
        ROCKSDB_MAGIC if n == 53 => {
            let version = u32::from_le_bytes(tail[41..45].try_into().ok()?);
            if version >= 6 {
                // The v6 footer names the metaindex size only; the block sits right
                // before the footer.
                if tail[1..5] != [0x3e, 0x00, 0x7a, 0x00] {
                    return None;
                }
                let size = u64::from(u32::from_le_bytes(tail[13..17].try_into().ok()?));
                let off = (len - 53).checked_sub(size + TRAILER)?;
                (Handle { off, size }, None)
            } else {
                let mut p = &tail[1..];
                (handle(&mut p)?, Some(handle(&mut p)?))
            }
        }
        _ => return None,
    };
    let limit = if magic == ROCKSDB_MAGIC {
        len - 53
    } else {
        footer_start
    };
    // RocksDB: the properties block names the compressor of the whole table.
    if let Some(props) = meta_entry(f, meta, limit, b"rocksdb.properties")
        && let Some(name) = meta_entry_value(f, props, limit, b"rocksdb.compression")
    {
        return Some(Hint::of_name(&name));
    }
    from_index(f, index?, limit)
}

/// LevelDB: the index block's own trailer (compressed only where compression is on), else
/// the trailers of the first data blocks it lists.
fn from_index(f: &(impl At + ?Sized), index: Handle, limit: u64) -> Option<Hint> {
    let t = trailer_type(f, index, limit)?;
    if t != 0 {
        return Some(Hint::of_type(t));
    }
    let mut block = vec![0u8; index.size.min(INDEX_PREFIX) as usize];
    if !f.at(index.off, &mut block) {
        return None;
    }
    let mut p = block.as_slice();
    let mut seen = [0usize; 8];
    let mut any = false;
    for _ in 0..SAMPLED_BLOCKS {
        let Some((_, mut value)) = entry(&mut p) else {
            break;
        };
        let Some(h) = handle(&mut value) else { break };
        if h.off.checked_add(h.size)? >= index.off {
            return None;
        }
        let t = trailer_type(f, h, index.off)?;
        *seen.get_mut(usize::from(t))? += 1;
        any = true;
    }
    if !any {
        return None;
    }
    // The majority: LevelDB stores a block raw where snappy did not save 1/8 of it.
    let (t, _) = seen.iter().enumerate().max_by_key(|(_, n)| **n)?;
    Some(Hint::of_type(t as u8))
}

/// The compression-type byte in a block's trailer, the block ending before `limit`.
fn trailer_type(f: &(impl At + ?Sized), h: Handle, limit: u64) -> Option<u8> {
    let end = h.off.checked_add(h.size)?;
    if end.checked_add(TRAILER)? > limit {
        return None;
    }
    let mut t = [0u8; 1];
    f.at(end, &mut t).then_some(t[0])
}

/// An uncompressed meta block read whole.
fn meta_block(f: &(impl At + ?Sized), h: Handle, limit: u64) -> Option<Vec<u8>> {
    if h.size > MAX_META_BLOCK || trailer_type(f, h, limit)? != 0 {
        return None;
    }
    let mut b = vec![0u8; h.size as usize];
    f.at(h.off, &mut b).then_some(b)
}

/// The value of `key` in an uncompressed block (restart array and count at its end).
fn block_value(block: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let n = block.len().checked_sub(4)?;
    // The top bit flags RocksDB's data-block hash index; meta blocks have none, but mask it.
    let restarts = (u32::from_le_bytes(block[n..].try_into().ok()?) & 0x7fff_ffff) as usize;
    let end = n.checked_sub(restarts.checked_mul(4)?)?;
    let mut p = &block[..end];
    let mut last = Vec::new();
    while !p.is_empty() {
        let (shared, delta, value) = raw_entry(&mut p)?;
        last.truncate(shared);
        if last.len() != shared {
            return None;
        }
        last.extend_from_slice(delta);
        if last == key {
            return Some(value.to_vec());
        }
    }
    None
}

fn meta_entry(f: &(impl At + ?Sized), meta: Handle, limit: u64, key: &[u8]) -> Option<Handle> {
    let block = meta_block(f, meta, limit)?;
    let v = block_value(&block, key)?;
    handle(&mut v.as_slice())
}

fn meta_entry_value(f: &(impl At + ?Sized), h: Handle, limit: u64, key: &[u8]) -> Option<Vec<u8>> {
    block_value(&meta_block(f, h, limit)?, key)
}

/// One block entry: shared key length, the key's new bytes, the value.
fn raw_entry<'a>(p: &mut &'a [u8]) -> Option<(usize, &'a [u8], &'a [u8])> {
    let shared = varint(p)? as usize;
    let non_shared = varint(p)? as usize;
    let value_len = varint(p)? as usize;
    let delta = take(p, non_shared)?;
    let value = take(p, value_len)?;
    Some((shared, delta, value))
}

fn entry<'a>(p: &mut &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
    raw_entry(p).map(|(_, k, v)| (k, v))
}

fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if n > p.len() {
        return None;
    }
    let (a, b) = p.split_at(n);
    *p = b;
    Some(a)
}

fn handle(p: &mut &[u8]) -> Option<Handle> {
    Some(Handle {
        off: varint(p)?,
        size: varint(p)?,
    })
}

/// A LEB128 varint of at most 64 bits.
fn varint(p: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&b, rest) = p.split_first()?;
        *p = rest;
        v |= u64::from(b & 0x7f).checked_shl(7 * i)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests;
