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
    let stop = shutdown_signal();
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
    let mut out = std::io::stdout();
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

/// SIGTERM (systemd, kill) or SIGINT (Ctrl-C), whichever comes first. The handlers are
/// installed when this is called, not when the future is first polled: a signal that
/// arrives in between must still end the process cleanly, not by the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn recv(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = recv(term) => {}
            _ = recv(int) => {}
        }
    }
}
