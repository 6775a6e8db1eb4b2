//! An opossum-style circuit breaker and bulkhead: around any future, as a
//! tower layer, and per key.
//!
//! ```
//! use harden_breaker::{Breaker, BreakerError, Event, EventKind, State};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The playbook's settings (section 5.2): 3 s timeout, 50 %, 30 s open.
//! let breaker = Breaker::builder("orders-db")
//!     .timeout(Duration::from_secs(3))
//!     .error_threshold_percent(50)
//!     .reset_timeout(Duration::from_secs(30))
//!     .minimum_calls(4)
//!     .on_event(|e: &Event<'_>| {
//!         if let EventKind::Transition { from, to } = e.kind {
//!             eprintln!("breaker {}: {from} -> {to}", e.breaker);
//!         }
//!     })
//!     .build()?;
//!
//! // A database query, an HTTP client call: any future returning a Result.
//! async fn query(fail: bool) -> Result<u32, std::io::Error> {
//!     if fail { Err(std::io::Error::other("connection reset")) } else { Ok(7) }
//! }
//! assert_eq!(breaker.call(|| query(false)).await?, 7);
//! for _ in 0..3 {
//!     assert!(matches!(breaker.call(|| query(true)).await, Err(BreakerError::Inner(_))));
//! }
//! // 3 failures in 4 calls is over 50 %: open, and the query is not even made.
//! assert_eq!(breaker.state(), State::Open);
//! let err = breaker.call(|| query(false)).await.unwrap_err();
//! assert!(err.is_rejected());
//! # Ok(())
//! # }
//! ```
//!
//! - [`Breaker`]: the breaker. [`call`](Breaker::call) /
//!   [`call_with`](Breaker::call_with) guard a future (it is not even created
//!   when the breaker rejects the call); [`try_acquire`](Breaker::try_acquire)
//!   hands out a [`Permit`] for code that is not a future; manual control
//!   ([`trip`](Breaker::trip), [`force_open`](Breaker::force_open),
//!   [`disable`](Breaker::disable), [`reset`](Breaker::reset)); [`stats`](Breaker::stats);
//!   [`snapshot`](Breaker::snapshot) and [`BreakerBuilder::restore`].
//! - [`BreakerLayer`]: the tower layer: `503` + `Retry-After` in the shared
//!   error format when open, without calling the inner service, or a
//!   [`Fallback`] response marked `no-store`; 5xx and errors count, 4xx don't.
//! - [`BreakerRegistry`] and [`BreakerLayer::keyed`]: a breaker per upstream
//!   host or route, bounded, idle keys evicted.
//! - [`StateMachine`]: the pure core, with the time passed in.
//! - [`Event`]s to a [`Listener`], and `metrics` counters behind the
//!   `metrics` feature.
//!
//! # Semantics
//!
//! - **Closed.** Outcomes fill a rolling window: the calls of the last 10 s in
//!   10 buckets (opossum's), or the last N calls. Once the window holds
//!   [`minimum_calls`](BreakerBuilder::minimum_calls), the breaker opens when
//!   the failure rate is **above** the threshold (`>`, as opossum;
//!   [`Comparison::AtOrAbove`] for resilience4j's `>=`), or when the slow-call
//!   rate is, if [`slow_calls`](BreakerBuilder::slow_calls) is set. Not during
//!   the [`warm_up`](BreakerBuilder::warm_up).
//! - **Open** for the [`reset_timeout`](BreakerBuilder::reset_timeout):
//!   every call is rejected at once. The change to half-open happens at the
//!   next call or state query.
//! - **Half-open** admits exactly [`half_open_calls`](BreakerBuilder::half_open_calls)
//!   trial calls (1 by default); others are rejected. Their failure rate
//!   closes the breaker or re-opens it; an optional
//!   [`max_half_open_wait`](BreakerBuilder::max_half_open_wait) re-opens it
//!   if the trials do not end.
//! - **Every state change starts a new generation.** A call admitted before a
//!   change that ends after it is counted in the totals but cannot change the
//!   state: a request that started while closed and succeeds after the
//!   breaker opened does not close it (opossum's `closed-test`), and a slow
//!   call from before cannot pose as a half-open trial.
//! - **Timeouts** count once, as failures; the timed-out future is dropped.
//! - **Dropped calls** (cancelled) give their permit back and count as
//!   neither, unless [`cancelled_calls`](BreakerBuilder::cancelled_calls)
//!   says otherwise; **panics** count as failures and give it back too.
//! - **Ignored outcomes** ([`Outcome::Ignored`]: opossum's `errorFilter`,
//!   resilience4j's ignored exceptions) are not counted and give a half-open
//!   permit back.
//! - **Bulkhead.** With a [`capacity`](BreakerBuilder::capacity), calls over
//!   it are rejected with [`RejectReason::Bulkhead`], distinct from an open
//!   breaker.
//! - **Forced open** and **disabled** (metrics only) are manual states that
//!   only [`reset`](Breaker::reset) (or each other) leaves.
//! - State is **per process**, as in opossum, resilience4j and Envoy; a
//!   [`Snapshot`] lets a restarted process start open.
//!
//! # Why not the `failsafe` crate
//!
//! The design card named an "opossum-style failsafe", and the `failsafe`
//! crate (1.3) was the first candidate: a [`FailurePolicy`] of our own on its
//! `StateMachine`. It cannot pass the conformance list, whatever the policy:
//!
//! - its half-open state admits **every** call (`is_call_permitted` returns
//!   `true` for any half-open breaker), so it cannot limit trials to N;
//! - a call has no identity: a success that started before the breaker
//!   opened closes it when it lands in half-open;
//! - there are no permits, so there is nothing for a cancelled or panicking
//!   call to give back, and no bulkhead;
//! - a policy sees only successes and failures: no ignored outcomes, no
//!   slow calls, no timeouts counted once;
//! - it reads the time from a thread-local clock of its own rather than one
//!   passed in, and has no forced-open, disabled or snapshot states.
//!
//! So this crate has its own state machine; `failsafe` remains in the
//! benchmark (`benches/breaker.rs`) as the peer to beat.
//!
//! [`FailurePolicy`]: https://docs.rs/failsafe/1.3.0/failsafe/failure_policy/trait.FailurePolicy.html
//!
//! # Caveats
//!
//! - A timeout needs a Tokio runtime with timers when a call is still pending
//!   after its first poll; without a runtime on the thread the call runs
//!   untimed and a warning is logged once per breaker.
//! - The per-call timeout starts at the call's first poll.
//! - Listeners run on the caller's task, outside the lock: keep them quick.
//!
//! # Features
//!
//! - `metrics`: counters, a state gauge and a latency histogram through the
//!   `metrics` facade (see [`metrics`](crate#metrics)).
//! - `serde`: [`BreakerConfig`](config::BreakerConfig) and [`Snapshot`]
//!   (de)serialisation.
//!
//! # Metrics
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `harden_breaker_calls_total` | counter | `breaker`, `outcome` (`success`, `failure`, `timeout`, `ignored`, `cancelled`) |
//! | `harden_breaker_slow_calls_total` | counter | `breaker` |
//! | `harden_breaker_rejections_total` | counter | `breaker`, `reason` (`open`, `half-open-full`, `forced-open`, `bulkhead-full`) |
//! | `harden_breaker_transitions_total` | counter | `breaker`, `from`, `to` |
//! | `harden_breaker_state` | gauge: 1 for the current state, 0 for the others | `breaker`, `state` |
//! | `harden_breaker_call_duration_seconds` | histogram | `breaker` |
//!
//! The handles are registered with the recorder installed when a breaker
//! reports its first event: install the recorder before serving traffic.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod call;
mod clock;
pub mod config;
mod error;
mod event;
pub mod layer;
pub mod machine;
#[cfg(feature = "metrics")]
mod metrics;
mod registry;
mod snapshot;

pub use self::breaker::{Breaker, Permit, Stats};
pub use self::call::{BreakerError, Call, Classify, ErrorsFail};
pub use self::clock::{Clock, ManualClock, TokioClock};
pub use self::config::{BreakerBuilder, Comparison};
pub use self::error::ConfigError;
pub use self::event::{Event, EventKind, Listener};
pub use self::layer::{BreakerLayer, BreakerService, ClassifyResponse, Fallback, ServerErrorsFail};
pub use self::machine::{
    Counters, Outcome, RejectReason, Rejected, State, StateMachine, Transition, WindowStats,
};
pub use self::registry::BreakerRegistry;
pub use self::snapshot::Snapshot;
