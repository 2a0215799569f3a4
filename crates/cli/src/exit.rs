//! Exit codes and the one-line error every failure ends in.
use std::fmt::Display;

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

pub fn fail(f: Failure) -> ! {
    eprintln!("nodewarden: {}", f.message);
    std::process::exit(f.code)
}

pub type CmdResult = Result<i32, Failure>;
