//! The two nodes as child processes: started with their environment, output to a log file
//! each, stopped with SIGTERM (their databases close cleanly) and SIGKILL after a grace.
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ExperimentError;
use crate::plan::Side;

pub struct Node {
    pub name: String,
    child: Child,
    pub log: PathBuf,
}

impl Node {
    pub fn start(side: &Side, output: &Path) -> Result<Node, ExperimentError> {
        std::fs::create_dir_all(&side.data_dir).map_err(|source| ExperimentError::Io {
            path: side.data_dir.clone(),
            source,
        })?;
        let log = output.join(format!("{}.log", file_safe(&side.name)));
        let open = || {
            File::options()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(|source| ExperimentError::Io {
                    path: log.clone(),
                    source,
                })
        };
        let (out, err) = (open()?, open()?);
        let mut cmd = Command::new(&side.command[0]);
        cmd.args(&side.command[1..])
            .envs(&side.env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: prctl in the child between fork and exec only sets a process attribute;
        // it allocates nothing and touches no lock.
        unsafe {
            cmd.pre_exec(|| {
                // The node must not outlive an experiment that is killed itself.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| ExperimentError::Start {
            node: side.name.clone(),
            program: side.command[0].clone(),
            source,
        })?;
        Ok(Node {
            name: side.name.clone(),
            child,
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the node has exited by itself.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns whether it stopped by itself.
    pub fn stop(mut self, grace: Duration) -> bool {
        if self.exited().is_some() {
            return true;
        }
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.exited().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
