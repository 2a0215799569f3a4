//! `nodewarden report RUN|FILE`: the analysis of a recorded run or a samples CSV, as a
//! terminal summary, JSON, HTML, CSV export or a shareable bundle. One pass over the
//! samples feeds the analysis, the chart series and the exports.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use nodewarden_analyze::{AnalyzeOptions, Analyzer, CsvWriter, Sample, StallAfter};
use nodewarden_report::{NodeData, RunBundle, Timeline, redact, write_run_bundle};

use crate::cmd::input::{self, Input};
use crate::exit::{CmdResult, Failure};

/// Points per node in the charts: enough for a 1100-pixel-wide chart.
const CHART_POINTS: usize = 600;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
RUN|FILE is a recording (SQLite, as written by `watch --record`), a samples CSV (the
columns of docs/ANALYSIS.md), or a run of the recording given by --record (default: watch.record
in the config, else nodewarden.db): its name, its id or `latest`.

Examples:
  nodewarden report latest                          the last run in ./nodewarden.db
  nodewarden report demo.db --node znn-b            the last run in demo.db, one node
  nodewarden report build-b --record sync.db --html build-b.html
  nodewarden report demo.db --run demo-2 --json     one JSON object per node, in an array
  nodewarden report demo.db --csv samples.csv       export (then: nodewarden analyze samples.csv)
  nodewarden report samples.csv --bundle share.tar.zst

--bundle writes samples.csv, summary.json, report.html and manifest.json (tool version)
into a .tar.zst, plus probe.json with --probe (from `nodewarden probe --json`), with IP
addresses, credentials in URLs and keys scrubbed from every text.
Methods (stalls, ETA, cost by height): docs/ANALYSIS.md.")]
pub struct ReportArgs {
    /// A recording (.db), a samples CSV, or a run name/id/`latest` in the recording.
    #[arg(value_name = "RUN|FILE")]
    pub source: String,
    /// The recording RUN is in [default: watch.record, else nodewarden.db].
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With a recording FILE: which run [default: latest].
    #[arg(long, value_name = "NAME")]
    pub run: Option<String>,
    /// Only this node [default: every node of the run].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Write a self-contained HTML report with charts.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
    /// Print the analysis as JSON (an array, one object per node) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Export the samples as CSV (exactly the columns of docs/ANALYSIS.md).
    #[arg(long, value_name = "OUT")]
    pub csv: Option<PathBuf>,
    /// Write a shareable .tar.zst: samples CSV, summary JSON, HTML, tool version.
    #[arg(long, value_name = "OUT.tar.zst")]
    pub bundle: Option<PathBuf>,
    /// With --bundle: add this hardware probe (the output of `nodewarden probe --json`).
    #[arg(long, value_name = "PROBE.json", requires = "bundle")]
    pub probe: Option<PathBuf>,
    /// `auto` or a duration: how long a flat height (while behind) lasts before it is a stall.
    #[arg(long, value_name = "auto|DURATION", default_value = "auto")]
    pub stall_after: StallAfter,
}

/// A CSV being written, and the first error writing it.
struct Export {
    path: PathBuf,
    writer: Option<CsvWriter<BufWriter<File>>>,
    error: Option<String>,
}

impl Export {
    fn create(path: &Path) -> Result<Export, Failure> {
        let file =
            File::create(path).map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        let writer = CsvWriter::new(BufWriter::with_capacity(1 << 20, file))
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        Ok(Export {
            path: path.to_path_buf(),
            writer: Some(writer),
            error: None,
        })
    }

    fn write(&mut self, s: &Sample) {
        if let Some(w) = &mut self.writer
            && let Err(e) = w.write(s)
        {
            self.error = Some(e.to_string());
            self.writer = None;
        }
    }

    fn finish(mut self) -> Result<PathBuf, Failure> {
        let fail = |e: String| Failure::runtime(format!("{}: {e}", self.path.display()));
        if let Some(e) = self.error.take() {
            return Err(fail(e));
        }
        if let Some(w) = self.writer.take() {
            let mut inner = w.into_inner().map_err(|e| fail(e.to_string()))?;
            inner.flush().map_err(|e| fail(e.to_string()))?;
        }
        Ok(self.path)
    }
}

pub fn run(args: ReportArgs, config: Option<&Path>) -> CmdResult {
    // Checked first: a bad probe file should not cost a pass over a long recording.
    let probe = args.probe.as_deref().map(read_probe).transpose()?;
    let input = input::open(
        &args.source,
        args.run.as_deref(),
        args.record.as_deref(),
        config,
    )?;
    for out in [&args.csv, &args.html, &args.bundle].into_iter().flatten() {
        input.check_output(out)?;
    }
    if let Some(node) = &args.node {
        let known = input.known_nodes();
        if !known.is_empty() && !known.contains(node) {
            return Err(input::unknown_node(node, &input, &known));
        }
    }
    let opts = AnalyzeOptions {
        stall_after: args.stall_after,
        ..AnalyzeOptions::default()
    };
    let charts = args.html.is_some() || args.bundle.is_some();
    let mut analyzer = Analyzer::new(opts);
    let mut timelines: Vec<Timeline> = Vec::new();
    let mut export = args.csv.as_deref().map(Export::create).transpose()?;
    let bundle_csv = args.bundle.as_ref().map(|b| TempFile(tmp_path(b)));
    let mut shared = bundle_csv
        .as_ref()
        .map(|t| Export::create(&t.0))
        .transpose()?;
    // Node names are the samples' only free text: scrub them once per name.
    let mut clean_names: HashMap<String, String> = HashMap::new();
    let mut scrubbed = Sample::default();
    let streamed = input.for_each(args.node.as_deref(), |s| {
        analyzer.push(s);
        if charts {
            match timelines.iter_mut().rev().find(|t| t.node() == s.node) {
                Some(t) => t.push(s),
                None => {
                    let mut t = Timeline::new(s.node.clone(), CHART_POINTS);
                    t.push(s);
                    timelines.push(t);
                }
            }
        }
        if let Some(e) = &mut export {
            e.write(s);
        }
        if let Some(e) = &mut shared {
            if !clean_names.contains_key(&s.node) {
                clean_names.insert(s.node.clone(), redact(&s.node));
            }
            scrubbed.clone_from(s);
            scrubbed.node.clone_from(&clean_names[&s.node]);
            e.write(&scrubbed);
        }
    });
    let (count, seen) = streamed?;
    if count == 0 {
        return Err(match &args.node {
            Some(node) if !seen.is_empty() => input::unknown_node(node, &input, &seen),
            _ => Failure::usage(format!("{}: no samples", input.describe())),
        });
    }
    let analyses = analyzer.finish();
    let mut out = crate::out::stdout();
    let mut notes = Vec::new();
    if args.json {
        let json = serde_json::to_string_pretty(&analyses).map_err(Failure::runtime)?;
        writeln!(out, "{json}").map_err(Failure::runtime)?;
    } else {
        let source = input.describe();
        for (i, a) in analyses.iter().enumerate() {
            if i > 0 {
                writeln!(out).map_err(Failure::runtime)?;
            }
            write!(out, "{}", nodewarden_report::analysis_text(a, &source))
                .map_err(Failure::runtime)?;
        }
    }
    if let Some(e) = export {
        notes.push(format!("wrote {}", e.finish()?.display()));
    }
    let version = env!("CARGO_PKG_VERSION");
    let title = format!("nodewarden report: {}", input.label());
    let html = charts.then(|| {
        let points: Vec<Vec<_>> = analyses
            .iter()
            .map(|a| {
                timelines
                    .iter()
                    .find(|t| t.node() == a.node)
                    .map(Timeline::points)
                    .unwrap_or_default()
            })
            .collect();
        let nodes: Vec<NodeData<'_>> = analyses
            .iter()
            .zip(&points)
            .map(|(analysis, timeline)| NodeData { analysis, timeline })
            .collect();
        nodewarden_report::report_html(&title, &input.describe(), version, &nodes)
    });
    if let (Some(path), Some(html)) = (&args.html, &html) {
        std::fs::write(path, html)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        notes.push(format!("wrote {}", path.display()));
    }
    if let (Some(path), Some(html), Some(e)) = (&args.bundle, &html, shared) {
        let csv = e.finish()?;
        write_bundle(
            path,
            &csv,
            &analyses,
            html,
            probe.as_deref(),
            &input,
            version,
        )?;
        notes.push(format!("wrote {}", path.display()));
    }
    // Notes go to stderr when stdout is JSON, so the JSON stays parseable.
    for n in notes {
        if args.json {
            eprintln!("{n}");
        } else {
            writeln!(out, "{n}").map_err(Failure::runtime)?;
        }
    }
    Ok(0)
}

/// A file removed when dropped, whatever path the command takes out.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A temporary file next to `out` (same filesystem, removed after use).
fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.samples.tmp", std::process::id()));
    out.with_file_name(name)
}

fn read_probe(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
        Failure::usage(format!(
            "{}: not JSON ({e}); expected the output of `nodewarden probe --json`",
            path.display()
        ))
    })?;
    Ok(text)
}

fn write_bundle(
    path: &Path,
    csv: &Path,
    analyses: &[nodewarden_analyze::Analysis],
    html: &str,
    probe: Option<&str>,
    input: &Input,
    version: &str,
) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::runtime(format!("{}: {e}", path.display()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let summary = serde_json::to_string_pretty(analyses).map_err(Failure::runtime)?;
    let tmp = path.with_extension("partial");
    let file = File::create(&tmp).map_err(fail)?;
    let nodes: Vec<&str> = analyses.iter().map(|a| a.node.as_str()).collect();
    let source = input.label();
    let write = || -> std::io::Result<()> {
        let samples = File::open(csv)?;
        let samples_csv_len = samples.metadata()?.len();
        let bundle = RunBundle {
            samples_csv: samples,
            samples_csv_len,
            summary_json: &summary,
            report_html: html,
            probe_json: probe,
            source: &source,
            nodes: &nodes,
            version,
            created_ms: now.as_millis() as u64,
        };
        write_run_bundle(BufWriter::new(file), bundle)?.flush()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    // A bundle that exists is complete.
    std::fs::rename(&tmp, path).map_err(fail)
}
