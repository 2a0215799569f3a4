//! What a process's threads are doing, from `/proc/PID/task/*/stat`: how many run, wait on
//! the disk or sleep, sampled a few times over a short span. A stall with threads stuck in
//! disk wait is the disk's; one with a thread always running is CPU-bound; everything
//! asleep means waiting on the network (peers) or a lock. No cooperation from the node.
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// Thread states summed over the samples taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThreadStates {
    pub samples: u32,
    /// Threads seen in the last sample.
    pub threads: u32,
    /// Sums over the samples: divide by `samples` for the average count.
    pub running: u32,
    pub disk_wait: u32,
    pub sleeping: u32,
    pub other: u32,
}

impl ThreadStates {
    /// A line for people: "3.0 running, 1.5 in disk wait, 41 sleeping (of 46 threads, 10 samples)".
    pub fn summary(&self) -> String {
        let avg = |n: u32| n as f64 / self.samples.max(1) as f64;
        format!(
            "{:.1} running, {:.1} in disk wait, {:.1} sleeping (of {} threads, {} samples)",
            avg(self.running),
            avg(self.disk_wait),
            avg(self.sleeping),
            self.threads,
            self.samples
        )
    }
}

/// Samples `pid`'s threads `count` times, `every` apart; `None` when the process is gone.
pub fn thread_states(pid: u32, count: u32, every: Duration) -> Option<ThreadStates> {
    thread_states_in(Path::new("/proc"), pid, count, every)
}

pub(crate) fn thread_states_in(
    proc_root: &Path,
    pid: u32,
    count: u32,
    every: Duration,
) -> Option<ThreadStates> {
    let mut t = ThreadStates::default();
    for i in 0..count.max(1) {
        if i > 0 {
            std::thread::sleep(every);
        }
        let tasks = std::fs::read_dir(proc_root.join(pid.to_string()).join("task")).ok()?;
        let mut threads = 0;
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // The state follows the command name, which is in parentheses and may hold
            // spaces or parentheses itself: take what follows the last ')'.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|s| s.chars().next());
            threads += 1;
            match state {
                Some('R') => t.running += 1,
                Some('D') => t.disk_wait += 1,
                Some('S' | 'I') => t.sleeping += 1,
                _ => t.other += 1,
            }
        }
        t.threads = threads;
        t.samples += 1;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_fake_process_and_this_one() {
        let dir = tempfile::tempdir().unwrap();
        for (tid, state) in [(1, "R"), (2, "D"), (3, "S"), (4, "S")] {
            let task = dir.path().join("77/task").join(tid.to_string());
            std::fs::create_dir_all(&task).unwrap();
            std::fs::write(
                task.join("stat"),
                format!("{tid} (we(i)rd name) {state} 1 2 3"),
            )
            .unwrap();
        }
        let t = thread_states_in(dir.path(), 77, 2, Duration::ZERO).unwrap();
        assert_eq!(
            (t.samples, t.threads, t.running, t.disk_wait, t.sleeping),
            (2, 4, 2, 2, 4)
        );
        assert!(
            t.summary()
                .starts_with("1.0 running, 1.0 in disk wait, 2.0 sleeping")
        );
        assert!(thread_states_in(dir.path(), 78, 1, Duration::ZERO).is_none());
        let me = thread_states(std::process::id(), 1, Duration::ZERO).unwrap();
        assert!(me.threads >= 1 && me.running >= 1, "{me:?}");
    }
}
