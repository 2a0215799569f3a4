//! CSV analysis on every core: parsing costs about four times the analysis, so one
//! thread cuts the input into chunks of whole records, two threads parse chunks, and the
//! calling thread feeds the parsed samples to the trackers in file order. The result is
//! the same as a sequential read: the same records, parsed by the same code, in the
//! same order.
//!
//! Memory is bounded by a fixed pool of chunk buffers: the cutter waits for a buffer to
//! come back before reading more, so a slow consumer never lets chunks pile up.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, mpsc};

use memchr::{memchr, memchr2_iter, memrchr};

use crate::analysis::Analysis;
use crate::analyzer::Analyzer;
use crate::csv_read::{CsvReader, Layout, read_csv};
use crate::error::AnalyzeError;
use crate::options::AnalyzeOptions;
use nodewarden_model::Sample;

const CHUNK: usize = 1 << 20;

/// Parser threads: one per core. The caller's thread feeds the trackers meanwhile, and
/// parsing is the larger share of the work, so every core parses.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 32))
}
/// A chunk that finds no record end within this much gets handed over as it is, and the
/// parser reports the broken record with its line.
const MAX_RECORD: usize = 64 << 20;

struct Chunk {
    seq: u64,
    data: Vec<u8>,
    len: usize,
    quotes: bool,
}

struct Parsed {
    seq: u64,
    samples: Vec<Sample>,
    n: usize,
    lines: u64,
    error: Option<AnalyzeError>,
    data: Vec<u8>,
}

pub(crate) fn analyze_csv<R: Read + Send>(
    reader: R,
    opts: &AnalyzeOptions,
) -> Result<Vec<Analysis>, AnalyzeError> {
    analyze_chunked(reader, opts, CHUNK)
}

/// [`analyze_csv`] with chunks of about `chunk` bytes (tests cut at every possible place).
fn analyze_chunked<R: Read + Send>(
    reader: R,
    opts: &AnalyzeOptions,
    chunk: usize,
) -> Result<Vec<Analysis>, AnalyzeError> {
    let (layout, header_lines, rest, src) = read_csv(reader)?.skip_head_hash().into_parts();
    let mut analyzer = Analyzer::new(opts.clone());
    let workers = workers();
    // Enough chunks in flight to keep every parser busy while the oldest waits to be fed in
    // order; a fixed pool bounds memory to `buffers` MiB.
    let buffers = (workers * 4).max(8);
    let (pool_tx, pool_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..buffers {
        let _ = pool_tx.send(Vec::new());
    }
    let (work_tx, work_rx) = mpsc::sync_channel::<Chunk>(buffers);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::channel::<Parsed>();
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<Sample>>();
    let spare_rx = Arc::new(Mutex::new(spare_rx));
    std::thread::scope(|scope| {
        let cutter = scope.spawn(move || cut(src, rest, chunk, &pool_rx, &work_tx));
        for _ in 0..workers {
            let (work_rx, done_tx, spare_rx) = (work_rx.clone(), done_tx.clone(), spare_rx.clone());
            scope.spawn(move || parse_chunks(layout, &work_rx, &done_tx, &spare_rx));
        }
        drop(done_tx);
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut lines_before = header_lines;
        let mut failed = None;
        'recv: for parsed in &done_rx {
            pending.insert(parsed.seq, parsed);
            while let Some(p) = pending.remove(&next) {
                for s in &p.samples[..p.n] {
                    analyzer.push(s);
                }
                if let Some(e) = p.error {
                    failed = Some(e.shifted(lines_before));
                    break 'recv;
                }
                lines_before += p.lines;
                next += 1;
                let _ = pool_tx.send(p.data);
                let _ = spare_tx.send(p.samples);
            }
        }
        // Closing our ends stops the cutter and the parsers wherever they wait.
        drop((done_rx, pool_tx, spare_tx, pending));
        let cut_result = cutter
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match failed {
            Some(e) => Err(e),
            None => cut_result,
        }
    })?;
    Ok(analyzer.finish())
}

/// Reads the source into pooled buffers and hands out chunks that end on a record end.
/// Buffers keep their length between uses, so refilling one never zeroes it again.
fn cut<R: Read>(
    mut src: R,
    mut carry: Vec<u8>,
    chunk: usize,
    pool: &mpsc::Receiver<Vec<u8>>,
    work: &mpsc::SyncSender<Chunk>,
) -> Result<(), AnalyzeError> {
    let mut seq = 0;
    loop {
        let Ok(mut buf) = pool.recv() else {
            return Ok(());
        };
        if buf.len() < carry.len() + chunk {
            buf.resize(carry.len() + chunk + (chunk >> 1), 0);
        }
        buf[..carry.len()].copy_from_slice(&carry);
        let mut len = carry.len();
        carry.clear();
        let mut eof = false;
        let mut target = chunk;
        let (end, quotes) = loop {
            while len < target && !eof {
                if len == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                match src.read(&mut buf[len..]) {
                    Ok(0) => eof = true,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if eof || len > MAX_RECORD {
                break (len, memchr(b'"', &buf[..len]).is_some());
            }
            if let Some(found) = record_end(&buf[..len]) {
                break found;
            }
            // Everything so far is inside one record: read on, and rescan it all, since
            // the quote parity is only known from the chunk's start.
            target = len + chunk;
        };
        carry.extend_from_slice(&buf[end..len]);
        let last = eof && carry.is_empty();
        let piece = Chunk {
            seq,
            data: buf,
            len: end,
            quotes,
        };
        // Sequence numbers only for chunks sent: the consumer waits for each in turn.
        if end > 0 {
            if work.send(piece).is_err() {
                return Ok(());
            }
            seq += 1;
        }
        if last {
            return Ok(());
        }
    }
}

/// Just past the last newline outside quotes, and whether the part before it holds a
/// quote. A chunk always starts outside quotes, so the parity of the quotes before a
/// newline says whether it ends a record.
fn record_end(buf: &[u8]) -> Option<(usize, bool)> {
    if memchr(b'"', buf).is_none() {
        return memrchr(b'\n', buf).map(|i| (i + 1, false));
    }
    let mut quotes = 0usize;
    let mut end = None;
    for i in memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            quotes += 1;
        } else if quotes.is_multiple_of(2) {
            end = Some((i + 1, quotes > 0));
        }
    }
    end
}

fn parse_chunks(
    layout: Layout,
    work: &Mutex<mpsc::Receiver<Chunk>>,
    done: &mpsc::Sender<Parsed>,
    spare: &Mutex<mpsc::Receiver<Vec<Sample>>>,
) {
    loop {
        // The lock is held only while waiting for the next chunk.
        let chunk = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(chunk) = chunk else { return };
        let mut samples = spare
            .lock()
            .ok()
            .and_then(|rx| rx.try_recv().ok())
            .unwrap_or_default();
        let mut reader = CsvReader::for_chunk(layout, chunk.data, chunk.len, chunk.quotes);
        let mut n = 0;
        let mut error = None;
        loop {
            if n == samples.len() {
                samples.push(Sample::default());
            }
            match reader.read_into(&mut samples[n]) {
                Ok(true) => n += 1,
                Ok(false) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let (lines, data) = reader.finish_chunk();
        let parsed = Parsed {
            seq: chunk.seq,
            samples,
            n,
            lines,
            error,
            data,
        };
        if done.send(parsed).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::analyze;
    use crate::csv_write::write_csv;
    use nodewarden_model::SyncState;
    use proptest::prelude::*;

    /// What a sequential read gives: the analysis, or the first error's line.
    fn sequential(bytes: &[u8]) -> Result<Vec<Analysis>, Option<u64>> {
        let mut samples = Vec::new();
        for s in read_csv(bytes).map_err(|e| e.line())? {
            let mut s = s.map_err(|e| e.line())?;
            s.head_hash = None;
            samples.push(s);
        }
        Ok(analyze(&samples, &AnalyzeOptions::default()))
    }

    fn rows() -> impl Strategy<Value = Vec<(i64, u8, Option<u64>, bool)>> {
        prop::collection::vec(
            (
                0i64..5_000,
                0u8..3,
                prop::option::of(0u64..500),
                any::<bool>(),
            ),
            0..60,
        )
    }

    proptest! {
        #[test]
        fn any_cut_gives_the_sequential_result(
            rows in rows(),
            chunk in 1usize..200,
            garbage in prop::option::of((0usize..60, "[a-z,\"\n]{0,6}")),
            trailing_newline in any::<bool>(),
        ) {
            let names = ["a", "b,\"quoted\"\nname", "c"];
            let samples: Vec<Sample> = rows
                .iter()
                .map(|&(t, n, h, err)| {
                    let mut s = Sample::new(t, names[usize::from(n)], if err { SyncState::Error } else { SyncState::Syncing });
                    s.current = h;
                    s.target = h.map(|h| h + 100);
                    s
                })
                .collect();
            let mut text = String::from_utf8(write_csv(Vec::new(), &samples).unwrap()).unwrap();
            if let Some((at, junk)) = garbage {
                let at = text.char_indices().map(|(i, _)| i).filter(|&i| i > 0).nth(at).unwrap_or(text.len());
                text.insert_str(at, &junk);
            }
            if !trailing_newline && text.ends_with('\n') {
                text.pop();
            }
            let ours = analyze_chunked(text.as_bytes(), &AnalyzeOptions::default(), chunk)
                .map_err(|e| e.line());
            prop_assert_eq!(ours, sequential(text.as_bytes()));
        }
    }

    #[test]
    fn record_end_skips_newlines_inside_quotes() {
        assert_eq!(record_end(b"a,b\nc,d\ne"), Some((8, false)));
        assert_eq!(record_end(b"a,\"x\ny\"\nb,\"z\n"), Some((8, true)));
        assert_eq!(record_end(b"\"open\nstill open"), None);
        assert_eq!(record_end(b"no newline"), None);
    }
}
