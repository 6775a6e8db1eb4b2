//! The stacks compared by the benches: each harden layer beside the peer
//! configured to do the same job, over one trivial handler, and a way to drive
//! a request through a stack without a runtime (every future here is ready on
//! its first poll).

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup};
use harden::{Cors, RequestIdLayer, SecurityHeaders, SecurityHeadersLayer};
use http::header::{
    AUTHORIZATION, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_DNS_PREFETCH_CONTROL,
    X_FRAME_OPTIONS, X_XSS_PROTECTION,
};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower::{Layer, Service, ServiceBuilder, service_fn};
use tower_http::cors::AllowOrigin;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::set_header::response::SetMultipleResponseHeadersLayer;

pub const ORIGIN: &str = "https://app.example.com";

/// What the handler answers.
pub type Answer = Result<Response<Full<Bytes>>, Infallible>;

/// The handler every stack wraps: a small JSON answer.
pub fn handler() -> impl Service<
    Request<()>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = Ready<Answer>,
> + Clone {
    service_fn(|_req: Request<()>| {
        let mut res = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        ready(Ok(res))
    })
}

/// A browser's GET from the allowed origin.
pub fn get_request() -> Request<()> {
    Request::get("/api/data")
        .header("host", "api.example.com")
        .header("origin", ORIGIN)
        .header("accept", "application/json")
        .header("user-agent", "bench")
        .body(())
        .unwrap()
}

/// A browser's preflight for a PUT with a JSON body.
pub fn preflight_request() -> Request<()> {
    Request::options("/api/data")
        .header("host", "api.example.com")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(())
        .unwrap()
}

/// Sends `req` through `svc` and returns the response: poll_ready, call and
/// one poll of the future, as a server would, minus the I/O.
pub fn call<S, B, R>(svc: &mut S, req: Request<B>) -> R
where
    S: Service<Request<B>, Response = R>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("service not ready"),
    }
    let mut future = pin!(svc.call(req));
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(res)) => res,
        _ => panic!("response not ready on the first poll"),
    }
}

/// Benchmarks one stack: `make` builds each request outside the measurement.
pub fn bench<S, R>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut svc: S,
    make: fn() -> Request<()>,
) where
    S: Service<Request<()>, Response = R>,
    S::Error: std::fmt::Debug,
{
    g.bench_function(name, |b| {
        b.iter_batched(
            make,
            |r| black_box(call(&mut svc, r)),
            BatchSize::SmallInput,
        )
    });
}

/// The eleven headers helmet sets on a plain-HTTP response (all but HSTS).
pub fn helmet_headers() -> Vec<(HeaderName, HeaderValue)> {
    let csp = "default-src 'self';base-uri 'self';font-src 'self' https: data:;\
               form-action 'self';frame-ancestors 'self';img-src 'self' data:;\
               object-src 'none';script-src 'self';script-src-attr 'none';\
               style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests";
    [
        ("content-security-policy", csp),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("origin-agent-cluster", "?1"),
        (REFERRER_POLICY.as_str(), "no-referrer"),
        (X_CONTENT_TYPE_OPTIONS.as_str(), "nosniff"),
        (X_DNS_PREFETCH_CONTROL.as_str(), "off"),
        ("x-download-options", "noopen"),
        (X_FRAME_OPTIONS.as_str(), "SAMEORIGIN"),
        ("x-permitted-cross-domain-policies", "none"),
        (X_XSS_PROTECTION.as_str(), "0"),
    ]
    .into_iter()
    .map(|(n, v)| {
        (
            HeaderName::from_static(n),
            HeaderValue::from_str(v).unwrap(),
        )
    })
    .collect()
}

/// harden's helmet preset.
pub fn harden_headers_layer() -> SecurityHeadersLayer {
    SecurityHeadersLayer::new(SecurityHeaders::helmet())
}

/// harden's helmet preset with a per-request CSP nonce.
pub fn harden_nonce_layer() -> SecurityHeadersLayer {
    SecurityHeadersLayer::new(
        SecurityHeaders::helmet()
            .into_builder()
            .csp_nonce(true)
            .build()
            .unwrap(),
    )
}

/// The peer as the issue describes it: one tower-http
/// `SetResponseHeaderLayer::if_not_present` per header.
pub fn tower_http_single_headers<S>(
    inner: S,
) -> impl Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
where
    S: Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone,
{
    let h = helmet_headers();
    let layer = |i: usize| {
        let (name, value) = h[i].clone();
        SetResponseHeaderLayer::if_not_present(name, value)
    };
    ServiceBuilder::new()
        .layer(layer(0))
        .layer(layer(1))
        .layer(layer(2))
        .layer(layer(3))
        .layer(layer(4))
        .layer(layer(5))
        .layer(layer(6))
        .layer(layer(7))
        .layer(layer(8))
        .layer(layer(9))
        .layer(layer(10))
        .service(inner)
}

/// tower-http's newer one-layer form: `SetMultipleResponseHeadersLayer`.
pub fn tower_http_multiple_headers() -> SetMultipleResponseHeadersLayer<Response<Full<Bytes>>> {
    SetMultipleResponseHeadersLayer::if_not_present(
        helmet_headers().into_iter().map(Into::into).collect(),
    )
}

/// harden's CORS: one origin, credentials, the example's methods and headers.
pub fn harden_cors() -> harden::CorsLayer {
    Cors::builder()
        .allow_origin(ORIGIN)
        .allow_credentials(true)
        .allow_methods(["GET", "POST", "PUT", "DELETE"])
        .allow_headers(["content-type", "authorization", "x-requested-with"])
        .max_age(Duration::from_secs(600))
        .build()
        .unwrap()
        .layer()
}

/// tower-http's `CorsLayer` configured to do the same job.
pub fn tower_http_cors() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(ORIGIN)]))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            CONTENT_TYPE,
            AUTHORIZATION,
            HeaderName::from_static("x-requested-with"),
        ])
        .max_age(Duration::from_secs(600))
}

/// harden's request ids.
pub fn harden_request_id() -> RequestIdLayer {
    RequestIdLayer::new()
}

/// tower-http's request ids, set and propagated, UUID v4.
pub fn tower_http_request_id<S>(
    inner: S,
) -> impl Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
where
    S: Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone,
{
    ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .service(inner)
}

/// Wraps with a layer, for symmetry in the bench bodies.
pub fn with<L: Layer<S>, S>(layer: L, inner: S) -> L::Service {
    layer.layer(inner)
}
