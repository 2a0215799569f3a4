//! `nodewarden crosscheck A B`: resolves the two nodes (KIND@URL or a configured name),
//! runs the comparison engine (`nodewarden_rpc::crosscheck`) and prints its report; exit 0
//! when the range agrees, 1 when it diverges or a side lacks blocks, 2 for bad input.
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use nodewarden_config::{Config, NodeArg};
use nodewarden_rpc::crosscheck::{self, CrossError, Options, Ranges, Report};
use nodewarden_rpc::{ChainClient, KindSpec};

use crate::exit::{CmdResult, Failure};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  nodewarden crosscheck zenon@http://127.0.0.1:35997 zenon@http://10.0.0.5:35997
  nodewarden crosscheck besu geth --from 19000000 --json      configured node names
  nodewarden crosscheck znn-a znn-b --all                     every disagreeing range

Compares block hashes height by height. Without --all it bisects: a few dozen single-height
calls find the first divergent height exactly (a hash commits to its parent, so two chains
that differ at H differ above H); a height one node lacks turns it into a full scan. --all
fetches every height (zenon in pages of 1024, ethereum in JSON-RPC batches, substrate in
lists) and lists every divergent range and every height one side lacks. The range defaults
to the lowest height both have (1 unless one is pruned) .. the lower of both heads. Exit 0: the range agrees; 1: the nodes diverge or one lacks
blocks the other has; 2: bad input. Details: docs/CHAIN.md.")]
pub struct CrosscheckArgs {
    /// First node: KIND@URL (KIND: zenon, ethereum, substrate or auto) or a configured node name.
    #[arg(value_name = "A")]
    pub a: String,
    /// Second node, like A.
    #[arg(value_name = "B")]
    pub b: String,
    /// First height compared [default: the lowest height both have, usually 1].
    #[arg(long, value_name = "H")]
    pub from: Option<u64>,
    /// Last height compared [default: the lower of both heads].
    #[arg(long, value_name = "H")]
    pub to: Option<u64>,
    /// Fetch every height and list every divergent range and missing block.
    #[arg(long)]
    pub all: bool,
    /// One JSON object: first_divergent_height, compared, last_common_height and the rest.
    #[arg(long)]
    pub json: bool,
    /// Per-request RPC timeout [default: 30s, or the node's `timeout`].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
}

/// A node to connect to: name for messages, kind, URL, timeout.
struct Target {
    name: String,
    kind: KindSpec,
    url: String,
    timeout: Duration,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

fn resolve(
    spec: &str,
    side: &str,
    args: &CrosscheckArgs,
    config: Option<&Path>,
) -> Result<Target, Failure> {
    if spec.contains('@') {
        let arg: NodeArg = format!("{side}={spec}")
            .parse()
            .map_err(|e: String| Failure::usage(format!("{side}: {e}")))?;
        let node = arg.to_config();
        return Ok(Target {
            url: node.rpc_url().map_err(Failure::usage)?,
            name: side.to_string(),
            kind: node.kind,
            timeout: args.timeout.unwrap_or(DEFAULT_TIMEOUT),
        });
    }
    let loaded = Config::load(config).map_err(|e| Failure::usage(e.to_string()))?;
    let node = loaded.config.node(spec).map_err(|e| {
        Failure::usage(format!(
            "{side}: {e}; or give KIND@URL, e.g. zenon@http://127.0.0.1:35997"
        ))
    })?;
    Ok(Target {
        name: node.name.clone(),
        kind: node.kind,
        url: node.rpc_url().map_err(Failure::usage)?,
        timeout: args.timeout.or(node.timeout).unwrap_or(DEFAULT_TIMEOUT),
    })
}

async fn connect(t: &Target) -> Result<Box<dyn ChainClient>, Failure> {
    nodewarden_rpc::connect(&t.name, t.kind, &t.url, t.timeout)
        .await
        .map_err(|e| Failure::runtime(e.to_string()))
}

pub async fn run(args: CrosscheckArgs, config: Option<&Path>) -> CmdResult {
    let (mut ta, tb) = (
        resolve(&args.a, "A", &args, config)?,
        resolve(&args.b, "B", &args, config)?,
    );
    if ta.name == tb.name {
        // Two configured names that are equal would make every message ambiguous.
        ta.name = format!("{} (A)", ta.name);
    }
    let (a, b) = futures::join!(connect(&ta), connect(&tb));
    let (a, b) = (a?, b?);
    if a.kind() != b.kind() {
        return Err(Failure::usage(format!(
            "{} is a {} node and {} a {} node: only nodes of one kind can be compared",
            ta.name,
            a.kind(),
            tb.name,
            b.kind()
        )));
    }
    let prefix = if a.kind() == nodewarden_rpc::Kind::Zenon {
        ""
    } else {
        "0x"
    };
    let opts = Options {
        from: args.from,
        to: args.to,
        all: args.all,
        bisect_only: false,
    };
    let report = crosscheck::crosscheck(&a, &b, &opts)
        .await
        .map_err(|e| match e {
            CrossError::Input(m) => Failure::usage(m),
            CrossError::Rpc(e) => Failure::runtime(e.to_string()),
        })?;
    // Hashes as the dialect writes them: bare hex for zenon, 0x-prefixed otherwise.
    let mut report = report;
    for h in [&mut report.hash_a, &mut report.hash_b]
        .into_iter()
        .flatten()
    {
        h.insert_str(0, prefix);
    }
    let mut o = crate::out::stdout();
    let written = if args.json {
        let mut v = serde_json::to_value(&report).map_err(|e| Failure::runtime(e.to_string()))?;
        v["agree"] = report.agree().into();
        v["url_a"] = ta.url.as_str().into();
        v["url_b"] = tb.url.as_str().into();
        writeln!(o, "{v}")
    } else {
        write!(o, "{}", text(&report, &ta.url, &tb.url))
    };
    written.map_err(|e| Failure::runtime(format!("stdout: {e}")))?;
    Ok(if report.agree() { 0 } else { 1 })
}

fn ranges(r: &Ranges) -> String {
    let mut s: Vec<String> = r
        .ranges
        .iter()
        .take(10)
        .map(|[a, b]| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect();
    if r.ranges.len() > 10 || r.truncated {
        s.push("…".into());
    }
    format!("{} ({} heights)", s.join(", "), r.heights)
}

fn text(r: &Report, url_a: &str, url_b: &str) -> String {
    // `A`/`B` are the names of nodes given as KIND@URL: not worth repeating.
    let who = |side: &str, name: &str| {
        if name == side {
            String::new()
        } else {
            format!("{name}  ")
        }
    };
    let mut s = format!(
        "A  {}{url_a}  head {}\nB  {}{url_b}  head {}\n",
        who("A", &r.a),
        r.head_a,
        who("B", &r.b),
        r.head_b
    );
    let how = match r.mode {
        "bisect" => format!("bisection, {} probes", r.probes),
        _ => "every height".to_string(),
    };
    s += &format!(
        "range {}..{} ({how}): {} heights compared\n",
        r.from, r.to, r.compared
    );
    if let (Some(h), Some(x), Some(y)) = (r.first_divergent_height, &r.hash_a, &r.hash_b) {
        s += &format!("first divergent height {h}: A {x}, B {y}\n");
    }
    match r.last_common_height {
        Some(h) => s += &format!("last common height {h}\n"),
        None => s += "no common height in the range\n",
    }
    if r.divergent.heights > 0 {
        s += &format!("divergent: {}\n", ranges(&r.divergent));
    }
    for (side, list) in [
        ("A", &r.a_lacks),
        ("B", &r.b_lacks),
        ("neither node has", &r.neither),
    ] {
        if !list.is_empty() {
            let label = if side.len() == 1 {
                format!("{side} lacks")
            } else {
                side.to_string()
            };
            s += &format!("{label}: {}\n", ranges(list));
        }
    }
    s += if r.agree() { "agree\n" } else { "DIVERGE\n" };
    s
}
