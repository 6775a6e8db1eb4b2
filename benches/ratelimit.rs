//! Per-request cost of harden-ratelimit's in-memory layer beside
//! tower_governor's `GovernorLayer`, in the same run; Redis checks per second
//! from 1 and 64 concurrent callers; heap per tracked key of both.
//!
//! `cargo bench --bench ratelimit`, then `python3 benches/report.py`. Redis
//! groups read `REDIS_URL` (default `redis://127.0.0.1:6379`) and are skipped
//! when it is unreachable.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use common::{bench, call};
use criterion::{Criterion, Throughput, criterion_group};
use harden::ratelimit::{Policy, Quota, RateLimiter, RedisStore};
use http::{Request, Response};
use tower::{Layer, Service, service_fn};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const KEYS: u32 = 100_000;

fn handler() -> impl Service<
    Request<()>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(|_req: Request<()>| ready(Ok(Response::new(Body::from("{\"ok\":true}")))))
}

fn request_from(ip: IpAddr) -> Request<()> {
    let mut req = Request::get("/api/data").body(()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    req
}

fn one_key() -> Request<()> {
    request_from(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn many_keys() -> Request<()> {
    let i = NEXT.fetch_add(1, Ordering::Relaxed) % KEYS;
    request_from(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i)))
}

/// A quota no benchmark exhausts: every request is admitted by both.
fn harden_limiter(headers: bool) -> RateLimiter {
    let mut b = RateLimiter::builder()
        .policy(Policy::new(
            "ip",
            Quota::per_second(100_000_000).burst(10_000_000),
        ))
        .max_keys(2 * KEYS as usize);
    if !headers {
        b = b.no_headers_on_admitted();
    }
    b.build().unwrap()
}

/// tower_governor on the peer address, with the same always-admitting quota.
macro_rules! governor_layer {
    () => {
        GovernorLayer::new(Arc::new(
            GovernorConfigBuilder::default()
                .per_nanosecond(10)
                .burst_size(10_000_000)
                .finish()
                .unwrap(),
        ))
    };
    (headers) => {
        GovernorLayer::new(Arc::new(
            GovernorConfigBuilder::default()
                .per_nanosecond(10)
                .burst_size(10_000_000)
                .use_headers()
                .finish()
                .unwrap(),
        ))
    };
}

fn in_memory(c: &mut Criterion) {
    for (group, make) in [
        ("ratelimit_one_key", one_key as fn() -> Request<()>),
        ("ratelimit_100k_keys", many_keys as fn() -> Request<()>),
    ] {
        let mut g = c.benchmark_group(group);
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(4));
        bench(&mut g, "baseline", handler(), make);
        bench(
            &mut g,
            "harden",
            harden_limiter(false).layer().layer(handler()),
            make,
        );
        bench(
            &mut g,
            "harden with headers",
            harden_limiter(true).layer().layer(handler()),
            make,
        );
        bench(
            &mut g,
            "tower_governor",
            governor_layer!().layer(handler()),
            make,
        );
        bench(
            &mut g,
            "tower_governor with headers",
            governor_layer!(headers).layer(handler()),
            make,
        );
        g.finish();
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis_checks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let prefix = format!("harden-bench:{}", std::process::id());
    let limiter = rt.block_on(async {
        let store = RedisStore::builder(redis_url())
            .prefix(prefix)
            .command_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let limiter = RateLimiter::builder()
            .policy(Policy::new(
                "ip",
                Quota::per_second(100_000_000).burst(10_000_000),
            ))
            .redis(store)
            .build()
            .unwrap();
        let probe = limiter.check((&one_key()).into()).await;
        (limiter.stats().store_errors == 0 && probe.is_admitted()).then_some(limiter)
    });
    let Some(limiter) = limiter else {
        println!(
            "ratelimit_redis: skipped, Redis at {} is unreachable",
            redis_url()
        );
        return;
    };
    let mut g = c.benchmark_group("ratelimit_redis");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for callers in [1u64, 64] {
        g.bench_function(format!("{callers} callers"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let per = iters.div_ceil(callers);
                    let start = Instant::now();
                    let mut tasks = Vec::new();
                    for t in 0..callers {
                        let limiter = limiter.clone();
                        tasks.push(tokio::spawn(async move {
                            let req =
                                request_from(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | t as u32)));
                            for _ in 0..per {
                                black_box(limiter.check((&req).into()).await);
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                    // Elapsed per `iters` checks, so criterion's rate is checks/s.
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per * callers) as f64)
                })
            })
        });
    }
    g.finish();
    assert_eq!(
        limiter.stats().store_errors,
        0,
        "Redis failed during the run"
    );
}

const MEMORY_KEYS: u32 = 20_000;

/// Heap per tracked key: 20,000 keys into each limiter, measured by dhat.
fn memory_per_key() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let heap = || dhat::HeapStats::get().curr_bytes as f64;
    let peer = |i: u32| {
        ConnectInfo(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i)),
            1,
        ))
    };

    let before = heap();
    let limiter = RateLimiter::builder()
        .policy(Policy::new(
            "ip",
            Quota::per_second(100_000_000).burst(10_000_000),
        ))
        .max_keys(MEMORY_KEYS as usize)
        .no_headers_on_admitted()
        .build()
        .unwrap();
    let mut svc = limiter.layer().layer(handler());
    for i in 0..MEMORY_KEYS {
        let mut req = one_key();
        req.extensions_mut().insert(peer(i));
        black_box(call(&mut svc, req));
    }
    let harden = (heap() - before) / f64::from(MEMORY_KEYS);
    let tracked = limiter.stats().tracked_keys;
    drop(svc);
    drop(limiter);

    let before = heap();
    let mut svc = governor_layer!().layer(handler());
    for i in 0..MEMORY_KEYS {
        let mut req = one_key();
        req.extensions_mut().insert(peer(i));
        black_box(call(&mut svc, req));
    }
    let governor = (heap() - before) / f64::from(MEMORY_KEYS);
    println!(
        "ratelimit_memory: heap per key after {MEMORY_KEYS} distinct keys: harden {harden:.1} B \
         (max_keys {MEMORY_KEYS}, {tracked} tracked), tower_governor {governor:.1} B (unbounded)"
    );
}

criterion_group!(benches, in_memory, redis_checks);

fn main() {
    benches();
    memory_per_key();
    Criterion::default().configure_from_args().final_summary();
}
