//! [`Snapshot`]: a breaker's state, to persist and restore after a restart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::machine::{Counters, State};

/// A breaker's state at one moment, from [`Breaker::snapshot`](crate::Breaker::snapshot),
/// for [`BreakerBuilder::restore`](crate::BreakerBuilder::restore).
///
/// Times are stored as milliseconds of the wall clock, so a snapshot written
/// to disk (with the `serde` feature) means the same after a restart; the
/// open time already spent while the service was down counts.
///
/// ```
/// use harden_breaker::{Breaker, State};
///
/// let breaker = Breaker::builder("payments").build()?;
/// breaker.trip();
/// let saved = breaker.snapshot();
///
/// // … the process restarts …
/// let breaker = Breaker::builder("payments").restore(saved).build()?;
/// assert_eq!(breaker.state(), State::Open);
/// # Ok::<(), harden_breaker::ConfigError>(())
/// ```
///
/// Only the state is restored: the window starts empty (its calls are
/// relative to the old process's clock) and the counters start at zero, as
/// metrics counters do after a restart; the snapshot keeps the old counters
/// for inspection. A half-open breaker restarts open with nothing left to
/// wait, so its next call is a trial.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Snapshot {
    name: String,
    state: State,
    open_for_ms: u64,
    taken_at_ms: u64,
    counters: Counters,
}

impl Snapshot {
    pub(crate) fn new(
        name: String,
        state: State,
        open_for: Duration,
        taken_at: SystemTime,
        counters: Counters,
    ) -> Self {
        Snapshot {
            name,
            state,
            open_for_ms: millis_up(open_for),
            taken_at_ms: millis(taken_at.duration_since(UNIX_EPOCH).unwrap_or_default()),
            counters,
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// While open, the time that was left until a trial call.
    pub fn open_for(&self) -> Duration {
        Duration::from_millis(self.open_for_ms)
    }

    /// When it was taken.
    pub fn taken_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.taken_at_ms)
    }

    /// The counters then.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The open time left at wall-clock time `now`: what was left when the
    /// snapshot was taken, less the time since. A clock that went backwards
    /// leaves the whole time.
    pub fn open_remaining_at(&self, now: SystemTime) -> Duration {
        let spent = now.duration_since(self.taken_at()).unwrap_or_default();
        self.open_for().saturating_sub(spent)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole milliseconds, rounded up so an open breaker is never restored as
/// already due.
fn millis_up(d: Duration) -> u64 {
    millis(d).saturating_add(u64::from(!d.subsec_nanos().is_multiple_of(1_000_000)))
}
