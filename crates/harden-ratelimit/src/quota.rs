//! `Quota` (what a policy admits) and its GCRA parameters, which governor
//! (in memory) and the Redis script use.

use std::time::Duration;

use crate::ConfigError;

/// How many requests a policy admits over a period, and how many at once.
///
/// The names mean what they say: `Quota::per_second(5)` admits five requests
/// per second (one every 200 ms), not one every five seconds as
/// tower_governor's `per_second(5)` does. The burst (how many may arrive at
/// once after a quiet spell) defaults to the count.
///
/// ```
/// use harden_ratelimit::Quota;
/// use std::time::Duration;
///
/// let q = Quota::per_minute(120).burst(10);
/// assert_eq!(q.count(), 120);
/// assert_eq!(q.period(), Duration::from_secs(60));
/// assert_eq!(q.burst_size(), 10);
/// assert_eq!(q.interval(), Duration::from_millis(500));
/// ```
///
/// The algorithm is GCRA (the generic cell rate algorithm, as in governor and
/// go-redis/redis_rate): each key stores one instant, its theoretical arrival
/// time, so a key costs the same memory however large the quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    count: u32,
    period: Duration,
    burst: Option<u32>,
}

impl Quota {
    /// `count` requests per `period`.
    pub const fn new(count: u32, period: Duration) -> Self {
        Quota {
            count,
            period,
            burst: None,
        }
    }

    /// `count` requests per second.
    pub const fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` requests per minute.
    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` requests per hour.
    pub const fn per_hour(count: u32) -> Self {
        Self::new(count, Duration::from_secs(3600))
    }

    /// How many requests may arrive at once after a quiet spell (default: the
    /// count). Requests beyond the burst are admitted at the quota's rate.
    #[must_use]
    pub const fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The request count per period.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        self.period
    }

    /// The burst size.
    pub const fn burst_size(&self) -> u32 {
        match self.burst {
            Some(b) => b,
            None => self.count,
        }
    }

    /// The emission interval: the time one request's worth of quota takes to
    /// come back (`period / count`; zero for an empty quota).
    pub fn interval(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(
            u64::try_from(self.period.as_nanos() / u128::from(self.count)).unwrap_or(u64::MAX),
        )
    }

    /// Validates the quota for a policy named `policy` with `cost` units per request.
    pub(crate) fn gcra(&self, policy: &str, cost: u32) -> Result<Gcra, ConfigError> {
        let period_ms = self.period.as_millis();
        if self.count == 0 || self.period.is_zero() {
            return Err(ConfigError::EmptyQuota {
                policy: policy.to_owned(),
                count: self.count,
                period_ms,
            });
        }
        let burst = self.burst_size();
        if burst == 0 || cost == 0 || cost > burst {
            return Err(ConfigError::BurstBelowCost {
                policy: policy.to_owned(),
                burst,
                cost,
            });
        }
        let interval = self.period.as_nanos() / u128::from(self.count);
        let ten_years = 10 * 365 * 86_400 * 1_000_000_000u128;
        let window = interval.saturating_mul(u128::from(burst));
        if interval == 0 || interval > ten_years || window > u128::from(u64::MAX / 4) {
            return Err(ConfigError::QuotaOutOfRange {
                policy: policy.to_owned(),
                count: self.count,
                period_ms,
            });
        }
        let interval = u64::try_from(interval).unwrap_or(u64::MAX);
        Ok(Gcra {
            interval,
            burst,
            cost,
        })
    }
}

/// A validated quota in nanoseconds, with the cost per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Emission interval T, in nanoseconds.
    pub(crate) interval: u64,
    pub(crate) burst: u32,
    pub(crate) cost: u32,
}

#[cfg(test)]
impl Gcra {
    /// The reference GCRA step (what governor computes and the Redis script
    /// mirrors), for tests: the decision for a request at `now`, given the
    /// key's stored theoretical arrival time (`None` for a key never seen or
    /// forgotten, which is the same thing), and the new TAT to store when the
    /// request is admitted.
    pub(crate) fn step(&self, tat: Option<u64>, now: u64) -> (Decision, Option<u64>) {
        let tat = tat.map_or(now, |t| t.max(now));
        let window = self.interval.saturating_mul(u64::from(self.burst));
        let new_tat = tat.saturating_add(self.interval.saturating_mul(u64::from(self.cost)));
        let limit = now.saturating_add(window);
        if new_tat > limit {
            let decision = Decision {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_nanos(new_tat - limit),
                reset_after: Duration::from_nanos(tat - now),
            };
            return (decision, None);
        }
        let remaining = (limit - new_tat) / self.interval;
        let decision = Decision {
            allowed: true,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            retry_after: Duration::ZERO,
            reset_after: Duration::from_nanos(new_tat - now),
        };
        (decision, Some(new_tat))
    }
}

/// One policy's verdict on one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub(crate) allowed: bool,
    pub(crate) remaining: u32,
    pub(crate) retry_after: Duration,
    pub(crate) reset_after: Duration,
}

impl Decision {
    /// Whether the request fits the quota.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// Units of quota left right now: requests, when each costs 1.
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// For a refused request, how long until it would be admitted; zero when
    /// admitted.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// How long until the key's full burst is available again.
    pub fn reset_after(&self) -> Duration {
        self.reset_after
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn per_second_means_per_second() {
        assert_eq!(Quota::per_second(5).interval(), Duration::from_millis(200));
        assert_eq!(Quota::per_hour(3600).interval(), Duration::from_secs(1));
        assert_eq!(Quota::per_second(5).burst_size(), 5);
    }

    #[test]
    fn burst_then_one_per_interval() {
        let g = Quota::per_second(5).burst(2).gcra("p", 1).unwrap();
        let mut tat = None;
        let mut admitted = 0;
        for _ in 0..10 {
            let (d, t) = g.step(tat, 0);
            if d.allowed {
                admitted += 1;
                tat = t;
            }
        }
        assert_eq!(admitted, 2);
        let (d, _) = g.step(tat, 0);
        assert_eq!(d.retry_after, Duration::from_millis(200));
        assert_eq!(d.reset_after, Duration::from_millis(400));
        let (d, _) = g.step(tat, 200 * MS);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
    }

    #[test]
    fn remaining_counts_down_from_burst_minus_one() {
        let g = Quota::per_second(10).burst(4).gcra("p", 1).unwrap();
        let mut tat = None;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (d, t) = g.step(tat, 0);
            seen.push(d.remaining);
            tat = t;
        }
        assert_eq!(seen, [3, 2, 1, 0]);
    }

    #[test]
    fn cost_spends_several_units() {
        let g = Quota::per_second(10).gcra("p", 4).unwrap();
        let (d1, t) = g.step(None, 0);
        let (d2, t) = g.step(t, 0);
        let (d3, _) = g.step(t, 0);
        assert!(d1.allowed && d2.allowed && !d3.allowed);
        assert_eq!(d2.remaining, 2, "units, not requests");
        assert_eq!(d3.retry_after, Duration::from_millis(200));
    }

    #[test]
    fn invalid_quotas_are_refused_with_the_policy_name() {
        let e = Quota::per_second(0).gcra("login", 1).unwrap_err();
        assert!(e.to_string().contains("login"), "{e}");
        assert!(Quota::new(5, Duration::ZERO).gcra("p", 1).is_err());
        assert!(Quota::per_second(5).burst(0).gcra("p", 1).is_err());
        assert!(Quota::per_second(5).gcra("p", 6).is_err());
        assert!(Quota::per_second(5).gcra("p", 0).is_err());
        assert!(
            Quota::new(u32::MAX, Duration::from_nanos(1))
                .gcra("p", 1)
                .is_err()
        );
        assert!(
            Quota::new(1, Duration::from_secs(20 * 365 * 86_400))
                .gcra("p", 1)
                .is_err()
        );
    }

    proptest! {
        /// GCRA never admits more than burst + elapsed / interval.
        #[test]
        fn never_admits_more_than_the_quota(
            count in 1u32..1000,
            burst in 1u32..50,
            steps in proptest::collection::vec(0u64..50_000_000, 1..300),
        ) {
            let g = Quota::per_second(count).burst(burst).gcra("p", 1).unwrap();
            let (mut tat, mut now, mut admitted) = (None, 0u64, 0u64);
            for dt in steps {
                now += dt;
                let (d, t) = g.step(tat, now);
                if d.allowed { admitted += 1; tat = t; }
            }
            prop_assert!(admitted <= u64::from(burst) + now / g.interval);
        }
    }
}
