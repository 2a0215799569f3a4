//! The request plan: every request body rendered before the run, so that sending costs no
//! serialisation and no randomness. Ticket `i` sends entry `i mod len`; the plan depends
//! only on the scenario and its seed, so two runs (and the two sides of `--compare`) send
//! the same sequence.
use serde_json::Value;

use crate::http::Endpoint;
use crate::params::Rng;
use crate::scenario::Scenario;

/// Upper bound on pre-rendered bytes; beyond it the plan repeats sooner.
const PLAN_BYTES: usize = 32 << 20;
const PLAN_ENTRIES: usize = 4096;

pub struct Entry {
    /// The full HTTP request, one per endpoint (target, then compare).
    pub wire: Vec<Vec<u8>>,
    /// The stats slot of each call in the body (one, or `batch` for batches).
    pub slots: Vec<u16>,
}

pub struct Plan {
    pub entries: Vec<Entry>,
    /// Report names, indexed by slot (requests sharing a name share a slot).
    pub names: Vec<String>,
    pub batch: bool,
}

impl Plan {
    pub fn build(s: &Scenario, endpoints: &[Endpoint]) -> Plan {
        let mut names: Vec<String> = Vec::new();
        let slot_of: Vec<u16> = s
            .requests
            .iter()
            .map(|r| match names.iter().position(|n| *n == r.name) {
                Some(i) => i as u16,
                None => {
                    names.push(r.name.clone());
                    (names.len() - 1) as u16
                }
            })
            .collect();
        let varies = s.requests.len() > 1 || s.requests.iter().any(|r| !r.template.is_constant());
        let mut rng = Rng::new(s.seed);
        let total_weight: f64 = s.requests.iter().map(|r| r.weight).sum();
        let pick = |rng: &mut Rng| {
            let mut x = rng.unit() * total_weight;
            for (i, r) in s.requests.iter().enumerate() {
                if x < r.weight {
                    return i;
                }
                x -= r.weight;
            }
            s.requests.len() - 1
        };
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        let wanted = if varies || s.batch > 1 {
            PLAN_ENTRIES
        } else {
            1
        };
        while entries.len() < wanted && bytes < PLAN_BYTES {
            let mut slots = Vec::with_capacity(s.batch as usize);
            let body = if s.batch == 1 {
                let i = pick(&mut rng);
                slots.push(slot_of[i]);
                call(
                    &s.requests[i].method,
                    s.requests[i].template.draw(&mut rng),
                    1,
                )
            } else {
                let calls: Vec<Value> = (0..s.batch)
                    .map(|n| {
                        let i = pick(&mut rng);
                        slots.push(slot_of[i]);
                        call(
                            &s.requests[i].method,
                            s.requests[i].template.draw(&mut rng),
                            n + 1,
                        )
                    })
                    .collect();
                Value::Array(calls)
            };
            let body = serde_json::to_vec(&body).expect("JSON values serialise");
            let wire: Vec<Vec<u8>> = endpoints.iter().map(|e| e.render(&body)).collect();
            bytes += wire.iter().map(Vec::len).sum::<usize>();
            entries.push(Entry { wire, slots });
        }
        Plan {
            entries,
            names,
            batch: s.batch > 1,
        }
    }
}

fn call(method: &str, params: Value, id: u32) -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}
