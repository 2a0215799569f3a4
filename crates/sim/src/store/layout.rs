//! Where each kind keeps its databases and key files, with
//! LevelDB standing in for RocksDB. Key files are written once and never
//! overwritten: they are the "critical" files a backup must carry.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nodewarden_model::Kind;
use serde_json::json;

use crate::chain::Chain;
use crate::encode::{bech32, hex, hex0x};
use crate::error::SimError;

/// Paths of the LevelDB databases of one data dir.
#[derive(Debug, Clone)]
pub struct DbPaths {
    pub main: PathBuf,
    /// zenon's `consensus/`: a small record every ~100 blocks.
    pub consensus: Option<PathBuf>,
    /// zenon's `cache/`: the frontier, now and then.
    pub cache: Option<PathBuf>,
}

pub fn db_paths(kind: Kind, dir: &Path, chain_name: &str) -> DbPaths {
    match kind {
        Kind::Zenon => DbPaths {
            main: dir.join("nom"),
            consensus: Some(dir.join("consensus")),
            cache: Some(dir.join("cache")),
        },
        Kind::Ethereum => DbPaths {
            main: dir.join("database"),
            consensus: None,
            cache: None,
        },
        Kind::Substrate => DbPaths {
            main: dir.join("chains").join(chain_name).join("db").join("full"),
            consensus: None,
            cache: None,
        },
    }
}

/// Creates the non-database parts of the layout that are missing.
pub fn ensure_files(
    kind: Kind,
    dir: &Path,
    chain_name: &str,
    chain: &Chain,
    chain_id: u64,
    genesis_time_s: i64,
) -> Result<(), SimError> {
    match kind {
        Kind::Zenon => {
            ensure_dir(&dir.join("network"))?;
            ensure_dir(&dir.join("wallet"))?;
            let key = [chain.derive("node-key", 0), chain.derive("node-key", 1)].concat();
            ensure_file(&dir.join("network-private-key"), hex(&key).as_bytes(), true)?;
            ensure_file(&dir.join("config.json"), &pretty(&zenon_config()), false)?;
            let genesis = json!({
                "ChainIdentifier": chain_id,
                "ExtraData": "nodewarden-sim",
                "GenesisTimestampSec": genesis_time_s,
                "SporkAddress": zenon_address(chain, "spork", 0),
            });
            ensure_file(&dir.join("genesis.json"), &pretty(&genesis), false)?;
            let address = zenon_address(chain, "wallet", 0);
            let keyfile = zenon_keyfile(chain, &address, genesis_time_s);
            ensure_file(&dir.join("wallet").join(&address), &pretty(&keyfile), true)
        }
        Kind::Ethereum => {
            ensure_dir(&dir.join("caches"))?;
            let key = hex(&chain.derive("node-key", 0));
            ensure_file(&dir.join("key"), key.as_bytes(), true)
        }
        Kind::Substrate => {
            let base = dir.join("chains").join(chain_name);
            ensure_dir(&base.join("keystore"))?;
            ensure_dir(&base.join("network"))?;
            let secret = chain.derive("node-key", 0);
            ensure_file(&base.join("network").join("secret_ed25519"), &secret, true)?;
            // Substrate names a key file by hex(key type) + hex(public key) and
            // stores the secret as a JSON string.
            let public = chain.derive("session-key", 0);
            let name = format!("{}{}", hex(b"babe"), hex(&public));
            let phrase = json!(hex0x(&chain.derive("session-secret", 0)));
            ensure_file(
                &base.join("keystore").join(name),
                phrase.to_string().as_bytes(),
                true,
            )
        }
    }
}

/// A zenon user address (type byte 0, then 19 bytes) derived from the chain seed.
pub fn zenon_address(chain: &Chain, label: &str, index: u64) -> String {
    let mut data = [0u8; 20];
    data[1..].copy_from_slice(&chain.derive(label, index)[..19]);
    bech32("z", &data)
}

fn zenon_config() -> serde_json::Value {
    json!({
        "LogLevel": "info",
        "Producer": null,
        "RPC": {
            "EnableHTTP": true,
            "EnableWS": false,
            "HTTPHost": "127.0.0.1",
            "HTTPPort": Kind::Zenon.default_port(),
            "HTTPCors": ["*"],
        },
        "Net": { "ListenHost": "0.0.0.0", "ListenPort": 35995, "MinPeers": 8, "MaxPeers": 60 },
    })
}

fn zenon_keyfile(chain: &Chain, address: &str, timestamp: i64) -> serde_json::Value {
    let mut cipher = [0u8; 80];
    chain.derive_into("wallet-cipher", 0, &mut cipher);
    let salt = chain.derive("wallet-salt", 0);
    let nonce = chain.derive("wallet-nonce", 0);
    json!({
        "baseAddress": address,
        "crypto": {
            "argon2Params": { "salt": hex0x(&salt[..16]) },
            "cipherData": hex0x(&cipher),
            "cipherName": "aes-256-gcm",
            "kdf": "argon2.IDKey",
            "nonce": hex0x(&nonce[..12]),
        },
        "timestamp": timestamp,
        "version": 1,
    })
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn ensure_dir(path: &Path) -> Result<(), SimError> {
    fs::create_dir_all(path).map_err(|e| SimError::io(path, e))
}

/// Writes `contents` to `path` unless it exists, via a temp file and rename so
/// a kill never leaves a half-written key behind.
fn ensure_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), SimError> {
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension("nodewarden-sim-tmp");
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(if secret { 0o600 } else { 0o644 })
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        SimError::io(path, e)
    })
}
