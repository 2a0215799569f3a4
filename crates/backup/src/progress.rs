//! How the engine reports progress without printing: the CLI renders these calls.

pub trait Progress: Send + Sync {
    /// A new phase starts (`total` bytes to go when known).
    fn phase(&self, _name: &str, _total: Option<u64>) {}
    /// Bytes done in the current phase.
    fn advance(&self, _bytes: u64) {}
    /// Something the operator should read (a fallback taken, a stale lock removed).
    fn note(&self, _message: &str) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
