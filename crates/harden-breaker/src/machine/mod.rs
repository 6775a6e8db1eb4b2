//! The pure state machine: no locks, no tokio, no clock of its own. Every method takes
//! the current time; [`Breaker`](crate::Breaker) adds the clock, the lock, the
//! events and the futures.
//!
//! ```
//! use harden_breaker::{Breaker, Outcome, RejectReason, State};
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut machine = Breaker::builder("db")
//!     .minimum_calls(2)
//!     .reset_timeout(Duration::from_secs(30))
//!     .state_machine(t0)?;
//! for _ in 0..2 {
//!     let ticket = machine.try_acquire(t0).value.unwrap();
//!     machine.record(ticket, Outcome::Failure, t0);
//! }
//! assert_eq!(machine.state(), State::Open);
//! let rejected = machine.try_acquire(t0 + Duration::from_secs(10)).value.unwrap_err();
//! assert_eq!(rejected.reason(), RejectReason::Open);
//! assert_eq!(rejected.retry_after(), Some(Duration::from_secs(20)));
//!
//! // After the reset timeout, one trial call; its success closes the breaker.
//! let step = machine.try_acquire(t0 + Duration::from_secs(30));
//! assert_eq!(step.transition.unwrap().to, State::HalfOpen);
//! let trial = step.value.unwrap();
//! assert!(machine.try_acquire(t0 + Duration::from_secs(30)).value.is_err());
//! machine.record(trial, Outcome::Success, t0 + Duration::from_secs(31));
//! assert_eq!(machine.state(), State::Closed);
//! # Ok::<(), harden_breaker::ConfigError>(())
//! ```

mod types;
mod window;

use std::time::{Duration, Instant};

pub use self::types::{
    Completed, Counters, Outcome, RejectReason, Rejected, State, Step, Ticket, Transition,
    WindowStats,
};
use self::window::Window;
use crate::clock::Clock;
use crate::config::{Comparison, Settings, WindowKind};

/// The current time, given or read from a clock at most once and only when a
/// decision needs it: a closed breaker with a count window reads no clock at
/// all, and with a time window only when a call ends.
pub(crate) struct Now<'a> {
    clock: Option<&'a dyn Clock>,
    at: Option<Instant>,
}

impl<'a> Now<'a> {
    pub(crate) fn at(now: Instant) -> Self {
        Now {
            clock: None,
            at: Some(now),
        }
    }

    #[inline]
    pub(crate) fn lazy(clock: &'a dyn Clock) -> Self {
        Now {
            clock: Some(clock),
            at: None,
        }
    }

    #[inline]
    pub(crate) fn get(&mut self) -> Instant {
        if let Some(at) = self.at {
            return at;
        }
        let at = self.clock.map_or_else(Instant::now, |c| c.now());
        self.at = Some(at);
        at
    }
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen(Trials),
    ForcedOpen,
    Disabled,
}

#[derive(Debug, Default)]
struct Trials {
    since: Option<Instant>,
    admitted: u32,
    completed: u32,
    failures: u32,
    slow: u32,
}

/// The breaker's decisions, with the time passed in: which calls may run,
/// what their outcomes do to the state, and the counts.
///
/// Build it with [`BreakerBuilder::state_machine`](crate::BreakerBuilder::state_machine).
#[derive(Debug)]
pub struct StateMachine {
    settings: Settings,
    phase: Phase,
    generation: u64,
    window: Window,
    counters: Counters,
    in_flight: u32,
    warm_up_until: Option<Instant>,
}

impl StateMachine {
    pub(crate) fn new(settings: Settings, now: Instant) -> Self {
        let window = match settings.window {
            WindowKind::Count { size } => Window::count(size),
            WindowKind::Time { length, buckets } => Window::time(length, buckets, now),
        };
        let warm_up_until = settings.warm_up.map(|d| now + d);
        StateMachine {
            settings,
            phase: Phase::Closed,
            generation: 0,
            window,
            counters: Counters::default(),
            in_flight: 0,
            warm_up_until,
        }
    }

    /// The current state, as of the last call (time-based changes happen at
    /// the next [`try_acquire`](Self::try_acquire) or [`tick`](Self::tick)).
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen(_) => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
            Phase::Disabled => State::Disabled,
        }
    }

    /// The cumulative counts.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Calls admitted and not yet recorded.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Half-open trial permits handed out and not given back (0 outside
    /// half-open); never more than the configured number of trial calls.
    pub fn trials_admitted(&self) -> u32 {
        match &self.phase {
            Phase::HalfOpen(t) => t.admitted,
            _ => 0,
        }
    }

    /// What the rolling window holds at `now`.
    pub fn window(&mut self, now: Instant) -> WindowStats {
        self.window.stats(&mut Now::at(now))
    }

    /// While open, the time left until a trial call is let through.
    pub fn remaining_open(&self, now: Instant) -> Option<Duration> {
        match self.phase {
            Phase::Open { until } => Some(until.saturating_duration_since(now)),
            _ => None,
        }
    }

    /// Makes the changes that time alone causes: open → half-open once the
    /// reset timeout has passed, half-open → open once the maximum half-open
    /// wait has passed.
    pub fn tick(&mut self, now: Instant) -> Option<Transition> {
        self.tick_at(&mut Now::at(now))
    }

    #[inline]
    pub(crate) fn tick_at(&mut self, now: &mut Now<'_>) -> Option<Transition> {
        if matches!(self.phase, Phase::Closed | Phase::Disabled) {
            return None;
        }
        match &self.phase {
            Phase::Open { until } if now.get() >= *until => {
                let since = Some(now.get());
                Some(self.enter(
                    Phase::HalfOpen(Trials {
                        since,
                        ..Trials::default()
                    }),
                    now,
                ))
            }
            Phase::HalfOpen(t)
                if self
                    .settings
                    .max_half_open_wait
                    .zip(t.since)
                    .is_some_and(|(wait, since)| now.get() >= since + wait) =>
            {
                Some(self.open(now))
            }
            _ => None,
        }
    }

    /// Asks to make a call at `now`: a [`Ticket`] to give back with
    /// [`record`](Self::record), or why not.
    pub fn try_acquire(&mut self, now: Instant) -> Step<Result<Ticket, Rejected>> {
        self.try_acquire_at(&mut Now::at(now), true)
    }

    /// [`try_acquire`](Self::try_acquire) reading the time only if needed;
    /// `timed` asks for the start time (for slow calls and reported durations).
    #[inline]
    pub(crate) fn try_acquire_at(
        &mut self,
        now: &mut Now<'_>,
        timed: bool,
    ) -> Step<Result<Ticket, Rejected>> {
        let transition = self.tick_at(now);
        let value = self.admit(now, timed);
        Step { value, transition }
    }

    #[inline]
    fn admit(&mut self, now: &mut Now<'_>, timed: bool) -> Result<Ticket, Rejected> {
        let refuse = |this: &mut Self, reason, retry_after| {
            if reason == RejectReason::Bulkhead {
                this.counters.bulkhead_rejected += 1;
            } else {
                this.counters.rejected += 1;
            }
            Err(Rejected {
                reason,
                retry_after,
            })
        };
        let trial = match &self.phase {
            Phase::Open { until } => {
                let left = until.saturating_duration_since(now.get());
                return refuse(self, RejectReason::Open, Some(left));
            }
            Phase::ForcedOpen => return refuse(self, RejectReason::ForcedOpen, None),
            Phase::HalfOpen(t) if t.admitted >= self.settings.half_open_calls => {
                return refuse(self, RejectReason::HalfOpenFull, None);
            }
            Phase::HalfOpen(_) => true,
            Phase::Closed | Phase::Disabled => false,
        };
        if self
            .settings
            .capacity
            .is_some_and(|cap| self.in_flight >= cap)
        {
            return refuse(self, RejectReason::Bulkhead, None);
        }
        if let Phase::HalfOpen(t) = &mut self.phase {
            t.admitted += 1;
        }
        self.in_flight += 1;
        self.counters.permitted += 1;
        Ok(Ticket {
            generation: self.generation,
            started: timed.then(|| now.get()),
            trial,
        })
    }

    /// Gives back `ticket` with the call's `outcome` at `now`.
    ///
    /// A call admitted before the last state change is counted in the totals
    /// only: it cannot close (or open) the breaker by ending late.
    pub fn record(&mut self, ticket: Ticket, outcome: Outcome, now: Instant) -> Step<Completed> {
        self.record_at(ticket, outcome, &mut Now::at(now))
    }

    #[inline]
    pub(crate) fn record_at(
        &mut self,
        ticket: Ticket,
        outcome: Outcome,
        now: &mut Now<'_>,
    ) -> Step<Completed> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let elapsed = ticket
            .started
            .map_or(Duration::ZERO, |s| now.get().saturating_duration_since(s));
        let slow = outcome.is_counted()
            && ticket.started.is_some()
            && self.settings.slow.is_some_and(|s| elapsed >= s.threshold);
        let c = &mut self.counters;
        match outcome {
            Outcome::Success => c.successes += 1,
            Outcome::Failure => c.failures += 1,
            Outcome::Timeout => c.timeouts += 1,
            Outcome::Ignored => c.ignored += 1,
            Outcome::Cancelled => c.cancelled += 1,
        }
        c.slow += u64::from(slow);

        let mut transition = self.tick_at(now);
        let late = ticket.generation != self.generation;
        if late {
            self.counters.late += 1;
        } else if transition.is_none() {
            transition = self.count(&ticket, outcome, slow, now);
        }
        Step {
            value: Completed {
                outcome,
                elapsed,
                slow,
                late,
            },
            transition,
        }
    }

    #[inline]
    fn count(
        &mut self,
        ticket: &Ticket,
        outcome: Outcome,
        slow: bool,
        now: &mut Now<'_>,
    ) -> Option<Transition> {
        match &mut self.phase {
            Phase::Closed | Phase::Disabled if outcome.is_counted() => {
                self.window.record(now, outcome.is_failure(), slow);
                let closed = matches!(self.phase, Phase::Closed);
                let warming = self.warm_up_until.is_some_and(|until| now.get() < until);
                if closed && !warming {
                    let w = self.window.stats(now);
                    if w.calls >= u64::from(self.settings.minimum_calls)
                        && self.trips(w.calls, w.failures, w.slow)
                    {
                        return Some(self.open(now));
                    }
                }
                None
            }
            Phase::HalfOpen(t) if ticket.trial => {
                if !outcome.is_counted() {
                    t.admitted = t.admitted.saturating_sub(1);
                    return None;
                }
                t.completed += 1;
                t.failures += u32::from(outcome.is_failure());
                t.slow += u32::from(slow);
                let (completed, failures, slow) = (t.completed, t.failures, t.slow);
                let n = u64::from(self.settings.half_open_calls);
                // Rates only rise with more trials, so a trip now is a trip at the end.
                if self.trips(n, u64::from(failures), u64::from(slow)) {
                    Some(self.open(now))
                } else if completed >= self.settings.half_open_calls {
                    Some(self.enter(Phase::Closed, now))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Whether `failures` or `slow` out of `calls` cross their thresholds.
    #[inline]
    fn trips(&self, calls: u64, failures: u64, slow: u64) -> bool {
        let s = &self.settings;
        let over = |count: u64, percent: u8| {
            let (lhs, rhs) = (count * 100, u64::from(percent) * calls);
            match s.comparison {
                Comparison::Above => lhs > rhs,
                Comparison::AtOrAbove => lhs >= rhs,
            }
        };
        calls > 0
            && (over(failures, s.error_threshold) || s.slow.is_some_and(|x| over(slow, x.rate)))
    }

    fn open(&mut self, now: &mut Now<'_>) -> Transition {
        let until = now.get() + self.settings.reset_timeout;
        self.enter(Phase::Open { until }, now)
    }

    /// Moves to `phase`; every change starts a new generation, so calls
    /// admitted before it are recognised as late.
    fn enter(&mut self, phase: Phase, now: &mut Now<'_>) -> Transition {
        let from = self.state();
        self.phase = phase;
        self.generation += 1;
        if matches!(self.phase, Phase::Closed) {
            self.window.clear(now);
        }
        Transition {
            from,
            to: self.state(),
        }
    }

    /// Like [`enter`](Self::enter), but reports nothing when the state stays
    /// the same (a reset of a closed breaker, a second force-open).
    fn manual(&mut self, phase: Phase, now: Instant) -> Option<Transition> {
        let t = self.enter(phase, &mut Now::at(now));
        (t.from != t.to).then_some(t)
    }

    /// Opens the breaker now for the reset timeout (opossum's `open()`).
    pub fn trip(&mut self, now: Instant) -> Option<Transition> {
        let until = now + self.settings.reset_timeout;
        self.manual(Phase::Open { until }, now)
    }

    /// Rejects every call until [`reset`](Self::reset) or
    /// [`disable`](Self::disable) (resilience4j's `FORCED_OPEN`).
    pub fn force_open(&mut self, now: Instant) -> Option<Transition> {
        if matches!(self.phase, Phase::ForcedOpen) {
            return None;
        }
        self.manual(Phase::ForcedOpen, now)
    }

    /// Lets every call through and counts it, never opening (resilience4j's
    /// `METRICS_ONLY`, opossum's `disable()`).
    pub fn disable(&mut self, now: Instant) -> Option<Transition> {
        if matches!(self.phase, Phase::Disabled) {
            return None;
        }
        self.manual(Phase::Disabled, now)
    }

    /// Closes the breaker with an empty window (resilience4j's `reset`,
    /// opossum's `close()`); calls in flight are then late.
    pub fn reset(&mut self, now: Instant) -> Option<Transition> {
        self.manual(Phase::Closed, now)
    }

    /// Starts in `state` (from a snapshot): open for `open_for` (a half-open
    /// state restarts open with nothing left to wait, so the next call is a
    /// trial). Reports no transition: it is where the breaker starts.
    pub(crate) fn restore(&mut self, state: State, open_for: Duration, now: Instant) {
        self.phase = match state {
            State::Closed => Phase::Closed,
            State::Open | State::HalfOpen => Phase::Open {
                until: now + open_for,
            },
            State::ForcedOpen => Phase::ForcedOpen,
            State::Disabled => Phase::Disabled,
        };
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests;
