//! `copy`: snapshots from one repository into another, e.g. a fast local repository and an
//! off-site S3 copy of it.
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use nodewarden_backup::{BackupError, InitOptions, Repository, Secret};
use nodewarden_config::Config;

use super::{RemoteArgs, blocking, print_json, remote_options};
use crate::exit::{CmdResult, Failure};
use crate::progress::ByteProgress;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  nodewarden copy --from /var/backups/nw --to s3://backups/znn    every snapshot
  nodewarden copy --from /var/backups/nw --to s3://backups/znn latest
  nodewarden copy --from s3://backups/znn --to /srv/repo --s3-endpoint http://minio:9000

Without SNAPSHOT every snapshot is copied; snapshots the destination has are skipped, and
so are chunks it has. A destination that does not exist yet is created like the source
(same chunking and chunk ids, its own key), which keeps snapshot ids and signatures.
An S3 destination must be encrypted. The destination's passphrase comes from
NODEWARDEN_PASSWORD, --password-file or --key-file; the source's from
NODEWARDEN_FROM_PASSWORD, --from-password-file or --from-key-file, and otherwise is the
destination's. The S3 settings apply to both repositories, but --from-s3-endpoint and
--from-s3-region set the source's apart (two providers). An interrupted copy, re-run,
resumes: packs it already stored are not sent again.")]
pub struct CopyArgs {
    /// The repository to read (a path, file:///path or s3://bucket/prefix).
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The repository to write; created like --from if it does not exist.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Snapshots to copy (id, unique id prefix, name, or `latest`) [default: all].
    #[arg(value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// The destination's passphrase file [default: $NODEWARDEN_PASSWORD].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// The destination's key file.
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub key_file: Option<PathBuf>,
    /// The source's passphrase file [default: $NODEWARDEN_FROM_PASSWORD, else the destination's].
    #[arg(long, value_name = "FILE")]
    pub from_password_file: Option<PathBuf>,
    /// The source's key file.
    #[arg(long, value_name = "FILE", conflicts_with = "from_password_file")]
    pub from_key_file: Option<PathBuf>,
    /// The source's S3 endpoint, when it differs from the destination's (--s3-endpoint).
    #[arg(long, value_name = "URL")]
    pub from_s3_endpoint: Option<String>,
    /// The source's S3 region, when it differs from the destination's (--s3-region).
    #[arg(long, value_name = "REGION")]
    pub from_s3_region: Option<String>,
    /// A JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn copy(a: CopyArgs, config: Config) -> CmdResult {
    let remote = remote_options(&a.remote, config.repository.as_ref())?;
    let mut from_remote = remote.clone();
    if a.from_s3_endpoint.is_some() {
        from_remote.endpoint = a.from_s3_endpoint.clone();
    }
    if a.from_s3_region.is_some() {
        from_remote.region = a.from_s3_region.clone();
    }
    let open = |url: &str, remote| -> Result<Arc<dyn nodewarden_store::Store>, Failure> {
        nodewarden_store::open_url(url, remote)
            .map(Arc::from)
            .map_err(Failure::usage)
    };
    let (src_store, dst_store) = (open(&a.from, &from_remote)?, open(&a.to, &remote)?);
    let dst_secret = Secret::from_sources(a.key_file.as_deref(), a.password_file.as_deref())
        .map_err(Failure::usage)?;
    // A source secret only inherited from the destination is not a claim that the source
    // is encrypted: a plain local source then opens without it.
    let (src_secret, inherited) = if a.from_key_file.is_some() || a.from_password_file.is_some() {
        let s = Secret::from_sources(a.from_key_file.as_deref(), a.from_password_file.as_deref())
            .map_err(Failure::usage)?;
        (s, false)
    } else {
        match std::env::var("NODEWARDEN_FROM_PASSWORD") {
            Ok(p) if !p.is_empty() => (Some(Secret::Passphrase(p)), false),
            _ => (dst_secret.clone(), true),
        }
    };
    let rt = tokio::runtime::Handle::current();
    let render = Arc::new(ByteProgress::new());
    let r = render.clone();
    let names = a.snapshots.clone();
    let out = blocking(move || {
        let src_secret = match inherited && !src_store.is_remote() {
            true if !Repository::is_encrypted(&src_store, &rt)? => None,
            _ => src_secret,
        };
        let src = Repository::open(src_store, rt.clone(), src_secret.as_ref())?;
        let created = !Repository::exists(&dst_store, &rt)?;
        let dst = if created {
            Repository::init(
                dst_store,
                rt,
                InitOptions {
                    secret: dst_secret,
                    like: Some(src.clone()),
                    ..Default::default()
                },
            )?
        } else {
            let dst = Repository::open(dst_store, rt, dst_secret.as_ref())?;
            nodewarden_backup::compatible(&src, &dst)?;
            dst
        };
        let all = nodewarden_backup::list_snapshots(&src)?;
        let chosen = nodewarden_backup::choose_snapshots(&all, &names)?;
        if chosen.is_empty() {
            return Err(BackupError::Input(format!(
                "{} has no snapshots to copy",
                src.describe()
            )));
        }
        let report = nodewarden_backup::copy(&src, &dst, &chosen, r.as_ref())?;
        let transfer = (src.store().stats(), dst.store().stats());
        Ok((created, dst.describe(), report, transfer))
    })
    .await;
    render.done();
    let (created, dst, report, (down, up)) = out?;
    if a.json {
        let mut v = serde_json::to_value(&report).map_err(Failure::runtime)?;
        v["created"] = created.into();
        v["source_transfer"] = serde_json::to_value(down).map_err(Failure::runtime)?;
        v["destination_transfer"] = serde_json::to_value(up).map_err(Failure::runtime)?;
        print_json(&v)?;
        return Ok(0);
    }
    if created {
        say!("created repository {dst} like {}", a.from);
    }
    say!(
        "copied {} snapshots to {dst} ({} already there): {} chunks, {:.1} MiB ({:.1} MiB stored), {:.2}s",
        report.copied.len(),
        report.present.len(),
        report.chunks,
        report.bytes as f64 / 1048576.0,
        report.stored_bytes as f64 / 1048576.0,
        report.seconds
    );
    Ok(0)
}
