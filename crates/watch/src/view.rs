//! Folding the tracker's live state into a node's view.

use nodewarden_analyze::LiveState;
use nodewarden_model::NodeView;

/// Copies rate, ETA and stall facts from the tracker into the view the sinks read.
pub(crate) fn apply_live(view: &mut NodeView, live: &LiveState) {
    view.rate_blocks_per_second = live.rate_blocks_per_second;
    view.eta_seconds = live.eta_seconds;
    view.eta_low_seconds = live.eta_low_seconds;
    view.eta_high_seconds = live.eta_high_seconds;
    view.eta_stalled = live.eta_stalled;
    view.outages_total = live.outages_total;
    view.peer_losses_total = live.peer_losses_total;
    view.peer_loss_since_ms = live.peer_loss_since_ms;
    view.peer_loss_from = live.peer_loss_from;
    view.memory_growth_bytes_per_second = live.memory_growth_bytes_per_second;
    view.stalled = live.stalled_since.is_some();
    view.stalled_since_ms = live.stalled_since.map(|s| s.start_ms);
    view.stall_height = live.stalled_since.map(|s| s.height);
    view.stalled_for_seconds = live
        .stalled_since
        .map(|s| (live.t_ms - s.start_ms).max(0) as f64 / 1000.0);
    view.stalls_total = live.stalls_total;
    view.stall_after_seconds = live.stall_after_seconds;
    view.last_target = live.target;
}
