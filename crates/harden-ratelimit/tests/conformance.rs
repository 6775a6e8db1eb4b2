//! One suite, two stores: the in-memory store and Redis give the same answers.
//! Time is a manual clock (the Redis script takes it instead of `TIME`).
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use harden_core::Principal;
use harden_ratelimit::{
    Key, ManualClock, Policy, Quota, RateLimiter, RateLimiterBuilder, RedisStore, Verdict,
};
use http::Request;
use tower::{Layer, ServiceExt};

#[derive(Clone, Copy, Debug)]
enum Store {
    Memory,
    Redis,
}

/// A limiter builder on `store`, or `None` when Redis is unreachable (skipped).
async fn builder(store: Store, name: &str) -> Option<RateLimiterBuilder> {
    match store {
        Store::Memory => Some(RateLimiter::builder()),
        Store::Redis => {
            let url = common::redis_url().await?;
            let store = RedisStore::builder(url)
                .prefix(common::unique_prefix(name))
                .command_timeout(Duration::from_secs(2))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            Some(RateLimiter::builder().redis(store))
        }
    }
}

fn req() -> Request<()> {
    common::from_peer("192.0.2.1", &[])
}

async fn exactness(store: Store) {
    let Some(b) = builder(store, "exact").await else {
        return;
    };
    let clock = ManualClock::new();
    let limiter = b
        .policy(Policy::new("ip", Quota::per_second(10).burst(5)))
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut admitted = 0u64;
    // 3 s in 7 ms steps, each step sending until refused (bounded).
    let mut elapsed = Duration::ZERO;
    while elapsed <= Duration::from_secs(3) {
        clock.set(elapsed);
        for _ in 0..100 {
            let outcome = limiter.check((&req()).into()).await;
            if outcome.verdict() != Verdict::Admitted {
                assert_eq!(outcome.verdict(), Verdict::Limited, "{store:?}");
                break;
            }
            admitted += 1;
        }
        elapsed += Duration::from_millis(7);
    }
    let last = elapsed - Duration::from_millis(7);
    let expected = 5 + (last.as_millis() as u64 * 10 / 1000);
    assert_eq!(admitted, expected, "{store:?}: burst + ⌊elapsed × rate⌋");
}

async fn remaining_and_waits(store: Store) {
    let Some(b) = builder(store, "remaining").await else {
        return;
    };
    let clock = ManualClock::new();
    clock.set(Duration::from_secs(100));
    let limiter = b
        .policy(Policy::new("ip", Quota::per_second(10).burst(4)))
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let o = limiter.check((&req()).into()).await;
        let d = o.decisions().next().unwrap();
        seen.push((d.allowed(), d.remaining(), d.retry_after(), d.reset_after()));
    }
    let ms = Duration::from_millis;
    assert_eq!(
        seen,
        [
            (true, 3, ms(0), ms(100)),
            (true, 2, ms(0), ms(200)),
            (true, 1, ms(0), ms(300)),
            (true, 0, ms(0), ms(400)),
            (false, 0, ms(100), ms(400)),
        ],
        "{store:?}"
    );
    clock.advance(ms(250));
    let o = limiter.check((&req()).into()).await;
    let d = o.decisions().next().unwrap();
    assert_eq!((d.allowed(), d.remaining()), (true, 1), "{store:?}");
}

async fn cost_and_several_policies(store: Store) {
    let Some(b) = builder(store, "policies").await else {
        return;
    };
    let clock = ManualClock::new();
    let limiter = b
        .policy(Policy::new("ip", Quota::per_second(100)).key(Key::client_ip()))
        .policy(
            Policy::new("user", Quota::per_hour(10))
                .key(Key::principal())
                .cost(3),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    let as_user = || {
        let mut r = req();
        r.extensions_mut().insert(Principal::new("u-1"));
        r
    };
    let mut verdicts = Vec::new();
    for _ in 0..4 {
        verdicts.push(limiter.check((&as_user()).into()).await.verdict());
    }
    assert_eq!(
        verdicts,
        [
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Limited
        ],
        "{store:?}"
    );
    let o = limiter.check((&as_user()).into()).await;
    // 10 units, 9 spent, 3 needed: the wait is 2 intervals of 6 minutes.
    assert_eq!(o.retry_after(), Duration::from_secs(720), "{store:?}");
    // The anonymous request is bound by the IP policy only.
    assert!(
        limiter.check((&req()).into()).await.is_admitted(),
        "{store:?}"
    );
}

async fn real_concurrency(store: Store) {
    let Some(b) = builder(store, "concurrent").await else {
        return;
    };
    let clock = ManualClock::new();
    let limiter = b
        .policy(Policy::new("ip", Quota::per_minute(20)))
        .clock(clock)
        .build()
        .unwrap();
    let svc = limiter.layer().layer(common::ok_service());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0u32;
            for _ in 0..40 {
                let res = svc.clone().oneshot(req()).await.unwrap();
                if res.status() == 200 {
                    admitted += 1;
                }
            }
            admitted
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(total, 20, "{store:?}");
}

async fn refusals_through_the_layer(store: Store) {
    let Some(b) = builder(store, "layer").await else {
        return;
    };
    let limiter = b
        .policy(Policy::new("ip", Quota::per_minute(1)))
        .clock(ManualClock::new())
        .build()
        .unwrap();
    let svc = limiter.layer().layer(common::ok_service());
    let first = svc.clone().oneshot(req()).await.unwrap();
    assert_eq!(first.status(), 200, "{store:?}");
    assert_eq!(first.headers()["ratelimit"], "\"ip\";r=0;t=60");
    let second = svc.oneshot(req()).await.unwrap();
    assert_eq!(second.status(), 429, "{store:?}");
    assert_eq!(second.headers()["retry-after"], "60", "{store:?}");
    assert_eq!(second.headers()["ratelimit"], "\"ip\";r=0;t=60");
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Store::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Store::Redis).await;
                }
            )*
        }
    };
}

both_stores!(
    exactness,
    remaining_and_waits,
    cost_and_several_policies,
    real_concurrency,
    refusals_through_the_layer,
);
