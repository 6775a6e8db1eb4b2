//! [`Breaker`]: the state machine behind a lock, with a clock, events, and
//! [`Permit`]s that give themselves back.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::call::{Call, Classify, ErrorsFail};
use crate::clock::Clock;
use crate::config::{BreakerBuilder, Settings};
use crate::event::{Event, EventKind, Listener};
use crate::machine::{
    Completed, Counters, Now, Outcome, Rejected, State, StateMachine, Ticket, Transition,
    WindowStats,
};
use crate::snapshot::Snapshot;

/// A circuit breaker and bulkhead, shared by cloning (clones are the same
/// breaker).
///
/// Around any future with [`call`](Self::call) or [`call_with`](Self::call_with),
/// around a tower service with [`layer`](Self::layer), or by hand with
/// [`try_acquire`](Self::try_acquire).
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

struct Shared {
    name: Arc<str>,
    machine: Mutex<StateMachine>,
    clock: Arc<dyn Clock>,
    listener: Option<Arc<dyn Listener>>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::Metrics,
    timeout: Option<Duration>,
    cancelled: Outcome,
    /// Whether calls need their start time: for slow calls, or to report
    /// durations to a listener or metrics.
    timed: bool,
    warned_no_timer: AtomicBool,
}

/// A breaker's state and counts at one moment, from [`Breaker::stats`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// The state.
    pub state: State,
    /// Cumulative counts since the breaker was built.
    pub counters: Counters,
    /// What the rolling window holds.
    pub window: WindowStats,
    /// Calls running now.
    pub in_flight: u32,
    /// While open, the time left until a trial call is let through.
    pub retry_after: Option<Duration>,
}

impl Breaker {
    /// Starts a breaker named `name`, with opossum's defaults (see
    /// [`BreakerBuilder`]).
    pub fn builder(name: impl Into<String>) -> BreakerBuilder {
        BreakerBuilder::new(name.into())
    }

    pub(crate) fn from_parts(
        name: String,
        settings: Settings,
        clock: Arc<dyn Clock>,
        listener: Option<Arc<dyn Listener>>,
        restore: Option<Snapshot>,
    ) -> Self {
        let now = clock.now();
        let timeout = settings.timeout;
        let cancelled = settings.cancelled;
        let timed = settings.slow.is_some() || cfg!(feature = "metrics") || listener.is_some();
        let mut machine = StateMachine::new(settings, now);
        if let Some(snapshot) = restore {
            let open_for = snapshot.open_remaining_at(SystemTime::now());
            machine.restore(snapshot.state(), open_for, now);
        }
        let name: Arc<str> = name.into();
        Breaker {
            shared: Arc::new(Shared {
                #[cfg(feature = "metrics")]
                metrics: crate::metrics::Metrics::new(name.clone()),
                name,
                machine: Mutex::new(machine),
                clock,
                listener,
                timeout,
                cancelled,
                timed,
                warned_no_timer: AtomicBool::new(false),
            }),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The per-call timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.shared.timeout
    }

    /// The current state, after any change that time alone causes (open →
    /// half-open once the reset timeout has passed).
    pub fn state(&self) -> State {
        self.stats().state
    }

    /// The state and calls in flight, without applying time-based changes or
    /// reporting anything (safe under another lock).
    pub(crate) fn peek(&self) -> (State, u32) {
        let m = self.lock();
        (m.state(), m.in_flight())
    }

    /// The state and counts now.
    pub fn stats(&self) -> Stats {
        let now = self.shared.clock.now();
        let (transition, stats) = {
            let mut m = self.lock();
            let transition = m.tick(now);
            let stats = Stats {
                state: m.state(),
                counters: m.counters(),
                window: m.window(now),
                in_flight: m.in_flight(),
                retry_after: m.remaining_open(now),
            };
            (transition, stats)
        };
        self.transitioned(transition, stats.state);
        stats
    }

    /// Asks to make one call now: a [`Permit`] that records the call's outcome
    /// (dropping it unrecorded counts as a cancellation, or as a failure when
    /// dropped by a panic), or why not.
    ///
    /// This is the framework-free face: `call` and the tower layer are built
    /// on it.
    ///
    /// ```
    /// use harden_breaker::{Breaker, Outcome};
    ///
    /// let breaker = Breaker::builder("search").build()?;
    /// match breaker.try_acquire() {
    ///     Ok(permit) => {
    ///         // … make the call …
    ///         permit.record(Outcome::Success);
    ///     }
    ///     Err(rejected) => eprintln!("not calling: {rejected}"),
    /// }
    /// # Ok::<(), harden_breaker::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the breaker is open, half-open with every trial
    /// permit taken, forced open, or when the bulkhead is full.
    pub fn try_acquire(&self) -> Result<Permit, Rejected> {
        let ticket = self.admit()?;
        Ok(Permit {
            breaker: self.clone(),
            ticket: Some(ticket),
            polling: false,
        })
    }

    /// [`try_acquire`](Self::try_acquire) with this handle moved into the
    /// permit, saving a reference count round trip per call.
    #[inline]
    pub(crate) fn acquire_owned(self) -> Result<Permit, Rejected> {
        let ticket = self.admit()?;
        Ok(Permit {
            breaker: self,
            ticket: Some(ticket),
            polling: false,
        })
    }

    #[inline]
    fn admit(&self) -> Result<Ticket, Rejected> {
        let mut now = Now::lazy(&*self.shared.clock);
        let (step, state) = {
            let mut m = self.lock();
            let step = m.try_acquire_at(&mut now, self.shared.timed);
            (step, m.state())
        };
        self.transitioned(step.transition, state);
        step.value.inspect_err(|rejected| {
            self.emit(
                EventKind::Rejected {
                    reason: rejected.reason(),
                },
                state,
            );
        })
    }

    /// Runs the future `make` returns under the breaker: not at all when the
    /// breaker rejects the call, bounded by the timeout, and counted as a
    /// failure when it returns `Err` (see [`call_with`](Self::call_with) to
    /// classify results yourself).
    ///
    /// ```
    /// use harden_breaker::{Breaker, BreakerError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let breaker = Breaker::builder("db").build()?;
    /// let rows = breaker.call(|| async { Ok::<_, std::io::Error>(vec![1, 2, 3]) }).await?;
    /// assert_eq!(rows.len(), 3);
    ///
    /// breaker.force_open();
    /// let err = breaker.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap_err();
    /// assert!(matches!(err, BreakerError::Rejected(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(&self, make: F) -> Call<Fut, ErrorsFail>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(ErrorsFail, make)
    }

    /// Like [`call`](Self::call), with `classify` deciding what the result
    /// counts as: an error that is the caller's fault can be a success, one
    /// that says nothing about the upstream can be ignored (opossum's
    /// `errorFilter`), and an `Ok` HTTP response with a 5xx status a failure.
    ///
    /// ```
    /// use harden_breaker::{Breaker, Outcome};
    /// use http::StatusCode;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let breaker = Breaker::builder("upstream").build()?;
    /// // An HTTP client call: a 5xx answer is a failure, a 404 is not.
    /// let status = breaker
    ///     .call_with(
    ///         |r: &Result<StatusCode, std::io::Error>| match r {
    ///             Ok(status) => Outcome::from_status(*status),
    ///             Err(_) => Outcome::Failure,
    ///         },
    ///         || async { Ok(StatusCode::NOT_FOUND) },
    ///     )
    ///     .await?;
    /// assert_eq!(status, StatusCode::NOT_FOUND);
    /// assert_eq!(breaker.stats().counters.successes, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call_with<F, Fut, C, T, E>(&self, classify: C, make: F) -> Call<Fut, C>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, E>,
    {
        match self.try_acquire() {
            Ok(mut permit) => {
                permit.polling = true;
                let future = make();
                permit.polling = false;
                Call::running(future, permit, classify, self.shared.timeout)
            }
            Err(rejected) => Call::rejected(rejected),
        }
    }

    /// Opens the breaker now for the reset timeout (opossum's `open()`).
    pub fn trip(&self) {
        self.manual(StateMachine::trip);
    }

    /// Rejects every call until [`reset`](Self::reset) or
    /// [`disable`](Self::disable) (resilience4j's `FORCED_OPEN`).
    pub fn force_open(&self) {
        self.manual(StateMachine::force_open);
    }

    /// Lets every call through, counting them but never opening (metrics
    /// only: resilience4j's `METRICS_ONLY`, opossum's `disable()`).
    pub fn disable(&self) {
        self.manual(StateMachine::disable);
    }

    /// Closes the breaker with an empty window (resilience4j's `reset`,
    /// opossum's `close()`). The cumulative counters are kept.
    pub fn reset(&self) {
        self.manual(StateMachine::reset);
    }

    /// The state and counters, to persist and hand to
    /// [`BreakerBuilder::restore`] after a restart.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.shared.clock.now();
        let (transition, snapshot) = {
            let mut m = self.lock();
            let transition = m.tick(now);
            let snapshot = Snapshot::new(
                self.name().to_owned(),
                m.state(),
                m.remaining_open(now).unwrap_or_default(),
                SystemTime::now(),
                m.counters(),
            );
            (transition, snapshot)
        };
        self.transitioned(transition, snapshot.state());
        snapshot
    }

    fn manual(&self, change: fn(&mut StateMachine, std::time::Instant) -> Option<Transition>) {
        let now = self.shared.clock.now();
        let (transition, state) = {
            let mut m = self.lock();
            let t = change(&mut m, now);
            (t, m.state())
        };
        self.transitioned(transition, state);
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, StateMachine> {
        // The machine never panics while locked; a poisoned lock still holds
        // a consistent machine.
        self.shared
            .machine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn observed(&self) -> bool {
        cfg!(feature = "metrics") || self.shared.listener.is_some()
    }

    fn emit(&self, kind: EventKind, state: State) {
        #[cfg(feature = "metrics")]
        self.shared.metrics.record(&kind, state);
        #[cfg(not(feature = "metrics"))]
        let _ = state;
        if let Some(listener) = &self.shared.listener {
            listener.on_event(&Event {
                breaker: &self.shared.name,
                kind,
            });
        }
    }

    fn transitioned(&self, transition: Option<Transition>, state: State) {
        if let Some(Transition { from, to }) = transition
            && self.observed()
        {
            self.emit(EventKind::Transition { from, to }, state);
        }
    }

    #[inline]
    fn complete(&self, ticket: Ticket, outcome: Outcome) {
        let mut now = Now::lazy(&*self.shared.clock);
        let (step, state) = {
            let mut m = self.lock();
            let step = m.record_at(ticket, outcome, &mut now);
            (step, m.state())
        };
        if self.observed() {
            let Completed {
                outcome,
                elapsed,
                slow,
                late,
                ..
            } = step.value;
            self.emit(
                EventKind::Call {
                    outcome,
                    elapsed,
                    late,
                },
                state,
            );
            if slow {
                self.emit(EventKind::Slow { elapsed }, state);
            }
            self.transitioned(step.transition, state);
        }
    }

    /// Whether a Tokio runtime is there to time calls out; warns once per
    /// breaker when not.
    pub(crate) fn timer_available(&self) -> bool {
        if tokio::runtime::Handle::try_current().is_ok() {
            return true;
        }
        if !self.shared.warned_no_timer.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                breaker = %self.shared.name,
                "circuit breaker timeout not applied: no Tokio runtime on this thread"
            );
        }
        false
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.shared.name)
            .field("state", &self.lock().state())
            .finish_non_exhaustive()
    }
}

/// The permission to make one call, from [`Breaker::try_acquire`].
///
/// Record the outcome with [`record`](Self::record). Dropped without one, it
/// counts as cancelled (or as configured with
/// [`cancelled_calls`](crate::BreakerBuilder::cancelled_calls)), or as a
/// failure when a panic drops it; either way a half-open trial permit and the
/// bulkhead slot are given back.
#[must_use = "dropping a permit records the call as cancelled"]
pub struct Permit {
    breaker: Breaker,
    ticket: Option<Ticket>,
    /// Set while the guarded code runs, so an unwinding panic leaves it set
    /// even when the future is dropped only after the panic was caught.
    pub(crate) polling: bool,
}

impl Permit {
    /// Records the call's outcome.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        if let Some(ticket) = self.ticket.take() {
            self.breaker.complete(ticket, outcome);
        }
    }

    /// Records a success.
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// Records a failure.
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// Whether this is a half-open trial call.
    pub fn is_trial(&self) -> bool {
        self.ticket.as_ref().is_some_and(Ticket::is_trial)
    }

    /// The breaker it came from.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let outcome = if self.polling || std::thread::panicking() {
                Outcome::Failure
            } else {
                self.breaker.shared.cancelled
            };
            self.breaker.complete(ticket, outcome);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("trial", &self.is_trial())
            .finish()
    }
}
