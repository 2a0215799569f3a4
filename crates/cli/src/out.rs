//! The one way to standard output. A reader that goes away (`nodewarden snapshots | head
//! -1`) is not an error: the first write that meets the closed pipe marks it, the command
//! unwinds through its ordinary error path, and `main` ends quietly with success instead of
//! printing "Broken pipe".
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output. Each write takes the lock, as `io::Stdout` does: a writer may live as
/// long as a command while other threads print too.
pub struct Out(io::Stdout);

pub fn stdout() -> Out {
    Out(io::stdout())
}

/// True once a write found the reader gone.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Whether standard output is a terminal (progress bars and colours) or a pipe or file
/// (plain lines).
pub fn is_terminal() -> bool {
    io::stdout().is_terminal()
}

fn note(r: io::Result<()>) -> io::Result<()> {
    if let Err(e) = &r
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        CLOSED.store(true, Ordering::Relaxed);
    }
    r
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.0.write(buf);
        if let Err(e) = &r
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            CLOSED.store(true, Ordering::Relaxed);
        }
        r
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        note(self.0.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        note(self.0.flush())
    }
}
