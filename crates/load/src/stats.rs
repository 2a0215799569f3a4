//! Recording: HdrHistograms (microseconds) per report name, error counts by kind, and a
//! per-second interval for the timeline. Workers record into one of a few shards, each
//! behind its own mutex, so recording is an uncontended lock and a histogram increment.
use std::fmt;
use std::sync::Mutex;

use hdrhistogram::Histogram;

/// Latencies are recorded in µs up to an hour, with 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrKind {
    Connect,
    Timeout,
    Io,
    BadResponse,
    Http(u16),
    Rpc(i64),
}

impl fmt::Display for ErrKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrKind::Connect => f.write_str("connect"),
            ErrKind::Timeout => f.write_str("timeout"),
            ErrKind::Io => f.write_str("io"),
            ErrKind::BadResponse => f.write_str("bad response"),
            ErrKind::Http(s) => write!(f, "http {s}"),
            ErrKind::Rpc(c) => write!(f, "rpc {c}"),
        }
    }
}

#[derive(Clone)]
pub struct SlotStats {
    pub hist: Histogram<u64>,
    pub calls: u64,
    pub errors: Vec<(ErrKind, u64)>,
    pub dropped: u64,
    /// Equality mode: answers compared, answers that differed, the first difference.
    pub compared: u64,
    pub differing: u64,
    pub example: Option<String>,
}

impl SlotStats {
    fn new() -> SlotStats {
        SlotStats {
            hist: histogram(),
            calls: 0,
            errors: Vec::new(),
            dropped: 0,
            compared: 0,
            differing: 0,
            example: None,
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.iter().map(|(_, n)| n).sum()
    }

    fn add_error(&mut self, kind: ErrKind, n: u64) {
        match self.errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += n,
            None => self.errors.push((kind, n)),
        }
    }

    pub fn merge(&mut self, o: &SlotStats) {
        let _ = self.hist.add(&o.hist);
        self.calls += o.calls;
        for (k, n) in &o.errors {
            self.add_error(*k, *n);
        }
        self.dropped += o.dropped;
        self.compared += o.compared;
        self.differing += o.differing;
        if self.example.is_none() {
            self.example.clone_from(&o.example);
        }
    }
}

/// What happened since the last timeline tick.
#[derive(Clone)]
pub struct Interval {
    pub hist: Histogram<u64>,
    pub calls: u64,
    pub errors: u64,
}

impl Interval {
    /// Two significant digits: the timeline needs no more, and the per-second merge and
    /// reset touch 8 times less memory than a full histogram.
    fn new() -> Interval {
        Interval {
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("static bounds are valid"),
            calls: 0,
            errors: 0,
        }
    }
}

pub struct Shard {
    pub slots: Vec<SlotStats>,
    pub interval: Interval,
    /// Send time minus intended time (µs), open models only.
    pub lag: Histogram<u64>,
    pub late: u64,
    pub http_requests: u64,
    /// Calls that got an answer (even an error object): "the target answered at all".
    pub answered: u64,
    pub last_net_error: Option<String>,
}

pub struct Stats {
    shards: Vec<Mutex<Shard>>,
}

/// Sends more than this late count as `late`.
pub const LATE_US: u64 = 10_000;

impl Stats {
    pub fn new(slots: usize, shards: usize) -> Stats {
        Stats {
            shards: (0..shards.max(1))
                .map(|_| {
                    Mutex::new(Shard {
                        slots: (0..slots).map(|_| SlotStats::new()).collect(),
                        interval: Interval::new(),
                        lag: histogram(),
                        late: 0,
                        http_requests: 0,
                        answered: 0,
                        last_net_error: None,
                    })
                })
                .collect(),
        }
    }

    pub fn shard(&self, worker: usize) -> &Mutex<Shard> {
        &self.shards[worker % self.shards.len()]
    }

    /// Takes every shard's interval and merges them.
    pub fn take_interval(&self) -> Interval {
        let mut out = Interval::new();
        for s in &self.shards {
            let mut s = lock(s);
            let i = &mut s.interval;
            let _ = out.hist.add(&i.hist);
            out.calls += i.calls;
            out.errors += i.errors;
            i.hist.reset();
            i.calls = 0;
            i.errors = 0;
        }
        out
    }

    /// Merged totals: per slot, plus the lag histogram and counters.
    pub fn totals(&self) -> Totals {
        let mut t: Option<Totals> = None;
        for s in &self.shards {
            let s = lock(s);
            match &mut t {
                None => {
                    t = Some(Totals {
                        slots: s.slots.clone(),
                        lag: s.lag.clone(),
                        late: s.late,
                        http_requests: s.http_requests,
                        answered: s.answered,
                        last_net_error: s.last_net_error.clone(),
                    })
                }
                Some(t) => {
                    for (a, b) in t.slots.iter_mut().zip(&s.slots) {
                        a.merge(b);
                    }
                    let _ = t.lag.add(&s.lag);
                    t.late += s.late;
                    t.http_requests += s.http_requests;
                    t.answered += s.answered;
                    if t.last_net_error.is_none() {
                        t.last_net_error.clone_from(&s.last_net_error);
                    }
                }
            }
        }
        t.expect("at least one shard")
    }
}

pub struct Totals {
    pub slots: Vec<SlotStats>,
    pub lag: Histogram<u64>,
    pub late: u64,
    pub http_requests: u64,
    pub answered: u64,
    pub last_net_error: Option<String>,
}

impl Totals {
    pub fn overall(&self) -> SlotStats {
        let mut all = SlotStats::new();
        for s in &self.slots {
            all.merge(s);
        }
        all
    }
}

/// A poisoned shard only means a worker panicked mid-record; the counts are still usable.
pub fn lock(m: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shard {
    /// Records one HTTP exchange: `latency_us` for every call in it, and each call's error.
    pub fn record(
        &mut self,
        slots: &[u16],
        latency_us: u64,
        outcome: &[Option<ErrKind>],
        answered: bool,
    ) {
        self.http_requests += 1;
        for (i, &slot) in slots.iter().enumerate() {
            let st = &mut self.slots[slot as usize];
            st.calls += 1;
            self.interval.calls += 1;
            if answered {
                st.hist.saturating_record(latency_us.max(1));
                self.interval.hist.saturating_record(latency_us.max(1));
                self.answered += 1;
            }
            if let Some(k) = outcome.get(i).copied().flatten() {
                st.add_error(k, 1);
                self.interval.errors += 1;
            }
        }
    }

    pub fn record_dropped(&mut self, slots: &[u16]) {
        for &slot in slots {
            self.slots[slot as usize].dropped += 1;
        }
    }

    pub fn record_lag(&mut self, lag_us: u64) {
        self.lag.saturating_record(lag_us.max(1));
        if lag_us > LATE_US {
            self.late += 1;
        }
    }

    pub fn record_compare(&mut self, slot: u16, diff: Option<String>) {
        let st = &mut self.slots[slot as usize];
        st.compared += 1;
        if let Some(d) = diff {
            st.differing += 1;
            if st.example.is_none() {
                st.example = Some(d);
            }
        }
    }
}
