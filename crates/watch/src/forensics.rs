//! Evidence captured once when a stall begins (docs/ANALYSIS.md, Stall forensics): the tail
//! of the node's log, what its threads do for a few seconds, and a goroutine dump when the
//! node exposes Go's pprof. Runs on a blocking thread; never delays a tick.
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use nodewarden_config::{LogSource, NodeConfig};
use nodewarden_model::Forensics;

const LOG_LINES: usize = 200;
/// The tail is read from at most this far before the end of a log file.
const LOG_BYTES: u64 = 256 << 10;
const PPROF_BYTES: usize = 4 << 20;
const PPROF_TIMEOUT: Duration = Duration::from_secs(5);

pub fn capture(
    cfg: &NodeConfig,
    pid: Option<u32>,
    stall_start_ms: i64,
    height: u64,
    t_ms: i64,
) -> Forensics {
    let mut notes = Vec::new();
    let log_tail = cfg.log.as_ref().and_then(|l| match log_tail(l) {
        Ok(t) => Some(t),
        Err(e) => {
            notes.push(format!("log: {e}"));
            None
        }
    });
    let threads = match pid {
        Some(p) => nodewarden_sample::thread_states(p, 10, Duration::from_millis(300))
            .map(|t| t.summary())
            .or_else(|| {
                notes.push(format!("threads: process {p} is gone"));
                None
            }),
        None => {
            notes.push("threads: the node's process is not known".into());
            None
        }
    };
    let pprof = cfg
        .pprof
        .as_deref()
        .and_then(|base| match goroutines(base) {
            Ok(t) => Some(t),
            Err(e) => {
                notes.push(format!("pprof {base}: {e}"));
                None
            }
        });
    Forensics {
        node: cfg.name.clone(),
        t_ms,
        stall_start_ms,
        height,
        log_tail,
        threads,
        pprof,
        notes,
    }
}

fn log_tail(src: &LogSource) -> Result<String, String> {
    match src {
        LogSource::File { file } => {
            let mut f =
                std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let len = f.metadata().map_err(|e| e.to_string())?.len();
            f.seek(SeekFrom::Start(len.saturating_sub(LOG_BYTES)))
                .map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).map_err(|e| e.to_string())?;
            Ok(last_lines(&String::from_utf8_lossy(&buf)))
        }
        LogSource::Journald { journald } => {
            // A clean environment: the node's secrets are no business of journalctl.
            let out = Command::new("journalctl")
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .args([
                    "-u",
                    journald,
                    "-n",
                    &LOG_LINES.to_string(),
                    "--no-pager",
                    "-o",
                    "short-iso",
                ])
                .output()
                .map_err(|e| format!("journalctl: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "journalctl -u {journald}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(last_lines(&String::from_utf8_lossy(&out.stdout)))
        }
    }
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_LINES)..].join("\n")
}

/// `GET base/debug/pprof/goroutine?debug=2` over plain HTTP/1.0 (pprof listens on loopback).
fn goroutines(base: &str) -> Result<String, String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or("only http:// pprof endpoints are supported")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&addr, PPROF_TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(PPROF_TIMEOUT))
        .map_err(|e| e.to_string())?;
    // A server that answers before reading the whole request may close its side first:
    // what it sent is still there to read, so only the answer decides.
    let _ = write!(
        s,
        "GET /debug/pprof/goroutine?debug=2 HTTP/1.0\r\nHost: {authority}\r\n\r\n"
    );
    let mut raw = Vec::new();
    s.take(PPROF_BYTES as u64)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("not an HTTP answer")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("HTTP {status}"));
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-shot server answering `raw` to the first connection.
    fn serve(raw: Vec<u8>) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                // The whole request first: closing with unread bytes would reset the
                // connection under the client's read.
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(&raw);
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn hostile_pprof_answers_are_errors_or_capped() {
        let e = goroutines(&serve(b"HTTP/1.0 404 Not Found\r\n\r\nno".to_vec())).unwrap_err();
        assert_eq!(e, "HTTP 404");
        let e = goroutines(&serve(b"garbage without a header end".to_vec())).unwrap_err();
        assert_eq!(e, "not an HTTP answer");
        let mut huge = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        huge.resize(PPROF_BYTES + (1 << 20), b'g');
        let body = goroutines(&serve(huge)).unwrap();
        assert!(
            body.len() < PPROF_BYTES,
            "read at most the cap: {}",
            body.len()
        );
        assert!(
            goroutines("https://127.0.0.1:1")
                .unwrap_err()
                .contains("http://")
        );
    }

    #[test]
    fn a_missing_log_is_a_note_not_a_failure() {
        let mut cfg = NodeConfig::new("n", nodewarden_rpc::KindSpec::Auto, None);
        cfg.log = Some(LogSource::File {
            file: "/nonexistent/node.log".into(),
        });
        let f = capture(&cfg, None, 1, 2, 3);
        assert!(f.log_tail.is_none() && f.threads.is_none());
        assert!(
            f.notes.iter().any(|n| n.contains("/nonexistent/node.log")),
            "{:?}",
            f.notes
        );
    }
}
