//! Scrubbing what a shared bundle must not carry: IP addresses, credentials in URLs, keys.
//!
//! The recording holds no URLs or keys by design, but node and run names are free text
//! chosen by the operator ("10.0.0.5", "http://admin:pw@host"), so every text that goes
//! into a bundle passes through here. Hand-written scanners instead of a regex engine:
//! four patterns do not justify the dependency.

/// Replaces IPv4/IPv6 addresses, URL user-info, PEM blocks and `secret=value` pairs.
pub fn redact(text: &str) -> String {
    let s = pem_blocks(text);
    let s = url_userinfo(&s);
    let s = secret_values(&s);
    addresses(&s)
}

/// True when [`redact`] would change `text`.
pub fn needs_redaction(text: &str) -> bool {
    redact(text) != text
}

fn pem_blocks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("-----BEGIN") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        // The block ends after the dashes that close its END line.
        let end = tail
            .find("-----END")
            .and_then(|e| tail[e + 8..].find("-----").map(|d| e + 8 + d + 5))
            .unwrap_or(tail.len());
        out.push_str("[redacted key]");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn url_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        let tail = &rest[i + 3..];
        let authority_end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | ',') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("[redacted]@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

const SECRET_WORDS: [&str; 7] = [
    "password",
    "passphrase",
    "secret",
    "private_key",
    "private-key",
    "api_key",
    "token",
];

fn secret_values(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for w in SECRET_WORDS {
        let mut from = 0;
        while let Some(p) = lower[from..].find(w) {
            let after = from + p + w.len();
            from = after;
            let rest = &s[after..];
            let skip = rest.len() - rest.trim_start_matches([' ', '"', '\'']).len();
            let Some(sep) = rest[skip..]
                .chars()
                .next()
                .filter(|c| matches!(c, '=' | ':'))
            else {
                continue;
            };
            let vstart = after + skip + sep.len_utf8();
            let v = &s[vstart..];
            let lead = v.len() - v.trim_start_matches([' ', '"', '\'']).len();
            let vlen = v[lead..]
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '&' | '<' | '}')
                })
                .unwrap_or(v.len() - lead);
            if vlen > 0 {
                cuts.push((vstart + lead, vstart + lead + vlen));
            }
        }
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (a, b) in cuts {
        if a >= at {
            out.push_str(&s[at..a]);
            out.push_str("[redacted]");
            at = b;
        }
    }
    out.push_str(&s[at..]);
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Standalone runs of hex digits, dots and colons that form an IPv4 or IPv6 address.
fn addresses(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    let mut copied = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let token_char = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
        let before_ok = i == 0 || !is_word(chars[i - 1].1);
        if !(token_char(c) && before_ok) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && token_char(chars[j].1) {
            j += 1;
        }
        let after_ok = j == chars.len() || !is_word(chars[j].1);
        let end = chars.get(j).map_or(s.len(), |&(p, _)| p);
        // Trailing punctuation (end of a sentence, a port separator) is not part of it.
        let token = s[start..end].trim_end_matches(['.', ':']);
        // An IPv4 address may come with a port ("10.0.0.7:8545").
        let v4 = token.split(':').next().filter(|p| is_ipv4(p));
        let found = match v4 {
            _ if is_ipv6(token) => Some((token.len(), "[ipv6]")),
            Some(p) => Some((p.len(), "[ipv4]")),
            None => None,
        };
        if let (true, Some((len, what))) = (after_ok, found) {
            out.push_str(&s[copied..start]);
            out.push_str(what);
            copied = start + len;
        }
        i = j.max(i + 1);
    }
    out.push_str(&s[copied..]);
    out
}

fn is_ipv4(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

fn is_ipv6(t: &str) -> bool {
    let colons = t.matches(':').count();
    let groups_ok = t
        .split(':')
        .all(|g| g.len() <= 4 || (g.contains('.') && is_ipv4(g)));
    groups_ok && t.parse::<std::net::Ipv6Addr>().is_ok() && (t.contains("::") || colons >= 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_go_and_look_alikes_stay() {
        assert_eq!(redact("node 10.0.0.7 up"), "node [ipv4] up");
        assert_eq!(redact("at 192.168.1.20:8545."), "at [ipv4]:8545.");
        assert_eq!(
            redact("fe80::1 and 2001:db8::8a2e:370:7334"),
            "[ipv6] and [ipv6]"
        );
        for keep in [
            "version 0.1.0",
            "20:10:03 UTC",
            "1700000000.25",
            "999.1.1.1",
            "nodewarden_analyze::Analyzer",
            "0x00000019f519f85a",
            "1.2.3.4.5",
        ] {
            assert_eq!(redact(keep), keep);
        }
    }

    #[test]
    fn credentials_and_keys_go() {
        assert_eq!(
            redact("rpc http://admin:hunter2@example.com/x"),
            "rpc http://[redacted]@example.com/x"
        );
        assert_eq!(
            redact("postgres://u:p@db/cmix"),
            "postgres://[redacted]@db/cmix"
        );
        assert_eq!(redact("https://example.com/a@b"), "https://example.com/a@b");
        let pem = "a -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- b";
        assert_eq!(redact(pem), "a [redacted key] b");
        assert_eq!(redact("password=s3cret x"), "password=[redacted] x");
        assert_eq!(
            redact("{\"api_key\": \"abc\"}"),
            "{\"api_key\": \"[redacted]\"}"
        );
        assert!(needs_redaction("token:xyz"));
        assert!(!needs_redaction("znn-main"));
    }
}
