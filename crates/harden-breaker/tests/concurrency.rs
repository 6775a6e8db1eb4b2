//! Concurrency on real tasks of a multi-threaded runtime: the limits hold
//! under contention, and every permit comes back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harden_breaker::{Breaker, BreakerError, ManualClock, RejectReason, State};
use tokio::sync::{Barrier, Semaphore};

/// Counts the calls running at once and remembers the most seen.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

impl Gauge {
    async fn hold(&self, d: Duration) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(d).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

const TASKS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bulkhead_holds_under_contention_and_counts_every_rejection() {
    let b = Breaker::builder("bulkhead")
        .capacity(4)
        .no_timeout()
        .build()
        .unwrap();
    let gauge = Gauge::default();
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (b, gauge, barrier) = (b.clone(), gauge.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            b.call(|| async {
                gauge.hold(Duration::from_millis(20)).await;
                Ok::<_, Infallible>(())
            })
            .await
        }));
    }
    let mut bulkhead = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => {}
            Err(BreakerError::Rejected(r)) => {
                assert_eq!(r.reason(), RejectReason::Bulkhead);
                bulkhead += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(gauge.max() <= 4, "{} calls ran at once", gauge.max());
    let s = b.stats();
    assert_eq!(s.in_flight, 0);
    assert_eq!(s.counters.bulkhead_rejected, bulkhead);
    assert_eq!(s.counters.permitted + bulkhead, TASKS as u64);
    assert_eq!(s.counters.successes, s.counters.permitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_open_lets_exactly_n_concurrent_trials_through() {
    let clock = ManualClock::new();
    let b = Breaker::builder("trials")
        .clock(clock.clone())
        .minimum_calls(1)
        .half_open_calls(3)
        .reset_timeout(Duration::from_secs(30))
        .no_timeout()
        .build()
        .unwrap();
    b.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(30));

    // The trials hold until the test has seen every other task rejected.
    let release = Arc::new(Semaphore::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (b, release, barrier, entered) =
            (b.clone(), release.clone(), barrier.clone(), entered.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            b.call(|| async {
                entered.fetch_add(1, Ordering::SeqCst);
                let _permit = release.acquire().await.expect("semaphore open");
                Ok::<_, Infallible>(())
            })
            .await
        }));
    }
    for _ in 0..2_000 {
        if b.stats().counters.rejected == (TASKS - 3) as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(b.stats().counters.rejected, (TASKS - 3) as u64);
    assert_eq!(b.stats().in_flight, 3);
    release.add_permits(3);
    let mut rejected = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => {}
            Err(BreakerError::Rejected(r)) => {
                assert_eq!(r.reason(), RejectReason::HalfOpenFull);
                rejected += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(entered.load(Ordering::SeqCst), 3);
    assert_eq!(rejected, TASKS - 3);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.stats().in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_open_the_breaker_once() {
    let opened = Arc::new(AtomicUsize::new(0));
    let seen = opened.clone();
    let b = Breaker::builder("storm")
        .minimum_calls(10)
        .no_timeout()
        .on_event(move |e: &harden_breaker::Event<'_>| {
            if let harden_breaker::EventKind::Transition {
                to: State::Open, ..
            } = e.kind
            {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (b, barrier) = (b.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let _ = b
                .call(|| async {
                    tokio::task::yield_now().await;
                    Err::<(), _>("down")
                })
                .await;
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        opened.load(Ordering::SeqCst),
        1,
        "one open event for the storm"
    );
    let s = b.stats();
    assert_eq!(s.in_flight, 0);
    assert_eq!(s.counters.permitted + s.counters.rejected, TASKS as u64);
    assert_eq!(s.counters.failures, s.counters.permitted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aborted_tasks_give_their_permits_back() {
    let b = Breaker::builder("abort")
        .capacity(8)
        .no_timeout()
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let b = b.clone();
        handles.push(tokio::spawn(async move {
            b.call(std::future::pending::<Result<(), Infallible>>).await
        }));
    }
    // Bounded wait until all eight hold a permit.
    for _ in 0..500 {
        if b.stats().in_flight == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(b.stats().in_flight, 8);
    assert!(b.try_acquire().is_err());
    for h in &handles {
        h.abort();
    }
    for h in handles {
        assert!(h.await.unwrap_err().is_cancelled());
    }
    let s = b.stats();
    assert_eq!((s.in_flight, s.counters.cancelled), (0, 8));
    assert!(b.try_acquire().is_ok());
}

#[test]
fn breakers_permits_calls_and_layers_cross_threads() {
    fn shared<T: Send + Sync>() {}
    fn sent<T: Send>(_: &T) {}
    shared::<Breaker>();
    shared::<harden_breaker::Permit>();
    shared::<harden_breaker::BreakerLayer>();
    shared::<harden_breaker::BreakerRegistry<String>>();
    let b = Breaker::builder("send").build().unwrap();
    let call = b.call(|| async { Ok::<_, Infallible>(()) });
    sent(&call);
    drop(call);
    assert_eq!(b.stats().counters.cancelled, 1);
}
