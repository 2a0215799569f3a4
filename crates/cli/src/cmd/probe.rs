//! `nodewarden probe`: runs the hardware probe on a blocking thread while this task waits
//! for it or for SIGINT/SIGTERM; a signal sets the cancel flag, every measuring loop
//! returns, and the scratch dir is removed before the process exits.
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::progress::Steps;
use nodewarden_probe::hw::{self, Minimums, Plan, ProbeError};

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
        nodewarden_report::probe_text(&report)
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
