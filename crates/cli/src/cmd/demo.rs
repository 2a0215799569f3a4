//! `nodewarden demo`: four simulated nodes as child processes, watched with HTTP and
//! recording on. The README's first command.
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nodewarden_config::{Config, NodeConfig};
use nodewarden_rpc::{Kind, KindSpec};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::args::DemoArgs;
use crate::cmd::demo_backups;
use crate::cmd::watch::{Settings, watch};
use crate::exit::{CmdResult, Failure};

struct DemoNode {
    name: &'static str,
    kind: Kind,
    scenario: &'static str,
    about: &'static str,
}

const NODES: [DemoNode; 4] = [
    DemoNode {
        name: "znn-a",
        kind: Kind::Zenon,
        scenario: include_str!("../../../../scenarios/zenon-fast.toml"),
        about: "build A: a fast sync to the tip",
    },
    DemoNode {
        name: "znn-b",
        kind: Kind::Zenon,
        scenario: include_str!("../../../../scenarios/zenon-stalls.toml"),
        about: "build B: same chain, slower, stalls (cpu at 600, io at 1,400, peers at 2,200)",
    },
    DemoNode {
        name: "eth",
        kind: Kind::Ethereum,
        scenario: include_str!("../../../../scenarios/ethereum.toml"),
        about: "an execution client in batches, an io stall at 40,000, leaking memory",
    },
    DemoNode {
        name: "xx",
        kind: Kind::Substrate,
        scenario: include_str!("../../../../scenarios/substrate.toml"),
        about: "a substrate node, peers lost at 80,000",
    },
];

/// Marks a directory as the demo's own, so a second run may wipe it and nothing else.
const MARKER: &str = ".nodewarden-demo";

pub async fn run(args: DemoArgs, config: Option<&Path>) -> CmdResult {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(Failure::usage(format!(
            "--speed {} must be a positive number",
            args.speed
        )));
    }
    // Ctrl-C while the sims start must still stop them cleanly.
    let signalled = crate::shutdown::signal();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("nodewarden-demo"));
    prepare_dir(&dir)?;
    let base = Config::load(config).map_err(Failure::usage)?.config;
    let mut children = Vec::new();
    let mut nodes = Vec::new();
    let mut out = crate::out::stdout();
    let _ = writeln!(
        out,
        "nodewarden demo: {} simulated nodes at {}x speed in {}",
        NODES.len(),
        args.speed,
        dir.display()
    );
    for node in &NODES {
        let (child, url) = match start_sim(node, &dir, args.speed).await {
            Ok(started) => started,
            Err(e) => {
                stop_all(children).await;
                return Err(e);
            }
        };
        let _ = writeln!(
            out,
            "  {:<6} {:<10} {url:<24} {}",
            node.name, node.kind, node.about
        );
        let mut cfg = NodeConfig::new(node.name, KindSpec::Known(node.kind), Some(url));
        cfg.data_dir = Some(dir.join(node.name));
        let pid_file = dir.join(format!("{}.pid", node.name));
        cfg.service = Some(demo_backups::service(&pid_file));
        cfg.pid_file = Some(pid_file);
        nodes.push(cfg);
        children.push(child);
    }
    let mut live = args.live;
    if live.record.is_none() && !live.no_record {
        live.record = Some(dir.join("demo.db"));
    }
    // The sims compress time but a stall threshold is wall time: five sim-minutes of no
    // progress, unless the user chose otherwise, so the compressed stalls show as stalls.
    if live.stall_after.is_none() && base.watch.stall_after == nodewarden_config::StallAfter::Auto {
        live.stall_after = Some(nodewarden_config::StallAfter::Fixed(
            Duration::from_secs_f64((300.0 / args.speed).max(2.0)),
        ));
    }
    // The demo's own repository, never the operator's configured one.
    let repository = match demo_backups::init(&dir).await {
        Ok(r) => r,
        Err(e) => {
            stop_all(children).await;
            return Err(e);
        }
    };
    let every = Duration::from_secs_f64((1800.0 / args.speed).clamp(30.0, 600.0));
    let _ = writeln!(
        out,
        "backups: {} (a signed freeze backup of {} now and every {}, keeping the last {} and {} hourly)",
        repository.location(),
        demo_backups::NODE,
        humantime::format_duration(every),
        demo_backups::KEEP.last.unwrap_or(0),
        demo_backups::KEEP.hourly.unwrap_or(0),
    );
    let scheduled = nodes.iter().find(|n| n.name == demo_backups::NODE).cloned();
    let config = Config {
        nodes,
        repository: Some(repository.clone()),
        ..base
    };
    let mut settings = match Settings::resolve(&config, &live, false) {
        Ok(s) => s,
        Err(e) => {
            stop_all(children).await;
            return Err(e);
        }
    };
    // The same compression for the RSS trend: the leaking sim shows its forecast in minutes.
    settings.analyze.memory_time_scale = 1.0 / args.speed;
    if let Some(node) = scheduled {
        let key = dir.join("sign.key");
        settings.sidecar = Some(Box::new(move |shared, backups| {
            tokio::spawn(demo_backups::schedule(
                node, repository, key, every, shared, backups,
            ))
        }));
    }
    if let Some(addr) = settings.listen {
        let _ = writeln!(
            out,
            "dashboard: http://{addr}/  metrics: http://{addr}/metrics  JSON: http://{addr}/api/nodes  (Ctrl-C stops everything)"
        );
        if !live.allow_actions && live.auth_token_file.is_none() {
            let _ = writeln!(
                out,
                "add --allow-actions to back up, verify and restore from the dashboard"
            );
        }
    }
    let result = watch(config, settings, signalled).await;
    stop_all(children).await;
    if result.is_ok()
        && let Some(db) = &live.record
    {
        let _ = writeln!(
            crate::out::stdout(),
            "the sims stopped; the recording stays: nodewarden report {}",
            db.display()
        );
    }
    result
}

fn prepare_dir(dir: &Path) -> Result<(), Failure> {
    let owned = dir.join(MARKER).is_file();
    let empty = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true);
    if !owned && !empty {
        return Err(Failure::usage(format!(
            "{} exists and is not a demo dir (no {MARKER}); pick another with --dir",
            dir.display()
        )));
    }
    // A fresh start each time: sims resume from their stored height, and the demo is
    // about watching a sync.
    for node in &NODES {
        let _ = std::fs::remove_dir_all(dir.join(node.name));
        let _ = std::fs::remove_dir_all(nodewarden_backup::freeze_dir_for(&dir.join(node.name)));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::runtime(format!("cannot create {}: {e}", dir.display())))?;
    std::fs::write(dir.join(MARKER), b"")
        .map_err(|e| Failure::runtime(format!("{}: {e}", dir.display())))
}

async fn start_sim(node: &DemoNode, dir: &Path, speed: f64) -> Result<(Child, String), Failure> {
    let fail = |what: String| Failure::runtime(format!("demo node {}: {what}", node.name));
    let exe =
        std::env::current_exe().map_err(|e| fail(format!("cannot find my own binary: {e}")))?;
    let scenario = dir.join(format!("{}.toml", node.name));
    std::fs::write(&scenario, node.scenario)
        .map_err(|e| fail(format!("{}: {e}", scenario.display())))?;
    let log = std::fs::File::create(dir.join(format!("{}.log", node.name)))
        .map_err(|e| fail(e.to_string()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("sim")
        .args([
            "--kind",
            node.kind.as_str(),
            "--listen",
            "127.0.0.1:0",
            "--speed",
            &speed.to_string(),
        ])
        .arg("--scenario")
        .arg(&scenario)
        .arg("--data-dir")
        .arg(dir.join(node.name))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe; it makes the kernel stop the sim
    // if the demo dies without cleaning up (SIGKILL), so no orphan keeps its port.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| fail("no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(15), lines.next_line()).await;
    let url = match first {
        Ok(Ok(Some(line))) => line
            .strip_prefix("listening on ")
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string),
        _ => None,
    };
    let Some(url) = url else {
        let _ = child.kill().await;
        return Err(fail(format!(
            "did not start; see {}",
            dir.join(format!("{}.log", node.name)).display()
        )));
    };
    // Drain the rest so the sim never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    if let Some(pid) = child.id() {
        let _ = std::fs::write(dir.join(format!("{}.pid", node.name)), pid.to_string());
    }
    Ok((child, url))
}

/// SIGTERM every sim, give them a few seconds to close their databases, then SIGKILL.
async fn stop_all(children: Vec<Child>) {
    for c in &children {
        if let Some(pid) = c.id() {
            // SAFETY: kill(2) on our own child has no memory-safety preconditions. SIGCONT
            // after: a sim caught in a backup's freeze (SIGSTOP) must act on the SIGTERM.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
                libc::kill(pid as i32, libc::SIGCONT);
            }
        }
    }
    for mut c in children {
        if tokio::time::timeout(Duration::from_secs(10), c.wait())
            .await
            .is_err()
        {
            let _ = c.kill().await;
        }
    }
}
