//! Behind the `metrics` feature: counters, a state gauge and a latency
//! histogram through the `metrics` facade.
//!
//! The metric names and labels are listed in the crate docs.
//!
//! The handles are registered with the recorder installed when the breaker
//! reports its first event, so install the recorder before serving traffic.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

use crate::event::EventKind;
use crate::machine::{Outcome, RejectReason, State};

const OUTCOMES: [Outcome; 5] = [
    Outcome::Success,
    Outcome::Failure,
    Outcome::Timeout,
    Outcome::Ignored,
    Outcome::Cancelled,
];
const REASONS: [RejectReason; 4] = [
    RejectReason::Open,
    RejectReason::HalfOpenFull,
    RejectReason::ForcedOpen,
    RejectReason::Bulkhead,
];

pub(crate) struct Metrics {
    name: Arc<str>,
    handles: OnceLock<Handles>,
}

struct Handles {
    calls: [Counter; 5],
    slow: Counter,
    rejections: [Counter; 4],
    states: [Gauge; 5],
    duration: Histogram,
}

impl Metrics {
    pub(crate) fn new(name: Arc<str>) -> Self {
        Metrics {
            name,
            handles: OnceLock::new(),
        }
    }

    fn handles(&self, state: State) -> &Handles {
        self.handles.get_or_init(|| {
            let name = &self.name;
            let handles = Handles {
                calls: OUTCOMES.map(|o| {
                    counter!("harden_breaker_calls_total", "breaker" => name.clone(), "outcome" => o.as_str())
                }),
                slow: counter!("harden_breaker_slow_calls_total", "breaker" => name.clone()),
                rejections: REASONS.map(|r| {
                    counter!("harden_breaker_rejections_total", "breaker" => name.clone(), "reason" => r.as_str())
                }),
                states: State::ALL.map(|s| {
                    gauge!("harden_breaker_state", "breaker" => name.clone(), "state" => s.as_str())
                }),
                duration: histogram!("harden_breaker_call_duration_seconds", "breaker" => name.clone()),
            };
            set_state(&handles.states, state);
            handles
        })
    }

    /// Records `event`; `state` is the breaker's state after it.
    pub(crate) fn record(&self, event: &EventKind, state: State) {
        let h = self.handles(state);
        match *event {
            EventKind::Transition { from, to } => {
                counter!(
                    "harden_breaker_transitions_total",
                    "breaker" => self.name.clone(),
                    "from" => from.as_str(),
                    "to" => to.as_str()
                )
                .increment(1);
                set_state(&h.states, to);
            }
            EventKind::Call {
                outcome, elapsed, ..
            } => {
                if let Some(c) = OUTCOMES
                    .iter()
                    .position(|o| *o == outcome)
                    .and_then(|i| h.calls.get(i))
                {
                    c.increment(1);
                }
                h.duration.record(seconds(elapsed));
            }
            EventKind::Slow { .. } => h.slow.increment(1),
            EventKind::Rejected { reason } => {
                if let Some(c) = REASONS
                    .iter()
                    .position(|r| *r == reason)
                    .and_then(|i| h.rejections.get(i))
                {
                    c.increment(1);
                }
            }
        }
    }
}

fn set_state(gauges: &[Gauge; 5], state: State) {
    for (s, g) in State::ALL.iter().zip(gauges) {
        g.set(if *s == state { 1.0 } else { 0.0 });
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}
