//! `ConfigError`: every breaker configuration this crate refuses, quoting the value.

use std::time::Duration;

use crate::config::Comparison;

/// A configuration refused when a breaker or registry is built: never a panic,
/// never a breaker that silently cannot open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A breaker name that is empty, too long or holds control characters.
    #[error("breaker name `{}` is invalid: {reason}", .value.escape_debug())]
    Name {
        /// The name as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A percentage over 100.
    #[error("{setting} of {value}% is out of range: use 0 to 100")]
    Percent {
        /// Which setting (`error threshold`, `slow-call rate threshold`).
        setting: &'static str,
        /// The percentage given.
        value: u8,
    },
    /// A rate threshold that the comparison can never cross (100 % with `>`),
    /// or always crosses (0 % with `>=`).
    #[error(
        "{setting} of {value}% with comparison `{}` {}",
        .comparison.symbol(),
        if *.value == 0 { "would open on every window, even without failures" } else { "can never be exceeded, so the breaker could never open" }
    )]
    UnreachableThreshold {
        /// Which setting.
        setting: &'static str,
        /// The percentage given.
        value: u8,
        /// The comparison in force.
        comparison: Comparison,
    },
    /// A duration that must be positive but is zero.
    #[error("{setting} of {value:?} is invalid: it must be longer than zero")]
    ZeroDuration {
        /// Which setting (`reset timeout`, `timeout`, …).
        setting: &'static str,
        /// The duration given.
        value: Duration,
    },
    /// A count outside its allowed range.
    #[error("{setting} of {value} is out of range: use {min} to {max}")]
    OutOfRange {
        /// Which setting (`half-open calls`, `window size`, …).
        setting: &'static str,
        /// The value given.
        value: u64,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A time window whose buckets would be shorter than a millisecond.
    #[error(
        "rolling window of {window:?} in {buckets} buckets gives buckets shorter than 1 ms: \
         use fewer buckets or a longer window"
    )]
    BucketTooShort {
        /// The window length.
        window: Duration,
        /// The number of buckets.
        buckets: u32,
    },
    /// A minimum number of calls that a count window can never hold.
    #[error(
        "minimum calls of {minimum_calls} is more than the count window holds ({window_size} \
         calls): the breaker could never open"
    )]
    MinimumCallsAboveWindow {
        /// The minimum number of calls.
        minimum_calls: u32,
        /// The count window's size.
        window_size: u32,
    },
    /// A slow-call threshold that every timed-out call crosses anyway.
    #[error(
        "slow-call threshold of {threshold:?} is not shorter than the timeout of {timeout:?}: \
         no call can be slow without timing out first"
    )]
    SlowCallNotBelowTimeout {
        /// The slow-call duration threshold.
        threshold: Duration,
        /// The per-call timeout.
        timeout: Duration,
    },
    /// A registry idle timeout shorter than the breakers' reset timeout.
    #[error(
        "registry idle timeout of {idle:?} is shorter than the reset timeout of {reset:?}: \
         an open breaker would be evicted, and its failing upstream forgotten, before it may \
         try a call again"
    )]
    IdleBelowReset {
        /// The idle timeout.
        idle: Duration,
        /// The breakers' reset timeout.
        reset: Duration,
    },
    /// A value in a configuration file that is not one of the accepted words.
    #[error("{setting} `{}` is invalid: {reason}", .value.escape_debug())]
    InvalidValue {
        /// Which setting.
        setting: &'static str,
        /// The value as written.
        value: String,
        /// What is accepted.
        reason: &'static str,
    },
    /// A configuration harden-core refused (durations like `"30s"`).
    #[error(transparent)]
    Core(#[from] harden_core::ConfigError),
}
