//! The log format LevelDB and RocksDB share for MANIFESTs (and WALs): 32 KiB blocks of
//! fragments, each `crc32c (masked) ‖ length (u16 LE) ‖ type ‖ payload`, reassembled into
//! records. Read block by block, so memory is bounded by the largest record, itself capped.
use std::io::Read;

const BLOCK: usize = 32 * 1024;
const HEADER: usize = 7;
/// RocksDB's recyclable fragments carry the log number too.
const RECYCLABLE_HEADER: usize = 11;
/// A VersionEdit listing every file of a large database is megabytes; a gigabyte is not a
/// MANIFEST record but damage.
const MAX_RECORD: usize = 256 << 20;

/// Why a log could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogProblem {
    /// A fragment whose checksum does not match: the file is damaged at `offset`.
    Checksum { offset: u64 },
    /// A fragment that does not fit the format (bad type, length past the block).
    Malformed { offset: u64, what: &'static str },
}

/// Reads records from a log; the last, partial one (a writer appending right now, or a
/// crash mid-write) ends the log quietly, as it does for the engines themselves.
pub struct LogReader<R: Read> {
    src: R,
    block: Vec<u8>,
    len: usize,
    pos: usize,
    block_offset: u64,
    eof: bool,
    /// Bytes of a partial record dropped at the end of the log.
    pub truncated_tail: u64,
}

impl<R: Read> LogReader<R> {
    pub fn new(src: R) -> Self {
        LogReader {
            src,
            block: vec![0; BLOCK],
            len: 0,
            pos: 0,
            block_offset: 0,
            eof: false,
            truncated_tail: 0,
        }
    }

    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.block_offset += self.len as u64;
        self.len = 0;
        self.pos = 0;
        while self.len < BLOCK {
            let n = self.src.read(&mut self.block[self.len..])?;
            if n == 0 {
                self.eof = true;
                break;
            }
            self.len += n;
        }
        Ok(self.len > 0)
    }

    /// The next whole record, `Ok(None)` at the end.
    pub fn next_record(&mut self) -> std::io::Result<Result<Option<Vec<u8>>, LogProblem>> {
        let mut record: Vec<u8> = Vec::new();
        let mut in_record = false;
        loop {
            if self.len - self.pos < HEADER {
                if !self.fill()? {
                    if in_record {
                        self.truncated_tail += record.len() as u64;
                    }
                    return Ok(Ok(None));
                }
                continue;
            }
            let offset = self.block_offset + self.pos as u64;
            let h = &self.block[self.pos..self.pos + HEADER];
            let stored = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            let length = u16::from_le_bytes([h[4], h[5]]) as usize;
            let kind = h[6];
            let header = if (5..=8).contains(&kind) {
                RECYCLABLE_HEADER
            } else {
                HEADER
            };
            if kind == 0 && length == 0 {
                // Preallocated, zero-filled space: nothing more in this block.
                self.pos = self.len;
                continue;
            }
            if self.pos + header + length > self.len {
                if self.eof {
                    // A fragment cut off by the end of the file: a tail being written.
                    self.truncated_tail += (self.len - self.pos + record.len()) as u64;
                    self.pos = self.len;
                    return Ok(Ok(None));
                }
                return Ok(Err(LogProblem::Malformed {
                    offset,
                    what: "fragment runs past its block",
                }));
            }
            let start = self.pos + header;
            let covered = &self.block[self.pos + 6..start + length];
            let crc = crc32c::crc32c(covered);
            if unmask(stored) != crc {
                return Ok(Err(LogProblem::Checksum { offset }));
            }
            let payload = &self.block[start..start + length];
            self.pos = start + length;
            let kind = if kind >= 5 { kind - 4 } else { kind };
            match (kind, in_record) {
                (1, false) => return Ok(Ok(Some(payload.to_vec()))),
                (2, false) => {
                    record.extend_from_slice(payload);
                    in_record = true;
                }
                (3, true) => record.extend_from_slice(payload),
                (4, true) => {
                    record.extend_from_slice(payload);
                    return Ok(Ok(Some(record)));
                }
                // RocksDB's WAL-only markers (compression type, timestamp sizes).
                (k, false) if k >= 9 => {}
                _ => {
                    return Ok(Err(LogProblem::Malformed {
                        offset,
                        what: "fragment out of sequence",
                    }));
                }
            }
            if record.len() > MAX_RECORD {
                return Ok(Err(LogProblem::Malformed {
                    offset,
                    what: "record larger than 256 MiB",
                }));
            }
        }
    }
}

fn unmask(masked: u32) -> u32 {
    let rot = masked.wrapping_sub(0xa282_ead8);
    rot.rotate_left(15)
}

#[cfg(test)]
pub(crate) fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Writes records in the log format: the tests' way to make MANIFESTs of any shape.
#[cfg(test)]
pub(crate) fn write_records(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let mut rest: &[u8] = r;
        let mut first = true;
        loop {
            let left = BLOCK - out.len() % BLOCK;
            if left < HEADER {
                out.extend(std::iter::repeat_n(0u8, left));
                continue;
            }
            let n = rest.len().min(left - HEADER);
            let last = n == rest.len();
            let kind: u8 = match (first, last) {
                (true, true) => 1,
                (true, false) => 2,
                (false, false) => 3,
                (false, true) => 4,
            };
            let mut covered = vec![kind];
            covered.extend_from_slice(&rest[..n]);
            out.extend_from_slice(&mask(crc32c::crc32c(&covered)).to_le_bytes());
            out.extend_from_slice(&(n as u16).to_le_bytes());
            out.extend_from_slice(&covered);
            rest = &rest[n..];
            first = false;
            if last {
                break;
            }
        }
    }
    out
}
