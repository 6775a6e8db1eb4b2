//! The layer around a real HTTP client (hyper-util's) calling a real upstream
//! on 127.0.0.1 that fails: the breaker opens (503 + `Retry-After`, the
//! upstream no longer called), then closes again once the upstream recovers.
//! Real time, short reset timeouts, every wait bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::StatusCode as AxumStatus;
use axum::routing;
use bytes::Bytes;
use harden_breaker::{Breaker, BreakerService, State};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

#[derive(Clone, Default)]
struct Upstream {
    failing: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
}

async fn handler(AxumState(up): AxumState<Upstream>) -> (AxumStatus, &'static str) {
    up.hits.fetch_add(1, Ordering::SeqCst);
    if up.failing.load(Ordering::SeqCst) {
        (AxumStatus::INTERNAL_SERVER_ERROR, "broken")
    } else {
        (AxumStatus::OK, "fine")
    }
}

async fn serve(up: Upstream) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/item", routing::get(handler))
        .with_state(up);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

type Guarded = BreakerService<Client<HttpConnector, Empty<Bytes>>>;

fn client(breaker: &Breaker) -> Guarded {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    breaker.layer().layer(client)
}

async fn get(svc: &Guarded, addr: SocketAddr) -> (StatusCode, Option<String>) {
    let req = Request::get(format!("http://{addr}/item"))
        .body(Empty::new())
        .unwrap();
    match svc.clone().oneshot(req).await {
        Ok(res) => {
            let status = res.status();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let _ = res.into_body().collect().await;
            (status, retry)
        }
        Err(_) => (StatusCode::BAD_GATEWAY, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upstream_opens_the_breaker_and_a_recovered_one_closes_it() {
    let up = Upstream::default();
    let addr = serve(up.clone()).await;
    let breaker = Breaker::builder("upstream")
        .minimum_calls(3)
        .error_threshold_percent(50)
        .reset_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let svc = client(&breaker);

    assert_eq!(get(&svc, addr).await.0, StatusCode::OK);
    up.failing.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        assert_eq!(get(&svc, addr).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    }
    // 2 failures of 3 calls: open.
    assert_eq!(breaker.state(), State::Open);
    let hits = up.hits.load(Ordering::SeqCst);
    let (status, retry) = get(&svc, addr).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        hits,
        "upstream not called while open"
    );

    up.failing.store(false, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..200 {
        if get(&svc, addr).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(recovered, "the breaker never let a trial through");
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(get(&svc, addr).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_count_as_failures() {
    // A port that was just free: nothing listens on it any more.
    let addr = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let breaker = Breaker::builder("gone")
        .minimum_calls(2)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let svc = client(&breaker);
    for _ in 0..2 {
        assert_eq!(
            get(&svc, addr).await.0,
            StatusCode::BAD_GATEWAY,
            "a client error"
        );
    }
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(get(&svc, addr).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(breaker.stats().counters.failures, 2);
}
