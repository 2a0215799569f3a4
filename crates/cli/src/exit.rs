//! Exit codes and the one-line error every failure ends in.
use std::fmt::Display;
use std::process::ExitCode;

/// Failures carry their exit code: 2 for bad input (arguments, config, files), 1 for
/// everything that went wrong at run time. Commands with their own convention (`check`:
/// 0–3, `loadtest`: 99) return the code as success values instead.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Display) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }

    pub fn runtime(message: impl Display) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

/// Prints the failure's one line and gives its exit code.
pub fn report(f: Failure) -> ExitCode {
    eprintln!("nodewarden: {}", f.message);
    code(f.code)
}

/// Exit codes live in 0..=255; anything else is a bug, reported as a run-time failure.
pub fn code(code: i32) -> ExitCode {
    u8::try_from(code).map_or(ExitCode::FAILURE, ExitCode::from)
}

pub type CmdResult = Result<i32, Failure>;
