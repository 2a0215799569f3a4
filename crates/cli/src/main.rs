//! The `nodewarden` binary: argument parsing, configuration and wiring. Logic lives in the
//! library crates; this is the only place that prints.
mod args;
mod cmd;
mod exit;
mod out;
mod progress;
mod shutdown;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return exit::report(Failure::runtime(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Sim(a) => cmd::sim::run(a).await,
            Command::Watch(a) => cmd::watch::run(a, cli.config.as_deref()).await,
            Command::Demo(a) => cmd::demo::run(a, cli.config.as_deref()).await,
            Command::Loadtest(a) => cmd::loadtest::run(a).await,
            Command::Backup(c) => cmd::backup::run(c, cli.config.as_deref()).await,
            Command::Window(a) => cmd::window::run(a, cli.config.as_deref()).await,
            Command::Report(a) => cmd::report::run(a, cli.config.as_deref()).await,
            Command::Analyze(a) => cmd::analyze::run(a),
            Command::Compare(a) => cmd::compare::run(a, cli.config.as_deref()),
            Command::Crosscheck(a) => cmd::crosscheck::run(a, cli.config.as_deref()).await,
            Command::Check(a) => cmd::check::run(a, cli.config.as_deref()).await,
            Command::Probe(a) => cmd::probe::run(a).await,
            Command::Db(c) => cmd::db::run(c),
            Command::Experiment(c) => cmd::experiment::run(c, cli.config.as_deref()).await,
            Command::Completions(a) => cmd::completions::completions(a),
            Command::Manpages(a) => cmd::completions::manpages(a),
        }
    });
    // Commands may leave blocking tasks behind (a stuck RPC read, a slow disk): they must
    // not hold the exit.
    runtime.shutdown_background();
    if out::closed() {
        // The reader went away (`| head`): whatever failed after that is its echo.
        return ExitCode::SUCCESS;
    }
    match result {
        Ok(code) => exit::code(code),
        Err(f) => exit::report(f),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,nodewarden=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NODEWARDEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
