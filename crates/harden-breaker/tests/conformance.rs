//! The circuit-breaker conformance list (security catalog §6.3), one or more
//! named tests per item, with a manual clock or Tokio's paused clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use harden_breaker::{
    Breaker, BreakerBuilder, BreakerError, BreakerLayer, BreakerRegistry, Comparison, Event,
    EventKind, ManualClock, Outcome, RejectReason, State,
};
use harden_core::{ErrorFormat, Rejection};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt, service_fn};

const SEC: Duration = Duration::from_secs(1);

fn builder(clock: &ManualClock) -> BreakerBuilder {
    Breaker::builder("test").clock(clock.clone()).no_timeout()
}

fn succeed(b: &Breaker) {
    b.try_acquire().unwrap().success();
}

fn fail(b: &Breaker) {
    b.try_acquire().unwrap().failure();
}

/// An inner service answering with the status in `status`, counting its calls.
#[derive(Clone)]
struct Upstream {
    status: Arc<AtomicU16>,
    calls: Arc<AtomicUsize>,
}

impl Upstream {
    fn new(status: u16) -> Self {
        Upstream {
            status: Arc::new(AtomicU16::new(status)),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn set(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn service(
        &self,
    ) -> impl Service<
        Request<()>,
        Response = Response<String>,
        Error = Infallible,
        Future = impl Future<Output = Result<Response<String>, Infallible>> + Send,
    > + Clone {
        let this = self.clone();
        service_fn(move |_req: Request<()>| {
            this.calls.fetch_add(1, Ordering::SeqCst);
            let status = this.status.load(Ordering::SeqCst);
            async move {
                let mut res = Response::new(format!("status {status}"));
                *res.status_mut() = StatusCode::from_u16(status).unwrap();
                res.headers_mut()
                    .insert("x-upstream", "yes".parse().unwrap());
                Ok(res)
            }
        })
    }
}

fn events(b: BreakerBuilder) -> (BreakerBuilder, Arc<Mutex<Vec<EventKind>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let b = b.on_event(move |e: &Event<'_>| sink.lock().unwrap().push(e.kind));
    (b, seen)
}

fn transitions(seen: &Mutex<Vec<EventKind>>) -> Vec<(State, State)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            EventKind::Transition { from, to } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

// ---- 1. Starts closed; passes requests and results through unchanged ----

#[tokio::test]
async fn item_01_starts_closed_and_passes_results_through_unchanged() {
    let clock = ManualClock::new();
    let b = builder(&clock).build().unwrap();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.call(|| async { Ok::<_, String>(41) }).await.unwrap(), 41);
    let err = b.call(|| async { Err::<(), _>("boom".to_owned()) }).await;
    assert_eq!(err.unwrap_err().into_inner().as_deref(), Some("boom"));

    let up = Upstream::new(201);
    let svc = b.layer().layer(up.service());
    let res = svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["x-upstream"], "yes");
    assert!(res.extensions().get::<Rejection>().is_none());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "status 201");
}

// ---- 2. Failure classification ----

#[tokio::test]
async fn item_02_server_errors_and_connection_errors_count_client_errors_do_not() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(100).build().unwrap();
    let up = Upstream::new(500);
    let svc = b.layer().layer(up.service());
    svc.clone().oneshot(Request::new(())).await.unwrap();
    up.set(503);
    svc.clone().oneshot(Request::new(())).await.unwrap();
    up.set(404);
    svc.clone().oneshot(Request::new(())).await.unwrap();
    up.set(429);
    svc.clone().oneshot(Request::new(())).await.unwrap();
    let c = b.stats().counters;
    assert_eq!((c.failures, c.successes), (2, 2));

    // An error of the inner service (a refused connection) is a failure.
    let failing = service_fn(|_req: Request<()>| async {
        Err::<Response<String>, _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    });
    let err = b.layer().layer(failing).oneshot(Request::new(())).await;
    assert_eq!(
        err.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    assert_eq!(b.stats().counters.failures, 3);
}

#[tokio::test(start_paused = true)]
async fn item_02_breaker_timeouts_count_as_failures() {
    let b = Breaker::builder("t")
        .timeout(SEC)
        .minimum_calls(1)
        .build()
        .unwrap();
    let r = b
        .call(|| async {
            tokio::time::sleep(SEC * 5).await;
            Ok::<_, Infallible>(())
        })
        .await;
    assert!(matches!(r, Err(BreakerError::Timeout(d)) if d == SEC));
    assert_eq!(b.stats().counters.timeouts, 1);
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn item_02_a_filtered_error_is_returned_but_not_counted() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(1).build().unwrap();
    let filter = |r: &Result<(), &str>| match r {
        Err(e) if e.starts_with("not found") => Outcome::Ignored,
        Err(_) => Outcome::Failure,
        Ok(()) => Outcome::Success,
    };
    let r = b
        .call_with(filter, || async { Err("not found: order 7") })
        .await;
    assert_eq!(r.unwrap_err().into_inner(), Some("not found: order 7"));
    assert_eq!(b.state(), State::Closed);
    let s = b.stats();
    assert_eq!((s.counters.ignored, s.window.calls), (1, 0));
}

#[tokio::test]
async fn item_02_a_business_error_can_be_recorded_as_a_success() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(1).build().unwrap();
    let business = |r: &Result<(), &str>| match r {
        Err(e) if e.contains("insufficient funds") => Outcome::Success,
        Err(_) => Outcome::Failure,
        Ok(()) => Outcome::Success,
    };
    let r = b
        .call_with(business, || async { Err("insufficient funds") })
        .await;
    assert!(matches!(r, Err(BreakerError::Inner(_))));
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.stats().counters.successes, 1);
}

#[tokio::test]
async fn item_02_a_custom_response_classifier_replaces_the_default() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(1).build().unwrap();
    let up = Upstream::new(429);
    let layer = b.layer().classify(|s: StatusCode| {
        if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    });
    let svc = layer.layer(up.service());
    svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(b.state(), State::Open);
}

// ---- 3. Trip rule ----

#[test]
fn item_03_no_trip_below_minimum_calls() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(5).build().unwrap();
    for _ in 0..4 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "4 failures of 4, under 5 calls");
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn item_03_exactly_at_the_threshold_stays_closed_with_strict_comparison() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(10).build().unwrap();
    for _ in 0..5 {
        succeed(&b);
    }
    for _ in 0..5 {
        fail(&b);
    }
    // 5 of 10 = 50 %, not > 50 %.
    assert_eq!(b.state(), State::Closed);
    // One more failure: 6 of 11 = 54.5 % > 50 %.
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn item_03_one_success_more_keeps_it_below_the_threshold() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(10).build().unwrap();
    for _ in 0..6 {
        succeed(&b);
    }
    for _ in 0..5 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "5 of 11 = 45 %");
}

#[test]
fn item_03_at_or_above_opens_at_exactly_the_threshold() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(10)
        .comparison(Comparison::AtOrAbove)
        .count_window(10)
        .build()
        .unwrap();
    for _ in 0..6 {
        succeed(&b);
    }
    for _ in 0..4 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "4 of 10 = 40 %");
    // The count window drops the oldest success: 5 of 10 = 50 % >= 50 %.
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn item_03_failures_older_than_the_time_window_are_forgotten() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(4)
        .rolling_window(SEC * 10, 10)
        .build()
        .unwrap();
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(SEC * 11);
    fail(&b);
    succeed(&b);
    succeed(&b);
    assert_eq!(b.stats().window.calls, 3);
    succeed(&b);
    assert_eq!(b.state(), State::Closed, "1 failure of 4 in the window");
}

#[test]
fn item_03_the_warm_up_period_never_trips() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(2)
        .rolling_window(SEC * 60, 6)
        .warm_up(SEC * 10)
        .build()
        .unwrap();
    for _ in 0..5 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed);
    clock.advance(SEC * 10);
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

// ---- 4. Slow-call rate ----

#[test]
fn item_04_slow_call_rate_opens_the_breaker() {
    let clock = ManualClock::new();
    let (b, seen) = events(builder(&clock).minimum_calls(4).slow_calls(SEC * 2, 50));
    let b = b.build().unwrap();
    for slow in [false, true, false, true] {
        let permit = b.try_acquire().unwrap();
        clock.advance(if slow { SEC * 3 } else { SEC / 10 });
        permit.success();
    }
    assert_eq!(b.state(), State::Closed, "2 slow of 4 = 50 %");
    let permit = b.try_acquire().unwrap();
    clock.advance(SEC * 2);
    permit.success();
    assert_eq!(b.state(), State::Open, "3 slow of 5");
    let s = b.stats();
    assert_eq!((s.counters.slow, s.counters.failures), (3, 0));
    let slow_events = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, EventKind::Slow { .. }))
        .count();
    assert_eq!(slow_events, 3);
}

// ---- 5. Open: immediate rejection ----

#[tokio::test]
async fn item_05_open_rejects_at_once_with_503_and_retry_after_without_calling_inner() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(2)
        .reset_timeout(SEC * 30)
        .build()
        .unwrap();
    let up = Upstream::new(502);
    let svc = b.layer().layer(up.service());
    for _ in 0..2 {
        svc.clone().oneshot(Request::new(())).await.unwrap();
    }
    assert_eq!(up.calls(), 2);
    clock.advance(Duration::from_millis(10_500));

    let mut req = Request::new(());
    req.extensions_mut().insert(ErrorFormat::Problem);
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(up.calls(), 2, "the inner service was not called");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // 19.5 s left, rounded up.
    assert_eq!(res.headers()["retry-after"], "20");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let r = res.extensions().get::<Rejection>().unwrap();
    assert_eq!((r.layer(), r.reason()), ("breaker", "open"));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], 503);
    assert_eq!(b.stats().counters.rejected, 1);

    // Around a future, the future is not even made.
    let made = AtomicBool::new(false);
    let r = b
        .call(|| {
            made.store(true, Ordering::SeqCst);
            async { Ok::<_, Infallible>(()) }
        })
        .await;
    let BreakerError::Rejected(rejected) = r.unwrap_err() else {
        panic!("not a rejection")
    };
    assert_eq!(rejected.reason(), RejectReason::Open);
    assert_eq!(rejected.retry_after(), Some(Duration::from_millis(19_500)));
    assert!(!made.load(Ordering::SeqCst));
}

#[tokio::test]
async fn item_05_a_fallback_answers_instead_of_the_503() {
    let clock = ManualClock::new();
    let b = builder(&clock).build().unwrap();
    b.trip();
    let up = Upstream::new(200);
    let layer = b.layer().fallback(
        |parts: &http::request::Parts, rejected: &harden_breaker::Rejected| {
            assert_eq!(rejected.reason(), RejectReason::Open);
            (parts.method == http::Method::GET)
                .then(|| Response::new(Bytes::from_static(b"cached")))
        },
    );
    let svc = layer.layer(up.service());
    let res = svc.clone().oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().reason(),
        "open"
    );
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "cached"
    );
    // The fallback declines a POST: the 503 as usual.
    let post = Request::post("/").body(()).unwrap();
    let res = svc.oneshot(post).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(up.calls(), 0);
}

// ---- 6. Open -> half-open after the wait ----

#[test]
fn item_06_open_becomes_half_open_after_the_reset_timeout_at_the_next_call() {
    let clock = ManualClock::new();
    let (b, seen) = events(builder(&clock).minimum_calls(1).reset_timeout(SEC * 30));
    let b = b.build().unwrap();
    fail(&b);
    clock.advance(SEC * 29);
    assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::Open);
    clock.advance(SEC);
    let trial = b.try_acquire().unwrap();
    assert!(trial.is_trial());
    assert_eq!(b.state(), State::HalfOpen);
    drop(trial);
    assert_eq!(
        transitions(&seen),
        [(State::Closed, State::Open), (State::Open, State::HalfOpen)]
    );
}

#[tokio::test(start_paused = true)]
async fn item_06_the_default_clock_follows_tokios_paused_time() {
    let b = Breaker::builder("tokio-clock")
        .minimum_calls(1)
        .reset_timeout(SEC * 30)
        .build()
        .unwrap();
    fail(&b);
    tokio::time::advance(SEC * 30).await;
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "a state query makes the change too"
    );
}

// ---- 7. Half-open admits exactly N ----

#[test]
fn item_07_half_open_admits_exactly_one_trial_by_default() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    let trial = b.try_acquire().unwrap();
    for _ in 0..10 {
        assert_eq!(
            b.try_acquire().unwrap_err().reason(),
            RejectReason::HalfOpenFull
        );
    }
    trial.success();
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test]
async fn item_07_half_open_admits_exactly_n_trials_and_answers_the_rest_503() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .half_open_calls(4)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    let trials: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
    assert!(trials.iter().all(|t| t.is_trial()));
    let up = Upstream::new(200);
    let res = b
        .layer()
        .layer(up.service())
        .oneshot(Request::new(()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().reason(),
        "half-open-full"
    );
    assert_eq!(up.calls(), 0);
    for t in trials {
        t.success();
    }
    assert_eq!(b.state(), State::Closed);
}

// ---- 8. Half-open -> closed / open; maximum wait ----

#[test]
fn item_08_a_successful_trial_closes_a_failed_one_reopens() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        b.stats().retry_after,
        Some(SEC),
        "a full reset timeout again"
    );
    clock.advance(SEC);
    succeed(&b);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.stats().window.calls, 0, "closed with an empty window");
}

#[test]
fn item_08_the_trial_failure_rate_decides_with_n_trials() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .half_open_calls(4)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    // 2 failures of 4 = 50 %, not above: closes.
    let t: Vec<_> = (0..4).map(|_| b.try_acquire().unwrap()).collect();
    let mut t = t.into_iter();
    t.next().unwrap().failure();
    t.next().unwrap().success();
    t.next().unwrap().failure();
    assert_eq!(b.state(), State::HalfOpen);
    t.next().unwrap().success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn item_08_a_hung_trial_reopens_after_the_maximum_half_open_wait() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC)
        .max_half_open_wait(SEC * 5)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    let hung = b.try_acquire().unwrap();
    clock.advance(SEC * 4);
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(SEC);
    assert_eq!(b.state(), State::Open);
    hung.success();
    assert_eq!(b.state(), State::Open, "the late trial cannot close it");
    clock.advance(SEC);
    succeed(&b);
    assert_eq!(b.state(), State::Closed);
}

// ---- 9. In-flight calls from before the change ----

#[test]
fn item_09_a_call_started_while_closed_does_not_close_the_breaker_by_succeeding_late() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(2)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    let slow = b.try_acquire().unwrap();
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    slow.success();
    assert_eq!(b.state(), State::Open);
    // Nor does it pose as the half-open trial.
    let slow = b.try_acquire();
    assert!(slow.is_err());
    clock.advance(SEC);
    let trial = b.try_acquire().unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    drop(trial);
    let c = b.stats().counters;
    assert_eq!((c.successes, c.late), (1, 1), "counted once, in the totals");
}

#[test]
fn item_09_a_late_failure_neither_reopens_nor_counts_in_the_new_window() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    let before = b.try_acquire().unwrap();
    fail(&b);
    clock.advance(SEC);
    succeed(&b);
    assert_eq!(b.state(), State::Closed);
    before.failure();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.stats().window.calls, 0);
    assert_eq!(b.stats().counters.failures, 2);
}

// ---- 10. Ignored errors release half-open permits ----

#[tokio::test]
async fn item_10_an_ignored_error_gives_the_half_open_permit_back() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    let r = b
        .call_with(
            |_: &Result<(), &str>| Outcome::Ignored,
            || async { Err("ignored") },
        )
        .await;
    assert!(matches!(r, Err(BreakerError::Inner("ignored"))));
    assert_eq!(b.state(), State::HalfOpen);
    // The permit is free again: the next call is the trial.
    let trial = b.try_acquire().unwrap();
    assert!(trial.is_trial());
    trial.success();
    assert_eq!(b.state(), State::Closed);
}

// ---- 11. Cancellation and panics ----

#[tokio::test]
async fn item_11_a_dropped_call_releases_its_permit_and_counts_as_cancelled() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC)
        .capacity(1)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC);
    let call = b.call(std::future::pending::<Result<(), Infallible>>);
    assert_eq!(b.stats().in_flight, 1);
    drop(call);
    let s = b.stats();
    assert_eq!(
        (s.in_flight, s.counters.cancelled, s.counters.failures),
        (0, 1, 1)
    );
    assert_eq!(s.state, State::HalfOpen);
    assert!(b.try_acquire().unwrap().is_trial());
}

#[tokio::test]
async fn item_11_a_dropped_response_future_releases_its_permit() {
    let clock = ManualClock::new();
    let b = builder(&clock).capacity(1).build().unwrap();
    let svc = b.layer().layer(service_fn(|_req: Request<()>| async {
        std::future::pending::<Result<Response<String>, Infallible>>().await
    }));
    let mut svc2 = svc.clone();
    let fut = svc2.call(Request::new(()));
    assert_eq!(b.stats().in_flight, 1);
    // A client that hung up: the server drops the future.
    drop(fut);
    assert_eq!(b.stats().in_flight, 0);
    assert_eq!(b.stats().counters.cancelled, 1);
}

#[tokio::test]
async fn item_11_cancellations_can_count_as_failures() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .cancelled_calls(Outcome::Failure)
        .build()
        .unwrap();
    drop(b.call(std::future::pending::<Result<(), Infallible>>));
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn item_11_a_panicking_call_counts_as_a_failure_and_releases_its_permit() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .capacity(1)
        .build()
        .unwrap();
    let b2 = b.clone();
    let joined = tokio::spawn(async move {
        b2.call(|| async {
            tokio::task::yield_now().await;
            if true {
                panic!("handler bug");
            }
            Ok::<(), Infallible>(())
        })
        .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let s = b.stats();
    assert_eq!(
        (s.in_flight, s.counters.failures, s.counters.cancelled),
        (0, 1, 0)
    );
    assert_eq!(s.state, State::Open);
}

#[tokio::test]
async fn item_11_a_panicking_inner_service_counts_as_a_failure() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(100).build().unwrap();
    let mut svc = b.layer().layer(service_fn(|_req: Request<()>| {
        if true {
            panic!("service bug");
        }
        std::future::ready(Ok::<_, Infallible>(Response::new(String::new())))
    }));
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        drop(svc.call(Request::new(())));
    }));
    assert!(r.is_err());
    let s = b.stats();
    assert_eq!((s.in_flight, s.counters.failures), (0, 1));
}

// ---- 12. Timeouts ----

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn item_12_a_timeout_counts_once_and_drops_the_inner_future() {
    let (b, seen) = events(Breaker::builder("t").timeout(SEC * 3).minimum_calls(100));
    let b = b.build().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let svc = b.layer().layer(service_fn(move |_req: Request<()>| {
        let guard = DropFlag(flag.clone());
        async move {
            let _guard = guard;
            tokio::time::sleep(SEC * 60).await;
            Ok::<_, Infallible>(Response::new(String::new()))
        }
    }));
    let res = svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().reason(),
        "timeout"
    );
    assert!(
        dropped.load(Ordering::SeqCst),
        "the inner future was dropped"
    );
    let c = b.stats().counters;
    assert_eq!(
        (c.timeouts, c.failures, c.cancelled, c.permitted),
        (1, 0, 0, 1)
    );
    assert_eq!(b.stats().in_flight, 0);
    let calls = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, EventKind::Call { .. }))
        .count();
    assert_eq!(calls, 1, "one call event, not a timeout and a cancellation");
}

#[tokio::test(start_paused = true)]
async fn item_12_an_outer_timeout_does_not_leak_the_half_open_permit() {
    let b = Breaker::builder("t")
        .no_timeout()
        .minimum_calls(1)
        .reset_timeout(SEC)
        .build()
        .unwrap();
    fail(&b);
    tokio::time::advance(SEC).await;
    let slow = b.call(|| async {
        tokio::time::sleep(SEC * 60).await;
        Ok::<_, Infallible>(())
    });
    assert!(tokio::time::timeout(SEC, slow).await.is_err());
    let s = b.stats();
    assert_eq!(
        (s.state, s.in_flight, s.counters.cancelled),
        (State::HalfOpen, 0, 1)
    );
    assert!(b.try_acquire().unwrap().is_trial());
}

// ---- 13. Bulkhead ----

#[tokio::test]
async fn item_13_the_bulkhead_rejects_over_capacity_distinct_from_open() {
    let clock = ManualClock::new();
    let (b, seen) = events(builder(&clock).capacity(2));
    let b = b.build().unwrap();
    let a = b.try_acquire().unwrap();
    let _c = b.try_acquire().unwrap();
    let full = b.try_acquire().unwrap_err();
    assert_eq!(full.reason(), RejectReason::Bulkhead);
    let up = Upstream::new(200);
    let res = b
        .layer()
        .layer(up.service())
        .oneshot(Request::new(()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().reason(),
        "bulkhead-full"
    );
    assert_eq!(up.calls(), 0);
    assert_eq!(
        b.state(),
        State::Closed,
        "a full bulkhead is not an open breaker"
    );
    let c = b.stats().counters;
    assert_eq!((c.bulkhead_rejected, c.rejected), (2, 0));
    a.success();
    assert!(b.try_acquire().is_ok());
    assert!(seen.lock().unwrap().contains(&EventKind::Rejected {
        reason: RejectReason::Bulkhead
    }));
}

// ---- 14. Manual control ----

#[test]
fn item_14_forced_open_rejects_everything_until_reset() {
    let clock = ManualClock::new();
    let b = builder(&clock).build().unwrap();
    b.force_open();
    clock.advance(SEC * 3600);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(
        (r.reason(), r.retry_after()),
        (RejectReason::ForcedOpen, None)
    );
    b.reset();
    succeed(&b);
}

#[test]
fn item_14_disabled_counts_every_call_but_never_opens() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(1).build().unwrap();
    b.disable();
    for _ in 0..50 {
        fail(&b);
    }
    let s = b.stats();
    assert_eq!(s.state, State::Disabled);
    assert_eq!((s.counters.failures, s.window.calls), (50, 50));
}

#[test]
fn item_14_reset_closes_with_a_cleared_window() {
    let clock = ManualClock::new();
    let b = builder(&clock).minimum_calls(3).build().unwrap();
    fail(&b);
    fail(&b);
    b.reset();
    assert_eq!(b.stats().window.calls, 0);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed, "two failures since the reset");
    b.trip();
    assert_eq!(b.state(), State::Open);
    b.reset();
    assert_eq!(b.state(), State::Closed);
}

// ---- 15. Events and metrics ----

#[tokio::test]
async fn item_15_each_transition_is_reported_exactly_once_and_self_transitions_not_at_all() {
    let clock = ManualClock::new();
    let (b, seen) = events(builder(&clock).minimum_calls(1).reset_timeout(SEC));
    let b = b.build().unwrap();
    b.reset();
    b.state();
    fail(&b);
    for _ in 0..5 {
        let _ = b.try_acquire();
        b.state();
    }
    clock.advance(SEC);
    b.state();
    b.state();
    succeed(&b);
    b.force_open();
    b.force_open();
    b.disable();
    b.disable();
    b.reset();
    assert_eq!(
        transitions(&seen),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
            (State::Closed, State::ForcedOpen),
            (State::ForcedOpen, State::Disabled),
            (State::Disabled, State::Closed),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn item_15_success_failure_timeout_and_rejection_events_are_reported() {
    let (b, seen) = events(Breaker::builder("e").timeout(SEC).minimum_calls(3));
    let b = b.build().unwrap();
    b.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    let _ = b.call(|| async { Err::<(), _>(()) }).await;
    let _ = b
        .call(|| async {
            tokio::time::sleep(SEC * 2).await;
            Ok::<_, ()>(())
        })
        .await;
    let _ = b.call(|| async { Ok::<_, ()>(()) }).await;
    let outcomes: Vec<Outcome> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            EventKind::Call { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::Success, Outcome::Failure, Outcome::Timeout]
    );
    assert!(seen.lock().unwrap().contains(&EventKind::Rejected {
        reason: RejectReason::Open
    }));
}

// ---- 16. Per-key breakers ----

#[tokio::test]
async fn item_16_per_key_breakers_are_independent() {
    let clock = ManualClock::new();
    let registry = BreakerRegistry::new(
        builder(&clock).minimum_calls(1),
        16,
        Duration::from_secs(600),
    )
    .unwrap();
    let up = Upstream::new(500);
    let layer = BreakerLayer::keyed(registry.clone(), |req: &Request<()>| {
        req.uri().path().split('/').nth(1).map(str::to_owned)
    });
    let svc = layer.layer(up.service());
    let get = |path: &str| Request::get(path).body(()).unwrap();
    assert_eq!(
        svc.clone().oneshot(get("/a/1")).await.unwrap().status(),
        500
    );
    assert_eq!(
        svc.clone().oneshot(get("/a/2")).await.unwrap().status(),
        503
    );
    up.set(200);
    assert_eq!(
        svc.clone().oneshot(get("/b/1")).await.unwrap().status(),
        200
    );
    assert_eq!(registry.get(&"a".to_owned()).state(), State::Open);
    assert_eq!(registry.get(&"b".to_owned()).state(), State::Closed);
    assert_eq!(registry.get(&"a".to_owned()).name(), "test:a");
}

#[test]
fn item_16_the_registry_is_bounded_and_forgets_idle_keys() {
    let clock = ManualClock::new();
    let registry =
        BreakerRegistry::new(builder(&clock).reset_timeout(SEC * 30), 2, SEC * 60).unwrap();
    registry.get(&1).trip();
    clock.advance(SEC);
    registry.get(&2);
    clock.advance(SEC);
    // Full, nothing idle: the least recently used closed breaker makes room,
    // not the open one.
    registry.get(&3);
    assert_eq!(registry.len(), 2);
    assert!(registry.get_if_present(&2).is_none());
    assert_eq!(registry.get_if_present(&1).unwrap().state(), State::Open);

    // A key with a call running is not idle.
    let running = registry.get(&3).try_acquire().unwrap();
    clock.advance(SEC * 60);
    assert_eq!(registry.evict_idle(), 1);
    assert!(registry.get_if_present(&3).is_some());
    running.success();
    clock.advance(SEC * 60);
    assert_eq!(registry.evict_idle(), 1);
    assert!(registry.is_empty());
}

#[test]
fn item_16_an_idle_timeout_shorter_than_the_reset_timeout_is_refused() {
    let err =
        BreakerRegistry::<String>::new(Breaker::builder("r").reset_timeout(SEC * 30), 10, SEC * 10)
            .unwrap_err();
    assert!(err.to_string().contains("10s"), "{err}");
    assert!(err.to_string().contains("30s"), "{err}");
}

// ---- 17. Local state; export and import ----

#[test]
fn item_17_breakers_share_nothing_unless_cloned() {
    let clock = ManualClock::new();
    let a = builder(&clock).minimum_calls(1).build().unwrap();
    let b = builder(&clock).minimum_calls(1).build().unwrap();
    fail(&a);
    assert_eq!((a.state(), b.state()), (State::Open, State::Closed));
    assert_eq!(a.clone().state(), State::Open);
}

#[test]
fn item_17_a_snapshot_restarts_the_breaker_open_for_the_time_left() {
    let clock = ManualClock::new();
    let b = builder(&clock)
        .minimum_calls(1)
        .reset_timeout(SEC * 30)
        .build()
        .unwrap();
    fail(&b);
    clock.advance(SEC * 10);
    let snap = b.snapshot();
    assert_eq!(snap.state(), State::Open);
    assert_eq!(snap.open_for(), SEC * 20);
    assert_eq!(snap.counters().failures, 1);

    let later = snap.taken_at() + SEC * 5;
    assert_eq!(snap.open_remaining_at(later), SEC * 15);
    assert_eq!(
        snap.open_remaining_at(snap.taken_at() + SEC * 99),
        Duration::ZERO
    );

    let clock2 = ManualClock::new();
    let restarted = builder(&clock2).restore(snap.clone()).build().unwrap();
    assert_eq!(restarted.state(), State::Open);
    let left = restarted.stats().retry_after.unwrap();
    assert!(left <= SEC * 20 && left > SEC * 19, "{left:?}");
    assert_eq!(
        restarted.stats().counters.failures,
        0,
        "counters restart at zero"
    );
    clock2.advance(SEC * 20);
    assert!(restarted.try_acquire().unwrap().is_trial());
}

#[cfg(feature = "serde")]
#[test]
fn item_17_a_snapshot_round_trips_through_json() {
    let clock = ManualClock::new();
    let b = builder(&clock).build().unwrap();
    b.force_open();
    let json = serde_json::to_string(&b.snapshot()).unwrap();
    assert!(json.contains("\"forced_open\""), "{json}");
    let back: harden_breaker::Snapshot = serde_json::from_str(&json).unwrap();
    let restarted = builder(&clock).restore(back).build().unwrap();
    assert_eq!(restarted.state(), State::ForcedOpen);
}

// ---- 18. Fallbacks are not cached ----

#[tokio::test]
async fn item_18_fallback_responses_are_marked_no_store_unless_allowed() {
    let clock = ManualClock::new();
    let b = builder(&clock).build().unwrap();
    b.trip();
    let fallback = |_: &http::request::Parts, _: &harden_breaker::Rejected| {
        Some(
            Response::builder()
                .header("cache-control", "public, max-age=600")
                .body(Bytes::from_static(b"stale copy"))
                .unwrap(),
        )
    };
    let up = Upstream::new(200);
    let res = b
        .layer()
        .fallback(fallback)
        .layer(up.service())
        .oneshot(Request::new(()))
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");

    let res = b
        .layer()
        .fallback(fallback)
        .fallback_cacheable()
        .layer(up.service())
        .oneshot(Request::new(()))
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=600");
}
