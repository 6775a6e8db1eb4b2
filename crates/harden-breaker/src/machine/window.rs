//! The rolling windows the trip rule reads: the last N calls, or the calls of
//! the last T split into buckets that expire one at a time.

use std::time::{Duration, Instant};

use super::{Now, WindowStats};

/// A window of recent call outcomes.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    /// The last `size` calls (`size` ≥ 1).
    pub(crate) fn count(size: u32) -> Self {
        Window::Count(CountWindow {
            slots: vec![0; size.max(1) as usize].into_boxed_slice(),
            next: 0,
            len: 0,
            failures: 0,
            slow: 0,
        })
    }

    /// The calls of the last `length`, in `buckets` buckets (`buckets` ≥ 1,
    /// each at least a nanosecond long), starting at `now`.
    pub(crate) fn time(length: Duration, buckets: u32, now: Instant) -> Self {
        let buckets = buckets.max(1);
        let width = (length.as_nanos() / u128::from(buckets)).max(1);
        let width = u64::try_from(width).unwrap_or(u64::MAX);
        Window::Time(TimeWindow {
            buckets: vec![Bucket::default(); buckets as usize].into_boxed_slice(),
            width,
            base: now,
            head: 0,
            head_end: now.checked_add(Duration::from_nanos(width)),
            totals: Bucket::default(),
        })
    }

    /// Records one counted call.
    pub(crate) fn record(&mut self, now: &mut Now<'_>, failed: bool, slow: bool) {
        match self {
            Window::Count(w) => w.record(failed, slow),
            Window::Time(w) => w.record(now.get(), failed, slow),
        }
    }

    /// The calls, failures and slow calls the window holds at `now`.
    pub(crate) fn stats(&mut self, now: &mut Now<'_>) -> WindowStats {
        match self {
            Window::Count(w) => WindowStats {
                calls: u64::from(w.len),
                failures: u64::from(w.failures),
                slow: u64::from(w.slow),
            },
            Window::Time(w) => {
                w.rotate(now.get());
                WindowStats {
                    calls: w.totals.calls,
                    failures: w.totals.failures,
                    slow: w.totals.slow,
                }
            }
        }
    }

    /// Forgets every call.
    pub(crate) fn clear(&mut self, now: &mut Now<'_>) {
        match self {
            Window::Count(w) => {
                w.slots.fill(0);
                w.next = 0;
                w.len = 0;
                w.failures = 0;
                w.slow = 0;
            }
            Window::Time(w) => {
                w.buckets.fill(Bucket::default());
                w.totals = Bucket::default();
                w.set_head(w.epoch(now.get()));
            }
        }
    }
}

const FAILED: u8 = 0b01;
const SLOW: u8 = 0b10;

/// A ring of the last `slots.len()` outcomes, with running totals.
#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[u8]>,
    next: usize,
    len: u32,
    failures: u32,
    slow: u32,
}

impl CountWindow {
    fn record(&mut self, failed: bool, slow: bool) {
        let full = self.len as usize == self.slots.len();
        let Some(slot) = self.slots.get_mut(self.next) else {
            return;
        };
        if full {
            self.failures -= u32::from(*slot & FAILED != 0);
            self.slow -= u32::from(*slot & SLOW != 0);
        } else {
            self.len += 1;
        }
        *slot = if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        self.failures += u32::from(failed);
        self.slow += u32::from(slow);
        self.next += 1;
        if self.next == self.slots.len() {
            self.next = 0;
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    calls: u64,
    failures: u64,
    slow: u64,
}

/// Buckets of `width` nanoseconds; bucket `e % n` holds epoch `e`, the newest
/// being `head`. Running totals are kept, and a bucket's counts leave them
/// when its slot is reused for a newer epoch.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    width: u64,
    base: Instant,
    head: u64,
    /// When the head bucket ends (`None` past the end of time): until then
    /// nothing expires, and no division is needed.
    head_end: Option<Instant>,
    totals: Bucket,
}

impl TimeWindow {
    fn epoch(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX) / self.width
    }

    fn set_head(&mut self, epoch: u64) {
        self.head = epoch;
        self.head_end = epoch
            .checked_add(1)
            .and_then(|e| e.checked_mul(self.width))
            .and_then(|nanos| self.base.checked_add(Duration::from_nanos(nanos)));
    }

    /// Expires the buckets older than the window at `now`.
    fn rotate(&mut self, now: Instant) {
        if self.head_end.is_none_or(|end| now < end) {
            return;
        }
        let epoch = self.epoch(now);
        if epoch <= self.head {
            return;
        }
        let n = self.buckets.len() as u64;
        let steps = (epoch - self.head).min(n);
        for k in 1..=steps {
            let index = ((self.head + k) % n) as usize;
            if let Some(bucket) = self.buckets.get_mut(index) {
                self.totals.calls -= bucket.calls;
                self.totals.failures -= bucket.failures;
                self.totals.slow -= bucket.slow;
                *bucket = Bucket::default();
            }
        }
        self.set_head(epoch);
    }

    fn record(&mut self, now: Instant, failed: bool, slow: bool) {
        self.rotate(now);
        let index = (self.head % self.buckets.len() as u64) as usize;
        if let Some(bucket) = self.buckets.get_mut(index) {
            bucket.calls += 1;
            bucket.failures += u64::from(failed);
            bucket.slow += u64::from(slow);
            self.totals.calls += 1;
            self.totals.failures += u64::from(failed);
            self.totals.slow += u64::from(slow);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(w: &mut Window, now: Instant) -> (u64, u64, u64) {
        let s = w.stats(&mut Now::at(now));
        (s.calls, s.failures, s.slow)
    }

    #[test]
    fn count_window_keeps_only_the_last_calls() {
        let now = Instant::now();
        let mut w = Window::count(3);
        w.record(&mut Now::at(now), true, false);
        w.record(&mut Now::at(now), true, true);
        assert_eq!(stats(&mut w, now), (2, 2, 1));
        w.record(&mut Now::at(now), false, false);
        w.record(&mut Now::at(now), false, false);
        assert_eq!(stats(&mut w, now), (3, 1, 1));
        w.record(&mut Now::at(now), false, false);
        assert_eq!(stats(&mut w, now), (3, 0, 0));
        w.clear(&mut Now::at(now));
        assert_eq!(stats(&mut w, now), (0, 0, 0));
    }

    #[test]
    fn time_window_expires_one_bucket_at_a_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut w = Window::time(Duration::from_secs(10), 10, t0);
        w.record(&mut Now::at(t0), true, false);
        w.record(&mut Now::at(t0 + s * 3), false, true);
        assert_eq!(stats(&mut w, t0 + s * 9), (2, 1, 1));
        // The first bucket [0 s, 1 s) leaves the window at 10 s.
        assert_eq!(stats(&mut w, t0 + s * 10), (1, 0, 1));
        assert_eq!(stats(&mut w, t0 + s * 12), (1, 0, 1));
        assert_eq!(stats(&mut w, t0 + s * 13), (0, 0, 0));
        w.record(&mut Now::at(t0 + s * 100), true, true);
        assert_eq!(stats(&mut w, t0 + s * 100), (1, 1, 1));
        w.clear(&mut Now::at(t0 + s * 100));
        assert_eq!(stats(&mut w, t0 + s * 100), (0, 0, 0));
    }

    #[test]
    fn time_window_survives_a_long_silence() {
        let t0 = Instant::now();
        let mut w = Window::time(Duration::from_millis(100), 4, t0);
        for i in 0..4 {
            w.record(
                &mut Now::at(t0 + Duration::from_millis(25 * i)),
                true,
                false,
            );
        }
        assert_eq!(stats(&mut w, t0 + Duration::from_millis(99)), (4, 4, 0));
        assert_eq!(stats(&mut w, t0 + Duration::from_secs(3600)), (0, 0, 0));
    }
}
