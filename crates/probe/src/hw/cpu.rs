//! CPU: what it is, and what one core and all cores do on node-like work — BLAKE3 hashing
//! (block and state hashing) and an ordered in-memory index under random reads and writes
//! (what a LevelDB/RocksDB memtable and block cache do between disk accesses).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// 1000 is the reference core: one vCPU of a 2.1 GHz Intel Xeon cloud VM (the machine
/// class this project is built on) at 3500 MB/s BLAKE3 and 4.4 M index operations per
/// second; the score is 1000 × the geometric mean of both ratios, so 2000 is twice as fast.
const REF_BLAKE3_MB_S: f64 = 3500.0;
const REF_INDEX_OPS_S: f64 = 4_400_000.0;
const INDEX_KEYS: u64 = 200_000;

/// Throughput of one thread over `dur`, split evenly between the two workloads.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    pub blake3_mb_s: f64,
    pub index_ops_s: f64,
}

impl Work {
    pub fn score(self) -> f64 {
        1000.0
            * ((self.blake3_mb_s / REF_BLAKE3_MB_S) * (self.index_ops_s / REF_INDEX_OPS_S)).sqrt()
    }
}

/// Single-core throughput, then the summed score of one worker per core; `dur` is the
/// length of each phase. `None` when cancelled.
pub fn measure(dur: Duration, cancel: &AtomicBool) -> Option<(Work, f64)> {
    let single = work(dur, cancel)?;
    let cores = cores();
    let results: Vec<Option<Work>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..cores).map(|_| s.spawn(|| work(dur, cancel))).collect();
        hs.into_iter().map(|h| h.join().ok().flatten()).collect()
    });
    let multi: f64 = results
        .into_iter()
        .map(|w| w.map(Work::score))
        .sum::<Option<f64>>()?;
    Some((single, multi))
}

fn work(dur: Duration, cancel: &AtomicBool) -> Option<Work> {
    let half = dur / 2;
    let buf: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut acc = 0u8;
    while start.elapsed() < half {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        acc ^= blake3::hash(&buf).as_bytes()[0];
        bytes += buf.len() as u64;
    }
    let blake3_mb_s = bytes as f64 / 1e6 / start.elapsed().as_secs_f64();
    std::hint::black_box(acc);

    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut index: BTreeMap<u64, [u64; 4]> = BTreeMap::new();
    for _ in 0..INDEX_KEYS / 4 {
        let k = rng.next() % INDEX_KEYS;
        index.insert(k, [k; 4]);
    }
    let start = Instant::now();
    let mut ops = 0u64;
    let mut hits = 0u64;
    while start.elapsed() < half {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        // Batches between clock reads keep the timer out of the measurement.
        for _ in 0..256 {
            let k = rng.next() % INDEX_KEYS;
            match rng.next() % 4 {
                0 => {
                    index.insert(k, [k; 4]);
                }
                1 => hits += index.range(k..).next().map_or(0, |(_, v)| v[0] & 1),
                _ => hits += index.get(&k).map_or(0, |v| v[1] & 1),
            }
        }
        ops += 256;
    }
    std::hint::black_box(hits);
    Some(Work {
        blake3_mb_s,
        index_ops_s: ops as f64 / start.elapsed().as_secs_f64(),
    })
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    field(&text, "model name").map(str::to_string)
}

/// The current frequency of CPU 0 from cpufreq, else what /proc/cpuinfo says; many VMs
/// expose neither reliably.
pub fn frequency_mhz() -> Option<f64> {
    let sys = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(|khz| khz / 1000.0);
    sys.or_else(|| {
        let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        field(&text, "cpu MHz")?.parse().ok()
    })
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_measured_and_cancellable() {
        let cancel = AtomicBool::new(false);
        let w = work(Duration::from_millis(100), &cancel).unwrap();
        assert!(w.blake3_mb_s > 1.0 && w.index_ops_s > 1000.0, "{w:?}");
        assert!(w.score() > 0.0);
        cancel.store(true, Ordering::Relaxed);
        assert!(work(Duration::from_secs(10), &cancel).is_none());
        assert_eq!(
            field("model name\t: Xeon\ncpu MHz : 2.5\n", "cpu MHz"),
            Some("2.5")
        );
        assert!(cores() >= 1);
    }
}
