//! Collecting what the checks judge: RPC answers (twice, some seconds apart, unless a live
//! recording already knows how the height moved), the data dir's filesystem, the process.
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use nodewarden_config::NodeConfig;
use nodewarden_rpc::zenon::PillarStats;
use nodewarden_rpc::{ChainClient, Kind, KindSpec, Status};
use nodewarden_sample::{DirSizer, ProcessSampler, ProcessSelector};

use super::recording::RecordingFacts;

/// Everything known about one node at check time.
#[derive(Debug, Clone)]
pub struct Facts {
    pub node: String,
    pub now: SystemTime,
    /// The first status and how long the node took to give it, or the error (one line).
    pub rpc: Result<(Status, Duration), String>,
    pub observation: Option<Observation>,
    pub recording: Option<RecordingFacts>,
    /// `None` without a data dir in the config.
    pub disk: Option<Result<DiskFacts, String>>,
    /// `None` without `process`/`pid_file`; else whether it runs, and a description.
    pub process: Option<(bool, String)>,
    pub backup: BackupFact,
    /// `None` unless the node is a zenon pillar (`pillar = "NAME"`).
    pub pillar: Option<Result<PillarStats, String>>,
    /// The host's available memory, for the memory forecast.
    pub memory_available_bytes: Option<u64>,
}

/// Two readings `elapsed` apart.
#[derive(Debug, Clone)]
pub struct Observation {
    pub later: Status,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiskFacts {
    pub total_bytes: u64,
    pub available_bytes: u64,
    /// Bytes per second the data dir grew: from the recording, else over the observation.
    pub growth_bytes_per_s: Option<f64>,
    pub growth_source: &'static str,
}

/// What the backup repository says about the node's newest snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupFact {
    NotConfigured,
    NoSnapshot,
    AgeSeconds(f64),
    Error(String),
}

/// Gather facts about one node. `observe` is how long to wait between the two polls when
/// the recording cannot answer; zero skips the second poll.
pub async fn gather(
    node: &NodeConfig,
    observe: Duration,
    recording: Option<RecordingFacts>,
    backup: BackupFact,
) -> Facts {
    let timeout = node.timeout.unwrap_or(Duration::from_secs(5));
    let client = match node.rpc_url() {
        Ok(url) => nodewarden_rpc::connect(&node.name, node.kind, &url, timeout)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let mut sizer = node.data_dir.as_ref().map(|d| DirSizer::new(d.clone()));
    let size_before = sizer.as_mut().and_then(|s| s.size().ok());
    let rpc = match &client {
        Ok(c) => {
            let (r, took) = nodewarden_rpc::timed_status(c.as_ref()).await;
            r.map(|s| (s, took)).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.clone()),
    };
    let pillar = match (&client, &node.pillar) {
        (Ok(c), Some(name)) if c.kind() == Kind::Zenon => Some(
            nodewarden_rpc::zenon::pillar(c.transport(), name)
                .await
                .map_err(|e| e.to_string()),
        ),
        (Ok(c), Some(_)) => Some(Err(format!(
            "`pillar` is set but the node speaks {}, not zenon",
            c.kind()
        ))),
        (Err(e), Some(_)) => Some(Err(e.clone())),
        (_, None) => None,
    };
    let live = recording.as_ref().is_some_and(|r| r.live);
    let started = Instant::now();
    let observation = match (&client, &rpc) {
        (Ok(c), Ok(_)) if !live && !observe.is_zero() => observe_again(c.as_ref(), observe).await,
        _ => None,
    };
    let observed_for = started.elapsed();
    let size_after = sizer.as_mut().and_then(|s| s.size().ok());
    let disk = node.data_dir.as_deref().map(|dir| {
        let (total, avail) =
            fs_space(dir).map_err(|e| format!("data dir {}: {e}", dir.display()))?;
        let recorded = recording
            .as_ref()
            .and_then(|r| r.growth_bytes_per_s)
            .map(|g| (g, "recording"));
        let observed = match (size_before, size_after, observation.is_some()) {
            (Some(a), Some(b), true) if observed_for.as_secs_f64() > 0.5 => Some((
                (b as f64 - a as f64) / observed_for.as_secs_f64(),
                "observation",
            )),
            _ => None,
        };
        let (growth, source) = match recorded.or(observed) {
            Some((g, s)) => (Some(g), s),
            None => (None, "none"),
        };
        Ok(DiskFacts {
            total_bytes: total,
            available_bytes: avail,
            growth_bytes_per_s: growth,
            growth_source: source,
        })
    });
    Facts {
        node: node.name.clone(),
        now: SystemTime::now(),
        rpc,
        observation,
        recording,
        disk,
        process: process_alive(node),
        backup,
        pillar,
        memory_available_bytes: nodewarden_sample::host_available_bytes(),
    }
}

async fn observe_again(client: &dyn ChainClient, observe: Duration) -> Option<Observation> {
    let started = Instant::now();
    tokio::time::sleep(observe).await;
    let later = client.status().await.ok()?;
    Some(Observation {
        later,
        elapsed: started.elapsed(),
    })
}

fn process_alive(node: &NodeConfig) -> Option<(bool, String)> {
    let (selector, what) = match (&node.process, &node.pid_file) {
        (Some(name), _) => (
            ProcessSelector::Name(name.clone()),
            format!("process `{name}`"),
        ),
        (None, Some(f)) => (
            ProcessSelector::PidFile(f.clone()),
            format!("pid file {}", f.display()),
        ),
        (None, None) => return None,
    };
    let found = ProcessSampler::new(selector).sample();
    Some(match found {
        Some(s) => (true, format!("{what} runs as pid {}", s.pid)),
        None => (false, format!("{what}: no such process")),
    })
}

/// Total and available bytes of the filesystem holding `dir` (available = what an
/// unprivileged writer gets, like `df`).
pub fn fs_space(dir: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte")
    })?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frag = st.f_frsize as u64;
    Ok((st.f_blocks as u64 * frag, st.f_bavail as u64 * frag))
}

/// The kind a node turned out to be, for kind-dependent defaults.
pub fn kind_of(node: &NodeConfig, facts: &Facts) -> Option<Kind> {
    match (&facts.rpc, node.kind) {
        (Ok((s, _)), _) => Some(s.kind),
        (_, KindSpec::Known(k)) => Some(k),
        _ => None,
    }
}
