//! [`FaultProxy`]: an HTTP/1.1 proxy that harms a seeded share of the requests it is told
//! to target ([`Faults`]) and records every request it saw ([`Request`], [`Outcome`]).
use std::fmt::Write as _;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::http::{Framing, Head, host_port, read_body, read_head, read_response, request_framing};

/// Which requests a [`FaultProxy`] harms, and how. Each eligible request draws once from
/// a seeded xorshift: below `error_rate` it is answered with an S3 error, then
/// `reset_rate` resets, then `stall_rate` stalls; the rest are forwarded. The rates must
/// add up to at most 1.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Answered without forwarding: `503 Slow Down` (`SlowDown`), or one time in four
    /// `500 Internal Server Error` (`InternalError`), with S3's XML error body.
    pub error_rate: f64,
    /// The client connection is reset (SO_LINGER 0, so an RST) instead of answered.
    pub reset_rate: f64,
    /// The share of resets that first forward the request and read the upstream's whole
    /// answer, so the write happened although the client saw a reset. Default 0.5.
    pub reset_after_forward: f64,
    /// No answer for `stall` (or until the proxy is dropped), then the connection is
    /// closed; the request is not forwarded.
    pub stall_rate: f64,
    /// Make it longer than the client's request timeout. Default 60 s.
    pub stall: Duration,
    /// Only requests whose path (without the query, as sent: percent-encoded) contains
    /// this are eligible, e.g. `"/bucket/packs/"`.
    pub path_contains: Option<String>,
    /// Only requests with this method are eligible, e.g. `"PUT"`.
    pub method: Option<String>,
    /// The first `after` eligible requests pass untouched.
    pub after: usize,
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            error_rate: 0.0,
            reset_rate: 0.0,
            reset_after_forward: 0.5,
            stall_rate: 0.0,
            stall: Duration::from_secs(60),
            path_contains: None,
            method: None,
            after: 0,
            seed: 1,
        }
    }
}

impl Faults {
    /// Forward everything.
    pub fn none() -> Faults {
        Faults::default()
    }

    fn check(&self) {
        for (name, r) in [
            ("error_rate", self.error_rate),
            ("reset_rate", self.reset_rate),
            ("reset_after_forward", self.reset_after_forward),
            ("stall_rate", self.stall_rate),
        ] {
            assert!((0.0..=1.0).contains(&r), "{name} {r} is not in [0, 1]");
        }
        let sum = self.error_rate + self.reset_rate + self.stall_rate;
        assert!(sum <= 1.0 + 1e-9, "fault rates add up to {sum} > 1");
    }
}

/// What the proxy did with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; the upstream's status was relayed.
    Forwarded(u16),
    /// Answered by the proxy with this status (503 or 500); not forwarded.
    Injected(u16),
    /// Connection reset after the request was read; not forwarded.
    Reset,
    /// Forwarded and answered upstream with this status, then the client connection was
    /// reset instead of relaying it.
    ResetAfterForward(u16),
    /// Held without an answer, then closed; not forwarded.
    Stalled,
    /// The upstream could not be reached or broke off; answered 502 (or reset, if a reset
    /// was planned).
    BadGateway,
}

impl Outcome {
    /// Whether the request reached the upstream (and so may have taken effect).
    pub fn reached_upstream(self) -> bool {
        matches!(self, Outcome::Forwarded(_) | Outcome::ResetAfterForward(_))
    }

    /// Whether the proxy harmed this request.
    pub fn is_fault(self) -> bool {
        !matches!(self, Outcome::Forwarded(_))
    }
}

/// One request the proxy saw, recorded when its outcome was known (a stall: when it began).
#[derive(Clone, Debug)]
pub struct Request {
    /// The client connection, numbered from 1 in accept order.
    pub conn: u64,
    pub method: String,
    /// As sent (percent-encoded), without the query.
    pub path: String,
    /// As sent, without the `?`; empty if none.
    pub query: String,
    /// The body's length after de-chunking.
    pub body_len: usize,
    pub outcome: Outcome,
}

/// An HTTP/1.1 proxy on `127.0.0.1` and a free port in front of `upstream`, one thread per
/// client connection, keep-alive towards clients. Stops accepting, and closes every client
/// connection, on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: String,
    state: Mutex<State>,
    log: Mutex<Vec<Request>>,
    stop: AtomicBool,
    conns: Mutex<Vec<(u64, TcpStream)>>,
}

struct State {
    faults: Faults,
    rng: u64,
    eligible: usize,
}

enum Action {
    Forward,
    Error(u16),
    Reset { after_forward: bool },
    Stall(Duration),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn set(&mut self, faults: Faults) {
        faults.check();
        self.rng = (faults.seed ^ 0x9E37_79B9_7F4A_7C15).max(1);
        self.eligible = 0;
        self.faults = faults;
    }

    fn decide(&mut self, method: &str, path: &str) -> Action {
        let f = &self.faults;
        let eligible = f.path_contains.as_deref().is_none_or(|p| path.contains(p))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
        if !eligible {
            return Action::Forward;
        }
        let (after, error, reset, stall_rate, stall, reset_after) = (
            f.after,
            f.error_rate,
            f.reset_rate,
            f.stall_rate,
            f.stall,
            f.reset_after_forward,
        );
        self.eligible += 1;
        if self.eligible <= after {
            return Action::Forward;
        }
        let u = self.next_f64();
        if u < error {
            let status = if self.next_f64() < 0.25 { 500 } else { 503 };
            Action::Error(status)
        } else if u < error + reset {
            Action::Reset {
                after_forward: self.next_f64() < reset_after,
            }
        } else if u < error + reset + stall_rate {
            Action::Stall(stall)
        } else {
            Action::Forward
        }
    }
}

impl FaultProxy {
    /// Listen on a free loopback port; `upstream` is `http://HOST:PORT` (e.g. the moto
    /// endpoint) or `HOST:PORT`.
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let mut state = State {
            faults: Faults::none(),
            rng: 1,
            eligible: 0,
        };
        state.set(faults);
        let shared = Arc::new(Shared {
            upstream: host_port(upstream).to_string(),
            state: Mutex::new(state),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let sh = shared.clone();
        let accept = thread::spawn(move || {
            let mut next = 0u64;
            for stream in listener.incoming() {
                if sh.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                next += 1;
                let conn = next;
                if let Ok(clone) = stream.try_clone() {
                    lock(&sh.conns).push((conn, clone));
                }
                let sh = sh.clone();
                thread::spawn(move || {
                    serve(&sh, conn, stream);
                    lock(&sh.conns).retain(|(c, _)| *c != conn);
                });
            }
        });
        FaultProxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replace the faults from the next request on; the RNG is re-seeded and `after`
    /// counts afresh. Requests already being handled keep their fate.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.state).set(faults);
    }

    /// Every request so far, in the order their outcomes were known.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    pub fn count(&self, f: impl Fn(&Request) -> bool) -> usize {
        lock(&self.shared.log).iter().filter(|r| f(r)).count()
    }

    /// Forget the requests recorded so far.
    pub fn clear(&self) {
        lock(&self.shared.log).clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // unblocks accept
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for (_, c) in lock(&self.shared.conns).drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Headers that describe one connection or one framing, not the message.
const HOP_BY_HOP: &[&str] = &[
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Content-Length",
    "Expect",
];

fn is_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// One client connection: requests in turn until the client closes, asks to, or a fault
/// ends the connection.
fn serve(sh: &Shared, conn: u64, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(stream);
    while !sh.stop.load(Ordering::SeqCst) {
        let Ok(Some(head)) = read_head(&mut reader) else {
            break;
        };
        let mut parts = head.start.split_whitespace();
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            break;
        };
        let (method, version) = (method.to_string(), version.to_string());
        // An absolute-form target (a client treating us as a forward proxy) loses its
        // scheme and authority.
        let target = match target.strip_prefix("http://") {
            Some(rest) => rest
                .find('/')
                .map_or("/".to_string(), |i| rest[i..].to_string()),
            None => target.to_string(),
        };
        let close = head.has_token("Connection", "close")
            || (version == "HTTP/1.0" && !head.has_token("Connection", "keep-alive"));
        let Ok(framing) = request_framing(&head) else {
            break;
        };
        if head.has_token("Expect", "100-continue")
            && !matches!(framing, Framing::Empty | Framing::Length(0))
            && reader
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .is_err()
        {
            break;
        }
        let Ok(body) = read_body(&mut reader, framing) else {
            break;
        };
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let record = |outcome| {
            lock(&sh.log).push(Request {
                conn,
                method: method.clone(),
                path: path.to_string(),
                query: query.to_string(),
                body_len: body.len(),
                outcome,
            })
        };
        let action = lock(&sh.state).decide(&method, path);
        let client = reader.get_mut();
        match action {
            Action::Forward => match forward(&sh.upstream, &head, &method, &target, &body) {
                Ok((up, status, up_body)) => {
                    record(Outcome::Forwarded(status));
                    if relay(client, &method, status, &up, &up_body, close).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    record(Outcome::BadGateway);
                    let msg = format!("proxy: upstream {}: {e}", sh.upstream);
                    let answer = format!(
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                        msg.len()
                    );
                    let _ = client.write_all(answer.as_bytes());
                    break;
                }
            },
            Action::Error(status) => {
                record(Outcome::Injected(status));
                let n = lock(&sh.log).len();
                if client
                    .write_all(&s3_error(status, &method, n, close))
                    .is_err()
                {
                    break;
                }
            }
            Action::Reset { after_forward } => {
                if after_forward {
                    match forward(&sh.upstream, &head, &method, &target, &body) {
                        Ok((_, status, _)) => record(Outcome::ResetAfterForward(status)),
                        Err(_) => record(Outcome::BadGateway),
                    }
                } else {
                    record(Outcome::Reset);
                }
                reset(sh, conn, reader.into_inner());
                return;
            }
            Action::Stall(stall) => {
                record(Outcome::Stalled);
                let until = Instant::now() + stall;
                while !sh.stop.load(Ordering::SeqCst) {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    thread::sleep(left.min(Duration::from_millis(20)));
                }
                break;
            }
        }
        if close {
            break;
        }
    }
    let _ = reader.get_ref().shutdown(Shutdown::Both);
}

/// Close the client connection with an RST: SO_LINGER 0, and the last descriptor closed
/// (the clone kept for drop goes first).
fn reset(sh: &Shared, conn: u64, stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor we own, with a pointer to a live `linger` and its
    // exact size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    lock(&sh.conns).retain(|(c, _)| *c != conn);
    drop(stream);
}

/// Send the request upstream on a fresh connection (the head as received, minus
/// hop-by-hop headers; the body as read, with a `Content-Length`) and read the whole answer.
fn forward(
    upstream: &str,
    head: &Head,
    method: &str,
    target: &str,
    body: &[u8],
) -> io::Result<(Head, u16, Vec<u8>)> {
    let stream = TcpStream::connect(upstream)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.set_nodelay(true)?;
    let mut out = format!("{method} {target} HTTP/1.1\r\n");
    for (k, v) in &head.headers {
        if !is_hop(k) {
            write!(out, "{k}: {v}\r\n").unwrap();
        }
    }
    if request_framing(head)? != Framing::Empty {
        write!(out, "Content-Length: {}\r\n", body.len()).unwrap();
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(&bytes)?;
    let (head, status, body, _) = read_response(&mut reader, method)?;
    Ok((head, status, body))
}

/// Relay an upstream answer with our own framing and connection handling. A HEAD answer
/// keeps the upstream's `Content-Length` (the object's size) and has no body.
fn relay(
    client: &mut TcpStream,
    method: &str,
    status: u16,
    up: &Head,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let head_req = method.eq_ignore_ascii_case("HEAD");
    let mut out = format!("{}\r\n", up.start);
    for (k, v) in &up.headers {
        let keep_length = head_req && k.eq_ignore_ascii_case("Content-Length");
        if keep_length || !is_hop(k) {
            write!(out, "{k}: {v}\r\n").unwrap();
        }
    }
    let bodiless = head_req || status < 200 || status == 204 || status == 304;
    if !bodiless {
        write!(out, "Content-Length: {}\r\n", body.len()).unwrap();
    }
    let connection = if close { "close" } else { "keep-alive" };
    write!(out, "Connection: {connection}\r\n\r\n").unwrap();
    let mut bytes = out.into_bytes();
    if !bodiless {
        bytes.extend_from_slice(body);
    }
    client.write_all(&bytes)
}

/// An injected S3 error answer (no body for HEAD, as S3 does).
fn s3_error(status: u16, method: &str, n: usize, close: bool) -> Vec<u8> {
    let (reason, code, message) = if status == 500 {
        (
            "Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    } else {
        ("Slow Down", "SlowDown", "Please reduce your request rate.")
    };
    let id = format!("NWFAULT{n:08}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"
    );
    let connection = if close { "close" } else { "keep-alive" };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nx-amz-request-id: {id}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    if !method.eq_ignore_ascii_case("HEAD") {
        out.push_str(&body);
    }
    out.into_bytes()
}
