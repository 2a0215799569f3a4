//! Self-tests: the plumbing against itself and moto.
use std::fmt::Write as _;
use std::io;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::http::host_port;
use super::xml::tag;
use super::{
    AUTH, Conn, FaultProxy, Faults, MIN_PART_SIZE, OCTET, Outcome, Response, S3Server, encode,
    request,
};

fn moto_with_bucket(bucket: &str) -> S3Server {
    let s3 = S3Server::start();
    s3.create_bucket(bucket);
    s3
}

/// Bytes that are not text and contain CRLFs, so framing bugs show.
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match i % 97 {
                0 => b'\r',
                1 => b'\n',
                _ => x as u8,
            }
        })
        .collect()
}

#[test]
fn s3_proxy_forwards_put_get_head_list() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(&s3.endpoint, Faults::none());
    let ep = proxy.endpoint();
    let data = noise(300_000, 7);

    let put = request(&ep, "PUT", "/bkt/packs/ab/one", &[AUTH, OCTET], &data).unwrap();
    assert_eq!(put.status, 200, "{}", put.text());
    assert!(put.header("ETag").is_some(), "{put:?}");
    let got = request(&ep, "GET", "/bkt/packs/ab/one", &[AUTH], b"").unwrap();
    assert_eq!(got.status, 200);
    assert!(got.body == data, "the object came back different");
    let head = request(&ep, "HEAD", "/bkt/packs/ab/one", &[AUTH], b"").unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("300000"));
    assert!(head.body.is_empty());
    let missing = request(&ep, "GET", "/bkt/packs/none", &[AUTH], b"").unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code().as_deref(), Some("NoSuchKey"));
    let listed = request(&ep, "GET", "/bkt?list-type=2&prefix=packs%2F", &[AUTH], b"").unwrap();
    assert_eq!(listed.status, 200);
    assert!(
        listed.text().contains("<Key>packs/ab/one</Key>"),
        "{}",
        listed.text()
    );

    // What is in the bucket, seen directly.
    assert_eq!(
        s3.list("bkt", "packs/"),
        vec![("packs/ab/one".to_string(), 300_000)]
    );
    assert!(s3.list("bkt", "index/").is_empty());
    assert_eq!(s3.get_object("bkt", "packs/ab/one").unwrap(), data);

    let reqs = proxy.requests();
    let seen: Vec<_> = reqs
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.query.as_str(),
                r.body_len,
                r.outcome,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "PUT",
                "/bkt/packs/ab/one",
                "",
                300_000,
                Outcome::Forwarded(200)
            ),
            ("GET", "/bkt/packs/ab/one", "", 0, Outcome::Forwarded(200)),
            ("HEAD", "/bkt/packs/ab/one", "", 0, Outcome::Forwarded(200)),
            ("GET", "/bkt/packs/none", "", 0, Outcome::Forwarded(404)),
            (
                "GET",
                "/bkt",
                "list-type=2&prefix=packs%2F",
                0,
                Outcome::Forwarded(200)
            ),
        ]
    );
    assert_eq!(
        proxy.count(|r| r.method == "PUT" && r.path.contains("/packs/")),
        1
    );
    assert_eq!(proxy.count(|r| r.outcome.is_fault()), 0);
    // Five `Connection: close` requests: five client connections.
    let mut conns: Vec<_> = reqs.iter().map(|r| r.conn).collect();
    conns.dedup();
    assert_eq!(conns.len(), 5);
}

#[test]
fn s3_proxy_keep_alive_chunked_and_expect_continue() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(s3.addr(), Faults::none());
    let mut c = Conn::open(&proxy.endpoint()).unwrap();

    let put = c.send("PUT", "/bkt/a", &[AUTH, OCTET], b"first").unwrap();
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        put.header("Connection"),
        Some("keep-alive"),
        "moto's close is not relayed"
    );
    let get = c.send("GET", "/bkt/a", &[AUTH], b"").unwrap();
    assert_eq!((get.status, get.body.as_slice()), (200, &b"first"[..]));
    // HEAD: a Content-Length but no body; the next answer on the socket must still parse.
    let head = c.send("HEAD", "/bkt/a", &[AUTH], b"").unwrap();
    assert_eq!(
        (head.status, head.header("Content-Length")),
        (200, Some("5"))
    );

    let big = noise(50_001, 3);
    let chunked = c
        .send(
            "PUT",
            "/bkt/b",
            &[
                AUTH,
                OCTET,
                ("Transfer-Encoding", "chunked"),
                ("Expect", "100-continue"),
            ],
            &big,
        )
        .unwrap();
    assert_eq!(chunked.status, 200, "{}", chunked.text());
    assert_eq!(chunked.interim, [100], "the proxy answers Expect itself");
    let back = c.send("GET", "/bkt/b", &[AUTH], b"").unwrap();
    assert!(
        back.status == 200 && back.body == big,
        "chunked upload came back different"
    );
    assert_eq!(
        s3.get_object("bkt", "b").unwrap(),
        big,
        "moto stored the de-chunked body"
    );

    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 5);
    assert!(
        reqs.iter().all(|r| r.conn == reqs[0].conn),
        "one connection: {reqs:?}"
    );
    assert_eq!(reqs[3].body_len, big.len());
    // A second connection gets its own number.
    let other = request(&proxy.endpoint(), "GET", "/bkt/a", &[AUTH], b"").unwrap();
    assert_eq!(other.status, 200);
    assert_ne!(proxy.requests()[5].conn, reqs[0].conn);
}

#[test]
fn s3_proxy_injects_errors_where_told() {
    let s3 = moto_with_bucket("bkt");
    let faults = Faults {
        error_rate: 1.0,
        path_contains: Some("/bkt/packs/".into()),
        method: Some("PUT".into()),
        after: 1,
        seed: 42,
        ..Faults::none()
    };
    let proxy = FaultProxy::start(&s3.endpoint, faults);
    let ep = proxy.endpoint();

    let first = request(&ep, "PUT", "/bkt/packs/0", &[AUTH, OCTET], b"pack").unwrap();
    assert_eq!(
        first.status, 200,
        "the first eligible request passes (after: 1)"
    );
    let mut statuses = Vec::new();
    let mut c = Conn::open(&ep).unwrap();
    for i in 1..=12 {
        let r = c
            .send("PUT", &format!("/bkt/packs/{i}"), &[AUTH, OCTET], b"pack")
            .unwrap();
        let code = r.error_code();
        match r.status {
            503 => assert_eq!(code.as_deref(), Some("SlowDown"), "{}", r.text()),
            500 => assert_eq!(code.as_deref(), Some("InternalError"), "{}", r.text()),
            s => panic!("PUT {i}: {s} {}", r.text()),
        }
        statuses.push(r.status);
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    // Not eligible: another path, another method. Same connection, still usable.
    let index = c
        .send("PUT", "/bkt/index/0", &[AUTH, OCTET], b"idx")
        .unwrap();
    assert_eq!(index.status, 200);
    let get = c.send("GET", "/bkt/packs/0", &[AUTH], b"").unwrap();
    assert_eq!((get.status, get.body.as_slice()), (200, &b"pack"[..]));

    // Injected errors never reached moto.
    assert_eq!(s3.keys("bkt", ""), ["index/0", "packs/0"]);
    assert_eq!(
        proxy.count(|r| matches!(r.outcome, Outcome::Injected(_))),
        12
    );
    assert_eq!(proxy.count(|r| r.outcome.reached_upstream()), 3);
    assert_eq!(
        proxy.count(|r| r.method == "PUT" && r.path.contains("/packs/")),
        13
    );

    // HEAD: an error without a body, and the connection stays in step.
    proxy.set_faults(Faults {
        error_rate: 1.0,
        method: Some("HEAD".into()),
        ..Faults::none()
    });
    let head = c.send("HEAD", "/bkt/packs/0", &[AUTH], b"").unwrap();
    assert!(
        matches!(head.status, 500 | 503) && head.body.is_empty(),
        "{head:?}"
    );
    let after = c.send("GET", "/bkt/index/0", &[AUTH], b"").unwrap();
    assert_eq!((after.status, after.body.as_slice()), (200, &b"idx"[..]));

    proxy.set_faults(Faults::none());
    let healed = c
        .send("PUT", "/bkt/packs/13", &[AUTH, OCTET], b"pack")
        .unwrap();
    assert_eq!(healed.status, 200);
    assert_eq!(s3.keys("bkt", "packs/"), ["packs/0", "packs/13"]);
}

#[test]
fn s3_proxy_resets_and_stalls() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(
        &s3.endpoint,
        Faults {
            reset_rate: 1.0,
            reset_after_forward: 0.0,
            ..Faults::none()
        },
    );
    let ep = proxy.endpoint();

    let lost = request(&ep, "PUT", "/bkt/packs/r1", &[AUTH, OCTET], b"one");
    assert!(lost.is_err(), "{lost:?}");
    assert_eq!(
        s3.get_object("bkt", "packs/r1"),
        None,
        "reset before forwarding"
    );

    proxy.set_faults(Faults {
        reset_rate: 1.0,
        reset_after_forward: 1.0,
        ..Faults::none()
    });
    let lost = request(&ep, "PUT", "/bkt/packs/r2", &[AUTH, OCTET], b"two");
    let err = lost.expect_err("a reset");
    assert_eq!(
        err.kind(),
        io::ErrorKind::ConnectionReset,
        "an RST, not a FIN: {err}"
    );
    assert_eq!(
        s3.get_object("bkt", "packs/r2").as_deref(),
        Some(&b"two"[..]),
        "the write happened although the client saw a reset"
    );

    proxy.set_faults(Faults {
        stall_rate: 1.0,
        stall: Duration::from_millis(1500),
        ..Faults::none()
    });
    let mut c = Conn::open(&ep).unwrap();
    c.set_read_timeout(Duration::from_millis(300));
    let t = Instant::now();
    let err = c
        .send("GET", "/bkt/packs/r2", &[AUTH], b"")
        .expect_err("a stall");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    // After the stall the proxy hangs up without an answer.
    c.set_read_timeout(Duration::from_secs(5));
    c.expect_closed().unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );

    let outcomes: Vec<_> = proxy.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Reset,
            Outcome::ResetAfterForward(200),
            Outcome::Stalled
        ]
    );

    // Dropping the proxy ends a stall at once and closes idle keep-alive connections.
    proxy.set_faults(Faults::none());
    let mut idle = Conn::open(&ep).unwrap();
    assert_eq!(
        idle.send("GET", "/bkt/packs/r2", &[AUTH], b"")
            .unwrap()
            .status,
        200
    );
    proxy.set_faults(Faults {
        stall_rate: 1.0,
        ..Faults::none()
    });
    let mut stalled = Conn::open(&ep).unwrap();
    stalled.set_read_timeout(Duration::from_millis(300));
    assert!(stalled.send("GET", "/bkt/packs/r2", &[AUTH], b"").is_err());
    let t = Instant::now();
    drop(proxy);
    idle.set_read_timeout(Duration::from_secs(5));
    stalled.set_read_timeout(Duration::from_secs(5));
    idle.expect_closed().unwrap();
    stalled.expect_closed().unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        TcpStream::connect(host_port(&ep)).is_err(),
        "no longer accepting"
    );
}

/// Upload `sizes` as the parts of one multipart upload of `key` and complete it.
fn multipart(endpoint: &str, key: &str, sizes: &[usize]) -> Response {
    let target = format!("/bkt/{key}");
    let init = request(
        endpoint,
        "POST",
        &format!("{target}?uploads"),
        &[AUTH, OCTET],
        b"",
    )
    .unwrap();
    assert_eq!(init.status, 200, "{}", init.text());
    let text = init.text();
    let id = tag(&text, "UploadId").expect("an upload id").to_string();
    let mut parts = String::new();
    for (i, &n) in sizes.iter().enumerate() {
        let part = noise(n, i as u32 + 1);
        let url = format!(
            "{target}?partNumber={}&uploadId={}",
            i + 1,
            encode(&id, false)
        );
        let r = request(endpoint, "PUT", &url, &[AUTH, OCTET], &part).unwrap();
        assert_eq!(r.status, 200, "part {} ({n} bytes): {}", i + 1, r.text());
        let etag = r.header("ETag").expect("an ETag");
        write!(
            parts,
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            i + 1
        )
        .unwrap();
    }
    let done = format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
    let url = format!("{target}?uploadId={}", encode(&id, false));
    request(endpoint, "POST", &url, &[AUTH, OCTET], done.as_bytes()).unwrap()
}

#[test]
fn s3_moto_enforces_the_5_mib_part_minimum() {
    let s3 = moto_with_bucket("bkt");
    let proxy = FaultProxy::start(&s3.endpoint, Faults::none());
    let ep = proxy.endpoint();

    let small = multipart(&ep, "small", &[1024, 1024]);
    assert_eq!(small.status, 400, "{}", small.text());
    assert_eq!(small.error_code().as_deref(), Some("EntityTooSmall"));
    let short = multipart(&ep, "short", &[MIN_PART_SIZE - 1, 1024]);
    assert_eq!(short.error_code().as_deref(), Some("EntityTooSmall"));
    let mut pending: Vec<_> = s3
        .multipart_uploads("bkt")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    pending.sort();
    assert_eq!(
        pending,
        ["short", "small"],
        "failed completions stay pending"
    );

    let exact = multipart(&ep, "exact", &[MIN_PART_SIZE, 1024]);
    assert_eq!(exact.status, 200, "{}", exact.text());
    let single = multipart(&ep, "single", &[10]);
    assert_eq!(single.status, 200, "{}", single.text());
    assert_eq!(
        s3.list("bkt", ""),
        [
            ("exact".to_string(), (MIN_PART_SIZE + 1024) as u64),
            ("single".to_string(), 10)
        ]
    );
    assert_eq!(
        proxy.count(|r| r.method == "PUT" && r.query.starts_with("partNumber=")),
        7
    );
}
