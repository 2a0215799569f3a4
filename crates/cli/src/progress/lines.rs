//! The watch's live view: one line per node, that stay in place on a terminal, periodic log lines otherwise.
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nodewarden_config::NodeConfig;
use nodewarden_model::WatchState;

use super::Throttle;

pub struct LiveView {
    mode: Mode,
    name_width: usize,
}

enum Mode {
    Terminal {
        _multi: MultiProgress,
        bars: Vec<ProgressBar>,
    },
    Log {
        every: Throttle,
        json: bool,
    },
}

impl LiveView {
    pub fn new(nodes: &[NodeConfig], log_every: Duration, json: bool) -> LiveView {
        let name_width = nodes
            .iter()
            .map(|n| n.name.chars().count())
            .max()
            .unwrap_or(4);
        let mode = if crate::out::is_terminal() && !json {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(4));
            let style = ProgressStyle::with_template("{msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bars = nodes
                .iter()
                .map(|n| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(style.clone());
                    b.set_message(format!(
                        "{:<name_width$}  waiting for the first poll…",
                        n.name
                    ));
                    b
                })
                .collect();
            Mode::Terminal {
                _multi: multi,
                bars,
            }
        } else {
            Mode::Log {
                every: Throttle::new(log_every),
                json,
            }
        };
        LiveView { mode, name_width }
    }

    pub fn update(&mut self, state: &WatchState) {
        match &mut self.mode {
            Mode::Terminal { bars, .. } => {
                for (bar, node) in bars.iter().zip(&state.nodes) {
                    bar.set_message(nodewarden_report::live_line(node, self.name_width));
                }
            }
            Mode::Log { every, json } => {
                if !every.due() {
                    return;
                }
                let mut out = crate::out::stdout();
                for node in &state.nodes {
                    let line = if *json {
                        serde_json::to_string(node).unwrap_or_default()
                    } else {
                        nodewarden_report::log_line(node)
                    };
                    let _ = writeln!(out, "{line}");
                }
                let _ = out.flush();
            }
        }
    }

    /// Leave the last lines on screen.
    pub fn finish(&mut self) {
        if let Mode::Terminal { bars, .. } = &self.mode {
            for b in bars {
                b.finish();
            }
        }
    }
}
