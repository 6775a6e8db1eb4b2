//! The values the state machine takes and gives: states, outcomes,
//! rejections, tickets, counts.

use std::fmt;
use std::time::{Duration, Instant};

#[cfg(doc)]
use super::StateMachine;

/// The state of a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum State {
    /// Calls pass; their outcomes fill the rolling window.
    Closed,
    /// Calls are rejected until the reset timeout has passed.
    Open,
    /// A limited number of trial calls decide between closed and open.
    HalfOpen,
    /// Calls are rejected until the breaker is reset or disabled.
    ForcedOpen,
    /// Calls pass and are counted, but the breaker never opens (metrics only).
    Disabled,
}

impl State {
    /// `closed`, `open`, `half_open`, `forced_open` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }

    /// Every state, in declaration order.
    pub const ALL: [State; 5] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
    ];
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a call ended, as recorded by the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Outcome {
    /// Counted as a success.
    Success,
    /// Counted as a failure.
    Failure,
    /// Counted as a failure and reported as a timeout.
    Timeout,
    /// Not counted at all (opossum's `errorFilter`, resilience4j's ignored
    /// exceptions); a half-open permit is given back.
    Ignored,
    /// The caller dropped the call before it ended: not counted, unless
    /// configured otherwise ([`cancelled_calls`](crate::BreakerBuilder::cancelled_calls));
    /// a half-open permit is given back.
    Cancelled,
}

impl Outcome {
    /// The outcome an HTTP status stands for by default: a 5xx is a failure,
    /// anything else (4xx included: the caller's mistake, not the upstream's
    /// failure) a success.
    ///
    /// ```
    /// use harden_breaker::Outcome;
    /// use http::StatusCode;
    ///
    /// assert_eq!(Outcome::from_status(StatusCode::BAD_GATEWAY), Outcome::Failure);
    /// assert_eq!(Outcome::from_status(StatusCode::NOT_FOUND), Outcome::Success);
    /// ```
    pub fn from_status(status: http::StatusCode) -> Self {
        if status.is_server_error() {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    }

    /// `success`, `failure`, `timeout`, `ignored` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Timeout => "timeout",
            Outcome::Ignored => "ignored",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Whether the outcome enters the window and the trial count.
    pub(super) fn is_counted(self) -> bool {
        matches!(self, Outcome::Success | Outcome::Failure | Outcome::Timeout)
    }

    pub(super) fn is_failure(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Timeout)
    }
}

/// Why a call was not let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The breaker is open.
    Open,
    /// The breaker is half-open and every trial permit is taken.
    HalfOpenFull,
    /// The breaker was forced open.
    ForcedOpen,
    /// The bulkhead is full: as many calls as its capacity are running.
    Bulkhead,
}

impl RejectReason {
    /// `open`, `half-open-full`, `forced-open` or `bulkhead-full`: the reason
    /// of the [`Rejection`](harden_core::Rejection) the layer records.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Open => "open",
            RejectReason::HalfOpenFull => "half-open-full",
            RejectReason::ForcedOpen => "forced-open",
            RejectReason::Bulkhead => "bulkhead-full",
        }
    }
}

/// A call the breaker refused, and when it may be worth trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rejected {
    pub(super) reason: RejectReason,
    pub(super) retry_after: Option<Duration>,
}

impl Rejected {
    pub(crate) fn new(reason: RejectReason, retry_after: Option<Duration>) -> Self {
        Rejected {
            reason,
            retry_after,
        }
    }

    /// Why the call was refused.
    pub fn reason(&self) -> RejectReason {
        self.reason
    }

    /// For an open breaker, the time left until it lets a trial call through;
    /// `None` when unknown (half-open, forced open, bulkhead).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            RejectReason::Open => f.write_str("circuit breaker is open")?,
            RejectReason::HalfOpenFull => {
                f.write_str("circuit breaker is half-open and its trial calls are taken")?;
            }
            RejectReason::ForcedOpen => f.write_str("circuit breaker is forced open")?,
            RejectReason::Bulkhead => f.write_str("bulkhead is full")?,
        }
        if let Some(d) = self.retry_after {
            write!(f, " (retry in {} ms)", d.as_millis())?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// A state change, reported once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
}

/// What a [`StateMachine`] method returns: its value and the state change it
/// made, if any (at most one per call).
#[derive(Debug)]
#[non_exhaustive]
pub struct Step<T> {
    /// The method's result.
    pub value: T,
    /// The transition the method made.
    pub transition: Option<Transition>,
}

/// The permission to make one call, to be given back with
/// [`StateMachine::record`] exactly once.
#[derive(Debug)]
#[must_use = "a ticket must be given back with `record`, or the call stays in flight"]
pub struct Ticket {
    pub(super) generation: u64,
    pub(super) started: Option<Instant>,
    pub(super) trial: bool,
}

impl Ticket {
    /// When the call was admitted; `None` when the [`Breaker`](crate::Breaker)
    /// did not need to know (no slow-call rule, no listener, no metrics).
    pub fn started(&self) -> Option<Instant> {
        self.started
    }

    /// Whether it is one of the half-open trial calls.
    pub fn is_trial(&self) -> bool {
        self.trial
    }
}

/// What [`StateMachine::record`] found out about a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Completed {
    /// The outcome recorded.
    pub outcome: Outcome,
    /// Time from admission to the outcome (zero when the start time was not
    /// taken: see [`Ticket::started`]).
    pub elapsed: Duration,
    /// Whether the call took at least the slow-call threshold.
    pub slow: bool,
    /// Whether the breaker changed state while the call ran: its outcome was
    /// counted in the totals but not in the window or the trials.
    pub late: bool,
}

/// Cumulative counts since the breaker was built; they never go down
/// (a [`reset`](StateMachine::reset) clears the window, not these).
///
/// Always `permitted = successes + failures + timeouts + ignored + cancelled +
/// in flight`; panics are failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Counters {
    /// Calls let through.
    pub permitted: u64,
    /// Calls refused by the breaker (open, half-open full, forced open).
    pub rejected: u64,
    /// Calls refused by the bulkhead.
    pub bulkhead_rejected: u64,
    /// Calls counted as successes.
    pub successes: u64,
    /// Calls counted as failures (panics included).
    pub failures: u64,
    /// Calls that timed out (failures too, but counted here only).
    pub timeouts: u64,
    /// Calls whose outcome was ignored.
    pub ignored: u64,
    /// Calls dropped before they ended, when not counted otherwise.
    pub cancelled: u64,
    /// Calls at or over the slow-call threshold (also in one of the above).
    pub slow: u64,
    /// Calls that ended after the breaker changed state (also in one of the above).
    pub late: u64,
}

/// What the rolling window holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct WindowStats {
    /// Counted calls.
    pub calls: u64,
    /// Failures and timeouts among them.
    pub failures: u64,
    /// Slow calls among them.
    pub slow: u64,
}

impl WindowStats {
    /// Failures as a percentage of the calls, `None` without calls.
    pub fn failure_rate_percent(&self) -> Option<f64> {
        rate(self.failures, self.calls)
    }

    /// Slow calls as a percentage of the calls, `None` without calls.
    pub fn slow_rate_percent(&self) -> Option<f64> {
        rate(self.slow, self.calls)
    }
}

#[allow(clippy::cast_precision_loss)]
fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}
