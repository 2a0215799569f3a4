//! One pass over a run's samples feeds everything a report is made of: the analysis, the
//! chart timelines, a CSV export and the scrubbed CSV of a shareable bundle. `report` (from
//! a recording or a CSV) and the dashboard (from the live recording) both stream samples
//! through a [`RunPass`], so neither holds a run in memory and both render the same thing.
use std::collections::HashMap;
use std::io::{self, Read, Write};

use nodewarden_analyze::{Analysis, AnalyzeOptions, Analyzer, CsvWriter};
use nodewarden_model::{DbPoint, Sample};

use crate::bundle::{RunBundle, write_run_bundle};
use crate::html::{NodeData, node_fragment, report_html};
use crate::redact::redact;
use crate::text::analysis_text_db;
use crate::timeline::{TimePoint, Timeline};

/// Points per node in the charts: enough for a 1100-pixel-wide chart.
pub const CHART_POINTS: usize = 600;

type Sink = Box<dyn Write + Send>;

/// A CSV being written, and the first error writing it (the pass goes on; `finish` reports
/// it).
struct Export {
    writer: Option<CsvWriter<Sink>>,
    error: Option<io::Error>,
}

impl Export {
    fn new(out: Sink) -> io::Result<Export> {
        let writer = CsvWriter::new(out).map_err(io::Error::other)?;
        Ok(Export {
            writer: Some(writer),
            error: None,
        })
    }

    fn write(&mut self, s: &Sample) {
        if let Some(w) = &mut self.writer
            && let Err(e) = w.write(s)
        {
            self.error = Some(io::Error::other(e));
            self.writer = None;
        }
    }

    fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(w) = self.writer.take() {
            w.into_inner().map_err(io::Error::other)?.flush()?;
        }
        Ok(())
    }
}

/// Which CSV of a pass failed to write.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("the CSV export: {0}")]
    Csv(#[source] io::Error),
    #[error("the bundle's samples: {0}")]
    Scrubbed(#[source] io::Error),
}

/// The streaming pass. Feed it every sample in time order, then [`RunPass::finish`].
pub struct RunPass {
    analyzer: Analyzer,
    charts: bool,
    timelines: Vec<Timeline>,
    csv: Option<Export>,
    scrubbed: Option<Export>,
    // Node names are the samples' only free text: scrubbed once per name.
    clean_names: HashMap<String, String>,
    scratch: Sample,
    samples: u64,
    restarts: Vec<nodewarden_model::RemedyEvent>,
}

impl RunPass {
    /// The watchdog's restarts, drawn on the height charts.
    pub fn with_restarts(mut self, restarts: Vec<nodewarden_model::RemedyEvent>) -> RunPass {
        self.restarts = restarts;
        self
    }

    /// `charts`: keep the bounded timelines the HTML charts draw.
    pub fn new(opts: AnalyzeOptions, charts: bool) -> RunPass {
        RunPass {
            analyzer: Analyzer::new(opts),
            charts,
            timelines: Vec::new(),
            csv: None,
            scrubbed: None,
            clean_names: HashMap::new(),
            scratch: Sample::default(),
            samples: 0,
            restarts: Vec::new(),
        }
    }

    /// Gives each named node's ETA the cost shape of an earlier run of its chain.
    pub fn with_priors(
        mut self,
        priors: std::collections::HashMap<String, nodewarden_analyze::CostProfile>,
    ) -> RunPass {
        self.analyzer = self.analyzer.with_priors(priors);
        self
    }

    /// Also write every sample as CSV to `out`.
    pub fn export_csv(mut self, out: Sink) -> io::Result<RunPass> {
        self.csv = Some(Export::new(out)?);
        Ok(self)
    }

    /// Also write every sample, node names scrubbed, to `out`: the bundle's samples.
    pub fn export_scrubbed_csv(mut self, out: Sink) -> io::Result<RunPass> {
        self.scrubbed = Some(Export::new(out)?);
        Ok(self)
    }

    pub fn push(&mut self, s: &Sample) {
        self.samples += 1;
        self.analyzer.push(s);
        if self.charts {
            match self.timelines.iter_mut().rev().find(|t| t.node() == s.node) {
                Some(t) => t.push(s),
                None => {
                    let mut t = Timeline::new(s.node.clone(), CHART_POINTS);
                    t.push(s);
                    self.timelines.push(t);
                }
            }
        }
        if let Some(e) = &mut self.csv {
            e.write(s);
        }
        if let Some(e) = &mut self.scrubbed {
            let clean = self
                .clean_names
                .entry(s.node.clone())
                .or_insert_with(|| redact(&s.node));
            self.scratch.clone_from(s);
            self.scratch.node.clone_from(clean);
            e.write(&self.scratch);
        }
    }

    /// Flushes the exports and returns the analyses, one per node in order of first
    /// appearance, with their chart points.
    pub fn finish(self) -> Result<RunResult, PassError> {
        if let Some(e) = self.csv {
            e.finish().map_err(PassError::Csv)?;
        }
        if let Some(e) = self.scrubbed {
            e.finish().map_err(PassError::Scrubbed)?;
        }
        let analyses = self.analyzer.finish();
        let timelines = analyses
            .iter()
            .map(|a| {
                self.timelines
                    .iter()
                    .find(|t| t.node() == a.node)
                    .map(Timeline::points)
                    .unwrap_or_default()
            })
            .collect();
        Ok(RunResult {
            analyses,
            timelines,
            samples: self.samples,
            db: HashMap::new(),
            restarts: self.restarts,
        })
    }
}

/// What a pass found.
pub struct RunResult {
    pub analyses: Vec<Analysis>,
    /// Chart points per analysis (empty without charts).
    pub timelines: Vec<Vec<TimePoint>>,
    pub samples: u64,
    /// Recorded database points by node (see [`RunResult::with_db`]).
    pub db: HashMap<String, Vec<DbPoint>>,
    /// The watchdog's restarts the pass was given.
    pub restarts: Vec<nodewarden_model::RemedyEvent>,
}

impl RunResult {
    /// Adds each node's recorded database points: a chart beside the sync graph, and stall
    /// causes that say what the database was doing.
    pub fn with_db(mut self, db: HashMap<String, Vec<DbPoint>>) -> RunResult {
        self.db = db;
        self
    }

    fn db_points(&self, node: &str) -> &[DbPoint] {
        self.db.get(node).map_or(&[], Vec::as_slice)
    }

    /// The terminal report of every node.
    pub fn text(&self, source: &str) -> String {
        let parts: Vec<String> = self
            .analyses
            .iter()
            .map(|a| analysis_text_db(a, source, self.db_points(&a.node)))
            .collect();
        parts.join("\n")
    }

    fn nodes(&self) -> Vec<NodeData<'_>> {
        self.analyses
            .iter()
            .zip(&self.timelines)
            .map(|(analysis, timeline)| NodeData {
                analysis,
                timeline,
                db: self.db_points(&analysis.node),
                restarts: self
                    .restarts
                    .iter()
                    .filter(|e| e.node == analysis.node)
                    .collect(),
            })
            .collect()
    }

    /// The self-contained HTML report of every node.
    pub fn html(&self, title: &str, source: &str, version: &str) -> String {
        report_html(title, source, version, &self.nodes())
    }

    /// The first node's section, as the dashboard's node page embeds it.
    pub fn node_fragment(&self) -> Option<String> {
        self.nodes().first().map(node_fragment)
    }

    /// The analyses as the JSON `report --json` prints and bundles carry.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(&self.analyses).unwrap_or_else(|_| "[]".into())
    }
}

/// What a bundle needs beyond the pass: the scrubbed samples CSV written by
/// [`RunPass::export_scrubbed_csv`], and where it all came from.
pub struct BundleInput<'a, R: Read> {
    pub scrubbed_csv: R,
    pub scrubbed_csv_len: u64,
    pub html: &'a str,
    pub probe_json: Option<&'a str>,
    pub source: &'a str,
    pub version: &'a str,
    pub created_ms: u64,
    pub extra: &'a [(String, String)],
}

/// The shareable `.tar.zst` of a pass: samples, summary, HTML, manifest (and probe).
pub fn write_bundle<W: Write, R: Read>(
    out: W,
    result: &RunResult,
    input: BundleInput<'_, R>,
) -> io::Result<W> {
    let summary = result.json();
    let nodes: Vec<String> = result.analyses.iter().map(|a| redact(&a.node)).collect();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    write_run_bundle(
        out,
        RunBundle {
            samples_csv: input.scrubbed_csv,
            samples_csv_len: input.scrubbed_csv_len,
            summary_json: &summary,
            report_html: input.html,
            probe_json: input.probe_json,
            source: input.source,
            nodes: &nodes,
            version: input.version,
            created_ms: input.created_ms,
            extra: input.extra,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodewarden_model::SyncState;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read after the pass has dropped it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn samples() -> Vec<Sample> {
        (0..50)
            .flat_map(|i| {
                ["10.0.0.7", "b"].map(|node| {
                    let mut s = Sample::new(i * 2000, node, SyncState::Syncing);
                    s.current = Some(i as u64 * 10);
                    s.target = Some(1000);
                    s
                })
            })
            .collect()
    }

    #[test]
    fn one_pass_feeds_analysis_charts_and_both_csvs() {
        let (plain, clean) = (Shared::default(), Shared::default());
        let mut pass = RunPass::new(AnalyzeOptions::default(), true)
            .export_csv(Box::new(plain.clone()))
            .unwrap()
            .export_scrubbed_csv(Box::new(clean.clone()))
            .unwrap();
        for s in samples() {
            pass.push(&s);
        }
        let r = pass.finish().unwrap();
        assert_eq!(r.samples, 100);
        assert_eq!(r.analyses.len(), 2);
        assert!(r.timelines.iter().all(|t| !t.is_empty()));
        let plain = String::from_utf8(plain.0.lock().unwrap().clone()).unwrap();
        let clean = String::from_utf8(clean.0.lock().unwrap().clone()).unwrap();
        assert_eq!(plain.lines().count(), 101, "header and every sample");
        assert!(plain.contains("10.0.0.7"));
        assert!(!clean.contains("10.0.0.7"), "node names are scrubbed");
        assert_eq!(clean.lines().count(), 101);
        assert!(r.html("t", "s", "v").contains("<svg"));
    }

    #[test]
    fn a_failing_export_is_reported_not_swallowed() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::Error::other("disk full"))
            }
        }
        let pass = RunPass::new(AnalyzeOptions::default(), false).export_csv(Box::new(Broken));
        let mut pass = match pass {
            Ok(p) => p,
            // The header may already fail: also a reported error.
            Err(e) => return assert!(e.to_string().contains("disk full")),
        };
        for s in samples() {
            pass.push(&s);
        }
        let err = pass.finish().err().expect("the export failed");
        assert!(err.to_string().contains("CSV export"), "{err}");
    }
}
