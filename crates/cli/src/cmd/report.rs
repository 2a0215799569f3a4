//! `nodewarden report RUN|FILE`: the analysis of a recorded run or a samples CSV, as a
//! terminal summary, JSON, HTML, CSV export or a shareable bundle. One pass over the
//! samples feeds the analysis, the chart series and the exports.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use nodewarden_analyze::{AnalyzeOptions, StallAfter};
use nodewarden_report::{BundleInput, PassError, RunPass, RunResult};

use crate::cmd::input::{self, Input};
use crate::exit::{CmdResult, Failure};

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
    let mut pass = RunPass::new(opts, charts);
    if let Some(path) = &args.csv {
        pass = pass
            .export_csv(create(path)?)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
    }
    let bundle_csv = args.bundle.as_ref().map(|b| TempFile(tmp_path(b)));
    if let Some(t) = &bundle_csv {
        pass = pass
            .export_scrubbed_csv(create(&t.0)?)
            .map_err(|e| Failure::runtime(format!("{}: {e}", t.0.display())))?;
    }
    let (count, seen) = input.for_each(args.node.as_deref(), |s| pass.push(s))?;
    if count == 0 {
        return Err(match &args.node {
            Some(node) if !seen.is_empty() => input::unknown_node(node, &input, &seen),
            _ => Failure::usage(format!("{}: no samples", input.describe())),
        });
    }
    let result = pass.finish().map_err(|e| {
        let path = match e {
            PassError::Csv(_) => args.csv.as_deref(),
            PassError::Scrubbed(_) => bundle_csv.as_ref().map(|t| t.0.as_path()),
        };
        Failure::runtime(format!("{}: {e}", path.unwrap_or(Path::new("?")).display()))
    })?;
    let mut out = crate::out::stdout();
    let mut notes = Vec::new();
    if args.json {
        writeln!(out, "{}", result.json()).map_err(Failure::runtime)?;
    } else {
        let source = input.describe();
        for (i, a) in result.analyses.iter().enumerate() {
            if i > 0 {
                writeln!(out).map_err(Failure::runtime)?;
            }
            write!(out, "{}", nodewarden_report::analysis_text(a, &source))
                .map_err(Failure::runtime)?;
        }
    }
    if let Some(path) = &args.csv {
        notes.push(format!("wrote {}", path.display()));
    }
    let version = env!("CARGO_PKG_VERSION");
    let title = format!("nodewarden report: {}", input.label());
    let html = charts.then(|| result.html(&title, &input.describe(), version));
    if let (Some(path), Some(html)) = (&args.html, &html) {
        std::fs::write(path, html)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        notes.push(format!("wrote {}", path.display()));
    }
    if let (Some(path), Some(html), Some(csv)) = (&args.bundle, &html, &bundle_csv) {
        write_bundle(
            path,
            &csv.0,
            &result,
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

/// A buffered output file, boxed for the pass.
fn create(path: &Path) -> Result<Box<dyn Write + Send>, Failure> {
    let file =
        File::create(path).map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 20, file)))
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
    result: &RunResult,
    html: &str,
    probe: Option<&str>,
    input: &Input,
    version: &str,
) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::runtime(format!("{}: {e}", path.display()));
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let tmp = path.with_extension("partial");
    let file = File::create(&tmp).map_err(fail)?;
    let source = input.label();
    let write = || -> std::io::Result<()> {
        let samples = File::open(csv)?;
        let scrubbed_csv_len = samples.metadata()?.len();
        let bundle = BundleInput {
            scrubbed_csv: samples,
            scrubbed_csv_len,
            html,
            probe_json: probe,
            source: &source,
            version,
            created_ms,
        };
        nodewarden_report::write_bundle(BufWriter::new(file), result, bundle)?.flush()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    // A bundle that exists is complete.
    std::fs::rename(&tmp, path).map_err(fail)
}
