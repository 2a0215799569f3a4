//! Test plumbing: the real `nodewarden` binary, real sims on loopback, canned HTTP servers
//! for failure modes no healthy node produces, and the external peers the test script
//! installs (anvil, Python with plyvel).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nodewarden"));
    c.env_remove("NODEWARDEN_LOG")
        .current_dir(std::env::temp_dir());
    c
}

/// Run the binary to completion with a hard time limit. Output is collected on another
/// thread while the child runs, so a chatty command cannot block on a full pipe.
pub fn run(args: &[&str]) -> Output {
    run_command(bin(), args)
}

/// [`run`] for a prepared command (an environment set, say).
pub fn run_command(mut cmd: Command, args: &[&str]) -> Output {
    let child = cmd
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nodewarden");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.expect("output"),
        Err(_) => {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("nodewarden {args:?} did not finish within 120s");
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `nodewarden sim` child process; killed (SIGKILL) on drop if still running. Derefs to
/// the [`Spawned`] process (`child`, `signal`).
pub struct SimProc {
    proc: Spawned,
    pub url: String,
    pub port: u16,
}

pub struct SimSpec<'a> {
    pub kind: &'a str,
    pub scenario: Option<&'a str>,
    pub speed: f64,
    pub data_dir: &'a Path,
    pub port: u16,
}

impl std::ops::Deref for SimProc {
    type Target = Spawned;
    fn deref(&self) -> &Spawned {
        &self.proc
    }
}

impl SimProc {
    pub fn start(spec: SimSpec<'_>) -> SimProc {
        let listen = format!("127.0.0.1:{}", spec.port);
        let speed = spec.speed.to_string();
        let dir = spec.data_dir.to_str().expect("utf-8 temp path");
        let mut args = vec![
            "sim",
            "--kind",
            spec.kind,
            "--listen",
            &listen,
            "--speed",
            &speed,
            "--data-dir",
            dir,
        ];
        let scenario = spec.data_dir.with_extension("scenario.toml");
        if let Some(text) = spec.scenario {
            std::fs::write(&scenario, text).unwrap();
            args.extend(["--scenario", scenario.to_str().unwrap()]);
        }
        let mut proc = Spawned::start(&args);
        let rest = proc.wait_line("listening on ", Duration::from_secs(20));
        let url = rest
            .split_whitespace()
            .next()
            .expect("an address")
            .to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        SimProc { proc, url, port }
    }

    pub fn quick(kind: &str, dir: &Path) -> SimProc {
        SimProc::start(SimSpec {
            kind,
            scenario: None,
            speed: 50.0,
            data_dir: dir,
            port: 0,
        })
    }

    /// SIGTERM, then wait for a clean exit; returns every line the sim printed.
    pub fn stop(self) -> (std::process::ExitStatus, Vec<String>) {
        self.proc.signal(libc::SIGTERM);
        self.proc.finish(Duration::from_secs(20))
    }
}

/// POST one JSON-RPC call with std only, so the test does not share code with the client.
pub fn rpc(url: &str, method: &str, params: &str) -> serde_json::Value {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let (status, text) = http_post(url, "application/json", &body, None);
    assert_eq!(status, 200, "{method}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method}: {e}: {text}"))
}

/// Minimal HTTP/1.1 POST; `host` overrides the Host header.
pub fn http_post(url: &str, content_type: &str, body: &str, host: Option<&str>) -> (u16, String) {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        host.unwrap_or(addr),
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    read_response(&mut s)
}

/// Status and (de-chunked) body of the answer on a `Connection: close` stream.
fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, dechunk(&body))
}

fn dechunk(body: &str) -> String {
    // Servers may answer chunked; good enough for small test bodies.
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 {
            return out;
        }
        out.push_str(&tail[..n.min(tail.len())]);
        rest = tail.get(n + 2..).unwrap_or("");
    }
    body.to_string()
}

/// A loopback server that answers every request with the same raw HTTP response (or, with
/// `None`, accepts and never answers). Serves at most `max` connections, then stops.
pub fn canned_server(response: Option<&'static str>, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut buf);
            match response {
                Some(r) => {
                    let _ = stream.write_all(r.as_bytes());
                }
                None => held.push(stream),
            }
        }
        thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    format!("http://{addr}")
}

/// A port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn json_response(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// An external tool the test script installs; a clear failure when it is missing.
pub fn external(env: &str, default: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(default));
    assert!(
        path.exists(),
        "{} not found: run scripts/test.sh, which installs it (or set {env})",
        path.display()
    );
    path
}

/// Any long-running `nodewarden` child whose stdout lines are collected as they come.
pub struct Spawned {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Spawned {
    pub fn start(args: &[&str]) -> Spawned {
        Self::spawn(bin(), args)
    }

    /// [`Spawned::start`] in another working directory.
    pub fn start_in(dir: &Path, args: &[&str]) -> Spawned {
        let mut cmd = bin();
        cmd.current_dir(dir);
        Self::spawn(cmd, args)
    }

    fn spawn(mut cmd: Command, args: &[&str]) -> Spawned {
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Spawned {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Wait for a line starting with `prefix`; returns the rest of it.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(rest) = self.seen.iter().find_map(|l| l.strip_prefix(prefix)) {
                return rest.to_string();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!(
                    "no line starting with {prefix:?} within {timeout:?}; saw {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Every line printed so far, after waiting until none came for `quiet`.
    pub fn lines_so_far(&mut self, quiet: Duration) -> &[String] {
        while let Ok(l) = self.lines.recv_timeout(quiet) {
            self.seen.push(l);
        }
        &self.seen
    }

    /// The `http://ADDR` a watch or demo serves on.
    pub fn http_base(&mut self) -> String {
        let rest = self.wait_line("serving http://", Duration::from_secs(30));
        format!("http://{}", rest.split('/').next().unwrap())
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// Wait for exit (bounded) and collect the remaining output.
    pub fn finish(mut self, timeout: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "process did not exit within {timeout:?}; saw {:?}",
                    self.seen
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        thread::sleep(Duration::from_millis(50));
        self.seen.extend(self.lines.try_iter());
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Minimal HTTP/1.1 GET.
pub fn http_get(url: &str) -> (u16, String) {
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest
        .split_once('/')
        .map(|(a, p)| (a, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    read_response(&mut s)
}

pub fn get_json(url: &str) -> serde_json::Value {
    let (status, body) = http_get(url);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// The value of one series in a Prometheus exposition, by name and a label substring.
pub fn metric(text: &str, name: &str, label_part: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains(label_part))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A real Ethereum node (anvil, installed by the test script) on a free loopback port;
/// killed on drop.
pub struct Anvil {
    child: Child,
    pub url: String,
}

impl Anvil {
    pub fn start(extra: &[&str]) -> Anvil {
        let bin = external(
            "NODEWARDEN_ANVIL",
            ".cache/tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
        );
        let port = dead_port();
        let child = Command::new(bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start anvil");
        let anvil = Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_until("anvil to listen", Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        anvil
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, unencrypted backup repository under `dir` holding one snapshot of `node` (a
/// `--hot` backup of a one-file directory); returns the repository path.
pub fn repo_with_snapshot(dir: &Path, node: &str) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("f"), b"chain data").unwrap();
    let repo = dir.join("repo");
    let repo_s = repo.to_str().unwrap();
    assert!(run(&["init", "--repo", repo_s]).status.success());
    let made = run(&[
        "backup",
        "--repo",
        repo_s,
        "--hot",
        data.to_str().unwrap(),
        "--node",
        node,
    ]);
    assert!(made.status.success(), "{}", stderr(&made));
    repo
}

/// Every file and directory under `dir` (relative path → bytes; empty for directories),
/// plus symlink targets.
pub fn dir_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(format!("{rel} ->"), t.to_string_lossy().as_bytes().to_vec());
            } else if meta.is_dir() {
                stack.push(p);
                out.insert(format!("{rel}/"), Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Entries of `dir` named like nodewarden's freeze, staging, aside dirs and journals: a
/// finished command leaves none.
pub fn nodewarden_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("nodewarden-"))
        .collect()
}
