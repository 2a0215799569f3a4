//! The watchdog's rules: whether a stuck node is restarted now, held back (why), or, in a
//! dry run, only reported. Pure: seconds in, a decision out; the watch engine acts on it
//! (docs/MAINTENANCE.md).

/// The rules of one node, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Restart after this long stalled (`None`: not for stalls).
    pub after: Option<f64>,
    /// Restart after this long without peers.
    pub no_peers_after: Option<f64>,
    /// At most `max` restarts in any `per` seconds.
    pub max: u32,
    pub per: f64,
    /// Seconds after a restart before the next; doubled with each restart in `per`.
    pub backoff: f64,
    pub dry_run: bool,
}

/// What the node looks like now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Facts {
    /// Unix seconds.
    pub now: f64,
    pub stalled_for: Option<f64>,
    pub no_peers_for: Option<f64>,
    /// Seconds until the earliest the node's pillar may be due (`None`: no pillar, or
    /// unknown); a restart needs more than `restart_takes` of it.
    pub pillar_quiet: Option<f64>,
    pub restart_takes: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Stalled,
    NoPeers,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Stalled => "stalled",
            Reason::NoPeers => "no_peers",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing is wrong enough.
    Nothing,
    Restart {
        reason: Reason,
        detail: String,
    },
    /// Due, but a rule holds it back (the words say which).
    Held {
        reason: Reason,
        detail: String,
    },
    /// Due; a dry run only reports it.
    DryRun {
        reason: Reason,
        detail: String,
    },
}

/// Decides for one node; `restarts` are the unix seconds of earlier restarts (dry runs'
/// reports included, so a dry run reports at the pace a real watchdog would restart).
pub fn decide(rules: &Rules, f: &Facts, restarts: &[f64]) -> Decision {
    let over = |v: Option<f64>, limit: Option<f64>| match (v, limit) {
        (Some(v), Some(l)) if v >= l => Some((v, l)),
        _ => None,
    };
    let (reason, fact) = if let Some((v, l)) = over(f.stalled_for, rules.after) {
        (
            Reason::Stalled,
            format!("stalled for {} (after = {})", secs(v), secs(l)),
        )
    } else if let Some((v, l)) = over(f.no_peers_for, rules.no_peers_after) {
        (
            Reason::NoPeers,
            format!("no peers for {} (no_peers_after = {})", secs(v), secs(l)),
        )
    } else {
        return Decision::Nothing;
    };
    let recent: Vec<f64> = restarts
        .iter()
        .copied()
        .filter(|t| f.now - t < rules.per)
        .collect();
    if recent.len() as u32 >= rules.max {
        return Decision::Held {
            reason,
            detail: format!(
                "{fact}; held: {} restart(s) in the last {} (max = {})",
                recent.len(),
                secs(rules.per),
                rules.max
            ),
        };
    }
    if let Some(last) = recent.iter().copied().reduce(f64::max) {
        let wait = rules.backoff * 2f64.powi(recent.len() as i32 - 1);
        if f.now - last < wait {
            return Decision::Held {
                reason,
                detail: format!(
                    "{fact}; held: backoff, {} since the last restart of {} needed",
                    secs(f.now - last),
                    secs(wait)
                ),
            };
        }
    }
    if let Some(q) = f.pillar_quiet
        && q < f.restart_takes
    {
        return Decision::Held {
            reason,
            detail: format!(
                "{fact}; held: the pillar may be due in {} (a restart takes ~{})",
                secs(q),
                secs(f.restart_takes)
            ),
        };
    }
    let n = recent.len() + 1;
    if rules.dry_run {
        Decision::DryRun {
            reason,
            detail: format!("{fact}: would restart ({n} of max {}; dry_run)", rules.max),
        }
    } else {
        Decision::Restart {
            reason,
            detail: format!("{fact}: restart ({n} of max {})", rules.max),
        }
    }
}

/// Whether a restart helped: the node moved faster afterwards than before.
pub fn helped(rate_before: f64, rate_after: f64) -> bool {
    rate_after > rate_before * 1.1 && rate_after > 0.0
}

fn secs(s: f64) -> String {
    crate::window::human(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            after: Some(600.0),
            no_peers_after: Some(300.0),
            max: 2,
            per: 6.0 * 3600.0,
            backoff: 600.0,
            dry_run: false,
        }
    }

    fn facts(now: f64, stalled_for: Option<f64>) -> Facts {
        Facts {
            now,
            stalled_for,
            restart_takes: 20.0,
            ..Facts::default()
        }
    }

    #[test]
    fn restarts_only_after_the_rule_duration() {
        let r = rules();
        assert_eq!(decide(&r, &facts(1e6, Some(599.0)), &[]), Decision::Nothing);
        assert_eq!(decide(&r, &facts(1e6, None), &[]), Decision::Nothing);
        let Decision::Restart { reason, detail } = decide(&r, &facts(1e6, Some(600.0)), &[]) else {
            panic!("restart")
        };
        assert_eq!(reason, Reason::Stalled);
        assert_eq!(
            detail,
            "stalled for 10m00s (after = 10m00s): restart (1 of max 2)"
        );
        let f = Facts {
            no_peers_for: Some(301.0),
            ..facts(1e6, None)
        };
        assert!(matches!(
            decide(&r, &f, &[]),
            Decision::Restart {
                reason: Reason::NoPeers,
                ..
            }
        ));
        let off = Rules {
            after: None,
            no_peers_after: None,
            ..r
        };
        assert_eq!(decide(&off, &facts(1e6, Some(1e5)), &[]), Decision::Nothing);
    }

    #[test]
    fn at_most_max_per_window_with_doubling_backoff() {
        let r = rules();
        let now = 1e6;
        // One restart 5 minutes ago: the 10 minute backoff holds.
        let d = decide(&r, &facts(now, Some(900.0)), &[now - 300.0]);
        assert!(
            matches!(&d, Decision::Held { detail, .. } if detail.ends_with("backoff, 5m00s since the last restart of 10m00s needed")),
            "{d:?}"
        );
        assert!(matches!(
            decide(&r, &facts(now, Some(900.0)), &[now - 700.0]),
            Decision::Restart { .. }
        ));
        // Two in the window: held until the older leaves it.
        let d = decide(
            &r,
            &facts(now, Some(900.0)),
            &[now - 7_000.0, now - 3_000.0],
        );
        assert!(
            matches!(&d, Decision::Held { detail, .. } if detail.contains("2 restart(s) in the last 6h00m (max = 2)")),
            "{d:?}"
        );
        let d = decide(
            &r,
            &facts(now, Some(900.0)),
            &[now - 30_000.0, now - 3_000.0],
        );
        assert!(matches!(d, Decision::Restart { .. }), "{d:?}");
        // The second restart of a window waits twice the backoff.
        let three = Rules { max: 3, ..r };
        let d = decide(
            &three,
            &facts(now, Some(900.0)),
            &[now - 2_000.0, now - 900.0],
        );
        assert!(
            matches!(&d, Decision::Held { detail, .. } if detail.contains("of 20m00s needed")),
            "{d:?}"
        );
    }

    #[test]
    fn never_inside_a_pillar_slot_and_dry_run_only_reports() {
        let r = rules();
        let f = Facts {
            pillar_quiet: Some(12.0),
            ..facts(1e6, Some(700.0))
        };
        let d = decide(&r, &f, &[]);
        assert!(
            matches!(&d, Decision::Held { detail, .. } if detail.ends_with("held: the pillar may be due in 12s (a restart takes ~20s)")),
            "{d:?}"
        );
        let f = Facts {
            pillar_quiet: Some(45.0),
            ..f
        };
        assert!(matches!(decide(&r, &f, &[]), Decision::Restart { .. }));
        let dry = Rules { dry_run: true, ..r };
        let d = decide(&dry, &f, &[]);
        assert!(
            matches!(&d, Decision::DryRun { detail, .. } if detail.ends_with("would restart (1 of max 2; dry_run)")),
            "{d:?}"
        );
    }

    #[test]
    fn helped_means_clearly_faster() {
        assert!(helped(0.0, 3.0));
        assert!(!helped(0.0, 0.0));
        assert!(!helped(10.0, 10.5));
        assert!(helped(1.0, 5.0));
    }
}
