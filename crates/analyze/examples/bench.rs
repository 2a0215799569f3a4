//! Times the streaming CSV analysis on a synthetic export.
//!
//! `cargo run --release -p nodewarden-analyze --example bench -- [ROWS] [FILE]` writes FILE
//! (default /tmp/nodewarden-bench.csv) with ROWS samples (default 10 million) of a slowing
//! sync with stalls, unless it already exists, then analyses it and prints the time.

use nodewarden_analyze::synth::{Event, EventKind, FlatCause, Phase, Profile, generate};
use nodewarden_analyze::{AnalyzeOptions, CsvWriter, analyze_csv};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map_or(Ok(10_000_000), |s| s.parse())?;
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/nodewarden-bench.csv".into());
    if !std::path::Path::new(&path).exists() {
        let started = Instant::now();
        // One sample per second for `rows` seconds, target reached near the end.
        let target = rows as u64 * 25;
        let mut p = Profile::new(
            "znn-main",
            target,
            vec![Phase::slowing(target + 1, 40.0, 15.0)],
        );
        p.interval_ms = 1_000;
        p.noise = 0.2;
        p.events = (1..20)
            .map(|i| Event {
                at: target / 20 * i,
                seconds: 900.0,
                kind: EventKind::Flat(FlatCause::Io),
            })
            .collect();
        let mut w = CsvWriter::new(BufWriter::new(File::create(&path)?))?;
        for s in generate(p).take(rows) {
            w.write(&s)?;
        }
        w.flush()?;
        eprintln!("wrote {path} in {:.1?}", started.elapsed());
    }
    let size = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let out = analyze_csv(
        BufReader::with_capacity(1 << 20, File::open(&path)?),
        &AnalyzeOptions::default(),
    )?;
    let took = started.elapsed();
    let a = &out[0];
    println!(
        "{} rows ({:.0} MB) in {:.2?}: {} stalls, {} cost buckets, eta {:?}",
        a.samples,
        size as f64 / 1e6,
        took,
        a.stalls.len(),
        a.cost_by_height.len(),
        a.eta_seconds
    );
    Ok(())
}
