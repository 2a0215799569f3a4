//! `nodewarden sim`: runs one simulated node in the foreground until SIGTERM or Ctrl-C.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use nodewarden_rpc::Kind;
use nodewarden_sim::{Scenario, Sim, SimOptions};

use crate::args::SimArgs;
use crate::exit::{CmdResult, Failure};

pub async fn run(args: SimArgs) -> CmdResult {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(Failure::usage(format!(
            "--speed {} must be a positive number",
            args.speed
        )));
    }
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_file(path).map_err(Failure::usage)?,
        None => Scenario::default_for(args.kind.unwrap_or(Kind::Zenon)),
    };
    let kind = args.kind.unwrap_or(scenario.kind);
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, kind.default_port())));
    let data_dir = args.data_dir.unwrap_or_else(|| {
        std::env::temp_dir()
            .join("nodewarden-sim")
            .join(format!("{kind}-{}", listen.port()))
    });
    let stop = crate::shutdown::signal();
    let sim = Sim::start(SimOptions {
        kind: Some(kind),
        scenario,
        listen,
        data_dir: data_dir.clone(),
        speed: args.speed,
    })
    .await
    .map_err(Failure::runtime)?;
    // Tests and scripts read the address from this first line: keep its shape.
    let mut out = crate::out::stdout();
    let _ = writeln!(
        out,
        "listening on http://{} ({kind}, data dir {}, height {}, tip {})",
        sim.local_addr(),
        data_dir.display(),
        sim.height(),
        sim.tip()
    );
    let _ = out.flush();
    stop.await;
    let height = sim.height();
    sim.shutdown().await.map_err(Failure::runtime)?;
    let _ = writeln!(out, "stopped at height {height}");
    Ok(0)
}
