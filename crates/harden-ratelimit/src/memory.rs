//! `MemoryStore`: per-instance GCRA state in a sharded map with a key cap,
//! the state store under governor's GCRA.
//!
//! Decisions are governor's: each policy is a `governor::RateLimiter` whose
//! `StateStore` is this map, so the arithmetic is governor's and the state is
//! ours. governor's own keyed stores are unbounded maps (an attacker who
//! rotates keys grows them until someone calls `retain_recent`); this one is
//! capped. Each key here is one `u64` hash and one `u64` theoretical arrival
//! time (TAT, governor's `Nanos`), in one of 64 mutex-guarded shards.
//!
//! A key whose TAT has passed is indistinguishable from a key never seen, so
//! dropping it loses nothing: that is the idle eviction. When a shard reaches
//! its share of the cap, it first drops its idle keys; if fewer than an eighth
//! of its slots come free that way, it also drops the keys closest to idle
//! (the lowest TAT), which are the ones that lose the least by being
//! forgotten. A key being hammered has the highest TAT and is the last to go.
//! This work is amortised on the request path (at most once per eighth of a
//! shard's inserts); [`MemoryStore::retain_recent`] does the idle sweep on
//! demand, for a task the caller may spawn. No task is spawned by the crate.
//!
//! Time: governor's quanta clock (a calibrated TSC read) unless a [`Clock`]
//! is given. governor stores TATs relative to the instant each limiter was
//! built; the store keeps the latest of those instants as its origin, so it
//! may keep an idle key a few nanoseconds longer than needed, never drop a
//! live one early (with a [`ManualClock`](crate::ManualClock) the instants
//! are all equal and the bookkeeping is exact).

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock as _, QuantaClock, QuantaInstant, Reference as _};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;

use crate::ConfigError;
use crate::clock::{self, Clock};
use crate::quota::{Decision, Gcra};

/// The default cap on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Bytes of heap per key of capacity, at most: 16 bytes of entry and one
/// control byte per hash-table slot, fewer than two slots per key (the table
/// has a power-of-two size with a 7/8 load), plus the eviction scratch space.
pub const MAX_BYTES_PER_KEY: usize = 40;

const MAX_SHARDS: usize = 64;

/// Per-instance rate-limit state with a cap on tracked keys.
///
/// Cheap to clone: clones share the state. One store can serve several
/// policies (each policy's keys are distinct).
///
/// The tables are allocated once, when the store is built, at the size the
/// cap needs, and never grow: memory is at most `max_keys ×`
/// [`MAX_BYTES_PER_KEY`] bytes (4 MB at the default cap of 100,000 keys, about
/// 2.8 MB in practice), whatever the number of distinct keys seen.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: RandomState,
    clock: GovClock,
    /// The latest instant a policy's limiter was built at: governor's TATs
    /// are relative to it.
    origin: AtomicU64,
    evicted: AtomicU64,
}

/// The time source governor reads: quanta by default, or the caller's clock.
#[derive(Clone)]
pub(crate) enum GovClock {
    Quanta {
        clock: QuantaClock,
        origin: QuantaInstant,
    },
    Custom(Arc<dyn Clock>),
}

impl GovClock {
    fn quanta() -> Self {
        let clock = QuantaClock::default();
        let origin = clock.now();
        GovClock::Quanta { clock, origin }
    }
}

impl governor::clock::Clock for GovClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self {
            GovClock::Quanta { clock, origin } => clock.now().duration_since(*origin),
            GovClock::Custom(clock) => Nanos::from(clock::nanos(&**clock)),
        }
    }
}

/// One policy's governor limiter over the shared store.
pub(crate) type Local =
    governor::RateLimiter<StoreKey, PolicyStore, GovClock, StateInformationMiddleware>;

/// The store as one policy's limiter sees it.
pub(crate) struct PolicyStore(MemoryStore);

/// A key as the store sees it: the key material's hash, and the TAT the
/// decision left (read back for the reset time governor does not expose).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoreKey {
    hash: u64,
    tat: Cell<u64>,
}

impl Hash for StoreKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

type Map = HashMap<u64, u64, BuildHasherDefault<PassThrough>>;

#[derive(Default)]
struct Shard {
    map: Map,
}

/// The keys are already SipHash outputs; hashing them again buys nothing.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl MemoryStore {
    /// A store with the default cap ([`DEFAULT_MAX_KEYS`]) on the default
    /// monotonic clock (governor's quanta clock).
    pub fn new() -> Self {
        Self::build(DEFAULT_MAX_KEYS, GovClock::quanta())
    }

    /// A store tracking at most `max_keys` keys.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MaxKeys`] when `max_keys` is below 64.
    pub fn with_max_keys(max_keys: usize) -> Result<Self, ConfigError> {
        if max_keys < 64 {
            return Err(ConfigError::MaxKeys(max_keys));
        }
        Ok(Self::build(max_keys, GovClock::quanta()))
    }

    /// The same store reading time from `clock` (a [`ManualClock`](crate::ManualClock)
    /// in tests). Keys already tracked are forgotten.
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        Self::build(self.max_keys(), GovClock::Custom(Arc::new(clock)))
    }

    fn build(max_keys: usize, clock: GovClock) -> Self {
        let shards = (max_keys / 1024).clamp(1, MAX_SHARDS).next_power_of_two();
        let shards = if shards > MAX_SHARDS {
            MAX_SHARDS
        } else {
            shards
        };
        let per_shard = (max_keys / shards).max(8);
        MemoryStore {
            inner: Arc::new(Inner {
                shards: (0..shards)
                    .map(|_| {
                        Mutex::new(Shard {
                            map: Map::with_capacity_and_hasher(per_shard, Default::default()),
                        })
                    })
                    .collect(),
                per_shard,
                hasher: RandomState::new(),
                clock,
                origin: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
            }),
        }
    }

    /// The cap on tracked keys.
    pub fn max_keys(&self) -> usize {
        self.inner.per_shard * self.inner.shards.len()
    }

    /// Keys tracked now (idle ones not yet swept included).
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys dropped before they were idle because the store was full.
    pub fn evicted(&self) -> u64 {
        self.inner.evicted.load(Ordering::Relaxed)
    }

    /// Drops every idle key (one whose quota is whole again; forgetting it
    /// changes no decision).
    ///
    /// The request path does this by itself when a shard fills up, so calling
    /// it is optional: a task that calls it every minute keeps
    /// [`len`](Self::len) (and the `tracked_keys` metric) close to the number
    /// of active clients. Memory does not depend on it: the tables are
    /// allocated once, at their capped size.
    pub fn retain_recent(&self) {
        let now = self.now();
        for shard in &self.inner.shards {
            let mut shard = lock(shard);
            shard.map.retain(|_, tat| *tat > now);
        }
    }

    /// A fresh hasher for key material, keyed per store.
    pub(crate) fn hasher(&self) -> impl Hasher {
        self.inner.hasher.build_hasher()
    }

    /// The current time on the store's clock, in nanoseconds since the
    /// governor limiters' origin.
    pub(crate) fn now(&self) -> u64 {
        self.clock_now()
            .saturating_sub(self.inner.origin.load(Ordering::Relaxed))
    }

    /// The store's clock itself, in nanoseconds since its own origin.
    pub(crate) fn clock_now(&self) -> u64 {
        governor::clock::Clock::now(&self.inner.clock).as_u64()
    }

    /// A governor limiter for `gcra` over this store.
    pub(crate) fn limiter(&self, gcra: &Gcra) -> Local {
        // `Gcra` is validated (a non-zero interval and burst): the fallback
        // is never taken.
        let quota = governor::Quota::with_period(Duration::from_nanos(gcra.interval))
            .zip(NonZeroU32::new(gcra.burst))
            .map_or_else(
                || governor::Quota::per_hour(NonZeroU32::MIN),
                |(quota, burst)| quota.allow_burst(burst),
            );
        let local =
            governor::RateLimiter::new(quota, PolicyStore(self.clone()), self.inner.clock.clone());
        // The limiter read its start just now: the origin is at least that.
        self.inner
            .origin
            .fetch_max(self.clock_now(), Ordering::Relaxed);
        local
    }

    /// One decision of `local` (built by [`limiter`](Self::limiter) for
    /// `gcra`) for `key`, at `now` as read by [`now`](Self::now) before.
    pub(crate) fn check(&self, local: &Local, gcra: &Gcra, key: u64, now: u64) -> Decision {
        let key = StoreKey {
            hash: key,
            tat: Cell::new(0),
        };
        let checked = match NonZeroU32::new(gcra.cost) {
            Some(n) if n.get() > 1 => local.check_key_n(&key, n),
            _ => Ok(local.check_key(&key)),
        };
        let window = gcra.interval.saturating_mul(u64::from(gcra.burst));
        match checked {
            Ok(Ok(snapshot)) => Decision {
                allowed: true,
                remaining: snapshot.remaining_burst_capacity(),
                retry_after: Duration::ZERO,
                reset_after: Duration::from_nanos(key.tat.get().saturating_sub(now)),
            },
            Ok(Err(not_until)) => {
                let origin = self.inner.origin.load(Ordering::Relaxed);
                let retry = not_until.wait_time_from(Nanos::from(now.saturating_add(origin)));
                let spare = gcra
                    .interval
                    .saturating_mul(u64::from(gcra.burst.saturating_sub(gcra.cost)));
                Decision {
                    allowed: false,
                    remaining: 0,
                    retry_after: retry,
                    reset_after: retry.saturating_add(Duration::from_nanos(spare)),
                }
            }
            // Unreachable: a policy's cost is validated against its burst.
            Err(_) => Decision {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_nanos(window),
                reset_after: Duration::from_nanos(window),
            },
        }
    }
}

impl StateStore for PolicyStore {
    type Key = StoreKey;

    fn measure_and_replace<T, F, E>(&self, key: &StoreKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let inner = &self.0.inner;
        let index = ((key.hash >> 32) as usize) & (inner.shards.len() - 1);
        let Some(shard) = inner.shards.get(index) else {
            return f(None).map(|(outcome, _)| outcome);
        };
        let mut shard = lock(shard);
        let old = shard.map.get(&key.hash).copied();
        let (outcome, tat) = f(old.map(Nanos::from))?;
        let tat = tat.as_u64();
        key.tat.set(tat);
        if old.is_none() && shard.map.len() >= inner.per_shard {
            let evicted = make_room(&mut shard.map, inner.per_shard, self.0.now());
            if evicted > 0 {
                inner.evicted.fetch_add(evicted, Ordering::Relaxed);
            }
        }
        shard.map.insert(key.hash, tat);
        Ok(outcome)
    }
}

/// Frees at least an eighth of a full shard: idle keys first, then the keys
/// with the lowest TAT. Returns how many live keys were dropped.
fn make_room(map: &mut Map, cap: usize, now: u64) -> u64 {
    map.retain(|_, tat| *tat > now);
    let target = cap - cap / 8 - 1;
    if map.len() <= target {
        return 0;
    }
    let excess = map.len() - target;
    let mut tats: Vec<u64> = map.values().copied().collect();
    let (_, threshold, _) = tats.select_nth_unstable(excess - 1);
    let threshold = *threshold;
    let below = tats.iter().filter(|t| **t < threshold).count();
    let before = map.len();
    let mut ties = excess - below;
    map.retain(|_, tat| {
        if *tat < threshold {
            false
        } else if *tat == threshold && ties > 0 {
            ties -= 1;
            false
        } else {
            true
        }
    });
    (before - map.len()) as u64
}

fn lock(shard: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    // A panic while holding a shard cannot leave a TAT half-written.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_keys", &self.max_keys())
            .field("shards", &self.inner.shards.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{ManualClock, Quota};

    #[test]
    fn full_store_drops_idle_keys_first_then_the_closest_to_idle() {
        let clock = ManualClock::new();
        let store = MemoryStore::with_max_keys(64).unwrap().clock(clock.clone());
        let g = Quota::per_second(1).burst(3).gcra("p", 1).unwrap();
        let local = store.limiter(&g);
        // The hammered key: spent its burst, its TAT is far ahead.
        let hot = 7u64 << 32;
        for _ in 0..3 {
            assert!(store.check(&local, &g, hot, store.now()).allowed());
        }
        for k in 0..10_000u64 {
            store.check(
                &local,
                &g,
                k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                store.now(),
            );
            assert!(store.len() <= store.max_keys());
        }
        assert!(store.evicted() > 0);
        assert!(!store.check(&local, &g, hot, store.now()).allowed());
        clock.advance(Duration::from_secs(10));
        store.retain_recent();
        assert_eq!(store.len(), 0);
    }

    proptest::proptest! {
        /// governor on this store decides exactly as the reference step the
        /// Redis script follows: same verdicts, remaining units and waits.
        #[test]
        fn governor_on_the_store_matches_the_reference_step(
            count in 1u32..1000,
            burst in 1u32..20,
            cost in 1u32..4,
            start in 0u64..1_000_000_000_000,
            steps in proptest::collection::vec(0u64..30_000_000, 1..200),
        ) {
            let cost = cost.min(burst);
            let clock = ManualClock::new();
            clock.set(Duration::from_nanos(start));
            let store = MemoryStore::with_max_keys(64).unwrap().clock(clock.clone());
            let g = Quota::per_second(count).burst(burst).gcra("p", cost).unwrap();
            let local = store.limiter(&g);
            let mut tat = None;
            for dt in steps {
                clock.advance(Duration::from_nanos(dt));
                let now = store.now();
                let got = store.check(&local, &g, 42, now);
                let (want, new_tat) = g.step(tat, now);
                proptest::prop_assert_eq!(got, want);
                if new_tat.is_some() {
                    tat = new_tat;
                }
            }
        }
    }

    #[test]
    fn too_small_a_cap_is_refused() {
        assert_eq!(
            MemoryStore::with_max_keys(3).unwrap_err(),
            ConfigError::MaxKeys(3)
        );
    }
}
