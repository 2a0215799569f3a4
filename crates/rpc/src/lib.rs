//! Chain adapters: one trait ([`ChainClient`]), three JSON-RPC dialects, one normalised
//! [`Status`]. The dialect modules keep their parsing pure (`parse`, `momentum`, `block`, …)
//! so that recorded answers can be checked without a node.
mod client;
mod detect;
mod error;
mod json;
mod status;
mod transport;

pub mod crosscheck;
pub mod ethereum;
pub mod hashes;
pub mod substrate;
pub mod zenon;

pub use client::{ChainClient, KindSpec, client_for, connect, connect_limited, timed_status};
pub use detect::detect;
pub use error::{ErrorKind, RpcError, redact_url};
pub use nodewarden_model::{Kind, SyncState};
pub use status::{Head, Status, default_max_head_age};
pub use transport::{CallResult, DEFAULT_MAX_ANSWER, JsonRpcError, Transport, parse_envelope};

#[cfg(test)]
mod tests;
