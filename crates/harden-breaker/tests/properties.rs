//! Property tests over random call sequences: the state machine never admits
//! more half-open trials than configured, and its counters add up.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use harden_breaker::machine::Ticket;
use harden_breaker::{Breaker, Comparison, Outcome, State, StateMachine, Transition};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Acquire,
    Complete { pick: usize, outcome: Outcome },
    Advance(u64),
    Tick,
    Trip,
    ForceOpen,
    Disable,
    Reset,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        4 => Just(Outcome::Success),
        4 => Just(Outcome::Failure),
        1 => Just(Outcome::Timeout),
        1 => Just(Outcome::Ignored),
        1 => Just(Outcome::Cancelled),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => Just(Op::Acquire),
        10 => (any::<usize>(), outcome()).prop_map(|(pick, outcome)| Op::Complete { pick, outcome }),
        4 => (0u64..4_000).prop_map(Op::Advance),
        1 => Just(Op::Tick),
        1 => Just(Op::Trip),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Disable),
        1 => Just(Op::Reset),
    ]
}

#[derive(Clone, Debug)]
struct Config {
    half_open_calls: u32,
    minimum_calls: u32,
    threshold: u8,
    at_or_above: bool,
    capacity: Option<u32>,
    count_window: Option<u32>,
    max_half_open_wait: Option<u64>,
    slow: Option<u64>,
}

fn config() -> impl Strategy<Value = Config> {
    (
        1u32..6,
        1u32..8,
        1u8..100,
        any::<bool>(),
        proptest::option::of(1u32..10),
        proptest::option::of(8u32..20),
        proptest::option::of(500u64..5_000),
        proptest::option::of(100u64..2_000),
    )
        .prop_map(
            |(
                half_open_calls,
                minimum_calls,
                threshold,
                at_or_above,
                capacity,
                count_window,
                max_half_open_wait,
                slow,
            )| Config {
                half_open_calls,
                minimum_calls,
                threshold,
                at_or_above,
                capacity,
                count_window,
                max_half_open_wait,
                slow,
            },
        )
}

fn build(c: &Config, t0: Instant) -> StateMachine {
    let mut b = Breaker::builder("prop")
        .half_open_calls(c.half_open_calls)
        .minimum_calls(c.minimum_calls)
        .error_threshold_percent(c.threshold)
        .comparison(if c.at_or_above {
            Comparison::AtOrAbove
        } else {
            Comparison::Above
        })
        .reset_timeout(Duration::from_millis(1_500))
        .rolling_window(Duration::from_secs(5), 5)
        .no_timeout();
    if let Some(cap) = c.capacity {
        b = b.capacity(cap);
    }
    if let Some(size) = c.count_window {
        b = b.count_window(size);
    }
    if let Some(ms) = c.max_half_open_wait {
        b = b.max_half_open_wait(Duration::from_millis(ms));
    }
    if let Some(ms) = c.slow {
        b = b.slow_calls(Duration::from_millis(ms), 50);
    }
    b.state_machine(t0).unwrap()
}

/// The model kept beside the machine: the tickets held, and this episode's
/// trial count, computed from the transitions the machine reports.
struct Model {
    held: Vec<(Ticket, u64)>,
    episode: u64,
    trials_in_episode: u32,
    attempts: u64,
}

impl Model {
    fn saw(&mut self, t: Option<Transition>) -> Result<(), TestCaseError> {
        if let Some(t) = t {
            prop_assert_ne!(t.from, t.to, "a self-transition was reported");
            self.episode += 1;
            self.trials_in_episode = 0;
        }
        Ok(())
    }
}

fn check(
    m: &mut StateMachine,
    model: &Model,
    c: &Config,
    now: Instant,
) -> Result<(), TestCaseError> {
    let n = c.half_open_calls;
    let k = m.counters();
    prop_assert!(
        m.trials_admitted() <= n,
        "{} trials admitted",
        m.trials_admitted()
    );
    prop_assert!(model.trials_in_episode <= n);
    if m.state() == State::HalfOpen {
        prop_assert_eq!(m.trials_admitted(), model.trials_in_episode);
    } else {
        prop_assert_eq!(m.trials_admitted(), 0);
    }
    prop_assert_eq!(m.in_flight() as usize, model.held.len());
    if let Some(cap) = c.capacity {
        prop_assert!(m.in_flight() <= cap);
    }
    prop_assert_eq!(
        k.permitted,
        k.successes + k.failures + k.timeouts + k.ignored + k.cancelled + u64::from(m.in_flight())
    );
    prop_assert_eq!(
        model.attempts,
        k.permitted + k.rejected + k.bulkhead_rejected
    );
    let w = m.window(now);
    prop_assert!(w.failures <= w.calls && w.slow <= w.calls);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn trials_never_exceed_the_limit_and_counters_add_up(c in config(), ops in proptest::collection::vec(op(), 1..300)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut m = build(&c, t0);
        let mut model = Model { held: Vec::new(), episode: 0, trials_in_episode: 0, attempts: 0 };
        for op in ops {
            match op {
                Op::Acquire => {
                    model.attempts += 1;
                    let step = m.try_acquire(now);
                    model.saw(step.transition)?;
                    if let Ok(ticket) = step.value {
                        if ticket.is_trial() {
                            prop_assert_eq!(m.state(), State::HalfOpen);
                            model.trials_in_episode += 1;
                        }
                        model.held.push((ticket, model.episode));
                    }
                }
                Op::Complete { pick, outcome } => {
                    if !model.held.is_empty() {
                        let (ticket, episode) = model.held.swap_remove(pick % model.held.len());
                        let trial = ticket.is_trial();
                        let step = m.record(ticket, outcome, now);
                        let same_episode = episode == model.episode;
                        if !same_episode {
                            prop_assert!(step.value.late, "a ticket from an earlier state was counted");
                        }
                        if step.value.late && step.transition.is_none() {
                            prop_assert!(!same_episode, "a current ticket was called late");
                        }
                        if trial && !step.value.late
                            && matches!(outcome, Outcome::Ignored | Outcome::Cancelled)
                        {
                            model.trials_in_episode -= 1;
                        }
                        model.saw(step.transition)?;
                    }
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::Tick => model.saw(m.tick(now))?,
                Op::Trip => model.saw(m.trip(now))?,
                Op::ForceOpen => model.saw(m.force_open(now))?,
                Op::Disable => model.saw(m.disable(now))?,
                Op::Reset => {
                    let before = m.state();
                    let t = m.reset(now);
                    if t.is_none() {
                        prop_assert_eq!(before, State::Closed);
                        // A reset of a closed breaker starts a new generation too.
                        model.episode += 1;
                    }
                    model.saw(t)?;
                }
            }
            check(&mut m, &model, &c, now)?;
        }
    }

    #[test]
    fn a_closed_breaker_opens_exactly_when_the_rule_says(
        minimum in 1u32..10,
        threshold in 1u8..100,
        outcomes in proptest::collection::vec(any::<bool>(), 1..40),
    ) {
        let t0 = Instant::now();
        let mut m = Breaker::builder("rule")
            .minimum_calls(minimum)
            .error_threshold_percent(threshold)
            .count_window(1_000)
            .no_timeout()
            .state_machine(t0)
            .unwrap();
        let (mut calls, mut failures) = (0u64, 0u64);
        for failed in outcomes {
            let ticket = m.try_acquire(t0).value.unwrap();
            let step = m.record(ticket, if failed { Outcome::Failure } else { Outcome::Success }, t0);
            calls += 1;
            failures += u64::from(failed);
            let should = calls >= u64::from(minimum) && failures * 100 > u64::from(threshold) * calls;
            prop_assert_eq!(step.transition.is_some(), should);
            if should {
                prop_assert_eq!(m.state(), State::Open);
                break;
            }
        }
    }
}
