//! `nodewarden compare A B`: two syncs aligned by height. Each side is one node of a run
//! or of a CSV; the spec grammar is in the help text below.

use std::io::Write;
use std::path::{Path, PathBuf};

use nodewarden_analyze::{Analysis, AnalyzeOptions, Analyzer, Run, StallAfter, compare};

use crate::cmd::input::{self, Input};
use crate::exit::{CmdResult, Failure};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each side is one node's sync, written as one of:
  FILE                a CSV or a recording (its latest run) holding a single node
  FILE:RUN            a run (name, id, `latest`) of a recording
  FILE:RUN:NODE       one node of that run (an empty RUN means latest: demo.db::znn-a)
  FILE:NODE           one node of a CSV
  RUN, RUN:NODE       a run of the recording given by --record (default: watch.record,
                      else nodewarden.db)
--node-a/--node-b pick the node when the spec names none. The syncs are aligned by
height, not wall time, up to where each first caught up with the chain tip (after that a
node only follows the chain's block time); `speedup` is A's time over B's on the common
height range, so above 1 means B is faster.

Examples:
  nodewarden compare build-a build-b --record sync.db
  nodewarden compare demo.db::znn-a demo.db::znn-b --html ab.html
  nodewarden compare latest latest --record demo.db --node-a znn-a --node-b znn-b --json
  nodewarden compare old.csv new.csv")]
pub struct CompareArgs {
    /// The baseline: FILE, FILE:RUN, FILE:RUN:NODE, FILE:NODE (CSV), RUN or RUN:NODE.
    #[arg(value_name = "A")]
    pub a: String,
    /// The candidate, in the same forms.
    #[arg(value_name = "B")]
    pub b: String,
    /// The recording runs are looked up in [default: watch.record, else nodewarden.db].
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Node of A, when its spec names none.
    #[arg(long, value_name = "NAME")]
    pub node_a: Option<String>,
    /// Node of B, when its spec names none.
    #[arg(long, value_name = "NAME")]
    pub node_b: Option<String>,
    /// Write a self-contained HTML comparison with charts.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// `auto` or a duration: how long a flat height (while behind) lasts before it is a stall.
    #[arg(long, value_name = "auto|DURATION", default_value = "auto")]
    pub stall_after: StallAfter,
}

/// A parsed side: where, which run, which node.
#[derive(Debug, PartialEq)]
struct Spec {
    source: String,
    run: Option<String>,
    node: Option<String>,
}

/// Splits at colons, preferring the longest prefix that is an existing file, so paths
/// with colons still work.
fn parse_spec(
    spec: &str,
    is_file: impl Fn(&str) -> bool,
    is_db: impl Fn(&str) -> bool,
) -> Result<Spec, Failure> {
    let parts: Vec<&str> = spec.split(':').collect();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    for k in (1..=parts.len()).rev() {
        let prefix = parts[..k].join(":");
        if !is_file(&prefix) {
            continue;
        }
        let rest = &parts[k..];
        return match (is_db(&prefix), rest) {
            (_, []) => Ok(Spec {
                source: prefix,
                run: None,
                node: None,
            }),
            (true, [run]) => Ok(Spec {
                source: prefix,
                run: nonempty(run),
                node: None,
            }),
            (true, [run, node]) => Ok(Spec {
                source: prefix,
                run: nonempty(run),
                node: nonempty(node),
            }),
            (false, [node]) => Ok(Spec {
                source: prefix,
                run: None,
                node: nonempty(node),
            }),
            _ => Err(Failure::usage(format!(
                "`{spec}`: expected FILE, FILE:RUN, FILE:RUN:NODE (recording) or FILE:NODE (CSV)"
            ))),
        };
    }
    match parts.as_slice() {
        [run] => Ok(Spec {
            source: (*run).to_owned(),
            run: None,
            node: None,
        }),
        [run, node] => Ok(Spec {
            source: (*run).to_owned(),
            run: None,
            node: nonempty(node),
        }),
        _ => Err(Failure::usage(format!(
            "`{spec}`: no such file, and not RUN or RUN:NODE"
        ))),
    }
}

/// Analyses one side, which must come down to exactly one node.
fn side(
    tag: &str,
    spec: &str,
    flag_node: Option<&str>,
    record: Option<&Path>,
    config: Option<&Path>,
    opts: &AnalyzeOptions,
) -> Result<(Run, Input), Failure> {
    let s = parse_spec(
        spec,
        |p| Path::new(p).is_file(),
        |p| input::is_recording(Path::new(p)),
    )?;
    let node = match (s.node.as_deref(), flag_node) {
        (Some(a), Some(b)) if a != b => {
            return Err(Failure::usage(format!(
                "{tag}: `{spec}` names node {a} but --node-{} says {b}",
                tag.to_lowercase()
            )));
        }
        (a, b) => a.or(b).map(str::to_owned),
    };
    let input = input::open(&s.source, s.run.as_deref(), record, config)?;
    let known = input.known_nodes();
    if let Some(n) = &node
        && !known.is_empty()
        && !known.contains(n)
    {
        return Err(input::unknown_node(n, &input, &known));
    }
    let example = if Path::new(&s.source).is_file() && matches!(input, Input::Run { .. }) {
        format!("{}:{}:NODE", s.source, s.run.as_deref().unwrap_or(""))
    } else {
        format!("{}:NODE", s.source)
    };
    let several = |nodes: &[String]| {
        Failure::usage(format!(
            "{tag} ({}) has {} nodes ({}): pick one with {example} or --node-{}",
            input.describe(),
            nodes.len(),
            nodes.join(", "),
            tag.to_lowercase()
        ))
    };
    if node.is_none() && known.len() > 1 {
        return Err(several(&known));
    }
    let mut analyzer = Analyzer::new(opts.clone());
    let (count, seen) = input.for_each(node.as_deref(), |x| analyzer.push(x))?;
    let mut analyses: Vec<Analysis> = analyzer.finish();
    if count == 0 {
        return Err(match &node {
            Some(n) if !seen.is_empty() => input::unknown_node(n, &input, &seen),
            _ => Failure::usage(format!("{tag}: {}: no samples", input.describe())),
        });
    }
    if analyses.len() > 1 {
        return Err(several(&seen));
    }
    let a = analyses.remove(0);
    Ok((Run::new(format!("{}: {}", input.label(), a.node), a), input))
}

pub fn run(args: CompareArgs, config: Option<&Path>) -> CmdResult {
    let opts = AnalyzeOptions {
        stall_after: args.stall_after,
        ..AnalyzeOptions::default()
    };
    let record = args.record.as_deref();
    let (a, _) = side("A", &args.a, args.node_a.as_deref(), record, config, &opts)?;
    let (b, _) = side("B", &args.b, args.node_b.as_deref(), record, config, &opts)?;
    let c = compare(&a, &b);
    let mut out = crate::out::stdout();
    let text = if args.json {
        serde_json::to_string_pretty(&c).map_err(Failure::runtime)? + "\n"
    } else {
        nodewarden_report::comparison_text(&c)
    };
    out.write_all(text.as_bytes()).map_err(Failure::runtime)?;
    if let Some(path) = &args.html {
        let html = nodewarden_report::compare_html(
            &c,
            &a.analysis,
            &b.analysis,
            env!("CARGO_PKG_VERSION"),
        );
        std::fs::write(path, html)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        let note = format!("wrote {}", path.display());
        if args.json {
            eprintln!("{note}");
        } else {
            writeln!(out, "{note}").map_err(Failure::runtime)?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Spec {
        let files = ["demo.db", "a:b.csv", "x.csv"];
        parse_spec(spec, |p| files.contains(&p), |p| p.ends_with(".db"))
            .unwrap_or_else(|e| panic!("{spec}: {}", e.message))
    }

    fn spec(source: &str, run: Option<&str>, node: Option<&str>) -> Spec {
        Spec {
            source: source.into(),
            run: run.map(Into::into),
            node: node.map(Into::into),
        }
    }

    #[test]
    fn specs() {
        assert_eq!(parse("demo.db"), spec("demo.db", None, None));
        assert_eq!(parse("demo.db:run-2"), spec("demo.db", Some("run-2"), None));
        assert_eq!(
            parse("demo.db::znn-a"),
            spec("demo.db", None, Some("znn-a"))
        );
        assert_eq!(
            parse("demo.db:3:znn-a"),
            spec("demo.db", Some("3"), Some("znn-a"))
        );
        assert_eq!(parse("a:b.csv"), spec("a:b.csv", None, None));
        assert_eq!(parse("a:b.csv:n1"), spec("a:b.csv", None, Some("n1")));
        assert_eq!(parse("build-b"), spec("build-b", None, None));
        assert_eq!(parse("latest:znn-b"), spec("latest", None, Some("znn-b")));
        let bad = parse_spec("x.csv:r:n", |p| p == "x.csv", |_| false);
        assert!(bad.is_err());
        assert!(parse_spec("a:b:c", |_| false, |_| false).is_err());
    }
}
