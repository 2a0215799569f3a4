//! CSV export of samples (header row, empty field = missing).

use crate::error::AnalyzeError;
use nodewarden_model::{CSV_COLUMNS, Sample};
use std::io::Write;

/// Writes `samples` as CSV with a header row and returns the writer. See [`CsvWriter`].
pub fn write_csv<'a, W: Write>(
    writer: W,
    samples: impl IntoIterator<Item = &'a Sample>,
) -> Result<W, AnalyzeError> {
    let mut w = CsvWriter::new(writer)?;
    for s in samples {
        w.write(s)?;
    }
    w.into_inner()
}

/// Writes samples as CSV, header first. Numbers use Rust's shortest round-trip formatting,
/// so `read_csv` gives back exactly the samples that were written; text that needs it is
/// quoted.
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
    scratch: Vec<Vec<u8>>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(writer: W) -> Result<Self, AnalyzeError> {
        let mut inner = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(writer);
        inner
            .write_record(CSV_COLUMNS)
            .map_err(AnalyzeError::from_csv)?;
        Ok(Self {
            inner,
            scratch: vec![Vec::new(); CSV_COLUMNS.len()],
        })
    }

    pub fn write(&mut self, s: &Sample) -> Result<(), AnalyzeError> {
        for f in &mut self.scratch {
            f.clear();
        }
        let [
            t,
            node,
            state,
            cur,
            tgt,
            peers,
            hash,
            htime,
            cpu,
            rss,
            rd,
            wr,
            dir,
        ] = &mut self.scratch[..]
        else {
            unreachable!("scratch has one buffer per column")
        };
        put(t, Some(s.t_ms));
        node.extend_from_slice(s.node.as_bytes());
        state.extend_from_slice(s.state.as_str().as_bytes());
        put(cur, s.current);
        put(tgt, s.target);
        put(peers, s.peers);
        if let Some(h) = &s.head_hash {
            hash.extend_from_slice(h.as_bytes());
        }
        put(htime, s.head_time);
        put(cpu, s.cpu_s);
        put(rss, s.rss_bytes);
        put(rd, s.read_bytes);
        put(wr, s.write_bytes);
        put(dir, s.data_dir_bytes);
        self.inner
            .write_record(&self.scratch)
            .map_err(AnalyzeError::from_csv)
    }

    pub fn flush(&mut self) -> Result<(), AnalyzeError> {
        Ok(self.inner.flush()?)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> Result<W, AnalyzeError> {
        self.inner
            .into_inner()
            .map_err(|e| AnalyzeError::Io(std::io::Error::other(e.error().to_string())))
    }
}

fn put<T: std::fmt::Display>(buf: &mut Vec<u8>, v: Option<T>) {
    if let Some(v) = v {
        // Writing into a Vec cannot fail.
        let _ = write!(buf, "{v}");
    }
}
