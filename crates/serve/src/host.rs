//! The `Host` check that keeps DNS rebinding out: a server on loopback answers only
//! requests that name a loopback host.
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn loopback_only(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match host {
        Some(h) if is_loopback_host(&h) => next.run(req).await,
        // HTTP/1.0 without a Host header cannot be a browser's rebinding request.
        None => next.run(req).await,
        Some(h) => (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host {:?} is not this server: it listens on loopback and answers only to localhost, 127.0.0.1 or [::1]\\n",
                h.chars().take(100).collect::<String>()
            ),
        )
            .into_response(),
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub fn is_loopback_host(h: &str) -> bool {
    let name = if let Some(v6) = h.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        h.rsplit_once(':').map_or(h, |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                h
            }
        })
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_names_pass() {
        for ok in [
            "localhost",
            "localhost:9866",
            "127.0.0.1:9866",
            "127.1.2.3",
            "[::1]:9866",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:9866",
            "10.0.0.1:9866",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
