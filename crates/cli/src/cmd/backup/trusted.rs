//! `restore --check-against URL|NODE`: before anything is written, a trusted node's block
//! hash at the snapshot's recorded height must equal the snapshot's head hash, so a
//! snapshot taken from a forked node is refused.
use std::time::Duration;

use nodewarden_config::{Config, NodeArg};
use nodewarden_rpc::hashes::{hash_at, parse_hash};
use nodewarden_rpc::{Kind, KindSpec};

const TIMEOUT: Duration = Duration::from_secs(30);

/// `Ok` with a line saying what matched, `Err` with the refusal naming both hashes.
pub async fn check(
    spec: &str,
    config: &Config,
    snapshot: &str,
    kind: &str,
    height: Option<u64>,
    head_hash: Option<&str>,
) -> Result<String, String> {
    let (Some(height), Some(recorded)) = (height, head_hash) else {
        return Err(format!(
            "snapshot {snapshot} records no height and head hash (take it with backup --node), so it cannot be checked against {spec}"
        ));
    };
    let (name, kind, url) = if spec.contains("://") && !spec.contains('@') {
        // A bare URL speaks the snapshot's dialect.
        let kind = kind
            .parse::<Kind>()
            .map(KindSpec::Known)
            .unwrap_or(KindSpec::Auto);
        ("trusted".to_string(), kind, spec.to_string())
    } else if spec.contains('@') {
        let arg: NodeArg = format!("trusted={spec}").parse()?;
        let node = arg.to_config();
        ("trusted".to_string(), node.kind, node.rpc_url()?)
    } else {
        let node = config.node(spec).map_err(|e| e.to_string())?;
        (node.name.clone(), node.kind, node.rpc_url()?)
    };
    let client = nodewarden_rpc::connect(&name, kind, &url, TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let theirs = hash_at(client.as_ref(), height)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!("{name} ({url}) has no block at height {height}, the snapshot's head; refused")
        })?;
    let ours = parse_hash(recorded).ok_or_else(|| {
        format!("snapshot {snapshot}: recorded head hash {recorded:?} is not 32 bytes of hex")
    })?;
    let show = |h: nodewarden_rpc::hashes::BlockHash| match recorded.starts_with("0x") {
        true => format!("0x{h}"),
        false => h.to_string(),
    };
    let (ours, theirs) = (show(ours), show(theirs));
    if ours != theirs {
        return Err(format!(
            "snapshot {snapshot} is not on {name}'s chain: at height {height} it has {ours}, {name} ({url}) has {theirs}; refused"
        ));
    }
    Ok(format!(
        "checked against {name} ({url}): same block {theirs} at height {height}"
    ))
}
