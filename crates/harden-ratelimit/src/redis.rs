//! `RedisStore`: one quota shared by every replica.
//!
//! The GCRA step runs as one Lua script, so concurrent replicas cannot race,
//! on Redis's own clock (`TIME`), so replicas with skewed clocks agree. The
//! script is loaded once and called by its SHA (`EVALSHA`), and loaded again
//! when Redis answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`). Keys are
//! `<prefix>:<policy-and-key hash>`: SHA-256 of the policy name and the key
//! material, so no address, subject or API key is written to Redis.
//!
//! # Failures
//!
//! Every call has a timeout (50 ms by default). When a call fails, the store
//! is considered down for a second (configurable): requests meanwhile do not
//! wait on Redis at all. Each policy then follows its [`FailMode`](crate::FailMode):
//! by default the instance's in-memory limiter decides with the same quota,
//! per instance ([`Stats::fail_open`](crate::Stats::fail_open) counts these
//! decisions); a fail-closed policy answers 503. When Redis answers again,
//! the shared quota is used again.
//!
//! # Caveats
//!
//! - The connection is made lazily, on the first request, inside the Tokio
//!   runtime that serves it.
//! - While Redis is down, each replica enforces the full quota by itself, so
//!   the service as a whole admits up to replicas × quota.
//! - Hashed IPv4 addresses can be recovered by trying all 2³² of them: the
//!   hashing keeps addresses out of casual view (dumps, `MONITOR`), it does not
//!   make them secret from whoever can read the keys.

use std::fmt::{self, Write as _};
use std::future::Future;
use std::hash::Hasher;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use crate::ConfigError;
use crate::key::RequestRef;
use crate::limiter::{FailMode, Outcome, PolicyStatus, RateLimiter, Statuses};
use crate::quota::{Decision, Gcra};

/// The GCRA step. KEYS[1]: the key. ARGV: emission interval (µs), burst,
/// cost, and the time in µs, or an empty string for Redis's `TIME`.
/// Returns {allowed, remaining, retry after µs, reset after µs}.
const SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[4])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + cost * interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, 0, allow_at - now, tat - now}
end
local ttl = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl)
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
";

/// Builds a [`RedisStore`].
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    command_timeout: Duration,
    connect_timeout: Duration,
    down_for: Duration,
}

impl RedisStoreBuilder {
    /// The namespace of every key (default `harden:rl:v1`). Give each
    /// service its own when several share one Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one check may take before the store counts as failed
    /// (default 50 ms).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long connecting may take (default 100 ms).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long after a failure requests skip Redis and use their fail mode
    /// at once (default 1 s).
    pub fn down_for(mut self, wait: Duration) -> Self {
        self.down_for = wait;
        self
    }

    /// Validates the configuration; connects lazily, on first use.
    ///
    /// # Errors
    ///
    /// [`ConfigError::RedisUrl`] for a URL the client refuses (the URL is not
    /// repeated: it may hold a password), [`ConfigError::RedisPrefix`],
    /// [`ConfigError::ZeroTimeout`].
    pub fn build(self) -> Result<RedisStore, ConfigError> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| ConfigError::RedisUrl(format!("{:?}", e.kind())))?;
        if self.prefix.is_empty()
            || self.prefix.len() > 64
            || !self.prefix.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ConfigError::RedisPrefix(self.prefix));
        }
        if self.command_timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout {
                what: "the Redis command timeout",
            });
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout {
                what: "the Redis connect timeout",
            });
        }
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                conn: Mutex::new(None),
                script: redis::Script::new(SCRIPT),
                prefix: self.prefix,
                command_timeout: self.command_timeout,
                connect_timeout: self.connect_timeout,
                down_for: self.down_for,
                origin: Instant::now(),
                down_until: AtomicU64::new(0),
            }),
        })
    }
}

/// Rate-limit state in Redis, shared by every replica that uses the same
/// Redis and prefix. Cheap to clone.
///
/// ```no_run
/// use harden_ratelimit::{Policy, Quota, RateLimiter, RedisStore};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379").prefix("orders:rl").build()?;
/// let limiter = RateLimiter::builder()
///     .policy(Policy::new("per-ip", Quota::per_second(5).burst(10)))
///     .policy(Policy::new("login", Quota::per_minute(5)).fail_closed())
///     .redis(store)
///     .build()?;
/// # let _ = limiter;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    script: redis::Script,
    prefix: String,
    command_timeout: Duration,
    connect_timeout: Duration,
    down_for: Duration,
    origin: Instant,
    down_until: AtomicU64,
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`, `rediss://…` for TLS when
    /// the redis crate is built with TLS).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: String::from("harden:rl:v1"),
            command_timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_millis(100),
            down_for: Duration::from_secs(1),
        }
    }

    /// The key namespace.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    fn elapsed(&self) -> u64 {
        u64::try_from(self.inner.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn is_down(&self) -> bool {
        self.elapsed() < self.inner.down_until.load(Ordering::Acquire)
    }

    fn mark_down(&self) {
        let until = self
            .elapsed()
            .saturating_add(u64::try_from(self.inner.down_for.as_nanos()).unwrap_or(u64::MAX));
        self.inner.down_until.store(until, Ordering::Release);
    }

    fn connection(&self) -> Option<ConnectionManager> {
        let mut slot = self
            .inner
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let config = ConnectionManagerConfig::new()
                .set_response_timeout(Some(self.inner.command_timeout))
                .set_connection_timeout(Some(self.inner.connect_timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(100));
            match ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config) {
                Ok(conn) => *slot = Some(conn),
                Err(e) => {
                    tracing::warn!(error.kind = ?e.kind(), "harden-ratelimit: cannot set up the Redis connection");
                    return None;
                }
            }
        }
        slot.clone()
    }

    /// One GCRA step in Redis; `None` when Redis failed or timed out.
    async fn step(&self, key: &str, gcra: &Gcra, now_us: Option<u64>) -> Option<Decision> {
        let mut conn = self.connection()?;
        let interval_us = (gcra.interval / 1000).max(1);
        let now = now_us.map(|n| n.to_string()).unwrap_or_default();
        let mut invocation = self.inner.script.key(key);
        invocation
            .arg(interval_us)
            .arg(gcra.burst)
            .arg(gcra.cost)
            .arg(now);
        let call = invocation.invoke_async::<Vec<i64>>(&mut conn);
        let reply = match tokio::time::timeout(self.inner.command_timeout, call).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                tracing::warn!(error.kind = ?e.kind(), "harden-ratelimit: Redis check failed");
                return None;
            }
            Err(_) => {
                tracing::warn!("harden-ratelimit: Redis check timed out");
                return None;
            }
        };
        let [allowed, remaining, retry_us, reset_us] = reply.as_slice() else {
            tracing::warn!("harden-ratelimit: unexpected reply from the Redis script");
            return None;
        };
        let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
        Some(Decision {
            allowed: *allowed == 1,
            remaining: u32::try_from(*remaining).unwrap_or(0),
            retry_after: us(*retry_us),
            reset_after: us(*reset_us),
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client's connection info may hold a password: not shown.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("command_timeout", &self.inner.command_timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Feeds key material into SHA-256, with fixed-width integers so every
/// replica computes the same key whatever its platform.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn write_usize(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }
}

/// The Redis half of [`RateLimiter::check`]: keys hashed now, the calls later.
pub(crate) fn check(
    limiter: RateLimiter,
    store: RedisStore,
    req: &RequestRef<'_>,
) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
    let mut keys: Vec<(usize, String, u64)> = Vec::with_capacity(limiter.shared.policies.len());
    for (i, p) in limiter.shared.policies.iter().enumerate() {
        let mut h = ShaHasher(Sha256::new());
        h.write(p.name.as_bytes());
        h.write_u8(0);
        if p.key.write(req, &mut h) {
            let digest = h.0.finalize();
            let mut key = String::with_capacity(store.inner.prefix.len() + 33);
            key.push_str(&store.inner.prefix);
            key.push(':');
            for b in digest.iter().take(16) {
                let _ = write!(key, "{b:02x}");
            }
            let fallback = digest
                .iter()
                .take(8)
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            keys.push((i, key, fallback));
        }
    }
    Box::pin(async move {
        let shared = &limiter.shared;
        let now_us = shared
            .manual_clock
            .then(|| shared.memory.clock_now() / 1000);
        let mut statuses = Statuses::default();
        for (i, key, fallback) in keys {
            let Some(p) = shared.policies.get(i) else {
                continue;
            };
            let decided = if store.is_down() {
                None
            } else {
                let d = store.step(&key, &p.gcra, now_us).await;
                if d.is_none() {
                    shared.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                    store.mark_down();
                }
                d
            };
            let decision = match decided {
                Some(d) => d,
                None if p.fail == FailMode::Closed => {
                    return limiter.finish(statuses, true);
                }
                None => {
                    shared.counters.fail_open.fetch_add(1, Ordering::Relaxed);
                    shared
                        .memory
                        .check(&p.local, &p.gcra, fallback, shared.memory.now())
                }
            };
            statuses.push(PolicyStatus {
                policy: i,
                decision,
            });
        }
        limiter.finish(statuses, false)
    })
}
