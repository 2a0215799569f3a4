//! PostgreSQL: `pg_dump -Fc` streamed straight into the chunker (never staged on disk), and
//! `pg_restore` fed from the snapshot's chunks.
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::crypto::Id;
use crate::error::{BackupError, Result};
use crate::format::{PgDump, parse_id};
use crate::pack::Ingest;
use crate::repo::{Index, Repository};

/// The database name of a `postgres://…/NAME` URL, for the manifest and messages.
pub fn database_name(url: &str) -> String {
    let tail = url.rsplit('/').next().unwrap_or(url);
    tail.split('?').next().unwrap_or(tail).to_string()
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

pub fn dump(url: &str, ingest: &Ingest<'_>) -> Result<PgDump> {
    let shown = redact(url);
    let auth = crate::child::PgAuth::new(url)?;
    let mut cmd = Command::new("pg_dump");
    auth.apply(&mut cmd);
    let mut child = cmd
        .args(["-Fc", "--no-password", "--dbname", &auth.url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BackupError::Process(format!("pg_dump for {shown}: {e}")))?;
    let mut out = Counting {
        inner: child.stdout.take().expect("piped"),
        n: 0,
    };
    let chunks = ingest.read(
        &mut out,
        None,
        crate::sniff::Hint::Unknown,
        &format!("pg_dump {shown}"),
    );
    let output = child
        .wait_with_output()
        .map_err(|e| BackupError::Process(format!("pg_dump for {shown}: {e}")))?;
    if !output.status.success() {
        let msg = String::from_utf8_lossy(&output.stderr);
        return Err(BackupError::Process(format!(
            "pg_dump for {shown} failed: {}",
            msg.lines().next().unwrap_or("no message").trim()
        )));
    }
    Ok(PgDump {
        database: database_name(url),
        size: out.n,
        chunks: chunks?.0,
    })
}

/// Streams a dump into `pg_restore --dbname TARGET` (the database must exist).
pub fn restore(repo: &Repository, index: &Index, dump: &PgDump, target: &str) -> Result<()> {
    let shown = redact(target);
    let auth = crate::child::PgAuth::new(target)?;
    let mut cmd = Command::new("pg_restore");
    auth.apply(&mut cmd);
    let mut child = cmd
        .args([
            "--no-password",
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &auth.url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BackupError::Process(format!("pg_restore into {shown}: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut write_err = None;
    for c in &dump.chunks {
        let id: Id = parse_id(c)
            .ok_or_else(|| BackupError::Integrity(format!("pg dump: bad chunk id {c}")))?;
        let data = repo.read_chunk(index, &id)?;
        if let Err(e) = stdin.write_all(&data) {
            write_err = Some(e);
            break;
        }
    }
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| BackupError::Process(format!("pg_restore into {shown}: {e}")))?;
    if !output.status.success() || write_err.is_some() {
        let msg = String::from_utf8_lossy(&output.stderr);
        return Err(BackupError::Process(format!(
            "pg_restore into {shown} failed: {}",
            msg.lines().next().unwrap_or("no message").trim()
        )));
    }
    Ok(())
}
