//! [`BreakerBuilder`]: the settings of a breaker, their defaults and their
//! validation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ConfigError;
use crate::breaker::Breaker;
use crate::clock::{Clock, TokioClock};
use crate::event::Listener;
use crate::machine::{Outcome, StateMachine};
use crate::snapshot::Snapshot;

/// How a failure (or slow-call) rate is compared with its threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Comparison {
    /// Opens when the rate is **strictly above** the threshold, as opossum
    /// does: at 50 %, 5 failures in 10 calls keep it closed, 6 open it.
    #[default]
    Above,
    /// Opens when the rate **reaches** the threshold, as resilience4j does: at
    /// 50 %, 5 failures in 10 calls open it.
    AtOrAbove,
}

impl Comparison {
    /// `>` or `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtOrAbove => ">=",
        }
    }
}

/// The rolling window's kind and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WindowKind {
    Count { size: u32 },
    Time { length: Duration, buckets: u32 },
}

/// The slow-call rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlowCalls {
    pub(crate) threshold: Duration,
    pub(crate) rate: u8,
}

/// The validated settings the state machine reads.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) error_threshold: u8,
    pub(crate) comparison: Comparison,
    pub(crate) minimum_calls: u32,
    pub(crate) window: WindowKind,
    pub(crate) reset_timeout: Duration,
    pub(crate) half_open_calls: u32,
    pub(crate) max_half_open_wait: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) slow: Option<SlowCalls>,
    pub(crate) warm_up: Option<Duration>,
    pub(crate) capacity: Option<u32>,
    pub(crate) cancelled: Outcome,
}

/// The default error threshold: 50 %, compared with `>` (opossum).
pub const DEFAULT_ERROR_THRESHOLD_PERCENT: u8 = 50;
/// The default number of calls the window must hold before it may trip.
pub const DEFAULT_MINIMUM_CALLS: u32 = 20;
/// The default rolling window: 10 s (opossum's `rollingCountTimeout`)…
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);
/// …in 10 buckets (opossum's `rollingCountBuckets`).
pub const DEFAULT_BUCKETS: u32 = 10;
/// The default time a breaker stays open: 30 s (opossum's `resetTimeout`).
pub const DEFAULT_RESET_TIMEOUT: Duration = Duration::from_secs(30);
/// The default per-call timeout: 10 s (opossum's `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

const MAX_COUNT_WINDOW: u32 = 1_000_000;
const MAX_BUCKETS: u32 = 1_000;
const MAX_HALF_OPEN_CALLS: u32 = 10_000;
const MAX_NAME_LEN: usize = 128;

/// Builds a [`Breaker`]; start with [`Breaker::builder`].
///
/// | setting | default | opossum | resilience4j |
/// |---|---|---|---|
/// | [`error_threshold_percent`](Self::error_threshold_percent) | 50 % | 50 % | 50 % |
/// | [`comparison`](Self::comparison) | `>` | `>` | `>=` |
/// | [`minimum_calls`](Self::minimum_calls) | 20 | 0 (`volumeThreshold`) | 100 |
/// | window | 10 s in 10 buckets | 10 s in 10 buckets | last 100 calls |
/// | [`reset_timeout`](Self::reset_timeout) | 30 s | 30 s | 60 s |
/// | [`half_open_calls`](Self::half_open_calls) | 1 | 1 | 10 |
/// | [`max_half_open_wait`](Self::max_half_open_wait) | none | — | none |
/// | [`timeout`](Self::timeout) | 10 s | 10 s | (TimeLimiter: 1 s) |
/// | [`slow_calls`](Self::slow_calls) | off | — | 60 s, 100 % |
/// | [`warm_up`](Self::warm_up) | off | off | — |
/// | [`capacity`](Self::capacity) (bulkhead) | unlimited | unlimited | (Bulkhead: 25) |
///
/// The minimum number of calls differs from opossum on purpose: with opossum's
/// 0, the first failed call of a quiet window is a 100 % failure rate and opens
/// the breaker for the whole reset timeout. 20 is Hystrix's
/// `requestVolumeThreshold`, which opossum's semantics come from.
#[derive(Clone)]
#[must_use]
pub struct BreakerBuilder {
    name: String,
    settings: Settings,
    clock: Arc<dyn Clock>,
    listener: Option<Arc<dyn Listener>>,
    restore: Option<Snapshot>,
}

impl fmt::Debug for BreakerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerBuilder")
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("listener", &self.listener.is_some())
            .field("restore", &self.restore)
            .finish_non_exhaustive()
    }
}

impl BreakerBuilder {
    pub(crate) fn new(name: String) -> Self {
        BreakerBuilder {
            name,
            settings: Settings {
                error_threshold: DEFAULT_ERROR_THRESHOLD_PERCENT,
                comparison: Comparison::Above,
                minimum_calls: DEFAULT_MINIMUM_CALLS,
                window: WindowKind::Time {
                    length: DEFAULT_WINDOW,
                    buckets: DEFAULT_BUCKETS,
                },
                reset_timeout: DEFAULT_RESET_TIMEOUT,
                half_open_calls: 1,
                max_half_open_wait: None,
                timeout: Some(DEFAULT_TIMEOUT),
                slow: None,
                warm_up: None,
                capacity: None,
                cancelled: Outcome::Cancelled,
            },
            clock: Arc::new(TokioClock),
            listener: None,
            restore: None,
        }
    }

    /// The breaker's name, in events, metric labels and errors (1 to 128
    /// characters, no control characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The failure rate that opens the breaker, in percent of the calls in
    /// the window (opossum's `errorThresholdPercentage`), compared as
    /// [`comparison`](Self::comparison) says.
    pub fn error_threshold_percent(mut self, percent: u8) -> Self {
        self.settings.error_threshold = percent;
        self
    }

    /// How rates are compared with their thresholds: [`Comparison::Above`]
    /// (`>`, opossum, the default) or [`Comparison::AtOrAbove`] (`>=`,
    /// resilience4j).
    pub fn comparison(mut self, comparison: Comparison) -> Self {
        self.settings.comparison = comparison;
        self
    }

    /// How many calls the window must hold before the breaker may open
    /// (opossum's `volumeThreshold`, resilience4j's `minimumNumberOfCalls`).
    /// Not applied to half-open trials.
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.settings.minimum_calls = calls;
        self
    }

    /// A time-based window: the calls of the last `length`, forgotten one
    /// bucket (`length / buckets`) at a time (opossum's `rollingCountTimeout`
    /// and `rollingCountBuckets`). The default is 10 s in 10 buckets.
    pub fn rolling_window(mut self, length: Duration, buckets: u32) -> Self {
        self.settings.window = WindowKind::Time { length, buckets };
        self
    }

    /// A count-based window: the last `size` calls (resilience4j's
    /// `COUNT_BASED` sliding window).
    pub fn count_window(mut self, size: u32) -> Self {
        self.settings.window = WindowKind::Count { size };
        self
    }

    /// How long the breaker stays open before it lets a trial call through
    /// (opossum's `resetTimeout`). The change to half-open happens at the next
    /// call or state query.
    pub fn reset_timeout(mut self, timeout: Duration) -> Self {
        self.settings.reset_timeout = timeout;
        self
    }

    /// How many trial calls half-open lets through (default 1, as opossum;
    /// resilience4j's `permittedNumberOfCallsInHalfOpenState`). Once they have
    /// all ended, their failure rate, compared with the threshold, closes or
    /// re-opens the breaker; it re-opens as soon as the rate is certain to
    /// trip.
    pub fn half_open_calls(mut self, calls: u32) -> Self {
        self.settings.half_open_calls = calls;
        self
    }

    /// Re-opens a breaker whose trial calls have not all ended after `wait`
    /// in half-open (resilience4j's `maxWaitDurationInHalfOpenState`), so a
    /// hung trial cannot keep it half-open for ever.
    pub fn max_half_open_wait(mut self, wait: Duration) -> Self {
        self.settings.max_half_open_wait = Some(wait);
        self
    }

    /// Ends a call that has not finished after `timeout`, counted once as a
    /// failure (a timeout); its future is dropped. The default is 10 s. Needs
    /// a Tokio runtime with timers when a call does not finish on its first
    /// poll.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Lets calls run as long as they take.
    pub fn no_timeout(mut self) -> Self {
        self.settings.timeout = None;
        self
    }

    /// Counts calls that take at least `threshold` as slow, and opens the
    /// breaker when slow calls are more than `rate_percent` of the window (or
    /// reach it, with [`Comparison::AtOrAbove`]), as resilience4j's
    /// `slowCallDurationThreshold` and `slowCallRateThreshold`.
    pub fn slow_calls(mut self, threshold: Duration, rate_percent: u8) -> Self {
        self.settings.slow = Some(SlowCalls {
            threshold,
            rate: rate_percent,
        });
        self
    }

    /// Never opens during the first `period` after the breaker is built
    /// (opossum's `allowWarmUp`, whose period is the window's length).
    pub fn warm_up(mut self, period: Duration) -> Self {
        self.settings.warm_up = Some(period);
        self
    }

    /// A bulkhead: at most `calls` calls run at once; more are rejected at
    /// once with [`RejectReason::Bulkhead`](crate::RejectReason::Bulkhead),
    /// told apart from an open breaker (opossum's `capacity`).
    pub fn capacity(mut self, calls: u32) -> Self {
        self.settings.capacity = Some(calls);
        self
    }

    /// What a call dropped before it ended counts as (a client that hung up,
    /// an outer timeout): [`Outcome::Cancelled`] (not counted, the default),
    /// [`Outcome::Failure`] or [`Outcome::Timeout`].
    pub fn cancelled_calls(mut self, outcome: Outcome) -> Self {
        self.settings.cancelled = outcome;
        self
    }

    /// The clock the breaker reads (default [`TokioClock`]); tests pass a
    /// [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `listener` with every [`Event`](crate::Event): state changes
    /// (each exactly once), successes, failures, timeouts, rejections and slow
    /// calls. It runs on the caller's task, outside the breaker's lock, and
    /// must be quick.
    pub fn on_event(mut self, listener: impl Listener) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// Starts in the state a [`Snapshot`] recorded, so a service restarted
    /// while its upstream was failing starts open for the time that was left.
    pub fn restore(mut self, snapshot: Snapshot) -> Self {
        self.restore = Some(snapshot);
        self
    }

    /// Builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] quoting the first setting that is out of range or
    /// contradicts another (a threshold that can never be crossed, a minimum
    /// number of calls the window cannot hold, …).
    pub fn build(self) -> Result<Breaker, ConfigError> {
        self.validate()?;
        Ok(Breaker::from_parts(
            self.name,
            self.settings,
            self.clock,
            self.listener,
            self.restore,
        ))
    }

    /// Builds a breaker from a builder already validated, as the registry does
    /// with a template whose name it changed to a valid one.
    pub(crate) fn build_checked(self) -> Breaker {
        Breaker::from_parts(
            self.name,
            self.settings,
            self.clock,
            self.listener,
            self.restore,
        )
    }

    /// Builds only the pure [`StateMachine`], starting at `now`, for callers
    /// that bring their own clock, lock and futures.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build).
    pub fn state_machine(self, now: Instant) -> Result<StateMachine, ConfigError> {
        self.validate()?;
        Ok(StateMachine::new(self.settings, now))
    }

    pub(crate) fn name_ref(&self) -> &str {
        &self.name
    }

    pub(crate) fn reset_timeout_ref(&self) -> Duration {
        self.settings.reset_timeout
    }

    pub(crate) fn clock_ref(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn validate(&self) -> Result<(), ConfigError> {
        validate_name(&self.name)?;
        let s = &self.settings;
        check_percent("error threshold", s.error_threshold, s.comparison)?;
        if let Some(slow) = s.slow {
            check_percent("slow-call rate threshold", slow.rate, s.comparison)?;
            positive("slow-call threshold", slow.threshold)?;
            if let Some(timeout) = s.timeout
                && slow.threshold >= timeout
            {
                return Err(ConfigError::SlowCallNotBelowTimeout {
                    threshold: slow.threshold,
                    timeout,
                });
            }
        }
        match s.window {
            WindowKind::Count { size } => {
                range("window size", size, 1, MAX_COUNT_WINDOW)?;
                if s.minimum_calls > size {
                    return Err(ConfigError::MinimumCallsAboveWindow {
                        minimum_calls: s.minimum_calls,
                        window_size: size,
                    });
                }
            }
            WindowKind::Time { length, buckets } => {
                positive("rolling window", length)?;
                range("rolling window buckets", buckets, 1, MAX_BUCKETS)?;
                if length / buckets < Duration::from_millis(1) {
                    return Err(ConfigError::BucketTooShort {
                        window: length,
                        buckets,
                    });
                }
            }
        }
        positive("reset timeout", s.reset_timeout)?;
        range("half-open calls", s.half_open_calls, 1, MAX_HALF_OPEN_CALLS)?;
        if let Some(wait) = s.max_half_open_wait {
            positive("maximum half-open wait", wait)?;
        }
        if let Some(timeout) = s.timeout {
            positive("timeout", timeout)?;
        }
        if let Some(warm_up) = s.warm_up {
            positive("warm-up", warm_up)?;
        }
        if let Some(capacity) = s.capacity {
            range("capacity", capacity, 1, u32::MAX)?;
        }
        if matches!(s.cancelled, Outcome::Success | Outcome::Ignored) {
            return Err(ConfigError::InvalidValue {
                setting: "cancelled calls",
                value: s.cancelled.as_str().to_owned(),
                reason: "a dropped call counts as `cancelled`, `failure` or `timeout`",
            });
        }
        Ok(())
    }
}

pub(crate) fn validate_name(name: &str) -> Result<(), ConfigError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.chars().count() > MAX_NAME_LEN {
        "it is longer than 128 characters"
    } else if name.chars().any(char::is_control) {
        "it holds control characters"
    } else {
        return Ok(());
    };
    Err(ConfigError::Name {
        value: name.chars().take(MAX_NAME_LEN).collect(),
        reason,
    })
}

fn check_percent(
    setting: &'static str,
    value: u8,
    comparison: Comparison,
) -> Result<(), ConfigError> {
    if value > 100 {
        return Err(ConfigError::Percent { setting, value });
    }
    let unreachable = match comparison {
        Comparison::Above => value == 100,
        Comparison::AtOrAbove => value == 0,
    };
    if unreachable {
        return Err(ConfigError::UnreachableThreshold {
            setting,
            value,
            comparison,
        });
    }
    Ok(())
}

fn positive(setting: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::ZeroDuration { setting, value });
    }
    Ok(())
}

fn range(setting: &'static str, value: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if !(min..=max).contains(&value) {
        return Err(ConfigError::OutOfRange {
            setting,
            value: u64::from(value),
            min: u64::from(min),
            max: u64::from(max),
        });
    }
    Ok(())
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use self::file::{BreakerConfig, SlowCallsConfig, WindowConfig};

#[cfg(feature = "serde")]
mod file;

#[cfg(test)]
mod tests;
