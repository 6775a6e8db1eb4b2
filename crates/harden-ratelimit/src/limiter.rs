//! `RateLimiter`: named policies, one store, one decision per request.

use std::fmt;
#[cfg(feature = "redis")]
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use harden_core::ip::IpNet;
use http::HeaderValue;

use crate::key::{Key, RequestRef};
use crate::memory::{Local, MemoryStore};
use crate::quota::{Decision, Gcra, Quota};
use crate::{Clock, ConfigError, headers};

/// What happens to a policy's requests when its shared store (Redis) fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailMode {
    /// Keep limiting with this instance's in-memory limiter (same quota, per
    /// instance) until the store is back. The default: an outage neither opens
    /// the flood gates nor takes the service down.
    #[default]
    Open,
    /// Refuse the request with 503 and `Retry-After`: for login, OTP and
    /// password-reset routes, where an unlimited window is an attack.
    Closed,
}

/// A named quota over a key.
///
/// ```
/// use harden_ratelimit::{Key, Policy, Quota};
///
/// let burst = Policy::new("ip-burst", Quota::per_second(10).burst(20)).key(Key::client_ip());
/// let hourly = Policy::new("user-hourly", Quota::per_hour(1000)).key(Key::principal());
/// let login = Policy::new("login", Quota::per_minute(5)).key(Key::client_ip()).fail_closed();
/// # let _ = (burst, hourly, login);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Policy {
    name: String,
    quota: Quota,
    key: Key,
    cost: u32,
    fail: FailMode,
}

impl Policy {
    /// A policy called `name` (shown in the `RateLimit` headers) admitting
    /// `quota` per client IP unless [`key`](Self::key) says otherwise.
    pub fn new(name: impl Into<String>, quota: Quota) -> Self {
        Policy {
            name: name.into(),
            quota,
            key: Key::client_ip(),
            cost: 1,
            fail: FailMode::Open,
        }
    }

    /// What requests are counted by (default [`Key::client_ip`]).
    pub fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// Units of quota each request spends (default 1), for expensive routes.
    pub fn cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }

    /// Refuse requests with 503 while the shared store is unreachable, instead
    /// of falling back to per-instance limits ([`FailMode::Closed`]).
    pub fn fail_closed(mut self) -> Self {
        self.fail = FailMode::Closed;
        self
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

pub(crate) struct PolicyState {
    pub(crate) name: Arc<str>,
    pub(crate) quota: Quota,
    pub(crate) gcra: Gcra,
    /// governor's limiter for this policy over the in-memory store.
    pub(crate) local: Local,
    pub(crate) key: Key,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fail: FailMode,
}

/// Builds a [`RateLimiter`].
#[must_use]
pub struct RateLimiterBuilder {
    policies: Vec<Policy>,
    allow: Vec<String>,
    dry_run: bool,
    legacy: bool,
    admitted_headers: bool,
    max_keys: usize,
    clock: Option<Arc<dyn Clock>>,
    #[cfg(feature = "redis")]
    redis: Option<crate::redis::RedisStore>,
}

impl RateLimiterBuilder {
    /// Adds a policy. Every applicable policy is checked on each request; the
    /// request is refused if any refuses it.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policies.push(policy);
        self
    }

    /// Client addresses or CIDR blocks that are never limited (health
    /// checkers, internal callers). Matched against the resolved client
    /// address.
    pub fn allow_list<I, S>(mut self, blocks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.allow
            .extend(blocks.into_iter().map(|b| b.as_ref().to_owned()));
        self
    }

    /// Count and send headers, but never refuse: to size quotas on real
    /// traffic before enforcing them. Would-be refusals are counted in
    /// [`Stats::dry_run_limited`].
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Also send the legacy `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
    /// `X-RateLimit-Reset` (seconds) fields of the tightest policy.
    pub fn legacy_headers(mut self) -> Self {
        self.legacy = true;
        self
    }

    /// Send the rate-limit fields only on refusals, not on admitted responses
    /// (they are sent on both by default).
    pub fn no_headers_on_admitted(mut self) -> Self {
        self.admitted_headers = false;
        self
    }

    /// The cap on keys the in-memory store tracks (default
    /// [`DEFAULT_MAX_KEYS`](crate::DEFAULT_MAX_KEYS)); also the fallback
    /// store's cap with Redis.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Reads time from `clock` instead of the default monotonic clock, so tests are
    /// exact. With Redis, the clock replaces Redis's `TIME` too: never do that
    /// with several replicas in production.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Shares the quotas of every replica through `store`.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(mut self, store: crate::redis::RedisStore) -> Self {
        self.redis = Some(store);
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] quoting the first bad policy, name, allow-list entry or cap.
    pub fn build(self) -> Result<RateLimiter, ConfigError> {
        if self.policies.is_empty() {
            return Err(ConfigError::NoPolicy);
        }
        let mut checked: Vec<(Policy, Gcra)> = Vec::with_capacity(self.policies.len());
        for p in self.policies {
            check_name(&p.name)?;
            if checked.iter().any(|(q, _)| q.name == p.name) {
                return Err(ConfigError::PolicyName {
                    name: p.name,
                    reason: "two policies share it",
                });
            }
            let gcra = p.quota.gcra(&p.name, p.cost)?;
            checked.push((p, gcra));
        }
        let allow = self
            .allow
            .iter()
            .map(|b| {
                b.parse::<IpNet>().map_err(|e| ConfigError::AllowList {
                    value: b.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut memory = MemoryStore::with_max_keys(self.max_keys)?;
        if let Some(clock) = &self.clock {
            memory = memory.clock(SharedClock(clock.clone()));
        }
        let policies: Vec<PolicyState> = checked
            .into_iter()
            .map(|(p, gcra)| PolicyState {
                name: Arc::from(p.name),
                quota: p.quota,
                local: memory.limiter(&gcra),
                gcra,
                key: p.key,
                fail: p.fail,
            })
            .collect();
        let policy_header = headers::policy_field(&policies);
        Ok(RateLimiter {
            shared: Arc::new(Shared {
                policies: policies.into_boxed_slice(),
                memory,
                #[cfg(feature = "redis")]
                redis: self.redis,
                manual_clock: self.clock.is_some(),
                allow: allow.into_boxed_slice(),
                dry_run: self.dry_run,
                legacy: self.legacy,
                admitted_headers: self.admitted_headers,
                policy_header,
                counters: Counters::default(),
            }),
        })
    }
}

struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> Duration {
        self.0.now()
    }
}

/// A name must be a structured-field token (RFC 8941 §3.3.4) of at most 64
/// characters, to be written as a quoted string without escaping doubts.
fn check_name(name: &str) -> Result<(), ConfigError> {
    let bad = |reason| {
        Err(ConfigError::PolicyName {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return bad("it is empty");
    };
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !(first.is_ascii_alphabetic() || first == '*') {
        return bad("it must start with a letter or `*`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:%*/".contains(c))
    {
        return bad("use only letters, digits and `_-.:%*/`");
    }
    Ok(())
}

/// A set of rate-limit policies over one store, shared by every clone, every
/// service built from it and every connection.
///
/// This is the framework-free core: [`check`](Self::check) decides for one
/// request; [`RateLimitLayer`](crate::RateLimitLayer) does it for a tower stack.
#[derive(Clone)]
pub struct RateLimiter {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) policies: Box<[PolicyState]>,
    pub(crate) memory: MemoryStore,
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<crate::redis::RedisStore>,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) manual_clock: bool,
    allow: Box<[IpNet]>,
    pub(crate) dry_run: bool,
    pub(crate) legacy: bool,
    pub(crate) admitted_headers: bool,
    pub(crate) policy_header: HeaderValue,
    pub(crate) counters: Counters,
}

#[derive(Default)]
pub(crate) struct Counters {
    admitted: AtomicU64,
    limited: AtomicU64,
    dry_run_limited: AtomicU64,
    allow_listed: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) fail_open: AtomicU64,
    pub(crate) fail_closed: AtomicU64,
}

/// Counters of a limiter's decisions since it was built, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests admitted.
    pub admitted: u64,
    /// Requests refused with 429.
    pub limited: u64,
    /// Requests a dry-run limiter would have refused.
    pub dry_run_limited: u64,
    /// Requests from the allow-list, never counted.
    pub allow_listed: u64,
    /// Calls to the shared store that failed or timed out.
    pub store_errors: u64,
    /// Policy checks decided by the local fallback because the store failed.
    pub fail_open: u64,
    /// Requests refused with 503 because a fail-closed policy's store failed.
    pub fail_closed: u64,
    /// Keys tracked by the in-memory store (the fallback store with Redis).
    pub tracked_keys: usize,
    /// Keys the in-memory store dropped before they were idle, because it was full.
    pub evicted_keys: u64,
}

/// How one policy judged a request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PolicyStatus {
    pub(crate) policy: usize,
    pub(crate) decision: Decision,
}

const INLINE: usize = 4;

/// The policies' verdicts: inline for up to four policies, so a check does
/// not allocate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Statuses {
    inline: [Option<PolicyStatus>; INLINE],
    more: Vec<PolicyStatus>,
}

impl Statuses {
    pub(crate) fn push(&mut self, status: PolicyStatus) {
        match self.inline.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(status),
            None => self.more.push(status),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &PolicyStatus> + '_ {
        self.inline
            .iter()
            .map_while(Option::as_ref)
            .chain(&self.more)
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self.inline, [None, ..])
    }
}

/// The verdict on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Every applicable policy admits it.
    Admitted,
    /// A policy refuses it: answer 429.
    Limited,
    /// A policy would refuse it, but the limiter is in dry-run mode: admit it.
    DryRunLimited,
    /// The client is on the allow-list: admitted without counting.
    AllowListed,
    /// A fail-closed policy could not reach its store: answer 503.
    StoreUnavailable,
}

/// A limiter's decision on one request, with what the response headers need.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub(crate) verdict: Verdict,
    pub(crate) statuses: Statuses,
}

impl Outcome {
    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Whether the request may go on (admitted, allow-listed or dry run).
    pub fn is_admitted(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::Admitted | Verdict::DryRunLimited | Verdict::AllowListed
        )
    }

    /// For a refusal, how long until the refusing policies would all admit it
    /// (the largest of their waits).
    pub fn retry_after(&self) -> Duration {
        self.statuses
            .iter()
            .map(|s| s.decision.retry_after)
            .max()
            .unwrap_or_default()
    }

    /// The decision of each policy that applied, in the order they were added.
    pub fn decisions(&self) -> impl Iterator<Item = Decision> + '_ {
        self.statuses.iter().map(|s| s.decision)
    }
}

/// The first half of a check: decided at once, or waiting on the shared store.
// Boxing the in-memory outcome would put an allocation on the hot path to
// save a move on the Redis path, which already waits on the network.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Begun {
    Done(Outcome),
    #[cfg(feature = "redis")]
    Pending(std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>>),
}

impl RateLimiter {
    /// Starts building a limiter.
    pub fn builder() -> RateLimiterBuilder {
        RateLimiterBuilder {
            policies: Vec::new(),
            allow: Vec::new(),
            dry_run: false,
            legacy: false,
            admitted_headers: true,
            max_keys: crate::DEFAULT_MAX_KEYS,
            clock: None,
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    /// A limiter with one policy.
    ///
    /// # Errors
    ///
    /// As [`RateLimiterBuilder::build`].
    pub fn new(policy: Policy) -> Result<Self, ConfigError> {
        Self::builder().policy(policy).build()
    }

    /// A layer applying this limiter.
    pub fn layer(&self) -> crate::RateLimitLayer {
        crate::RateLimitLayer::new(self.clone())
    }

    /// Decides on a request, spending quota if it is admitted.
    pub async fn check(&self, req: RequestRef<'_>) -> Outcome {
        match self.begin(&req) {
            Begun::Done(outcome) => outcome,
            #[cfg(feature = "redis")]
            Begun::Pending(future) => future.await,
        }
    }

    /// The decision's counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            admitted: get(&c.admitted),
            limited: get(&c.limited),
            dry_run_limited: get(&c.dry_run_limited),
            allow_listed: get(&c.allow_listed),
            store_errors: get(&c.store_errors),
            fail_open: get(&c.fail_open),
            fail_closed: get(&c.fail_closed),
            tracked_keys: self.shared.memory.len(),
            evicted_keys: self.shared.memory.evicted(),
        }
    }

    /// The in-memory store (the fallback store with Redis), e.g. to spawn a
    /// task calling [`MemoryStore::retain_recent`].
    pub fn memory_store(&self) -> &MemoryStore {
        &self.shared.memory
    }

    pub(crate) fn begin(&self, req: &RequestRef<'_>) -> Begun {
        let shared = &self.shared;
        if !shared.allow.is_empty()
            && let Some(ip) = req.client_ip()
            && shared.allow.iter().any(|net| net.contains(ip.addr()))
        {
            shared.counters.allow_listed.fetch_add(1, Ordering::Relaxed);
            return Begun::Done(Outcome {
                verdict: Verdict::AllowListed,
                statuses: Statuses::default(),
            });
        }
        #[cfg(feature = "redis")]
        if let Some(store) = &shared.redis {
            return Begun::Pending(crate::redis::check(self.clone(), store.clone(), req));
        }
        let now = shared.memory.now();
        let mut statuses = Statuses::default();
        for (i, p) in shared.policies.iter().enumerate() {
            let mut h = shared.memory.hasher();
            std::hash::Hasher::write_usize(&mut h, i);
            if p.key.write(req, &mut h) {
                let key = std::hash::Hasher::finish(&h);
                statuses.push(PolicyStatus {
                    policy: i,
                    decision: shared.memory.check(&p.local, &p.gcra, key, now),
                });
            }
        }
        Begun::Done(self.finish(statuses, false))
    }

    pub(crate) fn finish(&self, statuses: Statuses, store_down_closed: bool) -> Outcome {
        let c = &self.shared.counters;
        let verdict = if store_down_closed {
            c.fail_closed.fetch_add(1, Ordering::Relaxed);
            Verdict::StoreUnavailable
        } else if statuses.iter().all(|s| s.decision.allowed) {
            c.admitted.fetch_add(1, Ordering::Relaxed);
            Verdict::Admitted
        } else if self.shared.dry_run {
            c.dry_run_limited.fetch_add(1, Ordering::Relaxed);
            Verdict::DryRunLimited
        } else {
            c.limited.fetch_add(1, Ordering::Relaxed);
            Verdict::Limited
        };
        Outcome { verdict, statuses }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.shared.policies.iter().map(|p| &*p.name).collect();
        f.debug_struct("RateLimiter")
            .field("policies", &names)
            .field("dry_run", &self.shared.dry_run)
            .field("store", &self.shared.memory)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RateLimiterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiterBuilder")
            .field("policies", &self.policies)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}
