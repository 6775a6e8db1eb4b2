//! Per-request cost of harden-headers and harden-core's request ids beside the
//! tower-http layers configured to do the same job, in the same run.
//!
//! Each group has a `baseline` (the bare handler); a layer's added cost is its
//! time minus the baseline. `cargo bench --bench headers`, then
//! `python3 benches/report.py` prints the table of docs/PERFORMANCE.md.

mod common;

use std::time::Duration;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use harden::ip::Scheme;
use http::Request;
use tower::ServiceBuilder;

fn https_request() -> Request<()> {
    let mut r = get_request();
    r.extensions_mut().insert(Scheme::Https);
    r
}

fn security_headers(c: &mut Criterion) {
    let mut g = c.benchmark_group("security_headers");
    bench(&mut g, "baseline", handler(), get_request);
    bench(
        &mut g,
        "harden",
        with(harden_headers_layer(), handler()),
        get_request,
    );
    bench(
        &mut g,
        "tower-http x11",
        tower_http_single_headers(handler()),
        get_request,
    );
    let multiple = with(tower_http_multiple_headers(), handler());
    bench(&mut g, "tower-http multiple", multiple, get_request);
    g.finish();

    let mut g = c.benchmark_group("security_headers_https");
    bench(&mut g, "baseline", handler(), https_request);
    bench(
        &mut g,
        "harden",
        with(harden_headers_layer(), handler()),
        https_request,
    );
    let nonce = with(harden_nonce_layer(), handler());
    bench(&mut g, "harden with CSP nonce", nonce, https_request);
    g.finish();
}

fn cors(c: &mut Criterion) {
    let mut g = c.benchmark_group("cors_actual");
    bench(&mut g, "baseline", handler(), get_request);
    bench(
        &mut g,
        "harden",
        with(harden_cors(), handler()),
        get_request,
    );
    bench(
        &mut g,
        "tower-http",
        with(tower_http_cors(), handler()),
        get_request,
    );
    g.finish();

    let mut g = c.benchmark_group("cors_preflight");
    bench(
        &mut g,
        "harden",
        with(harden_cors(), handler()),
        preflight_request,
    );
    bench(
        &mut g,
        "tower-http",
        with(tower_http_cors(), handler()),
        preflight_request,
    );
    g.finish();
}

fn headers_and_cors(c: &mut Criterion) {
    let mut g = c.benchmark_group("headers_and_cors");
    bench(&mut g, "baseline", handler(), get_request);
    let ours = ServiceBuilder::new()
        .layer(harden_headers_layer())
        .layer(harden_cors())
        .service(handler());
    bench(&mut g, "harden", ours, get_request);
    let peer = tower_http_single_headers(with(tower_http_cors(), handler()));
    bench(&mut g, "tower-http x11 + cors", peer, get_request);
    g.finish();
}

fn request_id(c: &mut Criterion) {
    let mut g = c.benchmark_group("request_id");
    bench(&mut g, "baseline", handler(), get_request);
    bench(
        &mut g,
        "harden",
        with(harden_request_id(), handler()),
        get_request,
    );
    bench(
        &mut g,
        "tower-http",
        tower_http_request_id(handler()),
        get_request,
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = security_headers, cors, headers_and_cors, request_id
}
criterion_main!(benches);
