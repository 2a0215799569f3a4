//! `nodewarden completions SHELL` (a completion script on stdout) and `nodewarden manpages
//! DIR` (one roff page per command, as packages install them), both generated from the
//! same clap definitions as `--help`, so they never drift from the binary.
use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::Cli;
use crate::exit::{CmdResult, Failure};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  nodewarden completions bash > /etc/bash_completion.d/nodewarden
  nodewarden completions zsh  > \"${fpath[1]}/_nodewarden\"
  nodewarden completions fish > ~/.config/fish/completions/nodewarden.fish")]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn completions(a: CompletionsArgs) -> CmdResult {
    let mut cmd = Cli::command();
    // Rendered into memory first: clap_complete panics on a failed write, and a closed
    // pipe must end quietly like every other command's output.
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "nodewarden", &mut script);
    crate::out::stdout()
        .write_all(&script)
        .map_err(Failure::runtime)?;
    Ok(0)
}

#[derive(Debug, clap::Args)]
pub struct ManpagesArgs {
    /// Where to write nodewarden.1 and nodewarden-COMMAND.1 (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn manpages(a: ManpagesArgs) -> CmdResult {
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| Failure::runtime(format!("{}: {e}", a.dir.display())))?;
    let mut written = 0;
    let root = Cli::command();
    let mut pending = vec![(String::from("nodewarden"), root)];
    while let Some((name, cmd)) = pending.pop() {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            pending.push((format!("{name}-{}", sub.get_name()), sub.clone()));
        }
        let cmd = cmd.name(name.clone());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .map_err(Failure::runtime)?;
        let path = a.dir.join(format!("{name}.1"));
        std::fs::write(&path, page)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        written += 1;
    }
    writeln!(
        crate::out::stdout(),
        "wrote {written} man pages to {}",
        a.dir.display()
    )
    .map_err(Failure::runtime)?;
    Ok(0)
}
