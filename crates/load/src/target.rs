//! What the load did to the target: its process sampled through the run (found by the
//! port it listens on when the target is on this host, or by pid) — CPU per request, RSS at
//! start, peak and end, and whether it died or restarted under the load.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nodewarden_sample::{ProcessSampler, ProcessSelector};
use serde::{Deserialize, Serialize};

/// The target process over the run, as `--json` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetProcess {
    pub pid: u32,
    /// `port 8545`, `pid 1234`.
    pub found_by: String,
    pub cpu_seconds: Option<f64>,
    pub cpu_ms_per_request: Option<f64>,
    pub rss_start_bytes: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    pub rss_end_bytes: Option<u64>,
    /// End minus start: what the run left behind.
    pub rss_growth_bytes: Option<i64>,
    /// The process was gone at some sample (and did not come back as the same process).
    pub died: bool,
    /// A different process (new pid or start time) took its place during the run.
    pub restarted: bool,
    pub samples: u64,
}

/// The process behind `target`: `pid` when given, else whatever listens on the URL's port
/// when the host is this one (loopback). `None` for a remote target.
pub fn selector_for(target: &str, pid: Option<u32>) -> Option<(ProcessSelector, String)> {
    if let Some(p) = pid {
        return Some((ProcessSelector::Pid(p), format!("pid {p}")));
    }
    let port = nodewarden_sample::local_port(target)?;
    Some((ProcessSelector::ListeningPort(port), format!("port {port}")))
}

/// Samples the target on its own thread until [`TargetWatch::finish`].
pub struct TargetWatch {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Option<TargetProcess>>,
}

impl TargetWatch {
    pub fn start(selector: ProcessSelector, found_by: String, every: Duration) -> TargetWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || watch(selector, found_by, every, &flag));
        TargetWatch { stop, handle }
    }

    /// Stops sampling; `None` when the process was never found. `requests` sent in the run
    /// give the CPU cost per request.
    pub fn finish(self, requests: u64) -> Option<TargetProcess> {
        self.stop.store(true, Ordering::Relaxed);
        let mut t = self.handle.join().ok()??;
        t.cpu_ms_per_request = t
            .cpu_seconds
            .filter(|_| requests > 0)
            .map(|c| c * 1000.0 / requests as f64);
        Some(t)
    }
}

fn watch(
    selector: ProcessSelector,
    found_by: String,
    every: Duration,
    stop: &AtomicBool,
) -> Option<TargetProcess> {
    let mut sampler = ProcessSampler::new(selector);
    let first = sampler.sample()?;
    let mut t = TargetProcess {
        pid: first.pid,
        found_by,
        cpu_seconds: None,
        cpu_ms_per_request: None,
        rss_start_bytes: first.rss_bytes,
        rss_peak_bytes: first.rss_bytes,
        rss_end_bytes: first.rss_bytes,
        rss_growth_bytes: None,
        died: false,
        restarted: false,
        samples: 1,
    };
    let mut last = first;
    loop {
        // Checked after the sleep too: the last sample is taken when the run ends.
        let done = stop.load(Ordering::Relaxed);
        if !done {
            std::thread::sleep(every);
        }
        match sampler.sample() {
            Some(s) if s.pid == first.pid && s.start_ticks == first.start_ticks => {
                t.samples += 1;
                t.rss_peak_bytes = t.rss_peak_bytes.max(s.rss_bytes);
                t.rss_end_bytes = s.rss_bytes;
                last = s;
            }
            Some(_) => t.restarted = true,
            None => t.died = true,
        }
        if done || stop.load(Ordering::Relaxed) && t.samples > 1 {
            break;
        }
    }
    if t.restarted {
        t.died = true;
    }
    t.cpu_seconds = match (first.cpu_seconds, last.cpu_seconds) {
        (Some(a), Some(b)) if b >= a => Some(b - a),
        _ => None,
    };
    t.rss_growth_bytes = match (t.rss_start_bytes, t.rss_end_bytes) {
        (Some(a), Some(b)) => Some(b as i64 - a as i64),
        _ => None,
    };
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_targets_are_sampled() {
        let (_, by) = selector_for("http://127.0.0.1:35997", None).unwrap();
        assert_eq!(by, "port 35997");
        assert!(selector_for("http://[::1]:8545/rpc", None).is_some());
        assert!(selector_for("http://localhost", None).is_some());
        assert!(selector_for("http://10.1.2.3:8545", None).is_none());
        assert!(selector_for("http://node.example:8545", None).is_none());
        assert_eq!(
            selector_for("http://10.1.2.3:8545", Some(7)).unwrap().1,
            "pid 7"
        );
    }

    #[test]
    fn a_process_that_exits_mid_run_is_reported_dead() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let w = TargetWatch::start(
            ProcessSelector::Pid(child.id()),
            "pid".into(),
            Duration::from_millis(20),
        );
        std::thread::sleep(Duration::from_millis(100));
        child.kill().unwrap();
        child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let t = w.finish(1000).unwrap();
        assert!(t.died, "{t:?}");
        assert!(t.samples >= 2);
        assert!(t.rss_peak_bytes.is_some_and(|r| r > 0));

        let me = TargetWatch::start(
            ProcessSelector::Pid(std::process::id()),
            "pid".into(),
            Duration::from_millis(10),
        );
        let burn = std::time::Instant::now();
        while burn.elapsed() < Duration::from_millis(150) {
            std::hint::black_box((0..1000u64).sum::<u64>());
        }
        let t = me.finish(100).unwrap();
        assert!(!t.died && !t.restarted);
        assert!(t.cpu_seconds.is_some_and(|c| c > 0.05), "{t:?}");
        assert!(t.cpu_ms_per_request.is_some_and(|c| c > 0.5));
    }
}
