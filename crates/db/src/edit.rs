//! VersionEdit records: LevelDB's tags, and RocksDB's on top (new-file formats with
//! sequence numbers and custom fields, column families, atomic groups, blob files, and the
//! "safe to ignore" tags from the future, which are length-prefixed).

/// One table file added to a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub level: u32,
    pub number: u64,
    pub size: u64,
    /// Internal keys: the user key followed by an 8-byte sequence/type trailer.
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// What one record changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    pub comparator: Option<String>,
    pub log_number: Option<u64>,
    pub prev_log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_sequence: Option<u64>,
    pub column_family: u32,
    pub column_family_add: Option<String>,
    pub column_family_drop: bool,
    pub deleted: Vec<(u32, u64)>,
    pub added: Vec<NewFile>,
    /// A RocksDB tag was seen: the engine wrote this, not LevelDB.
    pub rocksdb_tags: bool,
}

const SAFE_IGNORE: u32 = 1 << 13;
/// RocksDB keeps a path id in the top bits of a file number.
const FILE_NUMBER_MASK: u64 = 0x3FFF_FFFF_FFFF_FFFF;
/// Levels beyond this are not a real database (RocksDB allows up to a few dozen).
const MAX_LEVEL: u32 = 64;

struct Input<'a> {
    buf: &'a [u8],
}

impl<'a> Input<'a> {
    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first().ok_or("truncated varint")?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes")
    }

    fn varint32(&mut self) -> Result<u32, &'static str> {
        u32::try_from(self.varint()?).map_err(|_| "varint32 out of range")
    }

    fn bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
        if n > self.buf.len() {
            return Err("length-prefixed field runs past the record");
        }
        let (b, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(b)
    }

    fn level(&mut self) -> Result<u32, &'static str> {
        let l = self.varint32()?;
        if l >= MAX_LEVEL {
            return Err("level out of range");
        }
        Ok(l)
    }
}

/// Decodes one record; the error names the first field that does not fit.
pub fn decode(record: &[u8]) -> Result<Edit, String> {
    let mut e = Edit::default();
    let mut input = Input { buf: record };
    while !input.buf.is_empty() {
        let tag = input.varint32()?;
        let r: Result<(), &'static str> = (|| {
            match tag {
                1 => {
                    e.comparator = Some(String::from_utf8_lossy(input.bytes()?).into_owned());
                }
                2 => e.log_number = Some(input.varint()?),
                3 => e.next_file_number = Some(input.varint()?),
                4 => e.last_sequence = Some(input.varint()?),
                5 => {
                    input.level()?;
                    input.bytes()?;
                }
                6 => {
                    let level = input.level()?;
                    let n = input.varint()? & FILE_NUMBER_MASK;
                    e.deleted.push((level, n));
                }
                7 | 100 | 102 | 103 => e.added.push(new_file(&mut input, tag)?),
                9 => e.prev_log_number = Some(input.varint()?),
                10 => {
                    input.varint()?;
                }
                200 => e.column_family = input.varint32()?,
                201 => {
                    e.column_family_add = Some(String::from_utf8_lossy(input.bytes()?).into_owned())
                }
                202 => e.column_family_drop = true,
                203 | 300 => {
                    input.varint32()?;
                }
                400 => {
                    // Blob file addition: number, count, bytes, checksum method and value.
                    for _ in 0..3 {
                        input.varint()?;
                    }
                    input.bytes()?;
                    input.bytes()?;
                    custom_fields(&mut input)?;
                }
                401 => {
                    for _ in 0..3 {
                        input.varint()?;
                    }
                    custom_fields(&mut input)?;
                }
                t if t & SAFE_IGNORE != 0 => {
                    input.bytes()?;
                }
                _ => return Err("unknown tag"),
            }
            Ok(())
        })();
        r.map_err(|m| format!("tag {tag}: {m}"))?;
        if tag >= 100 {
            e.rocksdb_tags = true;
        }
    }
    Ok(e)
}

fn new_file(input: &mut Input<'_>, tag: u32) -> Result<NewFile, &'static str> {
    let level = input.level()?;
    let number = input.varint()? & FILE_NUMBER_MASK;
    if tag == 102 {
        input.varint32()?; // path id
    }
    let size = input.varint()?;
    let smallest = input.bytes()?.to_vec();
    let largest = input.bytes()?.to_vec();
    if tag != 7 {
        input.varint()?; // smallest seqno
        input.varint()?; // largest seqno
    }
    if tag == 103 {
        custom_fields(input)?;
    }
    Ok(NewFile {
        level,
        number,
        size,
        smallest,
        largest,
    })
}

/// RocksDB's per-file (and per-blob-file) extension fields, ended by tag 1.
fn custom_fields(input: &mut Input<'_>) -> Result<(), &'static str> {
    loop {
        let tag = input.varint32()?;
        if tag == 1 {
            return Ok(());
        }
        input.bytes()?;
    }
}

#[cfg(test)]
pub(crate) mod encode {
    //! Writers for the tests: records of any shape, hostile ones included.
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    /// `user_key` with a value-type trailer, as the engines store bounds.
    pub fn ikey(user_key: &[u8], seq: u64) -> Vec<u8> {
        let mut k = user_key.to_vec();
        k.extend_from_slice(&((seq << 8) | 1).to_le_bytes());
        k
    }

    pub fn leveldb_add(
        out: &mut Vec<u8>,
        level: u64,
        number: u64,
        size: u64,
        lo: &[u8],
        hi: &[u8],
    ) {
        varint(out, 7);
        varint(out, level);
        varint(out, number);
        varint(out, size);
        bytes(out, &ikey(lo, 1));
        bytes(out, &ikey(hi, 2));
    }

    pub fn rocksdb_add(
        out: &mut Vec<u8>,
        level: u64,
        number: u64,
        size: u64,
        lo: &[u8],
        hi: &[u8],
    ) {
        varint(out, 103);
        varint(out, level);
        varint(out, number);
        varint(out, size);
        bytes(out, &ikey(lo, 1));
        bytes(out, &ikey(hi, 2));
        varint(out, 1);
        varint(out, 2);
        varint(out, 5); // oldest ancester time
        bytes(out, &[0x80, 0x01]);
        varint(out, 1); // terminate
    }

    pub fn delete(out: &mut Vec<u8>, level: u64, number: u64) {
        varint(out, 6);
        varint(out, level);
        varint(out, number);
    }
}

#[cfg(test)]
mod tests {
    use super::encode::*;
    use super::*;

    #[test]
    fn decodes_leveldb_and_rocksdb_records() {
        let mut r = Vec::new();
        varint(&mut r, 1);
        bytes(&mut r, b"leveldb.BytewiseComparator");
        varint(&mut r, 2);
        varint(&mut r, 12);
        leveldb_add(&mut r, 0, 7, 1000, b"a", b"m");
        delete(&mut r, 1, 4);
        let e = decode(&r).unwrap();
        assert_eq!(e.log_number, Some(12));
        assert_eq!(e.added.len(), 1);
        assert_eq!(e.added[0].number, 7);
        assert_eq!(e.deleted, vec![(1, 4)]);
        assert!(!e.rocksdb_tags);

        let mut r = Vec::new();
        varint(&mut r, 200);
        varint(&mut r, 3);
        rocksdb_add(&mut r, 2, (1 << 62) | 9, 5000, b"k1", b"k9");
        // A tag from the future that is safe to ignore.
        varint(&mut r, SAFE_IGNORE as u64 + 7);
        bytes(&mut r, b"whatever");
        let e = decode(&r).unwrap();
        assert_eq!(e.column_family, 3);
        assert_eq!(e.added[0].number, 9, "path id bits dropped");
        assert!(e.rocksdb_tags);
    }

    #[test]
    fn hostile_records_are_errors_naming_the_tag() {
        let mut r = Vec::new();
        varint(&mut r, 7);
        varint(&mut r, 99); // level
        let e = decode(&r).unwrap_err();
        assert!(e.contains("tag 7") && e.contains("level"), "{e}");
        let mut r = Vec::new();
        varint(&mut r, 1);
        varint(&mut r, 1 << 40);
        assert!(decode(&r).unwrap_err().contains("runs past"));
        assert!(decode(&[77]).unwrap_err().contains("unknown tag"));
        assert!(decode(&[0x80; 11]).unwrap_err().contains("varint"));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode(&b);
        }
    }
}
