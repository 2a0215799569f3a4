//! `nodewarden analyze SAMPLES.csv`: the streaming analysis of a samples CSV, parsed on
//! every core (`nodewarden_analyze::analyze_csv`).

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use nodewarden_analyze::{AnalyzeOptions, StallAfter, analyze_csv};

use crate::exit::{CmdResult, Failure};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
The CSV has a header row with the columns of docs/ANALYSIS.md (t_ms, node, state, current, target,
peers, head_hash, head_time, cpu_s, rss_bytes, read_bytes, write_bytes, data_dir_bytes);
an empty field is a missing value. Several nodes in one file are analysed separately.

Examples:
  nodewarden analyze samples.csv                    summary: stalls, ETA with range, cost
  nodewarden analyze samples.csv --json | jq '.[0].stalls'
  nodewarden analyze samples.csv --stall-after 5m   a fixed stall threshold
  zcat samples.csv.gz | nodewarden analyze -

Charts and bundles: `nodewarden report samples.csv --html OUT`. Methods: docs/ANALYSIS.md.")]
pub struct AnalyzeArgs {
    /// The samples CSV (`-` reads standard input).
    #[arg(value_name = "SAMPLES.csv")]
    pub file: PathBuf,
    /// Print the analysis as JSON: an array, one object per node.
    #[arg(long)]
    pub json: bool,
    /// Only this node.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// `auto` or a duration: how long a flat height (while behind) lasts before it is a stall.
    #[arg(long, value_name = "auto|DURATION", default_value = "auto")]
    pub stall_after: StallAfter,
}

pub fn run(args: AnalyzeArgs) -> CmdResult {
    let opts = AnalyzeOptions {
        stall_after: args.stall_after,
        ..AnalyzeOptions::default()
    };
    let name = args.file.display().to_string();
    let result = if name == "-" {
        analyze_csv(std::io::stdin(), &opts)
    } else {
        let mut file =
            File::open(&args.file).map_err(|e| Failure::usage(format!("{name}: {e}")))?;
        // Sniff the first bytes and put them back: the file may be a pipe.
        let mut head = Vec::with_capacity(16);
        (&mut file)
            .take(16)
            .read_to_end(&mut head)
            .map_err(|e| Failure::usage(format!("{name}: {e}")))?;
        if head == b"SQLite format 3\0" {
            return Err(Failure::usage(format!(
                "{name} is a recording, not a CSV: use `nodewarden report {name}`"
            )));
        }
        analyze_csv(std::io::Cursor::new(head).chain(file), &opts)
    };
    let mut analyses = result.map_err(|e| Failure::usage(format!("{name}: {e}")))?;
    if let Some(node) = &args.node {
        let names: Vec<String> = analyses.iter().map(|a| a.node.clone()).collect();
        analyses.retain(|a| &a.node == node);
        if analyses.is_empty() {
            return Err(Failure::usage(format!(
                "no node `{node}` in {name} (nodes: {})",
                names.join(", ")
            )));
        }
    }
    if analyses.is_empty() {
        return Err(Failure::usage(format!("{name}: no samples")));
    }
    let mut out = crate::out::stdout();
    let text = if args.json {
        serde_json::to_string_pretty(&analyses).map_err(Failure::runtime)? + "\n"
    } else {
        analyses
            .iter()
            .map(|a| nodewarden_report::analysis_text(a, &name))
            .collect::<Vec<_>>()
            .join("\n")
    };
    out.write_all(text.as_bytes()).map_err(Failure::runtime)?;
    Ok(0)
}
