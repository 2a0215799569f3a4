//! `nodewarden-sim`: a simulated blockchain node that runs as a real process.
//!
//! It speaks the zenon, ethereum or substrate JSON-RPC dialect over HTTP,
//! follows a scripted sync scenario (phases, batches, stalls) against a chain
//! tip that moves with (compressed) wall-clock time, and writes a real LevelDB
//! data dir in the kind's layout, so watch, stall analysis, backup/restore and
//! load tests run without the internet. See `docs/SIM.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nodewarden_sim::SimError> {
//! use nodewarden_sim::{Kind, Scenario, Sim, SimOptions};
//! let sim = Sim::start(SimOptions {
//!     kind: None,
//!     scenario: Scenario::default_for(Kind::Zenon),
//!     listen: "127.0.0.1:35997".parse().unwrap(),
//!     data_dir: "/tmp/znn-sim".into(),
//!     speed: 10.0,
//! })
//! .await?;
//! assert!(sim.height() <= sim.tip());
//! sim.shutdown().await
//! # }
//! ```

mod chain;
mod clock;
mod dialect;
mod encode;
mod engine;
mod error;
mod jsonrpc;
mod model;
mod pillar;
mod scenario;
mod server;
mod stall;
mod state;
mod store;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

pub use error::SimError;
pub use nodewarden_model::Kind;
pub use scenario::{Phase, Pillar, Scenario, Stall, StallCause, Until};
pub use store::keys as meta_keys;

use chain::Chain;
use dialect::Dialect;
use state::{Shared, Snapshot};
use store::DirLock;

/// How long `shutdown` lets in-flight HTTP requests finish.
const SERVER_GRACE: Duration = Duration::from_secs(3);

/// Everything `nodewarden sim` passes in.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Overrides `scenario.kind`.
    pub kind: Option<Kind>,
    pub scenario: Scenario,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Sim seconds per real second (> 0).
    pub speed: f64,
}

/// A running simulated node: HTTP server plus sync engine.
pub struct Sim {
    kind: Kind,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<tokio::task::JoinHandle<()>>,
    server_stop: Option<tokio::sync::oneshot::Sender<()>>,
    engine: Option<std::thread::JoinHandle<Result<(), SimError>>>,
    /// Dropping it (or sending) stops the engine.
    engine_stop: Option<mpsc::Sender<()>>,
}

impl Sim {
    /// Opens or creates the data dir, takes its lock, binds, and starts the
    /// server and the sync engine. Must run inside a tokio runtime.
    pub async fn start(opts: SimOptions) -> Result<Sim, SimError> {
        if !(opts.speed.is_finite() && opts.speed > 0.0) {
            return Err(SimError::InvalidOption {
                name: "speed",
                message: format!("{} (must be a number > 0)", opts.speed),
            });
        }
        let kind = opts.kind.unwrap_or(opts.scenario.kind);
        opts.scenario.check("(options)")?;
        let dir = opts.data_dir;
        std::fs::create_dir_all(&dir).map_err(|source| SimError::DataDir {
            path: dir.clone(),
            source,
        })?;
        let lock = DirLock::acquire(&dir)?;
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: opts.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: opts.listen,
            source,
        })?;

        let chain = Chain::for_scenario(&opts.scenario);
        let shared = Arc::new(Shared::new(Snapshot {
            height: 0,
            tip: 0,
            starting: 0,
            peers: 0,
            head_hash: [0; 32],
            stall: None,
        }));
        let (engine_stop, stop_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let cfg = engine::EngineConfig {
            kind,
            dir,
            scenario: opts.scenario.clone(),
            speed: opts.speed,
            chain: chain.clone(),
        };
        let engine_shared = shared.clone();
        let engine = std::thread::Builder::new()
            .name("nodewarden-sim-writer".into())
            .spawn(move || engine::run(cfg, lock, engine_shared, stop_rx, ready_tx))
            .map_err(|e| SimError::Engine(format!("cannot start the writer thread: {e}")))?;
        let (clock, missed) = match ready_rx.await {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                let _ = join_engine(engine).await;
                return Err(e);
            }
            Err(_) => {
                join_engine(engine).await?;
                return Err(SimError::Engine(
                    "the writer thread died while starting".into(),
                ));
            }
        };

        let app = Arc::new(server::App {
            dialect: Dialect::new(kind, &opts.scenario, chain, clock, missed),
            shared: shared.clone(),
        });
        let (server_stop, stop) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(listener, app, async move {
            let _ = stop.await;
        }));
        Ok(Sim {
            kind,
            local_addr,
            shared,
            server: Some(server),
            server_stop: Some(server_stop),
            engine: Some(engine),
            engine_stop: Some(engine_stop),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Current stored height.
    pub fn height(&self) -> u64 {
        self.shared.get().height
    }

    /// Current chain tip.
    pub fn tip(&self) -> u64 {
        self.shared.get().tip
    }

    /// Stops the server (letting in-flight requests finish), then the engine,
    /// which flushes and closes the databases and releases the data dir lock.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.server_stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SERVER_GRACE, &mut server)
                .await
                .is_err()
        {
            // Idle keep-alive clients may hold the graceful shutdown open.
            server.abort();
        }
        if let Some(tx) = self.engine_stop.take() {
            let _ = tx.send(());
        }
        match self.engine.take() {
            Some(engine) => join_engine(engine).await,
            None => Ok(()),
        }
    }
}

impl Drop for Sim {
    /// Without `shutdown`, the server is aborted and the engine told to stop;
    /// it still closes the databases on its own thread.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn join_engine(
    engine: std::thread::JoinHandle<Result<(), SimError>>,
) -> Result<(), SimError> {
    match tokio::task::spawn_blocking(move || engine.join()).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(SimError::Engine("the writer thread panicked".into())),
        Err(e) => Err(SimError::Engine(format!(
            "cannot join the writer thread: {e}"
        ))),
    }
}
