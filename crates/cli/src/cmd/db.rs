//! `nodewarden db inspect DIR`: wiring only; the reading is `nodewarden-db`'s, the text
//! `nodewarden-report`'s.
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit::{CmdResult, Failure};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Levels, compaction debt, obsolete files and WAL of the LevelDB/RocksDB databases under DIR.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
DIR is a database directory (it holds CURRENT and MANIFEST-*) or a node's data dir, searched
four levels deep (~/.znn finds nom/, consensus/, cache/; a Substrate base path finds
chains/*/db/full). Read-only and safe on a running node: the LOCK is never taken and nothing
is written. Exit 0 without warnings, 1 with warnings, 2 when nothing could be read.

Examples:
  nodewarden db inspect ~/.znn
  nodewarden db inspect /var/lib/besu/database --json
The JSON keys and the warnings are described in docs/DATABASE.md.")]
pub struct InspectArgs {
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Print the inspection as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: DbCommand) -> CmdResult {
    match cmd {
        DbCommand::Inspect(a) => inspect(a),
    }
}

fn inspect(a: InspectArgs) -> CmdResult {
    // Whatever kept the directory from being read, exit 2: 1 means "read, with warnings".
    let i = nodewarden_db::inspect(&a.dir).map_err(Failure::usage)?;
    let mut out = crate::out::stdout();
    let text = if a.json {
        serde_json::to_string_pretty(&i).map_err(Failure::runtime)? + "\n"
    } else {
        nodewarden_report::db_text(&i)
    };
    out.write_all(text.as_bytes()).map_err(Failure::runtime)?;
    Ok(if i.warnings.is_empty() { 0 } else { 1 })
}
