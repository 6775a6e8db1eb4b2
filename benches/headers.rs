//! Per-request cost of harden-headers and harden-core's request ids beside the
//! tower-http layers configured to do the same job, in the same run.
//!
//! Each group has a `baseline` (the bare handler); a layer's added cost is its
//! time minus the baseline. `cargo bench --bench headers`, then
//! `python3 benches/report.py` prints the table of docs/PERFORMANCE.md.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use harden::ip::Scheme;
use tower::ServiceBuilder;

fn security_headers(c: &mut Criterion) {
    let mut g = c.benchmark_group("security_headers");
    let mut baseline = handler();
    g.bench_function("baseline", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut baseline, r)),
            BatchSize::SmallInput,
        )
    });
    let mut ours = with(harden_headers_layer(), handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut ours, r)),
            BatchSize::SmallInput,
        )
    });
    let mut single = tower_http_single_headers(handler());
    g.bench_function("tower-http x11", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut single, r)),
            BatchSize::SmallInput,
        )
    });
    let mut multiple = with(tower_http_multiple_headers(), handler());
    g.bench_function("tower-http multiple", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut multiple, r)),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("security_headers_https");
    let https_request = || {
        let mut r = get_request();
        r.extensions_mut().insert(Scheme::Https);
        r
    };
    let mut baseline = handler();
    g.bench_function("baseline", |b| {
        b.iter_batched(
            https_request,
            |r| black_box(call(&mut baseline, r)),
            BatchSize::SmallInput,
        )
    });
    let mut ours = with(harden_headers_layer(), handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            https_request,
            |r| black_box(call(&mut ours, r)),
            BatchSize::SmallInput,
        )
    });
    let mut nonce = with(harden_nonce_layer(), handler());
    g.bench_function("harden with CSP nonce", |b| {
        b.iter_batched(
            https_request,
            |r| black_box(call(&mut nonce, r)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn cors(c: &mut Criterion) {
    let mut g = c.benchmark_group("cors_actual");
    let mut baseline = handler();
    g.bench_function("baseline", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut baseline, r)),
            BatchSize::SmallInput,
        )
    });
    let mut ours = with(harden_cors(), handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut ours, r)),
            BatchSize::SmallInput,
        )
    });
    let mut peer = with(tower_http_cors(), handler());
    g.bench_function("tower-http", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut peer, r)),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("cors_preflight");
    let mut ours = with(harden_cors(), handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            preflight_request,
            |r| black_box(call(&mut ours, r)),
            BatchSize::SmallInput,
        )
    });
    let mut peer = with(tower_http_cors(), handler());
    g.bench_function("tower-http", |b| {
        b.iter_batched(
            preflight_request,
            |r| black_box(call(&mut peer, r)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn headers_and_cors(c: &mut Criterion) {
    let mut g = c.benchmark_group("headers_and_cors");
    let mut baseline = handler();
    g.bench_function("baseline", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut baseline, r)),
            BatchSize::SmallInput,
        )
    });
    let mut ours = ServiceBuilder::new()
        .layer(harden_headers_layer())
        .layer(harden_cors())
        .service(handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut ours, r)),
            BatchSize::SmallInput,
        )
    });
    let mut peer = tower_http_single_headers(with(tower_http_cors(), handler()));
    g.bench_function("tower-http x11 + cors", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut peer, r)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn request_id(c: &mut Criterion) {
    let mut g = c.benchmark_group("request_id");
    let mut baseline = handler();
    g.bench_function("baseline", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut baseline, r)),
            BatchSize::SmallInput,
        )
    });
    let mut ours = with(harden_request_id(), handler());
    g.bench_function("harden", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut ours, r)),
            BatchSize::SmallInput,
        )
    });
    let mut peer = tower_http_request_id(handler());
    g.bench_function("tower-http", |b| {
        b.iter_batched(
            get_request,
            |r| black_box(call(&mut peer, r)),
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
    targets = security_headers, cors, headers_and_cors, request_id
}
criterion_main!(benches);
