//! Streaming CSV import of samples.
//!
//! The csv crate alone reads a 10-million-row export in about the whole time budget, so
//! records are split here with SIMD line and comma search; only a record containing a
//! quote (a node name with a comma, say) goes through the csv crate. Buffers are reused,
//! and [`CsvReader::read_into`] reuses the caller's `Sample`, so nothing is allocated per row.

use crate::error::AnalyzeError;
use crate::parse::{
    parse_f64, parse_i64, parse_non_negative_f64, parse_state, parse_u32, parse_u64, set_string,
};
use memchr::{memchr, memchr_iter};
use nodewarden_model::{CSV_COLUMNS, Sample};
use std::io::{self, Read};

/// Opens a CSV stream of samples; the header is read and checked immediately.
///
/// Columns are matched by name, so a hand-made export with extra or reordered columns
/// still reads; every one of [`CSV_COLUMNS`] must be present.
pub fn read_csv<R: Read>(reader: R) -> Result<CsvReader<R>, AnalyzeError> {
    CsvReader::new(reader)
}

const INITIAL_BUFFER: usize = 1 << 20;
/// A record longer than this is not a sample; stop before buffering the whole input.
const MAX_RECORD: usize = 64 << 20;

/// A streaming sample reader; also an iterator of `Result<Sample, AnalyzeError>` that goes
/// on after a bad line, so a caller may choose to skip it.
pub struct CsvReader<R: Read> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Line number of the next unread line (1-based).
    line: u64,
    /// Line number of the current record.
    rec_line: u64,
    spans: Vec<(usize, usize)>,
    quoted: Option<csv::ByteRecord>,
    /// `index[i]` is the position in the file of `CSV_COLUMNS[i]`.
    index: [usize; 13],
    width: usize,
    /// The analysis never looks at head hashes; skipping them saves a copy per row.
    keep_hash: bool,
    /// The input is known to hold no quote at all: skip looking for one on every line.
    unquoted: bool,
}

impl<R: Read> CsvReader<R> {
    pub fn new(src: R) -> Result<Self, AnalyzeError> {
        let mut r = Self {
            src,
            buf: vec![0; INITIAL_BUFFER],
            pos: 0,
            len: 0,
            eof: false,
            line: 1,
            rec_line: 1,
            spans: Vec::with_capacity(16),
            quoted: None,
            index: [0; 13],
            width: 0,
            keep_hash: true,
            unquoted: false,
        };
        if !r.next_record()? {
            return Err(AnalyzeError::Header("empty input, no header row".into()));
        }
        let names: Vec<String> = (0..r.field_count())
            .map(|i| {
                let s = String::from_utf8_lossy(r.field(i));
                // Spreadsheet exports often start with a byte-order mark.
                s.trim_start_matches('\u{feff}').trim().to_owned()
            })
            .collect();
        for (slot, col) in r.index.iter_mut().zip(CSV_COLUMNS) {
            *slot = names.iter().position(|n| n == col).ok_or_else(|| {
                AnalyzeError::Header(format!(
                    "missing column {col:?}; expected {}",
                    CSV_COLUMNS.join(",")
                ))
            })?;
        }
        r.width = names.len();
        Ok(r)
    }

    /// Leaves `head_hash` as `None` instead of reading it.
    pub(crate) fn skip_head_hash(mut self) -> Self {
        self.keep_hash = false;
        self
    }

    /// The column layout, the bytes read past the header, and the source: what the
    /// parallel reader needs to go on from here.
    /// Also says how many lines the header took, so chunk line numbers can be made absolute.
    pub(crate) fn into_parts(self) -> (Layout, u64, Vec<u8>, R) {
        let layout = Layout {
            index: self.index,
            width: self.width,
            keep_hash: self.keep_hash,
        };
        let mut rest = self.buf;
        rest.truncate(self.len);
        rest.drain(..self.pos);
        (layout, self.line - 1, rest, self.src)
    }

    fn field_count(&self) -> usize {
        self.quoted
            .as_ref()
            .map_or(self.spans.len(), csv::ByteRecord::len)
    }

    #[inline]
    fn field(&self, i: usize) -> &[u8] {
        match &self.quoted {
            Some(rec) => &rec[i],
            None => {
                let (s, e) = self.spans[i];
                &self.buf[s..e]
            }
        }
    }

    /// Reads more input, keeping the unconsumed part. Returns false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Advances to the next non-blank record. Returns false at end of input.
    fn next_record(&mut self) -> Result<bool, AnalyzeError> {
        loop {
            // Find the record's end: a newline outside quotes.
            let mut scan = self.pos;
            let mut quotes = 0usize;
            let (end, next) = loop {
                let seg = &self.buf[scan..self.len];
                if let Some(i) = memchr(b'\n', seg) {
                    if !self.unquoted && memchr(b'"', &seg[..i]).is_some() {
                        quotes += memchr_iter(b'"', &seg[..i]).count();
                    }
                    if quotes.is_multiple_of(2) {
                        break (scan + i, scan + i + 1);
                    }
                    scan += i + 1;
                    continue;
                }
                if self.eof {
                    if self.pos == self.len {
                        return Ok(false);
                    }
                    quotes += memchr_iter(b'"', seg).count();
                    break (self.len, self.len);
                }
                if self.len - self.pos > MAX_RECORD {
                    return Err(AnalyzeError::Record {
                        line: self.line,
                        message: format!("record longer than {MAX_RECORD} bytes"),
                    });
                }
                let offset = scan - self.pos;
                self.fill()?;
                scan = self.pos + offset;
            };
            let start = self.pos;
            self.pos = next;
            self.rec_line = self.line;
            self.line += if quotes > 0 {
                memchr_iter(b'\n', &self.buf[start..next]).count() as u64
            } else {
                u64::from(next > end)
            };
            let end = if end > start && self.buf[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            if end == start {
                continue;
            }
            if quotes > 0 {
                self.split_quoted(start, end)?;
            } else {
                self.quoted = None;
                split_commas(&self.buf[start..end], start, &mut self.spans);
            }
            return Ok(true);
        }
    }

    fn split_quoted(&mut self, start: usize, end: usize) -> Result<(), AnalyzeError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&self.buf[start..end]);
        let mut rec = self.quoted.take().unwrap_or_default();
        let line = self.rec_line;
        rdr.read_byte_record(&mut rec)
            .map_err(|e| AnalyzeError::Record {
                line,
                message: AnalyzeError::from_csv(e).to_string(),
            })?;
        self.quoted = Some(rec);
        Ok(())
    }

    /// Reads the next sample into `out`, reusing its string buffers. Returns `Ok(false)` at
    /// the end of input. On error `out` is left partly overwritten.
    pub fn read_into(&mut self, out: &mut Sample) -> Result<bool, AnalyzeError> {
        if !self.next_record()? {
            return Ok(false);
        }
        let line = self.rec_line;
        if self.field_count() != self.width {
            return Err(AnalyzeError::Record {
                line,
                message: format!(
                    "expected {} fields, found {}",
                    self.width,
                    self.field_count()
                ),
            });
        }
        let f = Fields {
            cols: std::array::from_fn(|i| self.field(self.index[i])),
            line,
        };
        out.t_ms = f.required(0, parse_i64)?;
        let node = f.raw(1);
        if node.is_empty() {
            return Err(f.error(1, "node name is empty".into()));
        }
        set_string(&mut out.node, node).map_err(|m| f.error(1, m))?;
        out.state = f.required(2, parse_state)?;
        out.current = f.optional(3, parse_u64)?;
        out.target = f.optional(4, parse_u64)?;
        out.peers = f.optional(5, parse_u32)?;
        let hash = f.raw(6);
        if hash.is_empty() || !self.keep_hash {
            out.head_hash = None;
        } else {
            let buf = out.head_hash.get_or_insert_with(String::new);
            set_string(buf, hash).map_err(|m| f.error(6, m))?;
        }
        out.head_time = f.optional(7, parse_f64)?;
        out.cpu_s = f.optional(8, parse_non_negative_f64)?;
        out.rss_bytes = f.optional(9, parse_u64)?;
        out.read_bytes = f.optional(10, parse_u64)?;
        out.write_bytes = f.optional(11, parse_u64)?;
        out.data_dir_bytes = f.optional(12, parse_u64)?;
        Ok(true)
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<Sample, AnalyzeError>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut s = Sample::default();
        match self.read_into(&mut s) {
            Ok(true) => Some(Ok(s)),
            Ok(false) => None,
            Err(AnalyzeError::Io(e)) => {
                // An I/O error would repeat forever: report it once, then end.
                self.eof = true;
                self.pos = self.len;
                Some(Err(AnalyzeError::Io(e)))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Where the columns are, as learnt from a header, for readers of headerless chunks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    index: [usize; 13],
    width: usize,
    keep_hash: bool,
}

impl CsvReader<io::Empty> {
    /// A reader over the first `len` bytes of `chunk`, whole records without a header.
    /// Line numbers count from 1 at the chunk's first line; the caller adds the lines
    /// before it. `quotes`: whether the chunk holds any quote character.
    pub(crate) fn for_chunk(layout: Layout, chunk: Vec<u8>, len: usize, quotes: bool) -> Self {
        Self {
            src: io::empty(),
            len,
            buf: chunk,
            pos: 0,
            eof: true,
            line: 1,
            rec_line: 1,
            spans: Vec::with_capacity(16),
            quoted: None,
            index: layout.index,
            width: layout.width,
            keep_hash: layout.keep_hash,
            unquoted: !quotes,
        }
    }

    /// Lines consumed so far, and the buffer back for reuse.
    pub(crate) fn finish_chunk(self) -> (u64, Vec<u8>) {
        (self.line - 1, self.buf)
    }
}

/// Field spans (absolute, from `base`) of an unquoted record. Eight bytes at a time: a
/// per-comma `memchr` call costs more than the short fields it skips.
fn split_commas(line: &[u8], base: usize, spans: &mut Vec<(usize, usize)>) {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const COMMAS: u64 = 0x0101_0101_0101_0101 * b',' as u64;
    spans.clear();
    let mut field_start = 0;
    let mut i = 0;
    let mut chunks = line.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ COMMAS;
        // Exactly the zero bytes of x (the commas) get their high bit set.
        let mut m = !((x & !HIGHS).wrapping_add(!HIGHS) | x | !HIGHS);
        while m != 0 {
            let p = i + (m.trailing_zeros() / 8) as usize;
            spans.push((base + field_start, base + p));
            field_start = p + 1;
            m &= m - 1;
        }
        i += 8;
    }
    for (k, &c) in chunks.remainder().iter().enumerate() {
        if c == b',' {
            spans.push((base + field_start, base + i + k));
            field_start = i + k + 1;
        }
    }
    spans.push((base + field_start, base + line.len()));
}

/// The 13 columns of the current record, in `CSV_COLUMNS` order.
struct Fields<'a> {
    cols: [&'a [u8]; 13],
    line: u64,
}

impl Fields<'_> {
    fn raw(&self, col: usize) -> &[u8] {
        self.cols[col]
    }

    fn error(&self, col: usize, message: String) -> AnalyzeError {
        AnalyzeError::Field {
            line: self.line,
            column: CSV_COLUMNS[col],
            message,
        }
    }

    #[inline]
    fn required<T>(
        &self,
        col: usize,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, AnalyzeError> {
        let raw = self.raw(col).trim_ascii();
        if raw.is_empty() {
            return Err(self.error(col, "required value is empty".into()));
        }
        parse(raw).map_err(|m| self.error(col, m))
    }

    #[inline]
    fn optional<T>(
        &self,
        col: usize,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Option<T>, AnalyzeError> {
        let raw = self.raw(col).trim_ascii();
        if raw.is_empty() {
            return Ok(None);
        }
        parse(raw).map(Some).map_err(|m| self.error(col, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_write::write_csv;
    use nodewarden_model::SyncState;

    fn header() -> String {
        CSV_COLUMNS.join(",")
    }

    fn full() -> Sample {
        Sample {
            t_ms: 1_700_000_000_123,
            node: "znn, \"main\"\nsecond line".into(),
            state: SyncState::NotEnoughPeers,
            current: Some(10),
            target: Some(20),
            peers: Some(0),
            head_hash: Some("0xabc".into()),
            head_time: Some(1_700_000_000.25),
            cpu_s: Some(0.1 + 0.2),
            rss_bytes: Some(u64::MAX),
            read_bytes: Some(0),
            write_bytes: Some(1),
            data_dir_bytes: Some(2),
        }
    }

    #[test]
    fn round_trip_full_and_empty_with_quoted_multiline_names() {
        let a = full();
        let b = Sample::new(-5, "n", SyncState::Error);
        let out = write_csv(Vec::new(), [&a, &b, &a]).unwrap();
        let back: Vec<Sample> = read_csv(&out[..]).unwrap().map(Result::unwrap).collect();
        assert_eq!(back, vec![a.clone(), b, a]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(&header()));
        assert!(text.contains("\n-5,n,error,,,,,,,,,,\n"), "{text}");
    }

    #[test]
    fn tiny_reads_and_crlf_give_the_same_samples() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(3);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let a = full();
        let out = write_csv(Vec::new(), [&a, &a]).unwrap();
        let crlf = String::from_utf8(out)
            .unwrap()
            .replace(",0,1,2\n", ",0,1,2\r\n");
        let back: Vec<Sample> = read_csv(Trickle(crlf.as_bytes()))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, vec![a.clone(), a]);
    }

    #[test]
    fn bad_field_names_line_and_column_even_after_a_multiline_record() {
        let csv = format!(
            "{}\n1,\"a\nb\",syncing,1,2,3,,,,,,,\n2,a,syncing,x1,2,3,,,,,,,\n",
            header()
        );
        let mut r = read_csv(csv.as_bytes()).unwrap();
        assert_eq!(r.next().unwrap().unwrap().node, "a\nb");
        let err = r.next().unwrap().unwrap_err();
        assert_eq!(err.line(), Some(4));
        let msg = err.to_string();
        assert!(msg.contains("line 4") && msg.contains("current"), "{msg}");
    }

    #[test]
    fn wrong_field_count_and_bad_state_name_the_line() {
        let csv = format!("{}\n1,a,syncing,1\n2,a,bogus,,,,,,,,,,", header());
        let errs: Vec<_> = read_csv(csv.as_bytes()).unwrap().collect();
        assert_eq!(errs[0].as_ref().unwrap_err().line(), Some(2));
        let e2 = errs[1].as_ref().unwrap_err().to_string();
        assert!(e2.contains("line 3") && e2.contains("state"), "{e2}");
    }

    #[test]
    fn header_by_name_with_bom_and_extra_column() {
        let mut cols: Vec<&str> = CSV_COLUMNS.to_vec();
        cols.reverse();
        cols.push("extra");
        let csv = format!("\u{feff}{}\n,,,,,,,,,9,syncing,n,7,x\n", cols.join(","));
        let s = read_csv(csv.as_bytes()).unwrap().next().unwrap().unwrap();
        assert_eq!((s.t_ms, s.current, s.node.as_str()), (7, Some(9), "n"));
    }

    #[test]
    fn comma_splitting_matches_a_plain_split() {
        let line = b"a,-1,,--,,x,-,12345678,,,,,,,,,-9,abcdefghijklmnop,,";
        let mut spans = Vec::new();
        for len in 0..line.len() {
            split_commas(&line[..len], 0, &mut spans);
            let got: Vec<&[u8]> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
            let want: Vec<&[u8]> = line[..len].split(|&c| c == b',').collect();
            assert_eq!(got, want, "prefix {len}");
        }
    }

    #[test]
    fn missing_column_is_a_header_error() {
        let err = read_csv("t_ms,node\n".as_bytes()).err().unwrap();
        assert!(err.to_string().contains("state"));
        assert!(read_csv(&b""[..]).is_err());
        assert!(read_csv(&b"\n\n"[..]).is_err());
    }
}
