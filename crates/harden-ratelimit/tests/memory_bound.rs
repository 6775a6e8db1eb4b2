//! A flood of distinct keys cannot grow the limiter without bound, and a
//! legitimate key stays limited through it. Heap measured with dhat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use harden_core::ip::PeerAddr;
use harden_ratelimit::{MAX_BYTES_PER_KEY, ManualClock, Policy, Quota, RateLimiter, Verdict};
use http::Request;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn from(ip: IpAddr) -> Request<()> {
    let mut req = Request::new(());
    req.extensions_mut()
        .insert(PeerAddr(SocketAddr::new(ip, 1)));
    req
}

#[tokio::test(flavor = "current_thread")]
async fn a_million_distinct_keys_stay_under_the_documented_bound() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let clock = ManualClock::new();
    let max_keys = 10_000;
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", Quota::per_minute(2)))
        .max_keys(max_keys)
        .clock(clock.clone())
        .build()
        .unwrap();
    let before = dhat::HeapStats::get().curr_bytes;

    let legit = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    for _ in 0..2 {
        assert_eq!(
            limiter.check((&from(legit)).into()).await.verdict(),
            Verdict::Admitted
        );
    }
    let mut peak = 0;
    // One request whose peer changes in place: the flood itself allocates nothing.
    let mut flood = from(legit);
    for i in 0..1_000_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i));
        flood.extensions_mut().get_mut::<PeerAddr>().unwrap().0 = SocketAddr::new(ip, 1);
        let _ = limiter.check((&flood).into()).await;
        if i % 50_000 == 0 {
            peak = peak.max(dhat::HeapStats::get().curr_bytes - before);
            // The legitimate client is still limited in the middle of the flood.
            assert_eq!(
                limiter.check((&from(legit)).into()).await.verdict(),
                Verdict::Limited
            );
        }
    }
    peak = peak.max(dhat::HeapStats::get().curr_bytes - before);
    let stats = limiter.stats();
    println!(
        "1M keys, cap {max_keys}: peak {peak} bytes ({} per key of cap), {} tracked, {} evicted",
        peak / max_keys,
        stats.tracked_keys,
        stats.evicted_keys
    );
    assert!(stats.tracked_keys <= max_keys);
    assert!(peak <= max_keys * MAX_BYTES_PER_KEY, "peak {peak} bytes");
    assert_eq!(
        limiter.check((&from(legit)).into()).await.verdict(),
        Verdict::Limited
    );
}
