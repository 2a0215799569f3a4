//! Sampling what a node costs: its process (CPU seconds, RSS, IO bytes) from `/proc`, the
//! host's steal time, and the size of its data dir, cheaply enough to run every tick.
mod dirsize;
mod host;
mod listen;
mod mem;
mod process;
mod threads;

pub use dirsize::DirSizer;
pub use host::{CpuTimes, HostSample, HostSampler};
pub use listen::{find_listener, local_port};
pub use mem::{cgroup_limit_bytes, host_available_bytes, parse_limit, parse_meminfo_available};
pub use process::{ProcessSample, ProcessSampler, ProcessSelector};
pub use threads::{ThreadStates, thread_states};
