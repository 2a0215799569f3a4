//! The watch loop: ticks at the interval until shutdown.

use std::future::Future;

use nodewarden_model::{SampleRow, WatchState};

use crate::engine::Watcher;

/// Tick until `shutdown` resolves. `on_tick` gets the new state and the tick's samples; a
/// tick in progress finishes first (it is bounded by the RPC timeout, below the interval).
pub async fn run<F>(
    mut watcher: Watcher,
    interval: std::time::Duration,
    shutdown: impl Future<Output = ()>,
    mut on_tick: F,
) -> Watcher
where
    F: FnMut(&WatchState, Vec<SampleRow>),
{
    let mut timer = tokio::time::interval(interval);
    // After a pause (laptop sleep, stopped process) resume the cadence instead of bursting.
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    on_tick(watcher.state(), Vec::new());
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = timer.tick() => {
                let rows = watcher.tick().await;
                on_tick(watcher.state(), rows);
            }
        }
    }
    watcher
}
