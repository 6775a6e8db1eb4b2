//! Redis for real: three replicas share one quota; a Redis server this test
//! starts is killed and restarted mid-run; an unreachable address.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use harden_ratelimit::{Policy, Quota, RateLimiter, RedisStore, Verdict};
use tokio::process::{Child, Command};
use tower::{Layer, ServiceExt};

const REDIS_SERVER: &str = "/usr/bin/redis-server";

fn req() -> http::Request<()> {
    common::from_peer("192.0.2.1", &[])
}

fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .command_timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(200))
        .down_for(Duration::from_millis(200))
        .build()
        .unwrap()
}

/// A check that must finish within 3 s, whatever Redis does.
async fn check(limiter: &RateLimiter) -> Verdict {
    tokio::time::timeout(Duration::from_secs(3), limiter.check((&req()).into()))
        .await
        .expect("a check hung")
        .verdict()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_one_quota() {
    let Some(url) = common::redis_url().await else {
        return;
    };
    let prefix = common::unique_prefix("replicas");
    // One an hour with a burst of 30: the window is all burst, refill is nil.
    let replicas: Vec<RateLimiter> = (0..3)
        .map(|_| {
            RateLimiter::builder()
                .policy(Policy::new("ip", Quota::per_hour(1).burst(30)))
                .redis(
                    RedisStore::builder(url.as_str())
                        .prefix(prefix.as_str())
                        .command_timeout(Duration::from_secs(2))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        })
        .collect();
    let mut tasks = Vec::new();
    for (i, limiter) in replicas.iter().enumerate() {
        for _ in 0..3 {
            let svc = limiter.layer().layer(common::ok_service());
            tasks.push(tokio::spawn(async move {
                let mut admitted = 0u32;
                for _ in 0..25 {
                    let res = svc.clone().oneshot(req()).await.unwrap();
                    admitted += u32::from(res.status() == 200);
                }
                (i, admitted)
            }));
        }
    }
    let mut total = 0;
    let mut per_replica = [0u32; 3];
    for t in tasks {
        let (i, n) = tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .unwrap()
            .unwrap();
        total += n;
        if let Some(slot) = per_replica.get_mut(i) {
            *slot += n;
        }
    }
    assert!(
        (29..=31).contains(&total),
        "admitted {total} of 225, quota 30: {per_replica:?}"
    );
    for limiter in &replicas {
        assert_eq!(limiter.stats().store_errors, 0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_redis(port: u16) -> Child {
    let child = Command::new(REDIS_SERVER)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server");
    let url = format!("redis://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        if let Ok(client) = redis::Client::open(url.as_str())
            && let Ok(Ok(mut conn)) = tokio::time::timeout(
                Duration::from_millis(500),
                client.get_multiplexed_async_connection(),
            )
            .await
            && redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_redis_is_survived_in_the_configured_mode() {
    if !std::path::Path::new(REDIS_SERVER).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{REDIS_SERVER} missing under CI"
        );
        eprintln!("skipped: {REDIS_SERVER} is not installed");
        return;
    }
    let port = free_port();
    let mut server = start_redis(port).await;
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = common::unique_prefix("faults");
    let open = RateLimiter::builder()
        .policy(Policy::new("api", Quota::per_hour(1).burst(3)))
        .redis(store(&url, &prefix))
        .build()
        .unwrap();
    let closed = RateLimiter::builder()
        .policy(Policy::new("login", Quota::per_hour(1).burst(100)).fail_closed())
        .redis(store(&url, &prefix))
        .build()
        .unwrap();

    // Up: the shared quota.
    let verdicts: Vec<Verdict> = [
        check(&open).await,
        check(&open).await,
        check(&open).await,
        check(&open).await,
    ]
    .into();
    assert_eq!(
        verdicts,
        [
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Limited
        ]
    );
    assert_eq!(check(&closed).await, Verdict::Admitted);

    // Down: fail-open falls back to per-instance limits (a fresh local quota),
    // fail-closed refuses; nothing hangs, nothing panics.
    server.kill().await.unwrap();
    let mut local = Vec::new();
    for _ in 0..5 {
        local.push(check(&open).await);
    }
    assert_eq!(
        local,
        [
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Limited,
            Verdict::Limited
        ]
    );
    let stats = open.stats();
    assert!(stats.store_errors >= 1 && stats.fail_open == 5, "{stats:?}");
    assert_eq!(check(&closed).await, Verdict::StoreUnavailable);
    // The 503 through the layer.
    let res = closed
        .layer()
        .layer(common::ok_service())
        .oneshot(req())
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(closed.stats().fail_closed >= 2);

    // Back (empty, so the script must be loaded again after NOSCRIPT): the
    // shared quota is used again.
    let _server = start_redis(port).await;
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(10), "no recovery");
        if check(&closed).await == Verdict::Admitted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let errors_before = open.stats().fail_open;
    let mut after = Vec::new();
    for _ in 0..4 {
        after.push(check(&open).await);
    }
    assert_eq!(
        after,
        [
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Admitted,
            Verdict::Limited
        ]
    );
    assert_eq!(
        open.stats().fail_open,
        errors_before,
        "decided by Redis again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_behaves_the_same() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let open = RateLimiter::builder()
        .policy(Policy::new("api", Quota::per_hour(1).burst(2)))
        .redis(store(&url, "harden-test:unreachable"))
        .build()
        .unwrap();
    let closed = RateLimiter::builder()
        .policy(Policy::new("login", Quota::per_hour(1).burst(2)).fail_closed())
        .redis(store(&url, "harden-test:unreachable"))
        .build()
        .unwrap();
    let mut verdicts = Vec::new();
    for _ in 0..3 {
        verdicts.push(check(&open).await);
    }
    assert_eq!(
        verdicts,
        [Verdict::Admitted, Verdict::Admitted, Verdict::Limited]
    );
    assert_eq!(open.stats().fail_open, 3);
    assert_eq!(check(&closed).await, Verdict::StoreUnavailable);
}

#[test]
fn store_configuration_errors_do_not_echo_the_url() {
    let e = RedisStore::builder("redis://:hunter2@[::1")
        .build()
        .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(
        RedisStore::builder("redis://127.0.0.1")
            .prefix("has space")
            .build()
            .is_err()
    );
    assert!(
        RedisStore::builder("redis://127.0.0.1")
            .command_timeout(Duration::ZERO)
            .build()
            .is_err()
    );
    let s = RedisStore::builder("redis://:hunter2@127.0.0.1")
        .build()
        .unwrap();
    assert!(!format!("{s:?}").contains("hunter2"));
}
