//! Everything that draws progress on a terminal lives here, and only here uses indicatif.
//! On a terminal: bars and lines redrawn in place. Elsewhere (pipes, journald, cron):
//! plain lines at a bounded rate, or nothing where the final report says it all.
mod bytes;
mod lines;

use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use bytes::ByteProgress;
pub use lines::LiveView;

/// At most one plain line per `every`: enough for logs, never a flood.
pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
}

impl Throttle {
    pub fn new(every: Duration) -> Throttle {
        Throttle { every, last: None }
    }

    /// True (and the clock restarts) when a line is due.
    pub fn due(&mut self) -> bool {
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }
}

/// One status line: a spinner redrawn in place on a terminal, a plain stdout line every
/// `every` otherwise.
pub enum StatusLine {
    Terminal(ProgressBar),
    Log(Throttle),
}

impl StatusLine {
    pub fn new(every: Duration) -> StatusLine {
        if crate::out::is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message("starting…");
            bar.enable_steady_tick(Duration::from_millis(250));
            StatusLine::Terminal(bar)
        } else {
            StatusLine::Log(Throttle::new(every))
        }
    }

    /// Shows `line()`; it is only rendered when it will be shown.
    pub fn update(&mut self, line: impl FnOnce() -> String) {
        match self {
            StatusLine::Terminal(bar) => bar.set_message(line()),
            StatusLine::Log(every) => {
                if every.due() {
                    let _ = writeln!(crate::out::stdout(), "{}", line());
                }
            }
        }
    }

    pub fn finish(&mut self) {
        if let StatusLine::Terminal(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// "Step 3 of 6: what" on stderr when it is a terminal; nothing otherwise.
#[derive(Clone)]
pub struct Steps(Option<ProgressBar>);

impl Steps {
    pub fn new(steps: u64, on: bool) -> Steps {
        Steps(on.then(|| {
            let b =
                ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr_with_hz(8));
            b.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(125));
            b
        }))
    }

    /// Step `step` (1-based) is under way.
    pub fn step(&self, step: usize, what: &str) {
        if let Some(b) = &self.0 {
            b.set_position(step.saturating_sub(1) as u64);
            b.set_message(what.to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
