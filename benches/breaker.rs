//! What a circuit breaker costs per call in the closed state, beside the bare
//! future and beside the `failsafe` crate's futures API, in the same run; and
//! the tower layer beside the bare handler.
//!
//! `cargo bench --bench breaker`, then `python3 benches/report.py` prints the
//! table of docs/PERFORMANCE.md. Every future here is ready on its first
//! poll, so no runtime is involved and the timeout's timer is never armed.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::future::{Future, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{call, get_request, handler};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use failsafe::futures::CircuitBreaker as _;
use harden::breaker::{Breaker, ManualClock, Outcome};
use tower::Layer;

/// Polls `future` once, as an executor would, and returns its output.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked future was not ready"),
    }
}

fn closed(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_closed");
    g.bench_function("bare future", |b| {
        b.iter(|| poll_once(ready(Ok::<u64, ()>(black_box(7)))))
    });

    let untimed = Breaker::builder("bench").no_timeout().build().unwrap();
    g.bench_function("harden", |b| {
        b.iter(|| poll_once(untimed.call(|| ready(Ok::<u64, ()>(black_box(7))))))
    });

    let counted = Breaker::builder("bench")
        .no_timeout()
        .count_window(100)
        .build()
        .unwrap();
    g.bench_function("harden count window", |b| {
        b.iter(|| poll_once(counted.call(|| ready(Ok::<u64, ()>(black_box(7))))))
    });

    let timed = Breaker::builder("bench").build().unwrap();
    g.bench_function("harden with timeout", |b| {
        b.iter(|| poll_once(timed.call(|| ready(Ok::<u64, ()>(black_box(7))))))
    });

    let manual = Breaker::builder("bench")
        .no_timeout()
        .clock(ManualClock::new())
        .build()
        .unwrap();
    g.bench_function("harden permit (manual clock)", |b| {
        b.iter(|| {
            let permit = manual.try_acquire().unwrap();
            black_box(7u64);
            permit.record(Outcome::Success);
        })
    });

    let peer = failsafe::Config::new().build();
    g.bench_function("failsafe", |b| {
        b.iter(|| poll_once(peer.call(ready(Ok::<u64, ()>(black_box(7))))))
    });
    g.finish();
}

fn open(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_open");
    let ours = Breaker::builder("bench").no_timeout().build().unwrap();
    ours.trip();
    g.bench_function("harden", |b| {
        b.iter(|| poll_once(ours.call(|| ready(Ok::<u64, ()>(black_box(7))))).is_err())
    });

    let policy = failsafe::failure_policy::consecutive_failures(
        1,
        failsafe::backoff::constant(Duration::from_secs(3600)),
    );
    let peer = failsafe::Config::new().failure_policy(policy).build();
    let _ = poll_once(peer.call(ready(Err::<u64, ()>(()))));
    g.bench_function("failsafe", |b| {
        b.iter(|| poll_once(peer.call(ready(Ok::<u64, ()>(black_box(7))))).is_err())
    });
    g.finish();
}

fn layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_layer");
    let mut bare = handler();
    g.bench_function("baseline", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut bare, r)),
            BatchSize::SmallInput,
        )
    });
    let breaker = Breaker::builder("bench").build().unwrap();
    let mut guarded = breaker.layer().layer(handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut guarded, r)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = closed, open, layer
}
criterion_main!(benches);
