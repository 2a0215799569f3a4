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
into a .tar.zst, plus probe.json (a quick hardware probe of the disk the bundle is written
to or the first node's data dir, unless --no-probe; or the file given with --probe) and
db/NODE.json (`nodewarden db inspect` of each configured node's data dir), with IP
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
    /// With --bundle: add this hardware probe (the output of `nodewarden probe --json`)
    /// instead of running a quick one.
    #[arg(long, value_name = "PROBE.json", requires = "bundle")]
    pub probe: Option<PathBuf>,
    /// With --bundle: no hardware probe (by default a quick one runs, under 10 s).
    #[arg(long, requires = "bundle", conflicts_with = "probe")]
    pub no_probe: bool,
    /// `auto` or a duration: how long a flat height (while behind) lasts before it is a stall.
    #[arg(long, value_name = "auto|DURATION", default_value = "auto")]
    pub stall_after: StallAfter,
}

pub async fn run(args: ReportArgs, config: Option<&Path>) -> CmdResult {
    // Checked first: a bad probe file should not cost a pass over a long recording.
    let mut probe = args.probe.as_deref().map(read_probe).transpose()?;
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
    let restarts = input.remedies(args.node.as_deref());
    let mut pass = RunPass::new(opts.clone(), charts).with_restarts(restarts.clone());
    if let Input::Run { store, run, .. } = &input {
        pass = pass.with_priors(input::earlier_profiles(store, run.id, &run.nodes, &opts));
    }
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
    let db = match &input {
        Input::Run { store, run, .. } => db_points(store, run, args.node.as_deref()),
        Input::Csv(_) => Default::default(),
    };
    let result = pass
        .finish()
        .map_err(|e| {
            let path = match e {
                PassError::Csv(_) => args.csv.as_deref(),
                PassError::Scrubbed(_) => bundle_csv.as_ref().map(|t| t.0.as_path()),
            };
            Failure::runtime(format!("{}: {e}", path.unwrap_or(Path::new("?")).display()))
        })?
        .with_db(db);
    let evidence = input.forensics(args.node.as_deref());
    let mut out = crate::out::stdout();
    let mut notes = Vec::new();
    if args.json {
        writeln!(out, "{}", result.json()).map_err(Failure::runtime)?;
    } else {
        write!(out, "{}", result.text(&input.describe())).map_err(Failure::runtime)?;
        write!(out, "{}", nodewarden_report::forensics_text(&evidence))
            .map_err(Failure::runtime)?;
        write!(out, "{}", nodewarden_report::remedies_text(&restarts)).map_err(Failure::runtime)?;
    }
    if let Some(path) = &args.csv {
        notes.push(format!("wrote {}", path.display()));
    }
    let version = env!("CARGO_PKG_VERSION");
    let title = format!("nodewarden report: {}", input.label());
    let html = charts.then(|| {
        let page = result.html(&title, &input.describe(), version);
        let extra = nodewarden_report::forensics_html(&evidence)
            + &nodewarden_report::remedies_html(&restarts);
        match page.rfind("</body>") {
            Some(i) if !extra.is_empty() => format!("{}{extra}{}", &page[..i], &page[i..]),
            _ => page,
        }
    });
    if let (Some(path), Some(html)) = (&args.html, &html) {
        std::fs::write(path, html)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        notes.push(format!("wrote {}", path.display()));
    }
    if let (Some(path), Some(html), Some(csv)) = (&args.bundle, &html, &bundle_csv) {
        let nodes = configured_nodes(config);
        if probe.is_none() && !args.no_probe {
            probe = quick_probe(path, &nodes).await;
        }
        let mut extra = db_summaries(&nodes);
        if !evidence.is_empty() {
            // Log lines and dumps are free text: the bundle scrubs them like the rest.
            let json = serde_json::to_string_pretty(&evidence).map_err(Failure::runtime)?;
            extra.push(("forensics.json".to_string(), json));
        }
        let parts = BundleParts {
            csv: &csv.0,
            html,
            probe: probe.as_deref(),
            extra: &extra,
        };
        write_bundle(path, parts, &result, &input, version)?;
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

/// The nodes of the config, when there is one and it loads; a report needs none.
fn configured_nodes(config: Option<&Path>) -> Vec<nodewarden_config::NodeConfig> {
    nodewarden_config::Config::load(config)
        .map(|l| l.config.nodes)
        .unwrap_or_default()
}

/// A quick hardware probe of the first node's data dir, else of the disk the bundle goes
/// to; a failed probe leaves the bundle without one (noted on stderr).
pub(crate) async fn quick_probe(
    bundle: &Path,
    nodes: &[nodewarden_config::NodeConfig],
) -> Option<String> {
    let dir = nodes
        .iter()
        .filter_map(|n| n.data_dir.clone())
        .find(|d| d.is_dir())
        .or_else(|| bundle.is_dir().then(|| bundle.to_path_buf()))
        .or_else(|| bundle.parent().map(Path::to_path_buf))
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    eprintln!(
        "running a quick hardware probe on {} for the bundle (under 10 s; --no-probe skips it)",
        dir.display()
    );
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let plan = nodewarden_probe::hw::Plan::quick();
    let run = tokio::task::spawn_blocking(move || {
        nodewarden_probe::hw::run(&dir, &plan, true, &nodewarden_probe::hw::Silent, &cancel)
    });
    match run.await {
        Ok(Ok(mut r)) => {
            r.verdicts = nodewarden_probe::hw::Minimums::shipped().verdicts(&r, None);
            serde_json::to_string_pretty(&r).ok()
        }
        Ok(Err(e)) => {
            eprintln!("nodewarden: the bundle has no hardware probe: {e}");
            None
        }
        Err(e) => {
            eprintln!("nodewarden: the bundle has no hardware probe: {e}");
            None
        }
    }
}

/// `db/<node>.json`: the database inspection of every configured data dir that has one.
fn db_summaries(nodes: &[nodewarden_config::NodeConfig]) -> Vec<(String, String)> {
    nodes
        .iter()
        .filter_map(|n| {
            let i = nodewarden_db::inspect(n.data_dir.as_deref()?).ok()?;
            let name = nodewarden_report::redact(&n.name).replace(['/', '\\'], "_");
            Some((
                format!("db/{name}.json"),
                serde_json::to_string_pretty(&i).ok()?,
            ))
        })
        .collect()
}

/// What goes into the bundle beside the pass's analyses.
struct BundleParts<'a> {
    csv: &'a Path,
    html: &'a str,
    probe: Option<&'a str>,
    extra: &'a [(String, String)],
}

fn write_bundle(
    path: &Path,
    parts: BundleParts<'_>,
    result: &RunResult,
    input: &Input,
    version: &str,
) -> Result<(), Failure> {
    let BundleParts {
        csv,
        html,
        probe,
        extra,
    } = parts;
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
            extra,
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

/// Points per chart: one per pixel of a wide chart is plenty.
const DB_POINTS: usize = 2_000;

/// The run's recorded database points per node; none when the recording cannot say (the
/// report goes on without the chart).
fn db_points(
    store: &nodewarden_record::Recording,
    run: &nodewarden_record::RunInfo,
    only: Option<&str>,
) -> std::collections::HashMap<String, Vec<nodewarden_model::DbPoint>> {
    run.nodes
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| only.is_none_or(|o| o == *n))
        .filter_map(|n| match store.db_points(run.id, n, DB_POINTS) {
            Ok(p) if !p.is_empty() => Some((n.to_string(), p)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("database points of {n}: {e}");
                None
            }
        })
        .collect()
}
