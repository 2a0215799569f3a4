//! A shareable `.tar.zst` of a report: samples, summary, HTML, tool version. Text goes in
//! through [`redact`] so the bundle can be posted to an issue tracker as it is.

use std::io::{self, Read, Write};

use crate::redact::redact;

/// Writes a zstd-compressed tar, every entry under one top-level directory.
pub struct Bundle<W: Write> {
    tar: tar::Builder<zstd::Encoder<'static, W>>,
    dir: String,
    mtime: u64,
}

impl<W: Write> Bundle<W> {
    /// `dir`: the directory the archive unpacks into; `mtime_s`: the entries' time.
    pub fn new(out: W, dir: &str, mtime_s: u64) -> io::Result<Self> {
        let enc = zstd::Encoder::new(out, 9)?;
        let mut tar = tar::Builder::new(enc);
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(Self {
            tar,
            dir: dir.trim_matches('/').to_owned(),
            mtime: mtime_s,
        })
    }

    fn header(&self, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h
    }

    /// Adds a text file after scrubbing addresses, credentials and keys from it.
    pub fn add_text(&mut self, name: &str, text: &str) -> io::Result<()> {
        let clean = redact(text);
        let mut h = self.header(clean.len() as u64);
        let path = format!("{}/{name}", self.dir);
        self.tar.append_data(&mut h, path, clean.as_bytes())
    }

    /// Adds `size` bytes streamed from `data` as they are: for content already made safe
    /// (the samples CSV, whose only free text, node names, the caller redacts per row).
    pub fn add_stream(&mut self, name: &str, size: u64, data: impl Read) -> io::Result<()> {
        let mut h = self.header(size);
        let path = format!("{}/{name}", self.dir);
        self.tar.append_data(&mut h, path, data)
    }

    /// Completes the archive and the compression frame; returns the writer.
    pub fn finish(self) -> io::Result<W> {
        let enc = self.tar.into_inner()?;
        enc.finish()
    }
}

/// What goes into a run's shareable bundle.
pub struct RunBundle<'a, R: Read> {
    /// The samples CSV (docs/ANALYSIS.md), node names already scrubbed, and its length.
    pub samples_csv: R,
    pub samples_csv_len: u64,
    /// The analyses as JSON.
    pub summary_json: &'a str,
    pub report_html: &'a str,
    /// A saved `nodewarden probe --json`, if the operator adds one.
    pub probe_json: Option<&'a str>,
    /// Where the samples came from (file, run), and which nodes.
    pub source: &'a str,
    pub nodes: &'a [&'a str],
    pub version: &'a str,
    pub created_ms: u64,
    /// More JSON documents (name, text), e.g. `db/<node>.json` database inspections.
    pub extra: &'a [(String, String)],
}

/// Writes `samples.csv`, `summary.json`, `report.html`, `manifest.json` (and `probe.json`)
/// under `nodewarden-report/`; every text is scrubbed on the way in.
pub fn write_run_bundle<W: Write, R: Read>(out: W, b: RunBundle<'_, R>) -> io::Result<W> {
    let mut files = vec![
        "samples.csv",
        "summary.json",
        "report.html",
        "manifest.json",
    ];
    if b.probe_json.is_some() {
        files.push("probe.json");
    }
    files.extend(b.extra.iter().map(|(name, _)| name.as_str()));
    let manifest = serde_json::json!({
        "tool": "nodewarden",
        "version": b.version,
        "created_ms": b.created_ms,
        "source": b.source,
        "nodes": b.nodes,
        "files": files,
        "hardware_probe": b.probe_json.map(|_| "probe.json"),
        "redacted": "IP addresses, credentials in URLs, keys and secret=value pairs",
    });
    let manifest = serde_json::to_string_pretty(&manifest).map_err(io::Error::other)?;
    let mut w = Bundle::new(out, "nodewarden-report", b.created_ms / 1000)?;
    w.add_stream("samples.csv", b.samples_csv_len, b.samples_csv)?;
    w.add_text("summary.json", b.summary_json)?;
    w.add_text("report.html", b.report_html)?;
    w.add_text("manifest.json", &manifest)?;
    if let Some(p) = b.probe_json {
        w.add_text("probe.json", p)?;
    }
    for (name, text) in b.extra {
        w.add_text(name, text)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_redaction() {
        let mut b = Bundle::new(Vec::new(), "nodewarden-report", 1_700_000_000).unwrap();
        b.add_text("summary.json", "{\"node\":\"10.1.2.3\"}")
            .unwrap();
        let csv = b"t_ms,node\n1,a\n";
        b.add_stream("samples.csv", csv.len() as u64, &csv[..])
            .unwrap();
        let bytes = b.finish().unwrap();
        let tar_bytes = zstd::decode_all(&bytes[..]).unwrap();
        let mut ar = tar::Archive::new(&tar_bytes[..]);
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            seen.push((e.path().unwrap().display().to_string(), s));
        }
        assert_eq!(
            seen,
            vec![
                (
                    "nodewarden-report/summary.json".into(),
                    "{\"node\":\"[ipv4]\"}".into()
                ),
                (
                    "nodewarden-report/samples.csv".into(),
                    "t_ms,node\n1,a\n".into()
                ),
            ]
        );
    }
}
