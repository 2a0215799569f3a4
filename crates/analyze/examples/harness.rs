//! The ground-truth harness: scores stall, outage, ETA and memory-trend detection on seeded
//! traces, with the naive baselines beside them, on a tuning set and an independent set.
//!
//! `cargo run --release -p nodewarden-analyze --example harness -- [--traces N] [--write DIR]`
//! (`scripts/bench/analysis.sh` runs it). `--write DIR` also leaves each trace's samples
//! (`DIR/SET/trace-SEED.csv`) and truth (`trace-SEED.truth.json`) for inspection.

use nodewarden_analyze::groundtruth::{Trace, earlier_run, score_set_with, trace};
use nodewarden_analyze::{AnalyzeOptions, write_csv};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

/// The set the analysis was tuned on, and one it never saw during tuning.
const SETS: [(&str, u64); 2] = [
    ("tuning seeds 1..", 1),
    ("independent seeds 10001..", 10_001),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut traces = 40u64;
    let mut write: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--traces" => traces = args.next().ok_or("--traces needs a number")?.parse()?,
            "--write" => write = Some(args.next().ok_or("--write needs a directory")?.into()),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let opts = AnalyzeOptions::default();
    for (label, first) in SETS {
        let started = Instant::now();
        let set: Vec<Trace> = (first..first + traces).map(trace).collect();
        if let Some(dir) = &write {
            let dir = dir.join(format!("seeds-{first}"));
            std::fs::create_dir_all(&dir)?;
            for t in &set {
                let name = format!("trace-{}", t.truth.seed);
                write_csv(
                    BufWriter::new(File::create(dir.join(format!("{name}.csv")))?),
                    &t.samples,
                )?;
                serde_json::to_writer_pretty(
                    File::create(dir.join(format!("{name}.truth.json")))?,
                    &t.truth,
                )?;
            }
        }
        let samples: usize = set.iter().map(|t| t.samples.len()).sum();
        let earlier: Vec<Trace> = (first..first + traces).map(earlier_run).collect();
        let scores = score_set_with(&set, &opts, &earlier);
        print!("{}", scores.text(label));
        println!(
            "({samples} samples, generated and scored in {:.1?})\n",
            started.elapsed()
        );
    }
    Ok(())
}
