use std::time::{Duration, Instant};

use super::*;
use crate::Breaker;
use crate::config::BreakerBuilder;

const SEC: Duration = Duration::from_secs(1);

fn machine(b: BreakerBuilder, t0: Instant) -> StateMachine {
    b.state_machine(t0).unwrap()
}

fn run(m: &mut StateMachine, outcome: Outcome, now: Instant) -> Option<Transition> {
    let step = m.try_acquire(now);
    assert!(step.transition.is_none());
    let ticket = step.value.unwrap();
    m.record(ticket, outcome, now).transition
}

#[test]
fn a_ticket_from_before_a_reset_counts_only_in_the_totals() {
    let t0 = Instant::now();
    let mut m = machine(Breaker::builder("m").minimum_calls(1), t0);
    let old = m.try_acquire(t0).value.unwrap();
    assert!(m.reset(t0).is_none(), "closed to closed reports nothing");
    let done = m.record(old, Outcome::Failure, t0).value;
    assert!(done.late);
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.window(t0).calls, 0);
    assert_eq!(m.counters().failures, 1);
    assert_eq!(m.counters().late, 1);
}

#[test]
fn half_open_reopens_as_soon_as_the_trial_rate_is_certain_to_trip() {
    let t0 = Instant::now();
    let mut m = machine(
        Breaker::builder("m")
            .minimum_calls(1)
            .half_open_calls(4)
            .reset_timeout(SEC),
        t0,
    );
    assert!(run(&mut m, Outcome::Failure, t0).is_some());
    let t1 = t0 + SEC;
    let tickets: Vec<_> = (0..4).map(|_| m.try_acquire(t1).value.unwrap()).collect();
    let mut it = tickets.into_iter();
    // 2 of 4 is 50 %, not above it: still undecided after two failures.
    assert!(
        m.record(it.next().unwrap(), Outcome::Failure, t1)
            .transition
            .is_none()
    );
    assert!(
        m.record(it.next().unwrap(), Outcome::Failure, t1)
            .transition
            .is_none()
    );
    let t = m
        .record(it.next().unwrap(), Outcome::Failure, t1)
        .transition;
    assert_eq!(t.map(|t| t.to), Some(State::Open));
    // The fourth trial ends after the decision: late.
    assert!(
        m.record(it.next().unwrap(), Outcome::Success, t1)
            .value
            .late
    );
    assert_eq!(m.in_flight(), 0);
}

#[test]
fn slow_calls_are_measured_from_admission() {
    let t0 = Instant::now();
    let mut m = machine(
        Breaker::builder("m")
            .minimum_calls(2)
            .slow_calls(SEC, 50)
            .timeout(SEC * 5),
        t0,
    );
    let a = m.try_acquire(t0).value.unwrap();
    let b = m.try_acquire(t0).value.unwrap();
    let done = m.record(a, Outcome::Success, t0 + SEC).value;
    assert!(done.slow);
    assert_eq!(done.elapsed, SEC);
    let step = m.record(b, Outcome::Success, t0 + SEC * 2);
    assert!(step.value.slow);
    assert_eq!(step.transition.map(|t| t.to), Some(State::Open));
    assert_eq!(m.counters().slow, 2);
}

#[test]
fn ignored_and_cancelled_outcomes_never_enter_the_window() {
    let t0 = Instant::now();
    let mut m = machine(Breaker::builder("m").minimum_calls(1), t0);
    run(&mut m, Outcome::Ignored, t0);
    run(&mut m, Outcome::Cancelled, t0);
    assert_eq!(m.window(t0).calls, 0);
    assert_eq!(m.state(), State::Closed);
}

#[test]
fn restore_of_half_open_starts_with_a_trial() {
    let t0 = Instant::now();
    let mut m = machine(Breaker::builder("m"), t0);
    m.restore(State::HalfOpen, Duration::ZERO, t0);
    let step = m.try_acquire(t0);
    assert_eq!(step.transition.map(|t| t.to), Some(State::HalfOpen));
    assert!(step.value.unwrap().is_trial());
}

#[test]
fn window_rates_are_percentages() {
    let w = WindowStats {
        calls: 8,
        failures: 2,
        slow: 8,
    };
    assert_eq!(w.failure_rate_percent(), Some(25.0));
    assert_eq!(w.slow_rate_percent(), Some(100.0));
    assert_eq!(WindowStats::default().failure_rate_percent(), None);
}
