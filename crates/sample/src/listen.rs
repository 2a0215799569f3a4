//! Which process listens on a TCP port of this host: the node behind an RPC URL, found
//! with no configuration. `/proc/net/tcp{,6}` gives the listening socket's inode, and the
//! process holding that inode among its file descriptors is the one.
use std::collections::HashSet;
use std::fs;
use std::path::Path;

/// TCP state 0A is LISTEN.
const LISTEN: &str = "0A";

/// The port of a URL whose host is this machine (`localhost`, a loopback or unspecified
/// address); the scheme's port when none is written. `None` for a remote host, whose
/// process cannot be sampled from here.
pub fn local_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, p.parse::<u16>().ok()?),
        _ => (authority, if url.starts_with("https") { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    local.then_some(port)
}

/// The pid listening on `port` (any local address, IPv4 or IPv6), if this user can see it.
pub fn find_listener(port: u16) -> Option<u32> {
    find_listener_in(Path::new("/proc"), port)
}

pub(crate) fn find_listener_in(proc_root: &Path, port: u16) -> Option<u32> {
    let mut inodes = HashSet::new();
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = fs::read_to_string(proc_root.join(table)) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let mut holders: Vec<u32> = Vec::new();
    for entry in fs::read_dir(proc_root).ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path()).ok().is_some_and(|target| {
                let t = target.to_string_lossy();
                t.strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|inode| inodes.contains(&inode))
            })
        });
        if holds {
            holders.push(pid);
        }
    }
    // A forked server shares its socket with its children: the lowest pid is the parent.
    holders.into_iter().min()
}

/// Inodes of the sockets listening on `port` in one `/proc/net/tcp*` table.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = f.get(1)?;
            let state = f.get(3)?;
            let p = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            if p != port || *state != LISTEN {
                return None;
            }
            f.get(9)?.parse::<u64>().ok().filter(|&i| i != 0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_tables() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:8C9D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:8C9D 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 777 1\n   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1\n";
        assert_eq!(
            listening_inodes(t, 0x8C9D),
            vec![123456],
            "listening only, not connected"
        );
        assert_eq!(listening_inodes(t, 8080), vec![999]);
        assert!(listening_inodes(t, 1).is_empty());
        assert!(listening_inodes("garbage\nnot a table at all", 80).is_empty());
    }

    #[test]
    fn only_local_urls_name_a_port() {
        assert_eq!(local_port("http://127.0.0.1:35997"), Some(35997));
        assert_eq!(local_port("http://[::1]:8545/rpc"), Some(8545));
        assert_eq!(local_port("http://user:pw@localhost:9944"), Some(9944));
        assert_eq!(local_port("http://localhost"), Some(80));
        assert_eq!(local_port("https://[::1]"), Some(443));
        assert_eq!(local_port("http://10.0.0.5:8545"), None);
        assert_eq!(local_port("http://node.example:8545"), None);
        assert_eq!(local_port("http://127.0.0.1:notaport"), None);
        assert_eq!(local_port("not a url"), None);
    }

    #[test]
    fn finds_this_process_by_its_listening_port() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        assert_eq!(find_listener(port), Some(std::process::id()));
        if let Ok(v6) = std::net::TcpListener::bind("[::1]:0") {
            let port = v6.local_addr().unwrap().port();
            assert_eq!(find_listener(port), Some(std::process::id()), "IPv6");
        }
        drop(v4);
        assert_eq!(find_listener(port), None, "closed: nobody listens");
    }
}
