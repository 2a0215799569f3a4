//! Backup engine progress: a bar with throughput and ETA on a terminal, plain lines
//! otherwise. Notes go to stderr so `--json` output stays clean.
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use nodewarden_backup::Progress;

pub struct ByteProgress {
    tty: bool,
    bar: Mutex<Option<ProgressBar>>,
    plain: Mutex<(Instant, u64, u64)>,
}

impl ByteProgress {
    pub fn new() -> ByteProgress {
        ByteProgress {
            tty: crate::out::is_terminal(),
            bar: Mutex::new(None),
            plain: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    pub fn done(&self) {
        if let Some(b) = self.bar.lock().expect("not poisoned").take() {
            b.finish_and_clear();
        }
    }
}

impl Progress for ByteProgress {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.done();
        if self.tty {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            let style = ProgressStyle::with_template(
                "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.to_string());
            *self.bar.lock().expect("not poisoned") = Some(bar);
        } else {
            *self.plain.lock().expect("not poisoned") = (Instant::now(), 0, total.unwrap_or(0));
            if let Some(t) = total.filter(|&t| t > 0) {
                eprintln!("{name}: {:.1} MiB to process", t as f64 / 1048576.0);
            }
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(b) = self.bar.lock().expect("not poisoned").as_ref() {
            b.inc(bytes);
            return;
        }
        let mut p = self.plain.lock().expect("not poisoned");
        let before = p.1;
        p.1 += bytes;
        // A plain line every 1 GiB: enough for logs, not a flood.
        if p.1 >> 30 != before >> 30 {
            let secs = p.0.elapsed().as_secs_f64().max(0.001);
            eprintln!(
                "  {:.1}/{:.1} GiB, {:.0} MiB/s",
                p.1 as f64 / 1073741824.0,
                p.2 as f64 / 1073741824.0,
                p.1 as f64 / 1048576.0 / secs
            );
        }
    }

    fn note(&self, message: &str) {
        match self.bar.lock().expect("not poisoned").as_ref() {
            Some(b) => b.println(format!("note: {message}")),
            None => eprintln!("note: {message}"),
        }
    }
}
