//! Load shedding: soft and hard limits on requests in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use harden_core::Rejection;
use harden_ratelimit::{LoadShed, OverSoftLimit};
use http::{Request, Response, StatusCode};
use tokio::sync::Semaphore;
use tower::{Layer, Service, ServiceExt, service_fn};

/// A handler that waits for a permit, and reports whether it saw `OverSoftLimit`.
fn gated(
    gate: Arc<Semaphore>,
) -> impl Service<Request<()>, Response = Response<String>, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    service_fn(move |req: Request<()>| {
        let gate = gate.clone();
        async move {
            let over = req.extensions().get::<OverSoftLimit>().copied();
            let _permit = gate.acquire().await.unwrap();
            Ok::<_, Infallible>(Response::new(format!("{:?}", over.map(|o| o.in_flight))))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_hard_limit_new_requests_get_503_at_once() {
    let shed = LoadShed::new(2, 3)
        .unwrap()
        .retry_after(Duration::from_millis(1500));
    let gate = Arc::new(Semaphore::new(0));
    let svc = shed.layer().layer(gated(gate.clone()));

    let mut held = Vec::new();
    for _ in 0..3 {
        let svc = svc.clone();
        held.push(tokio::spawn(
            async move { svc.oneshot(Request::new(())).await },
        ));
    }
    // Wait (bounded) until the three are in flight.
    for _ in 0..200 {
        if shed.in_flight() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(shed.in_flight(), 3);
    assert!(shed.is_over_soft_limit());

    // poll_ready is not held back: readiness is immediate, the answer is 503.
    let mut one = svc.clone();
    let ready = tokio::time::timeout(Duration::from_secs(5), one.ready()).await;
    assert!(ready.is_ok(), "poll_ready must not wait at the hard limit");
    let res = tokio::time::timeout(Duration::from_secs(5), one.call(Request::new(())))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "2");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.extensions().get::<Rejection>().unwrap().layer(), "shed");
    assert_eq!(shed.shed_total(), 1);
    assert_eq!(shed.in_flight(), 3);

    gate.add_permits(3);
    let mut bodies = Vec::new();
    for h in held {
        let res = h.await.unwrap().unwrap();
        assert_eq!(res.status(), 200);
        use http_body_util::BodyExt;
        bodies.push(
            String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
                .unwrap(),
        );
    }
    bodies.sort();
    // Exactly one request started above the soft limit of 2, as the third.
    assert_eq!(bodies, ["None", "None", "Some(3)"]);
    assert_eq!(shed.over_soft_total(), 1);
    assert_eq!(shed.in_flight(), 0);

    // Capacity is back.
    gate.add_permits(1);
    let res = svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_dropped_request_gives_its_slot_back() {
    let shed = LoadShed::new(1, 1).unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let mut svc = shed.layer().layer(gated(gate.clone()));
    let fut = svc.ready().await.unwrap().call(Request::new(()));
    assert_eq!(shed.in_flight(), 1);
    drop(fut);
    assert_eq!(shed.in_flight(), 0);
}

#[test]
fn limits_must_be_ordered() {
    assert!(LoadShed::new(0, 5).is_err());
    let e = LoadShed::new(30, 25).unwrap_err();
    assert!(
        e.to_string().contains("30") && e.to_string().contains("25"),
        "{e}"
    );
    let p = LoadShed::playbook();
    assert_eq!(
        format!("{p:?}"),
        "LoadShed { soft: 20, hard: 25, in_flight: 0 }"
    );
}
