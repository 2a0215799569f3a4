//! Where `report`, `analyze` and `compare` read samples from: a recording (SQLite) or a
//! samples CSV, named by path, or a run in the default recording. Wiring only: the
//! analysis is `nodewarden_analyze`'s.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use nodewarden_analyze::{AnalyzeOptions, CostProfile, NodeTracker, Sample, read_csv};
use nodewarden_record::{Recording, RunInfo};

use crate::exit::Failure;

/// A source of samples, opened and checked.
pub enum Input {
    Csv(PathBuf),
    Run {
        path: PathBuf,
        store: Box<Recording>,
        run: RunInfo,
    },
}

impl Input {
    /// For people: "run `demo-1` in demo.db" or "samples.csv".
    pub fn describe(&self) -> String {
        match self {
            Input::Csv(p) => p.display().to_string(),
            Input::Run { path, run, .. } => format!("run `{}` in {}", run.name, path.display()),
        }
    }

    /// The file the samples come from.
    pub fn path(&self) -> &Path {
        match self {
            Input::Csv(p) | Input::Run { path: p, .. } => p,
        }
    }

    /// Refuses an output file that is the input itself: creating it would truncate the
    /// samples before they are read.
    pub fn check_output(&self, out: &Path) -> Result<(), Failure> {
        let same = match (
            std::fs::canonicalize(self.path()),
            std::fs::canonicalize(out),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(Failure::usage(format!(
                "{}: refusing to overwrite the input",
                out.display()
            )));
        }
        Ok(())
    }

    /// A short label for comparisons: the run name or the file name.
    pub fn label(&self) -> String {
        match self {
            Input::Csv(p) => p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            Input::Run { run, .. } => run.name.clone(),
        }
    }

    /// The evidence captured at stall starts (a recording only).
    pub fn forensics(&self, node: Option<&str>) -> Vec<nodewarden_model::Forensics> {
        match self {
            Input::Csv(_) => Vec::new(),
            Input::Run { store, run, .. } => store.forensics(run.id, node).unwrap_or_default(),
        }
    }

    /// The watchdog's restarts (a recording's; a CSV has none).
    pub fn remedies(&self, node: Option<&str>) -> Vec<nodewarden_model::RemedyEvent> {
        match self {
            Input::Csv(_) => Vec::new(),
            Input::Run { store, run, .. } => store.remedies(run.id, node).unwrap_or_default(),
        }
    }

    /// Nodes known before reading (a run's registered nodes); empty for a CSV.
    pub fn known_nodes(&self) -> Vec<String> {
        match self {
            Input::Csv(_) => Vec::new(),
            Input::Run { run, .. } => run.nodes.iter().map(|(n, _)| n.clone()).collect(),
        }
    }

    /// Streams the samples (of `node` only, when given) in order; returns how many and the
    /// node names seen, in order of first appearance.
    pub fn for_each(
        &self,
        node: Option<&str>,
        mut f: impl FnMut(&Sample),
    ) -> Result<(u64, Vec<String>), Failure> {
        let mut seen: Vec<String> = Vec::new();
        let mut n = 0;
        let mut note = |s: &Sample| {
            if seen.last().map(String::as_str) != Some(s.node.as_str())
                && !seen.iter().any(|x| x == &s.node)
            {
                seen.push(s.node.clone());
            }
        };
        match self {
            Input::Csv(path) => {
                let file = File::open(path)
                    .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
                let reader = read_csv(BufReader::with_capacity(1 << 20, file))
                    .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
                for s in reader {
                    let s = s.map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
                    note(&s);
                    if node.is_none_or(|x| x == s.node) {
                        n += 1;
                        f(&s);
                    }
                }
            }
            Input::Run { store, run, .. } => {
                store
                    .for_each_sample(run.id, node, |s| {
                        note(&s);
                        n += 1;
                        f(&s);
                    })
                    .map_err(Failure::runtime)?;
            }
        }
        Ok((n, seen))
    }
}

/// Earlier runs looked at per node, newest first, before giving up on a cost shape.
const EARLIER_RUNS: usize = 3;

/// The cost shape of each node's newest earlier run in `store` (same node name and kind, a
/// run older than `before`) that yields one: the ETA's prior for the run at hand. A run
/// that cannot be read is skipped with a warning; the ETA then does without.
pub fn earlier_profiles(
    store: &Recording,
    before: i64,
    nodes: &[(String, String)],
    opts: &AnalyzeOptions,
) -> HashMap<String, CostProfile> {
    let runs = match store.runs() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("earlier runs for the ETA: {e}");
            return HashMap::new();
        }
    };
    let mut out = HashMap::new();
    for node in nodes {
        let earlier = runs
            .iter()
            .rev()
            .filter(|r| r.id < before && r.samples > 0 && r.nodes.contains(node))
            .take(EARLIER_RUNS);
        for run in earlier {
            let mut tracker = NodeTracker::new(node.0.clone(), opts.clone());
            if let Err(e) = store.for_each_sample(run.id, Some(&node.0), |s| tracker.push(&s)) {
                tracing::warn!("run `{}` for {}'s ETA: {e}", run.name, node.0);
                continue;
            }
            if let Some(p) = CostProfile::from_costs(&tracker.analysis().cost_by_height) {
                tracing::info!(
                    "{}: ETA shaped by run `{}` (heights {}..{})",
                    node.0,
                    run.name,
                    p.span().0,
                    p.span().1
                );
                out.insert(node.0.clone(), p);
                break;
            }
        }
    }
    out
}

/// True for an SQLite file (a recording), by its magic bytes.
pub fn is_recording(path: &Path) -> bool {
    let mut magic = [0u8; 16];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"SQLite format 3\0")
}

/// The recording used when none is named: `--record`, else the config's `watch.record`,
/// else `nodewarden.db`.
pub fn default_recording(record: Option<&Path>, config: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(r) = record {
        return Ok(r.to_path_buf());
    }
    let loaded = nodewarden_config::Config::load(config).map_err(Failure::usage)?;
    Ok(loaded.config.watch.record)
}

pub fn open_run(path: &Path, run: &str) -> Result<Input, Failure> {
    let store = Recording::open(path).map_err(Failure::usage)?;
    let run = store.resolve(run).map_err(Failure::usage)?;
    Ok(Input::Run {
        path: path.to_path_buf(),
        store: Box::new(store),
        run,
    })
}

/// `source` is a recording or CSV path, or else a run (name, id, `latest`) in the
/// default recording. `run` picks the run of a recording path.
pub fn open(
    source: &str,
    run: Option<&str>,
    record: Option<&Path>,
    config: Option<&Path>,
) -> Result<Input, Failure> {
    let path = Path::new(source);
    if path.is_file() {
        if is_recording(path) {
            return open_run(path, run.unwrap_or("latest"));
        }
        if let Some(r) = run {
            return Err(Failure::usage(format!(
                "--run {r}: {source} is a CSV file, not a recording; it has no runs"
            )));
        }
        return Ok(Input::Csv(path.to_path_buf()));
    }
    if path.is_dir() {
        return Err(Failure::usage(format!(
            "{source} is a directory; expected a recording (.db), a CSV or a run name"
        )));
    }
    let looks_like_path = source.contains('/')
        || [".db", ".csv", ".sqlite"]
            .iter()
            .any(|ext| source.ends_with(ext));
    if looks_like_path {
        return Err(Failure::usage(format!("{source}: no such file")));
    }
    if run.is_some() {
        return Err(Failure::usage(format!(
            "`{source}` is not a file: give the recording as FILE with --run, or the run as RUN with --record"
        )));
    }
    let db = default_recording(record, config)?;
    if !db.is_file() {
        return Err(Failure::usage(format!(
            "`{source}` is neither a file nor a run: the recording {} does not exist (name one with --record FILE)",
            db.display()
        )));
    }
    open_run(&db, source)
}

/// The one error for an unknown node, listing the ones there are.
pub fn unknown_node(node: &str, input: &Input, nodes: &[String]) -> Failure {
    Failure::usage(format!(
        "no node `{node}` in {} (nodes: {})",
        input.describe(),
        if nodes.is_empty() {
            "none".to_string()
        } else {
            nodes.join(", ")
        }
    ))
}
