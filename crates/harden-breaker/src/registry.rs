//! [`BreakerRegistry`]: one breaker per key (upstream host, route), in a
//! bounded map that forgets idle keys.

use std::collections::HashMap;
use std::fmt::{self, Display, Write as _};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::ConfigError;
use crate::breaker::Breaker;
use crate::config::BreakerBuilder;
use crate::machine::State;

/// Breakers by key, made from one template on first use.
///
/// At most `capacity` keys are held. A key unused for the idle timeout, with
/// no call running, is evicted: by [`evict_idle`](Self::evict_idle) (run it
/// from a periodic task of your own), and whenever a new key finds the
/// registry full. When every key is recent, the least recently used closed
/// breaker with no call running makes room, and failing that the least
/// recently used of all: a full registry never refuses a key.
///
/// Each breaker is named `{template name}:{key}` (control characters
/// replaced, at most 128 characters), which is its `breaker` metric label:
/// keys should come from configuration or route templates, not raw request
/// input.
///
/// ```
/// use harden_breaker::{Breaker, BreakerRegistry, State};
/// use std::time::Duration;
///
/// let registry = BreakerRegistry::new(
///     Breaker::builder("upstream").minimum_calls(5),
///     100,                       // hosts at most
///     Duration::from_secs(600),  // forget a host after 10 idle minutes
/// )?;
/// let a = registry.get(&"api.example.com");
/// a.trip();
/// assert_eq!(registry.get(&"api.example.com").state(), State::Open);
/// assert_eq!(registry.get(&"cdn.example.com").state(), State::Closed);
/// assert_eq!(a.name(), "upstream:api.example.com");
/// # Ok::<(), harden_breaker::ConfigError>(())
/// ```
pub struct BreakerRegistry<K> {
    inner: Arc<Inner<K>>,
}

struct Inner<K> {
    template: BreakerBuilder,
    capacity: usize,
    idle: Duration,
    map: Mutex<HashMap<K, Entry>>,
}

struct Entry {
    breaker: Breaker,
    last_used: Instant,
}

impl<K> Clone for BreakerRegistry<K> {
    fn clone(&self) -> Self {
        BreakerRegistry {
            inner: self.inner.clone(),
        }
    }
}

impl<K> fmt::Debug for BreakerRegistry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerRegistry")
            .field("template", &self.inner.template.name_ref())
            .field("capacity", &self.inner.capacity)
            .field("idle", &self.inner.idle)
            .field("len", &self.lock().len())
            .finish()
    }
}

impl<K> BreakerRegistry<K>
where
    K: Hash + Eq + Clone + Display,
{
    /// A registry of at most `capacity` breakers built from `template`,
    /// forgetting keys idle for `idle_timeout`.
    ///
    /// # Errors
    ///
    /// The template's [`ConfigError`]; a capacity of 0; an idle timeout
    /// shorter than the reset timeout (an open breaker would be forgotten
    /// before it may try its upstream again).
    pub fn new(
        template: BreakerBuilder,
        capacity: usize,
        idle_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        template.clone().build()?;
        if capacity == 0 {
            return Err(ConfigError::OutOfRange {
                setting: "registry capacity",
                value: 0,
                min: 1,
                max: u64::MAX,
            });
        }
        let reset = template.reset_timeout_ref();
        if idle_timeout < reset {
            return Err(ConfigError::IdleBelowReset {
                idle: idle_timeout,
                reset,
            });
        }
        Ok(BreakerRegistry {
            inner: Arc::new(Inner {
                template,
                capacity,
                idle: idle_timeout,
                map: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The breaker of `key`, made on first use.
    pub fn get(&self, key: &K) -> Breaker {
        let now = self.inner.template.clock_ref().now();
        let mut map = self.lock();
        if let Some(entry) = map.get_mut(key) {
            entry.last_used = now;
            return entry.breaker.clone();
        }
        if map.len() >= self.inner.capacity {
            self.make_room(&mut map, now);
        }
        let breaker = self
            .inner
            .template
            .clone()
            .name(self.name_for(key))
            .build_checked();
        map.insert(
            key.clone(),
            Entry {
                breaker: breaker.clone(),
                last_used: now,
            },
        );
        breaker
    }

    /// The breaker of `key` if it has one, without making it or marking it used.
    pub fn get_if_present(&self, key: &K) -> Option<Breaker> {
        self.lock().get(key).map(|e| e.breaker.clone())
    }

    /// Forgets `key`'s breaker.
    pub fn remove(&self, key: &K) -> Option<Breaker> {
        self.lock().remove(key).map(|e| e.breaker)
    }

    /// Evicts every key unused for the idle timeout with no call running;
    /// returns how many.
    pub fn evict_idle(&self) -> usize {
        let now = self.inner.template.clock_ref().now();
        let mut map = self.lock();
        self.sweep(&mut map, now)
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Every key with its breaker's state, for a status page.
    pub fn states(&self) -> Vec<(K, State)> {
        let breakers: Vec<(K, Breaker)> = self
            .lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.breaker.clone()))
            .collect();
        breakers.into_iter().map(|(k, b)| (k, b.state())).collect()
    }

    fn sweep(&self, map: &mut HashMap<K, Entry>, now: Instant) -> usize {
        let before = map.len();
        let idle = self.inner.idle;
        map.retain(|_, e| {
            now.saturating_duration_since(e.last_used) < idle || e.breaker.peek().1 > 0
        });
        before - map.len()
    }

    fn make_room(&self, map: &mut HashMap<K, Entry>, now: Instant) {
        if self.sweep(map, now) > 0 {
            return;
        }
        let quiet_closed = map
            .iter()
            .filter(|(_, e)| {
                let (state, in_flight) = e.breaker.peek();
                state == State::Closed && in_flight == 0
            })
            .min_by_key(|(_, e)| e.last_used)
            .map(|(k, _)| k.clone());
        let victim = quiet_closed.or_else(|| {
            map.iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
        });
        if let Some(key) = victim {
            map.remove(&key);
        }
    }

    fn name_for(&self, key: &K) -> String {
        let mut raw = String::new();
        let _ = write!(raw, "{}:{key}", self.inner.template.name_ref());
        raw.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .take(128)
            .collect()
    }
}

impl<K> BreakerRegistry<K> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Entry>> {
        self.inner
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
