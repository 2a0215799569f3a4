//! `nodewarden probe`: runs the hardware probe on a blocking thread while this task waits
//! for it or for SIGINT/SIGTERM; a signal sets the cancel flag, every measuring loop
//! returns, and the scratch dir is removed before the process exits.
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::progress::Steps;
use nodewarden_probe::hw::{self, Minimums, Plan, ProbeError, Report, VerdictStatus};

use crate::exit::{CmdResult, Failure};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  nodewarden probe --data-dir /root/.znn              everything, every role's verdicts
  nodewarden probe --data-dir /var/lib/besu --role ethereum-full --json
  nodewarden probe --quick                            under 10 s, in the current directory
  nodewarden probe --minimums my-minimums.toml --role zenon-pillar

Scratch files go to DATA_DIR/.nodewarden-probe-PID and are removed at the end, also on
Ctrl-C or SIGTERM. A full probe takes under a minute and writes up to 1 GiB; --quick
under ten seconds and 64 MiB. Roles: zenon-node, zenon-pillar, ethereum-full,
substrate-validator (docs/PROBE.md). Exit 0 when done, whatever the verdicts.")]
pub struct ProbeArgs {
    /// Directory on the filesystem to measure (the node's data dir) [default: .].
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub data_dir: PathBuf,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
    /// Shorter, smaller measurements (under 10 s).
    #[arg(long)]
    pub quick: bool,
    /// Only this role's verdicts [default: every role].
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Minimums TOML replacing the shipped one.
    #[arg(long, value_name = "FILE")]
    pub minimums: Option<PathBuf>,
}

pub async fn run(args: ProbeArgs) -> CmdResult {
    let minimums = match &args.minimums {
        Some(p) => Minimums::load(p).map_err(Failure::usage)?,
        None => Minimums::shipped(),
    };
    if let Some(r) = &args.role {
        minimums.check_role(r).map_err(Failure::usage)?;
    }
    if !args.data_dir.is_dir() {
        return Err(Failure::usage(format!(
            "--data-dir {}: not an existing directory",
            args.data_dir.display()
        )));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let bar = Steps::new(6, !args.json && std::io::stderr().is_terminal());
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let (dir, quick, c) = (args.data_dir.clone(), args.quick, cancel.clone());
    let progress = bar.clone();
    let mut job = tokio::task::spawn_blocking(move || hw::run(&dir, &plan, quick, &progress, &c));
    let result = tokio::select! {
        r = &mut job => r,
        _ = crate::shutdown::signal() => {
            cancel.store(true, Ordering::Relaxed);
            // The loops check the flag between operations; one slow fsync is the worst wait.
            let _ = tokio::time::timeout(Duration::from_secs(10), &mut job).await;
            // Backstop for a sync that outlasts the wait: exiting kills the probe thread
            // before its guard runs.
            let _ = std::fs::remove_dir_all(hw::disk::scratch_path(&args.data_dir));
            bar.finish();
            eprintln!("nodewarden: probe interrupted; scratch files removed");
            return Ok(130);
        }
    };
    bar.finish();
    let mut report = match result {
        Ok(Ok(r)) => r,
        Ok(Err(ProbeError::Cancelled)) => return Ok(130),
        Ok(Err(e)) => return Err(Failure::runtime(format!("probe: {e}"))),
        Err(e) => return Err(Failure::runtime(format!("probe: internal error: {e}"))),
    };
    report.verdicts = minimums.verdicts(&report, args.role.as_deref());
    let text = if args.json {
        serde_json::to_string_pretty(&report).map_err(Failure::runtime)? + "\n"
    } else {
        human(&report)
    };
    crate::out::stdout()
        .write_all(text.as_bytes())
        .map_err(Failure::runtime)?;
    Ok(0)
}

/// The probe's steps as the engine announces them.
impl hw::StageObserver for Steps {
    fn stage(&self, step: usize, _of: usize, what: &str) {
        self.step(step, what);
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "unknown".into(), |v| format!("{v:.prec$}"))
}

fn human(r: &Report) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let gib = |b: Option<u64>| opt(b.map(|b| b as f64 / GIB), 1);
    let (c, m, d) = (&r.cpu, &r.memory, &r.disk);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "CPU     {} — {} cores{}",
        c.model.as_deref().unwrap_or("unknown model"),
        c.cores,
        c.frequency_mhz
            .map(|f| format!(", {f:.0} MHz"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "        single-core score {} (BLAKE3 {} MB/s, index {} ops/s), all cores {} (×{} scaling)",
        opt(c.single_core_score, 0),
        opt(c.blake3_mb_s, 0),
        opt(c.index_ops_s, 0),
        opt(c.multi_core_score, 0),
        opt(c.multi_core_scaling, 2)
    );
    let _ = writeln!(
        s,
        "        steal {}% over the probe window",
        opt(c.steal_percent, 1)
    );
    let _ = writeln!(
        s,
        "Memory  {} GiB total, {} GiB available; swap {} GiB ({} GiB free)",
        gib(m.total_bytes),
        gib(m.available_bytes),
        gib(m.swap_total_bytes),
        gib(m.swap_free_bytes)
    );
    let _ = writeln!(
        s,
        "Disk    {}: {} GiB free of {} GiB{}",
        d.path.display(),
        gib(Some(d.free_bytes)),
        gib(Some(d.total_bytes)),
        if d.direct_io {
            ", O_DIRECT"
        } else {
            ", buffered + fadvise(DONTNEED)"
        }
    );
    let _ = writeln!(
        s,
        "        fsync p50 {} ms, p99 {} ms ({} samples); 4 KiB random read {} IOPS; sequential read {} MB/s, write {} MB/s",
        opt(d.fsync_p50_ms, 2),
        opt(d.fsync_p99_ms, 2),
        d.fsync_samples,
        opt(d.rand_read_iops, 0),
        opt(d.seq_read_mb_s, 0),
        opt(d.seq_write_mb_s, 0)
    );
    for n in &d.notes {
        let _ = writeln!(s, "        note: {n}");
    }
    let _ = writeln!(
        s,
        "\n{:<22} {:<24} {:<8} {:>12} {:>14}",
        "role", "item", "verdict", "value", "minimum"
    );
    for v in &r.verdicts {
        let status = match v.status {
            VerdictStatus::Meets => "meets",
            VerdictStatus::Below => "BELOW",
            VerdictStatus::Unknown => "unknown",
        };
        let bound = if v.bound == "at most" { "≤ " } else { "≥ " };
        let _ = writeln!(
            s,
            "{:<22} {:<24} {:<8} {:>12} {:>14}",
            v.role,
            v.item,
            status,
            opt(v.value, 1),
            format!("{bound}{}", v.minimum)
        );
    }
    let _ = writeln!(
        s,
        "\nMinimums are starting points (docs/PROBE.md); probe took {:.1} s.",
        r.duration_s
    );
    s
}
