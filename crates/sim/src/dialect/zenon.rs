//! go-zenon (znnd): `stats.*`, `ledger.*` and `embedded.pillar.*`.

use serde::Serialize;
use serde_json::Value;

use super::{Context, arg_u64, go_type};
use crate::encode::{base64, hex};
use crate::jsonrpc::{MethodError, Params, emit};
use crate::pillar::{Cadence, Missed};
use crate::scenario::{Pillar, Scenario};
use crate::state::Snapshot;
use crate::store::zenon_address;
use std::sync::Arc;

/// go-zenon reports "not enough peers" (state 3) below this many peers.
pub const MIN_PEERS: u32 = 8;
/// go-zenon's RpcMaxCountSize.
const MAX_COUNT: u64 = 1024;
/// Producers cycled through when the scenario names no pillars.
const ANON_PRODUCERS: u64 = 30;

pub struct Zenon {
    ctx: Context,
    pillars: Vec<PillarInfo>,
    /// Pillars this node runs, producing in their slots only.
    cadences: Vec<Cadence>,
    /// Pillars without a cadence, which take turns on the other heights.
    plain: Vec<usize>,
    missed: Arc<Missed>,
    start_height: u64,
    /// `stats.networkInfo` peer entries, serialized once.
    peers: Vec<String>,
    self_peer: String,
    commit: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Momentum<'a> {
    version: u64,
    chain_identifier: u64,
    hash: String,
    previous_hash: String,
    height: u64,
    timestamp: i64,
    data: &'a str,
    content: &'a [u8],
    changes_hash: String,
    public_key: String,
    signature: String,
    producer: &'a str,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PillarInfo {
    name: String,
    rank: usize,
    #[serde(rename = "type")]
    kind: u8,
    owner_address: String,
    producer_address: String,
    withdraw_address: String,
    is_revocable: bool,
    revoke_cooldown: i64,
    revoke_timestamp: i64,
    give_momentum_reward_percentage: u8,
    give_delegate_reward_percentage: u8,
    current_stats: PillarStats,
    weight: u64,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PillarStats {
    produced_momentums: u64,
    expected_momentums: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Peer {
    public_key: String,
    ip: String,
    name: String,
}

impl Zenon {
    pub fn new(ctx: Context, scenario: &Scenario, missed: Arc<Missed>) -> Zenon {
        let cadences = Cadence::of(scenario);
        let plain = (0..scenario.pillars.len())
            .filter(|i| cadences.iter().all(|c| c.index != *i))
            .collect();
        let pillars = scenario
            .pillars
            .iter()
            .enumerate()
            .map(|(i, p)| pillar_info(&ctx, i, p))
            .collect();
        let peers = (0..scenario.peers as u64)
            .map(|i| serde_json::to_string(&peer(&ctx, i)).unwrap_or_default())
            .collect();
        let self_peer = serde_json::to_string(&Peer {
            public_key: hex(&ctx.chain.derive("self-peer", 0)),
            ip: "127.0.0.1".into(),
            name: "*self*".into(),
        })
        .unwrap_or_default();
        let commit = hex(&ctx.chain.derive("commit", 0)[..20]);
        Zenon {
            ctx,
            pillars,
            cadences,
            plain,
            missed,
            start_height: scenario.start_height,
            peers,
            self_peer,
            commit,
        }
    }

    pub fn call(
        &self,
        method: &str,
        params: &Params,
        snap: &Snapshot,
        out: &mut Vec<u8>,
    ) -> Result<(), MethodError> {
        match method {
            "stats.syncInfo" => sync_info(snap, out),
            "ledger.getFrontierMomentum" => self.momentum(snap.height, out),
            "ledger.getMomentumsByHeight" => {
                let args = params.at_most(2)?;
                let (height, count) = (arg_u64(&args, 0)?, arg_u64(&args, 1)?);
                self.momentums_by_height(snap, height, count, out)?;
            }
            "ledger.getMomentumByHash" => {
                let args = params.at_most(1)?;
                match self.height_of(&args[0])? {
                    Some(h) if self.ctx.has(h, snap) => self.momentum(h, out),
                    _ => emit::raw(out, "null"),
                }
            }
            "stats.networkInfo" => self.network_info(snap, out),
            "stats.processInfo" => emit::json(
                out,
                &serde_json::json!({"version": self.ctx.client_version, "commit": self.commit}),
            ),
            "embedded.pillar.getByName" => {
                let args = params.at_most(1)?;
                let name = match &args[0] {
                    Value::String(s) => s.as_str(),
                    Value::Null => {
                        return Err(MethodError::invalid(
                            "missing value for required argument 0",
                        ));
                    }
                    other => {
                        return Err(MethodError::invalid(format!(
                            "invalid argument 0: json: cannot unmarshal {} into Go value of type string",
                            go_type(other)
                        )));
                    }
                };
                match self.pillars.iter().find(|p| p.name == name) {
                    Some(p) => match self.cadences.iter().find(|c| c.index == p.rank) {
                        Some(c) => {
                            // Counted from the chain the node holds: slots due and missed.
                            let (lo, hi) = (self.start_height, snap.height);
                            let expected = c.count(&self.ctx.chain, lo, hi);
                            let mut p = p.clone();
                            p.current_stats = PillarStats {
                                produced_momentums: expected
                                    .saturating_sub(self.missed.count(lo, hi)),
                                expected_momentums: expected,
                            };
                            emit::json(out, &p);
                        }
                        None => emit::json(out, p),
                    },
                    None => {
                        return Err(MethodError::Custom {
                            code: -32000,
                            message: "data non existent".into(),
                        });
                    }
                }
            }
            _ => return Err(MethodError::MethodNotFound),
        }
        Ok(())
    }

    fn momentum(&self, h: u64, out: &mut Vec<u8>) {
        let chain = &self.ctx.chain;
        let (producer_index, producer) = self.producer(h);
        let mut sig = [0u8; 64];
        chain.derive_into("momentum-signature", h, &mut sig);
        emit::json(
            out,
            &Momentum {
                version: 1,
                chain_identifier: self.ctx.chain_id,
                hash: hex(&chain.hash(h)),
                previous_hash: hex(&chain.parent_hash(h)),
                height: h,
                timestamp: self.ctx.clock.time_s(h),
                data: "",
                content: &[],
                changes_hash: hex(&chain.derive("changes", h)),
                public_key: base64(&chain.derive("producer-key", producer_index)),
                signature: base64(&sig),
                producer: &producer,
            },
        );
    }

    /// A cadenced pillar in its slot (unless it missed it), else the plain pillars in
    /// turn, else one of the anonymous producers.
    fn producer(&self, h: u64) -> (u64, String) {
        let chain = &self.ctx.chain;
        let slot = self.cadences.iter().find(|c| c.is_slot(chain, h));
        let anon = || {
            let i = h % ANON_PRODUCERS;
            (i, zenon_address(chain, "producer", i))
        };
        match slot {
            Some(c) if !self.missed.contains(h) => (
                c.index as u64,
                self.pillars[c.index].producer_address.clone(),
            ),
            Some(_) => anon(),
            None if self.plain.is_empty() => anon(),
            None => {
                let i = self.plain[(h % self.plain.len() as u64) as usize];
                (i as u64, self.pillars[i].producer_address.clone())
            }
        }
    }

    fn momentums_by_height(
        &self,
        snap: &Snapshot,
        height: u64,
        count: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), MethodError> {
        if height == 0 {
            return Err(MethodError::Custom {
                code: -32000,
                message: "height parameter must be strictly greater than zero".into(),
            });
        }
        if count > MAX_COUNT {
            return Err(MethodError::Custom {
                code: -32000,
                message: "count parameter is too big".into(),
            });
        }
        // go-zenon lists what exists from `height` on; `count` is the frontier height.
        let end = height
            .saturating_add(count)
            .min(snap.height.saturating_add(1));
        emit::raw(out, "{\"list\":[");
        let mut first = true;
        for h in (height..end).filter(|&h| self.ctx.has(h, snap)) {
            if !first {
                out.push(b',');
            }
            first = false;
            self.momentum(h, out);
        }
        emit::raw(out, "],\"count\":");
        emit::num(out, snap.height);
        out.push(b'}');
        Ok(())
    }

    fn network_info(&self, snap: &Snapshot, out: &mut Vec<u8>) {
        let n = (snap.peers as usize).min(self.peers.len());
        emit::raw(out, "{\"numPeers\":");
        emit::num(out, n);
        emit::raw(out, ",\"peers\":[");
        emit::raw(out, &self.peers[..n].join(","));
        emit::raw(out, "],\"self\":");
        emit::raw(out, &self.self_peer);
        out.push(b'}');
    }

    fn height_of(&self, v: &Value) -> Result<Option<u64>, MethodError> {
        let Value::String(s) = v else {
            return Err(MethodError::invalid(format!(
                "invalid argument 0: json: cannot unmarshal {} into Go value of type types.Hash",
                go_type(v)
            )));
        };
        let bytes = crate::encode::unhex(s)
            .filter(|b| b.len() == 32 && !s.starts_with("0x"))
            .ok_or_else(|| MethodError::invalid("invalid argument 0: invalid hash"))?;
        Ok(self.ctx.chain.height_of(&bytes))
    }
}

/// go-zenon: state 3 (not enough peers) overrides the others; the target is
/// unknown (0) with no peers at all.
fn sync_info(snap: &Snapshot, out: &mut Vec<u8>) {
    let state = if snap.peers < MIN_PEERS {
        3
    } else if snap.height >= snap.tip {
        2
    } else {
        1
    };
    let target = if snap.peers == 0 { 0 } else { snap.tip };
    emit::raw(out, "{\"state\":");
    emit::num(out, state);
    emit::raw(out, ",\"currentHeight\":");
    emit::num(out, snap.height);
    emit::raw(out, ",\"targetHeight\":");
    emit::num(out, target);
    out.push(b'}');
}

fn pillar_info(ctx: &Context, i: usize, p: &Pillar) -> PillarInfo {
    let c = &ctx.chain;
    let i64_ = i as u64;
    PillarInfo {
        name: p.name.clone(),
        rank: i,
        kind: 1,
        owner_address: zenon_address(c, "pillar-owner", i64_),
        producer_address: zenon_address(c, "pillar-producer", i64_),
        withdraw_address: zenon_address(c, "pillar-withdraw", i64_),
        is_revocable: false,
        revoke_cooldown: 0,
        revoke_timestamp: 0,
        give_momentum_reward_percentage: 0,
        give_delegate_reward_percentage: 100,
        current_stats: PillarStats {
            produced_momentums: p.produced(),
            expected_momentums: p.expected,
        },
        // Delegated weight in base units (8 decimals), falling with the rank
        // go-zenon derives from it.
        weight: 2_000_000u64.saturating_sub(1_000 * i64_) * 100_000_000,
    }
}

fn peer(ctx: &Context, i: u64) -> Peer {
    const RANGES: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];
    const NAMES: [&str; 3] = ["v0.0.8 znn-node", "v0.1.0-hc1 pillar", "v0.0.7 sentry"];
    let id = ctx.chain.derive("peer", i);
    Peer {
        public_key: hex(&id),
        ip: format!("{}.{}", RANGES[(i % 3) as usize], 1 + id[0] % 254),
        name: format!("{}-{}", NAMES[(id[1] % 3) as usize], i + 1),
    }
}
