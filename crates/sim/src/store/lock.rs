//! The data dir's `.lock`: an exclusive `flock` held for as long as the sim runs,
//! like the real nodes do, so a second sim (or node) on the same dir is refused.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::SimError;

#[derive(Debug)]
pub struct DirLock {
    // Closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<DirLock, SimError> {
        let path = dir.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| SimError::io(&path, e))?;
        // SAFETY: flock on a descriptor we own; no memory is shared with the kernel.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            return Err(if err.kind() == std::io::ErrorKind::WouldBlock {
                SimError::Locked {
                    dir: dir.to_path_buf(),
                    lock: path,
                }
            } else {
                SimError::io(&path, err)
            });
        }
        // The pid helps an operator see who holds it; failing to write it is harmless.
        let _ = file.set_len(0);
        let _ = writeln!(file, "{}", std::process::id());
        Ok(DirLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
