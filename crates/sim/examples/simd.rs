//! A bare runner for the sim library, for benchmarks and kill tests without
//! the full CLI: `cargo run --release -p nodewarden-sim --example simd --
//! KIND SCENARIO|- LISTEN DATA_DIR [SPEED]`. Stops cleanly on SIGTERM or Ctrl-C.

use std::path::Path;

use nodewarden_sim::{Kind, Scenario, Sim, SimOptions};

/// `SIMD_THREADS=N` picks a multi-thread runtime with N workers; default current-thread.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads: usize = std::env::var("SIMD_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let rt = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    rt.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, scenario, listen, dir, rest @ ..] = args.as_slice() else {
        return Err("usage: simd KIND SCENARIO|- LISTEN DATA_DIR [SPEED]".into());
    };
    let kind: Kind = kind.parse()?;
    let scenario = match scenario.as_str() {
        "-" => Scenario::default_for(kind),
        path => Scenario::from_file(Path::new(path))?,
    };
    let speed = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let sim = Sim::start(SimOptions {
        kind: Some(kind),
        scenario,
        listen: listen.parse()?,
        data_dir: dir.into(),
        speed,
    })
    .await?;
    println!(
        "{} listening on {} at height {}",
        sim.kind(),
        sim.local_addr(),
        sim.height()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let height = sim.height();
    sim.shutdown().await?;
    println!("stopped at height {height}");
    Ok(())
}
