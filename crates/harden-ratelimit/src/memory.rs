//! `MemoryStore`: per-instance GCRA state in a sharded map with a key cap.
//!
//! Why not governor's keyed limiter: its state store is an unbounded `DashMap`
//! (an attacker who rotates keys grows it without limit until someone calls
//! `retain_recent`), and per-key direct limiters cost far more memory than the
//! one number GCRA needs. Each key here is one `u64` hash and one `u64`
//! theoretical arrival time (TAT), in one of 64 mutex-guarded shards.
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

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::ConfigError;
use crate::clock::{self, Clock, MonotonicClock};
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
    clock: Arc<dyn Clock>,
    evicted: AtomicU64,
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
    /// A store with the default cap ([`DEFAULT_MAX_KEYS`]) on the monotonic clock.
    pub fn new() -> Self {
        Self::build(DEFAULT_MAX_KEYS, Arc::new(MonotonicClock::new()))
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
        Ok(Self::build(max_keys, Arc::new(MonotonicClock::new())))
    }

    /// The same store reading time from `clock` (a [`ManualClock`](crate::ManualClock)
    /// in tests). Keys already tracked are forgotten.
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        Self::build(self.max_keys(), Arc::new(clock))
    }

    fn build(max_keys: usize, clock: Arc<dyn Clock>) -> Self {
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
        let now = clock::nanos(&*self.inner.clock);
        for shard in &self.inner.shards {
            let mut shard = lock(shard);
            shard.map.retain(|_, tat| *tat > now);
        }
    }

    /// A fresh hasher for key material, keyed per store.
    pub(crate) fn hasher(&self) -> impl Hasher {
        self.inner.hasher.build_hasher()
    }

    /// The current time on the store's clock, in nanoseconds.
    pub(crate) fn now(&self) -> u64 {
        clock::nanos(&*self.inner.clock)
    }

    /// One GCRA step for `key` at `now`.
    pub(crate) fn check(&self, key: u64, gcra: &Gcra, now: u64) -> Decision {
        let index = ((key >> 32) as usize) & (self.inner.shards.len() - 1);
        let Some(shard) = self.inner.shards.get(index) else {
            return gcra.step(None, now).0;
        };
        let mut shard = lock(shard);
        let tat = shard.map.get(&key).copied();
        let (decision, new_tat) = gcra.step(tat, now);
        if let Some(new_tat) = new_tat {
            if tat.is_none() && shard.map.len() >= self.inner.per_shard {
                let evicted = make_room(&mut shard.map, self.inner.per_shard, now);
                if evicted > 0 {
                    self.inner.evicted.fetch_add(evicted, Ordering::Relaxed);
                }
            }
            shard.map.insert(key, new_tat);
        }
        decision
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
        // The hammered key: spent its burst, its TAT is far ahead.
        let hot = 7u64 << 32;
        for _ in 0..3 {
            assert!(store.check(hot, &g, store.now()).allowed());
        }
        for k in 0..10_000u64 {
            store.check(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), &g, store.now());
            assert!(store.len() <= store.max_keys());
        }
        assert!(store.evicted() > 0);
        assert!(!store.check(hot, &g, store.now()).allowed());
        clock.advance(Duration::from_secs(10));
        store.retain_recent();
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn too_small_a_cap_is_refused() {
        assert_eq!(
            MemoryStore::with_max_keys(3).unwrap_err(),
            ConfigError::MaxKeys(3)
        );
    }
}
