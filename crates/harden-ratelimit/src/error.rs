//! `ConfigError`: a rate-limit configuration refused at startup.

/// A configuration refused when a limiter, a store or a load shedder is built,
/// quoting the value it refused. Never a panic, never a silently different
/// policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A quota of zero requests, or over a zero period.
    #[error(
        "policy `{policy}`: a quota of {count} per {period_ms} ms admits nothing; use at least 1 request over a non-zero period"
    )]
    EmptyQuota {
        /// The policy's name.
        policy: String,
        /// The request count given.
        count: u32,
        /// The period given, in milliseconds.
        period_ms: u128,
    },
    /// A burst of zero, or a cost above the burst (such a request could never pass).
    #[error(
        "policy `{policy}`: burst {burst} with cost {cost} per request can never admit a request; the burst must be at least the cost and at least 1"
    )]
    BurstBelowCost {
        /// The policy's name.
        policy: String,
        /// The burst given.
        burst: u32,
        /// The cost per request given.
        cost: u32,
    },
    /// A quota whose emission interval is too fine or too coarse to represent
    /// (more than one request per nanosecond, or one in more than ten years).
    #[error(
        "policy `{policy}`: {count} per {period_ms} ms is outside the representable range (at most one request per nanosecond, at least one per ten years)"
    )]
    QuotaOutOfRange {
        /// The policy's name.
        policy: String,
        /// The request count given.
        count: u32,
        /// The period given, in milliseconds.
        period_ms: u128,
    },
    /// A policy name that cannot appear in the `RateLimit` header fields
    /// (a structured-field token: a letter or `*`, then letters, digits and
    /// `_-.:%*/`, at most 64 characters), or a duplicate.
    #[error("policy name `{}` is invalid: {reason}", .name.escape_debug())]
    PolicyName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A limiter with no policy.
    #[error("a rate limiter needs at least one policy")]
    NoPolicy,
    /// A header name that is not a valid HTTP field name.
    #[error("`{}` is not a valid HTTP header name", .0.escape_debug())]
    HeaderName(String),
    /// An allow-list entry that is not an address or CIDR block.
    #[error("allow-list entry `{}` is not an IP address or CIDR block: {reason}", .value.escape_debug())]
    AllowList {
        /// The entry as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key cap of zero.
    #[error(
        "max_keys {0} is too small: the store needs room for at least one key per shard (use 64 or more)"
    )]
    MaxKeys(usize),
    /// Load shedding limits that contradict each other.
    #[error(
        "load shedding: soft limit {soft} must be at least 1 and at most the hard limit {hard}"
    )]
    ShedLimits {
        /// The soft limit given.
        soft: usize,
        /// The hard limit given.
        hard: usize,
    },
    /// A Redis URL the client refused (the URL itself is not repeated: it may
    /// hold a password).
    #[error("the Redis URL is invalid: {0}")]
    RedisUrl(String),
    /// A Redis key prefix that is empty or holds whitespace or control characters.
    #[error("Redis key prefix `{}` is invalid: use 1 to 64 visible ASCII characters", .0.escape_debug())]
    RedisPrefix(String),
    /// A timeout of zero.
    #[error("{what} of 0 ms would fail every call; use at least 1 ms")]
    ZeroTimeout {
        /// Which timeout.
        what: &'static str,
    },
}
