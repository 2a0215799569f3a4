//! One disk job of the probe, alone, for scripts/bench/probe.sh: it runs each job right
//! next to its fio twin, because on shared machines the disk changes speed within seconds
//! and a full probe 20 s away from fio would compare two different moments.
//!   disk_job fsync DIR [SECONDS] | write FILE | read FILE | rand FILE
//! Full-probe sizes and limits; `fsync DIR SECONDS` syncs for exactly that long instead of
//! stopping at 4000 syncs, so it can be paired with a time-based fio job.
//! Prints one JSON object with the figure(s).
use std::path::Path;
use std::sync::atomic::AtomicBool;

use nodewarden_probe::hw::{Plan, disk};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (job, path, secs) = match args.as_slice() {
        [j, p] => (j.as_str(), Path::new(p), None),
        [j, p, s] if j == "fsync" => (
            j.as_str(),
            Path::new(p),
            Some(
                s.parse::<f64>()
                    .unwrap_or_else(|_| fail("SECONDS must be a number")),
            ),
        ),
        _ => fail("usage: disk_job fsync DIR [SECONDS] | write FILE | read FILE | rand FILE"),
    };
    let mut plan = Plan::full().disk;
    if let Some(s) = secs {
        plan.fsync_ops = usize::MAX;
        plan.fsync_time = std::time::Duration::from_secs_f64(s);
    }
    let cancel = AtomicBool::new(false);
    let len = || {
        std::fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())))
    };
    let out = match job {
        "fsync" => {
            let lat = disk::fsync_latencies(path, &plan, &cancel)
                .unwrap_or_else(|e| fail(&e.to_string()));
            format!(
                "{{\"fsync_p50_ms\": {}, \"fsync_p99_ms\": {}, \"samples\": {}}}",
                disk::percentile(&lat, 50.0).unwrap_or(f64::NAN),
                disk::percentile(&lat, 99.0).unwrap_or(f64::NAN),
                lat.len()
            )
        }
        "write" => {
            let (mb_s, bytes, direct) =
                disk::seq_write(path, &plan, &cancel).unwrap_or_else(|e| fail(&e.to_string()));
            format!("{{\"seq_write_mb_s\": {mb_s}, \"bytes\": {bytes}, \"direct_io\": {direct}}}")
        }
        "read" => {
            let v = disk::seq_read(path, len(), true, plan.seq_time, &cancel)
                .unwrap_or_else(|e| fail(&e.to_string()));
            format!("{{\"seq_read_mb_s\": {v}}}")
        }
        "rand" => {
            let v = disk::rand_read(path, len(), true, plan.rand_time, &cancel)
                .unwrap_or_else(|e| fail(&e.to_string()));
            format!("{{\"rand_read_iops\": {v}}}")
        }
        other => fail(&format!("unknown job `{other}`")),
    };
    println!("{out}");
}

fn fail(msg: &str) -> ! {
    eprintln!("disk_job: {msg}");
    std::process::exit(2)
}
