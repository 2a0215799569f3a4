//! The simulated chain's deterministic content: block hashes, block values and
//! derived keys, all a pure function of (seed, chain id, height).

/// Hashing context for one chain.
#[derive(Clone)]
pub struct Chain {
    key: [u8; 32],
    mask: u64,
    /// A fork: from this height on, hashes are another chain's.
    branch: Option<(u64, Box<Chain>)>,
}

/// Filler text that makes block values partly compressible, like real blocks
/// full of similar transactions.
const FILLER: &[u8] = b"tx{type:send,token:zts1znnxxxxxxxxxxxxx9z4ulx,amount:100000000,fee:0};";

impl Chain {
    pub fn new(seed: u64, chain_id: u64) -> Chain {
        let mut material = [0u8; 16];
        material[..8].copy_from_slice(&seed.to_be_bytes());
        material[8..].copy_from_slice(&chain_id.to_be_bytes());
        let key = blake3::derive_key("nodewarden-sim v1 chain", &material);
        let m = blake3::keyed_hash(&key, b"height-mask");
        let mask = u64::from_be_bytes(m.as_bytes()[..8].try_into().expect("8 bytes"));
        Chain {
            key,
            mask,
            branch: None,
        }
    }

    /// This chain up to `at - 1`, then the chain of `branch_seed`: the parent of `at` is
    /// still this chain's block, so the two share history exactly below `at`.
    pub fn forked(mut self, at: u64, branch_seed: u64, chain_id: u64) -> Chain {
        self.branch = Some((at, Box::new(Chain::new(branch_seed, chain_id))));
        self
    }

    /// The chain a scenario describes: its seed, and its fork if it has one.
    pub fn for_scenario(sc: &crate::Scenario) -> Chain {
        let chain = Chain::new(sc.seed, sc.chain_id);
        match sc.branch() {
            Some((at, seed)) => chain.forked(at, seed, sc.chain_id),
            None => chain,
        }
    }

    /// 32 bytes: an invertible scramble of the height, then 24 bytes of a
    /// keyed hash of the height. The first part makes the hash invertible
    /// without an index (and, unlike a plain XOR, unalike for neighbouring
    /// heights); the second makes a forged hash detectable.
    pub fn hash(&self, height: u64) -> [u8; 32] {
        if let Some((at, branch)) = &self.branch
            && height >= *at
        {
            return branch.hash(height);
        }
        let tail = blake3::keyed_hash(&self.key, &height.to_be_bytes());
        let mut out = [0u8; 32];
        out[..8].copy_from_slice(&mix(height ^ self.mask).to_be_bytes());
        out[8..].copy_from_slice(&tail.as_bytes()[..24]);
        out
    }

    /// The parent of genesis (height 0) is all zeroes, as on real chains.
    pub fn parent_hash(&self, height: u64) -> [u8; 32] {
        match height.checked_sub(1) {
            Some(p) => self.hash(p),
            None => [0; 32],
        }
    }

    /// The height a hash belongs to, if it is one of this chain's hashes.
    pub fn height_of(&self, hash: &[u8]) -> Option<u64> {
        if let Some((at, branch)) = &self.branch {
            return match branch.height_of(hash) {
                Some(h) if h >= *at => Some(h),
                _ => self.trunk().height_of(hash).filter(|h| h < at),
            };
        }
        let head: [u8; 8] = hash.get(..8)?.try_into().ok()?;
        if hash.len() != 32 {
            return None;
        }
        let height = unmix(u64::from_be_bytes(head)) ^ self.mask;
        (self.hash(height)[..] == *hash).then_some(height)
    }

    /// This chain without its fork.
    fn trunk(&self) -> Chain {
        Chain {
            key: self.key,
            mask: self.mask,
            branch: None,
        }
    }

    /// 32 deterministic bytes for anything else the chain needs (roots, keys, peer ids).
    pub fn derive(&self, label: &str, index: u64) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(label.as_bytes());
        h.update(&index.to_be_bytes());
        *h.finalize().as_bytes()
    }

    /// Fills `out` with deterministic bytes of any length.
    pub fn derive_into(&self, label: &str, index: u64, out: &mut [u8]) {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(label.as_bytes());
        h.update(&index.to_be_bytes());
        h.finalize_xof().fill(out);
    }

    /// The database value of a block: a header (height, hash, parent hash),
    /// then half compressible filler, half incompressible bytes, `len` in all.
    pub fn block_value(&self, height: u64, len: usize, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&self.hash(height));
        out.extend_from_slice(&self.parent_hash(height));
        let rest = len.saturating_sub(out.len());
        let filler = rest / 2;
        out.extend(FILLER.iter().cycle().take(filler));
        let start = out.len();
        out.resize(start + (rest - filler), 0);
        self.derive_into("block-body", height, &mut out[start..]);
        out.truncate(len.max(72));
    }
}

const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;

/// splitmix64's finalizer: a bijection on u64 that scatters nearby inputs.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(M1);
    x ^= x >> 27;
    x = x.wrapping_mul(M2);
    x ^ (x >> 31)
}

fn unmix(mut x: u64) -> u64 {
    x = unshift(x, 31);
    x = x.wrapping_mul(inverse(M2));
    x = unshift(x, 27);
    x = x.wrapping_mul(inverse(M1));
    unshift(x, 30)
}

/// Inverts `x ^= x >> s`.
fn unshift(x: u64, s: u32) -> u64 {
    let mut y = x;
    let mut done = s;
    while done < 64 {
        y = x ^ (y >> s);
        done += s;
    }
    y
}

/// Multiplicative inverse of an odd number mod 2^64 (Newton's iteration).
const fn inverse(a: u64) -> u64 {
    let mut inv = a;
    let mut i = 0;
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(inv)));
        i += 1;
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_invert_and_reject_forgeries() {
        let c = Chain::new(7, 1);
        for h in [0, 1, 2, 99, 1 << 20, u64::MAX / 3] {
            let hash = c.hash(h);
            assert_eq!(c.height_of(&hash), Some(h));
        }
        let mut forged = c.hash(1000);
        forged[31] ^= 1;
        assert_eq!(c.height_of(&forged), None);
        assert_eq!(c.height_of(&[0u8; 31]), None);
        assert_eq!(c.height_of(&[0u8; 33]), None);
        // Another chain (seed or chain id) does not recognise the hash.
        assert_eq!(Chain::new(8, 1).height_of(&c.hash(5)), None);
        assert_eq!(Chain::new(7, 2).height_of(&c.hash(5)), None);
    }

    #[test]
    fn the_height_scramble_is_a_bijection() {
        for x in [
            0,
            1,
            2,
            0xffff,
            1 << 40,
            u64::MAX,
            u64::MAX - 1,
            0x0123_4567_89ab_cdef,
        ] {
            assert_eq!(unmix(mix(x)), x);
        }
        let c = Chain::new(7, 1);
        assert_ne!(
            c.hash(1000)[..4],
            c.hash(1001)[..4],
            "neighbours look unrelated"
        );
    }

    #[test]
    fn hashes_are_deterministic_and_distinct() {
        let (a, b) = (Chain::new(7, 1), Chain::new(7, 1));
        assert_eq!(a.hash(42), b.hash(42));
        assert_ne!(a.hash(42), a.hash(43));
        assert_eq!(a.parent_hash(43), a.hash(42));
        assert_eq!(a.parent_hash(0), [0; 32]);
    }

    #[test]
    fn a_fork_shares_history_below_its_height_only() {
        let honest = Chain::new(7, 1);
        let forked = Chain::new(7, 1).forked(500, 8, 1);
        for h in [0, 1, 499] {
            assert_eq!(honest.hash(h), forked.hash(h));
        }
        for h in [500, 501, 10_000] {
            assert_ne!(honest.hash(h), forked.hash(h));
            assert_eq!(forked.height_of(&forked.hash(h)), Some(h));
            assert_eq!(
                forked.height_of(&honest.hash(h)),
                None,
                "the trunk above the fork is not ours"
            );
        }
        assert_eq!(forked.parent_hash(500), honest.hash(499));
        assert_eq!(forked.height_of(&forked.hash(499)), Some(499));
        assert_eq!(
            forked.height_of(&Chain::new(8, 1).hash(10)),
            None,
            "the branch below the fork is not ours"
        );
    }

    #[test]
    fn block_values_have_requested_size_and_mix() {
        let c = Chain::new(7, 1);
        let mut v = Vec::new();
        c.block_value(10, 512, &mut v);
        assert_eq!(v.len(), 512);
        assert_eq!(&v[..8], &10u64.to_be_bytes());
        assert_eq!(&v[8..40], &c.hash(10));
        let mut w = Vec::new();
        c.block_value(10, 512, &mut w);
        assert_eq!(v, w);
        c.block_value(11, 512, &mut w);
        assert_ne!(v, w);
        c.block_value(1, 64, &mut w);
        assert_eq!(w.len(), 72, "never shorter than the header");
    }
}
