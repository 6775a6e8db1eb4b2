//! Behind the `metrics` feature: the counters, state gauge and histogram a
//! breaker reports, read back from a recorder of our own.

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use harden_breaker::{Breaker, ManualClock, State};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// Every metric by `name{label=value,…}`, as a number (counters and gauges)
/// or the count of recorded values (histograms).
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<BTreeMap<String, Arc<Cell>>>>);

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) + value);
    }
    fn decrement(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) - value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::SeqCst);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Memory {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.0.lock().unwrap().entry(name).or_default().clone()
    }

    fn counter(&self, name: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.0.load(Ordering::SeqCst))
    }

    fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(self.counter(name))
    }
}

impl Recorder for Memory {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

#[test]
fn calls_rejections_transitions_state_and_latency_are_recorded() {
    let memory = Memory::default();
    let clock = ManualClock::new();
    let b = Breaker::builder("db")
        .clock(clock.clone())
        .minimum_calls(2)
        .no_timeout()
        .build()
        .unwrap();
    metrics::with_local_recorder(&memory, || {
        b.try_acquire().unwrap().success();
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), State::Open);
        assert!(b.try_acquire().is_err());
        assert!(b.try_acquire().is_err());
    });
    assert_eq!(
        memory.counter("harden_breaker_calls_total{breaker=db,outcome=success}"),
        1
    );
    assert_eq!(
        memory.counter("harden_breaker_calls_total{breaker=db,outcome=failure}"),
        2
    );
    assert_eq!(
        memory.counter("harden_breaker_rejections_total{breaker=db,reason=open}"),
        2
    );
    assert_eq!(
        memory.counter("harden_breaker_transitions_total{breaker=db,from=closed,to=open}"),
        1
    );
    assert_eq!(
        memory.gauge("harden_breaker_state{breaker=db,state=open}"),
        1.0
    );
    assert_eq!(
        memory.gauge("harden_breaker_state{breaker=db,state=closed}"),
        0.0
    );
    assert_eq!(
        memory.counter("harden_breaker_call_duration_seconds{breaker=db}"),
        3
    );
}
