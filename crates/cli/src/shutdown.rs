//! The signals that end a long-running command: SIGTERM (systemd, `kill`) and SIGINT
//! (Ctrl-C), treated alike so a service stops as cleanly as an interactive run.

/// Resolves on the first SIGTERM or SIGINT. A signal that cannot be hooked (no signal
/// support) is simply never received, rather than failing the command.
pub fn signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn recv(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = recv(term) => {}
            _ = recv(int) => {}
        }
    }
}
