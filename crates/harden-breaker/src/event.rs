//! Events: what a breaker tells a [`Listener`] about its calls and states.

use std::time::Duration;

use crate::machine::{Outcome, RejectReason, State};

/// Something that happened to a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event<'a> {
    /// The breaker's name.
    pub breaker: &'a str,
    /// What happened.
    pub kind: EventKind,
}

/// What happened, in an [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The state changed, reported exactly once per change; a manual change
    /// to the state the breaker is already in is not reported.
    Transition {
        /// The state left.
        from: State,
        /// The state entered.
        to: State,
    },
    /// A call ended: a success, failure, timeout, ignored or cancelled call.
    Call {
        /// How it was counted.
        outcome: Outcome,
        /// Time from admission to the end.
        elapsed: Duration,
        /// Whether it ended after a state change, so it counted only in the
        /// totals.
        late: bool,
    },
    /// A call reached the slow-call threshold (reported after its
    /// [`Call`](EventKind::Call) event).
    Slow {
        /// How long it took.
        elapsed: Duration,
    },
    /// A call was refused.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

/// Receives a breaker's [`Event`]s. Any `Fn(&Event<'_>) + Send + Sync` is one.
///
/// ```
/// use harden_breaker::{Breaker, Event, EventKind, State};
///
/// let breaker = Breaker::builder("payments")
///     .on_event(|e: &Event<'_>| {
///         if let EventKind::Transition { to: State::Open, .. } = e.kind {
///             eprintln!("circuit breaker {} opened", e.breaker);
///         }
///     })
///     .build()?;
/// # let _ = breaker;
/// # Ok::<(), harden_breaker::ConfigError>(())
/// ```
pub trait Listener: Send + Sync + 'static {
    /// Called on the task that caused the event, outside the breaker's lock.
    fn on_event(&self, event: &Event<'_>);
}

impl<F> Listener for F
where
    F: Fn(&Event<'_>) + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event<'_>) {
        self(event);
    }
}
