//! Behind the `serde` feature: [`BreakerConfig`], a breaker's settings from a
//! configuration file.

use std::time::Duration;

use harden_core::config::{deserialize_duration, deserialize_opt_duration, parse_duration};
use serde::Deserialize;

use super::{
    BreakerBuilder, Comparison, DEFAULT_BUCKETS, DEFAULT_ERROR_THRESHOLD_PERCENT,
    DEFAULT_MINIMUM_CALLS, DEFAULT_RESET_TIMEOUT, DEFAULT_WINDOW,
};
use crate::ConfigError;
use crate::breaker::Breaker;
use crate::machine::Outcome;

/// A breaker's settings from a configuration file; converts into a
/// [`BreakerBuilder`] (to add a listener or clock) or a [`Breaker`].
/// Omitted keys take the builder's defaults; unknown keys are refused.
///
/// ```toml
/// name = "orders-db"
/// error_threshold_percent = 50
/// comparison = "above"            # or "at_or_above"
/// minimum_calls = 20
/// window = { type = "time", length = "10s", buckets = 10 }   # or { type = "count", size = 100 }
/// reset_timeout = "30s"
/// half_open_calls = 1
/// max_half_open_wait = "1m"
/// timeout = "3s"                  # or "off"
/// slow_calls = { threshold = "2s", rate_percent = 80 }
/// warm_up = "10s"
/// capacity = 100
/// cancelled_calls = "cancelled"   # or "failure", "timeout"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// The breaker's name.
    pub name: String,
    /// The failure rate that opens the breaker, in percent.
    pub error_threshold_percent: u8,
    /// `"above"` (`>`) or `"at_or_above"` (`>=`).
    pub comparison: Comparison,
    /// Calls the window must hold before the breaker may open.
    pub minimum_calls: u32,
    /// The rolling window.
    pub window: WindowConfig,
    /// How long the breaker stays open.
    #[serde(deserialize_with = "deserialize_duration")]
    pub reset_timeout: Duration,
    /// Trial calls in half-open.
    pub half_open_calls: u32,
    /// Re-open a half-open breaker whose trials have not ended after this.
    #[serde(deserialize_with = "deserialize_opt_duration")]
    pub max_half_open_wait: Option<Duration>,
    /// The per-call timeout (`"3s"`), or `"off"`.
    pub timeout: String,
    /// The slow-call rule.
    pub slow_calls: Option<SlowCallsConfig>,
    /// No opening during this period after start.
    #[serde(deserialize_with = "deserialize_opt_duration")]
    pub warm_up: Option<Duration>,
    /// The bulkhead's capacity.
    pub capacity: Option<u32>,
    /// What a dropped call counts as: `"cancelled"`, `"failure"` or `"timeout"`.
    pub cancelled_calls: Outcome,
}

/// The rolling window in a [`BreakerConfig`].
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum WindowConfig {
    /// The calls of the last `length`, in `buckets` buckets.
    Time {
        /// The window's length (`"10s"`).
        #[serde(deserialize_with = "deserialize_duration")]
        length: Duration,
        /// How many buckets it is forgotten in.
        buckets: u32,
    },
    /// The last `size` calls.
    Count {
        /// How many calls.
        size: u32,
    },
}

/// The slow-call rule in a [`BreakerConfig`].
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SlowCallsConfig {
    /// A call taking at least this long is slow (`"2s"`).
    #[serde(deserialize_with = "deserialize_duration")]
    pub threshold: Duration,
    /// The slow-call rate that opens the breaker, in percent.
    pub rate_percent: u8,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            name: "breaker".to_owned(),
            error_threshold_percent: DEFAULT_ERROR_THRESHOLD_PERCENT,
            comparison: Comparison::Above,
            minimum_calls: DEFAULT_MINIMUM_CALLS,
            window: WindowConfig::Time {
                length: DEFAULT_WINDOW,
                buckets: DEFAULT_BUCKETS,
            },
            reset_timeout: DEFAULT_RESET_TIMEOUT,
            half_open_calls: 1,
            max_half_open_wait: None,
            timeout: "10s".to_owned(),
            slow_calls: None,
            warm_up: None,
            capacity: None,
            cancelled_calls: Outcome::Cancelled,
        }
    }
}

impl TryFrom<BreakerConfig> for BreakerBuilder {
    type Error = ConfigError;

    fn try_from(c: BreakerConfig) -> Result<Self, ConfigError> {
        let mut b = Breaker::builder(c.name)
            .error_threshold_percent(c.error_threshold_percent)
            .comparison(c.comparison)
            .minimum_calls(c.minimum_calls)
            .reset_timeout(c.reset_timeout)
            .half_open_calls(c.half_open_calls)
            .cancelled_calls(c.cancelled_calls);
        b = match c.window {
            WindowConfig::Time { length, buckets } => b.rolling_window(length, buckets),
            WindowConfig::Count { size } => b.count_window(size),
        };
        b = match c.timeout.trim() {
            "off" => b.no_timeout(),
            other => b.timeout(parse_duration(other)?),
        };
        if let Some(wait) = c.max_half_open_wait {
            b = b.max_half_open_wait(wait);
        }
        if let Some(slow) = c.slow_calls {
            b = b.slow_calls(slow.threshold, slow.rate_percent);
        }
        if let Some(period) = c.warm_up {
            b = b.warm_up(period);
        }
        if let Some(capacity) = c.capacity {
            b = b.capacity(capacity);
        }
        b.validate()?;
        Ok(b)
    }
}

impl TryFrom<BreakerConfig> for Breaker {
    type Error = ConfigError;

    fn try_from(c: BreakerConfig) -> Result<Self, ConfigError> {
        BreakerBuilder::try_from(c)?.build()
    }
}
