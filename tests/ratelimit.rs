//! harden-ratelimit inside the family: CORS outside the limiter puts its
//! headers on the 429, and the example's stack serves over real TCP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;

use harden::harden_core::ip::PeerAddr;
use harden::{Cors, Policy, Quota, RateLimiter};
use http::{Request, Response, StatusCode};
use tower::{Layer, ServiceExt, service_fn};

#[tokio::test]
async fn a_429_carries_cors_headers_when_cors_sits_outside() {
    let cors = Cors::builder()
        .allow_origin("https://app.example.com")
        .allow_credentials(true)
        .build()
        .unwrap();
    let limiter = RateLimiter::new(Policy::new("ip", Quota::per_minute(1))).unwrap();
    let handler = service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::from("ok")))
    });
    let svc = cors.layer().layer(limiter.layer().layer(handler));
    let req = || {
        let mut r = Request::builder()
            .uri("/api")
            .header("origin", "https://app.example.com")
            .body(())
            .unwrap();
        r.extensions_mut()
            .insert(PeerAddr(SocketAddr::from(([192, 0, 2, 1], 4000))));
        r
    };
    assert_eq!(
        svc.clone().oneshot(req()).await.unwrap().status(),
        StatusCode::OK
    );
    let res = svc.oneshot(req()).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["retry-after"], "60");
    // The browser may read the rate-limit fields only if CORS exposes them;
    // the status and Retry-After are readable either way.
    assert!(h.get("ratelimit").is_some());
}
