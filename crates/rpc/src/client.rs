//! The [`ChainClient`] trait, the kind specification (`auto` or a known kind) and the
//! connection that probes the dialect when asked to.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::detect::detect;
use crate::error::RpcError;
use crate::transport::Transport;
use crate::{Kind, Status, ethereum, substrate, zenon};

/// One node family's way of answering "where is your sync?".
pub trait ChainClient: Send + Sync {
    fn kind(&self) -> Kind;
    fn transport(&self) -> &Transport;
    fn status(&self) -> BoxFuture<'_, Result<Status, RpcError>>;
}

/// Which dialect to speak: a known one, or find out by probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindSpec {
    Auto,
    Known(Kind),
}

impl std::str::FromStr for KindSpec {
    type Err = nodewarden_model::ParseKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            Ok(KindSpec::Auto)
        } else {
            s.parse().map(KindSpec::Known)
        }
    }
}

impl std::fmt::Display for KindSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KindSpec::Auto => f.write_str("auto"),
            KindSpec::Known(k) => write!(f, "{k}"),
        }
    }
}

/// A client for a node of a known kind.
pub fn client_for(kind: Kind, transport: Transport) -> Box<dyn ChainClient> {
    let transport = transport.with_kind_hint(kind);
    match kind {
        Kind::Zenon => Box::new(zenon::Zenon::new(transport)),
        Kind::Ethereum => Box::new(ethereum::Ethereum::new(transport)),
        Kind::Substrate => Box::new(substrate::Substrate::new(transport)),
    }
}

/// Build a client, probing the node first when the kind is `auto`.
pub async fn connect(
    name: &str,
    kind: KindSpec,
    url: &str,
    timeout: Duration,
) -> Result<Box<dyn ChainClient>, RpcError> {
    connect_limited(
        name,
        kind,
        url,
        timeout,
        crate::transport::DEFAULT_MAX_ANSWER,
    )
    .await
}

/// [`connect`] with answers capped at `max_answer` bytes.
pub async fn connect_limited(
    name: &str,
    kind: KindSpec,
    url: &str,
    timeout: Duration,
    max_answer: usize,
) -> Result<Box<dyn ChainClient>, RpcError> {
    let transport = Transport::new(name, url, timeout)?.with_max_answer(max_answer);
    let kind = match kind {
        KindSpec::Known(k) => k,
        KindSpec::Auto => detect(&transport).await?,
    };
    Ok(client_for(kind, transport))
}

/// A status together with how long the node took to give it.
pub async fn timed_status(client: &dyn ChainClient) -> (Result<Status, RpcError>, Duration) {
    let started = Instant::now();
    let r = client.status().await;
    (r, started.elapsed())
}
