//! Heap allocations per request of each stack in `benches/headers.rs`,
//! counted with dhat's allocator: `cargo bench --bench memory`.
//!
//! Allocation counts and bytes do not depend on the machine's speed, so unlike
//! timings they are exact and repeatable. A layer's added cost is its count
//! minus the baseline's.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use common::*;
use harden::ip::Scheme;
use http::Request;
use tower::{Service, ServiceBuilder};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const REQUESTS: u64 = 2_000;

/// Allocations and bytes per request for `svc`, request construction excluded.
fn measure<S, R>(mut svc: S, make: fn() -> Request<()>) -> (f64, f64)
where
    S: Service<Request<()>, Response = R>,
    S::Error: std::fmt::Debug,
{
    let requests: Vec<_> = (0..REQUESTS).map(|_| make()).collect();
    black_box(call(&mut svc, make()));
    let before = dhat::HeapStats::get();
    for r in requests {
        black_box(call(&mut svc, r));
    }
    let after = dhat::HeapStats::get();
    let n = REQUESTS as f64;
    (
        (after.total_blocks - before.total_blocks) as f64 / n,
        (after.total_bytes - before.total_bytes) as f64 / n,
    )
}

fn row(group: &str, name: &str, (blocks, bytes): (f64, f64), base: (f64, f64)) {
    println!(
        "| {group} | {name} | {blocks:.2} | {bytes:.0} | {:+.2} | {:+.0} |",
        blocks - base.0,
        bytes - base.1
    );
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    println!(
        "| group | stack | allocations / request | bytes / request | added allocations | added bytes |"
    );
    println!("|---|---|---:|---:|---:|---:|");

    let base = measure(handler(), get_request);
    row("security_headers", "baseline", base, base);
    row(
        "security_headers",
        "harden",
        measure(with(harden_headers_layer(), handler()), get_request),
        base,
    );
    row(
        "security_headers",
        "tower-http x11",
        measure(tower_http_single_headers(handler()), get_request),
        base,
    );
    row(
        "security_headers",
        "tower-http multiple",
        measure(with(tower_http_multiple_headers(), handler()), get_request),
        base,
    );
    fn https() -> Request<()> {
        let mut r = get_request();
        r.extensions_mut().insert(Scheme::Https);
        r
    }
    let base_https = measure(handler(), https);
    row(
        "security_headers_https",
        "harden",
        measure(with(harden_headers_layer(), handler()), https),
        base_https,
    );
    row(
        "security_headers_https",
        "harden with CSP nonce",
        measure(with(harden_nonce_layer(), handler()), https),
        base_https,
    );

    row(
        "cors_actual",
        "harden",
        measure(with(harden_cors(), handler()), get_request),
        base,
    );
    row(
        "cors_actual",
        "tower-http",
        measure(with(tower_http_cors(), handler()), get_request),
        base,
    );
    let base_pre = measure(handler(), preflight_request);
    row(
        "cors_preflight",
        "harden",
        measure(with(harden_cors(), handler()), preflight_request),
        base_pre,
    );
    row(
        "cors_preflight",
        "tower-http",
        measure(with(tower_http_cors(), handler()), preflight_request),
        base_pre,
    );

    let ours = ServiceBuilder::new()
        .layer(harden_headers_layer())
        .layer(harden_cors())
        .service(handler());
    row(
        "headers_and_cors",
        "harden",
        measure(ours, get_request),
        base,
    );
    row(
        "headers_and_cors",
        "tower-http x11 + cors",
        measure(
            tower_http_single_headers(with(tower_http_cors(), handler())),
            get_request,
        ),
        base,
    );

    row(
        "request_id",
        "harden",
        measure(with(harden_request_id(), handler()), get_request),
        base,
    );
    row(
        "request_id",
        "tower-http",
        measure(tower_http_request_id(handler()), get_request),
        base,
    );
}
