//! The layer end to end: shared quota across clones, responses, keys, the §4
//! bypass list, dry run, allow-list, several policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{from_peer, send};
use harden_core::ip::{ClientIpLayer, TrustedProxies};
use harden_core::{Principal, Rejection};
use harden_ratelimit::{Key, ManualClock, Policy, Quota, RateLimiter};
use http::StatusCode;
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};

fn limiter(policy: Policy, clock: &ManualClock) -> RateLimiter {
    RateLimiter::builder()
        .policy(policy)
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn cloned_services_share_one_quota() {
    let clock = ManualClock::new();
    let layer = limiter(Policy::new("ip", Quota::per_second(5)), &clock).layer();
    let svc = layer.layer(common::ok_service());
    let mut admitted = 0;
    for i in 0..1500 {
        // A fresh clone per request, as hyper makes per connection, and every
        // third request a fresh service from the layer: one limiter for all.
        let svc = if i % 3 == 0 {
            layer.layer(common::ok_service())
        } else {
            svc.clone()
        };
        let res = svc.oneshot(from_peer("192.0.2.1", &[])).await.unwrap();
        if res.status() == StatusCode::OK {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5);
}

#[tokio::test]
async fn refusal_is_a_429_in_the_shared_format_with_retry_after_and_ietf_fields() {
    let clock = ManualClock::new();
    let layer = limiter(Policy::new("burst", Quota::per_minute(6).burst(2)), &clock).layer();
    for _ in 0..2 {
        assert_eq!(
            send(&layer, from_peer("192.0.2.1", &[])).await.status(),
            200
        );
    }
    clock.advance(Duration::from_millis(1500));
    let res = send(&layer, from_peer("192.0.2.1", &[("x-request-id", "r-9")])).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["content-type"], "application/json");
    // One request every 10 s; 1.5 s have passed: 8.5 s, rounded up.
    assert_eq!(h["retry-after"], "9");
    assert_eq!(h["ratelimit-policy"], "\"burst\";q=6;w=60");
    assert_eq!(h["ratelimit"], "\"burst\";r=0;t=9");
    let rejection = *res.extensions().get::<Rejection>().unwrap();
    assert_eq!(
        (rejection.layer(), rejection.reason()),
        ("ratelimit", "quota-exceeded")
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["status"], 429);
    assert_eq!(v["error"]["message"], "Too many requests");
}

#[tokio::test]
async fn retry_after_is_at_least_one_second_and_never_early() {
    let clock = ManualClock::new();
    let layer = limiter(Policy::new("fast", Quota::per_second(100).burst(1)), &clock).layer();
    assert_eq!(
        send(&layer, from_peer("192.0.2.1", &[])).await.status(),
        200
    );
    let res = send(&layer, from_peer("192.0.2.1", &[])).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    // Waiting what Retry-After said is always enough.
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        send(&layer, from_peer("192.0.2.1", &[])).await.status(),
        200
    );
}

#[tokio::test]
async fn admitted_responses_carry_fields_unless_configured_otherwise() {
    let clock = ManualClock::new();
    let layer = limiter(Policy::new("ip", Quota::per_second(5)), &clock).layer();
    let res = send(&layer, from_peer("192.0.2.1", &[])).await;
    assert_eq!(res.headers()["ratelimit"], "\"ip\";r=4;t=1");
    assert!(res.headers().get("x-ratelimit-remaining").is_none());

    let quiet = RateLimiter::builder()
        .policy(Policy::new("ip", Quota::per_second(5)))
        .no_headers_on_admitted()
        .legacy_headers()
        .build()
        .unwrap()
        .layer();
    let res = send(&quiet, from_peer("192.0.2.1", &[])).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("ratelimit").is_none());
    assert!(res.headers().get("ratelimit-policy").is_none());
}

#[tokio::test]
async fn legacy_fields_describe_the_tightest_policy() {
    let clock = ManualClock::new();
    let layer = RateLimiter::builder()
        .policy(Policy::new("wide", Quota::per_second(100)))
        .policy(Policy::new("narrow", Quota::per_minute(3)))
        .legacy_headers()
        .clock(clock.clone())
        .build()
        .unwrap()
        .layer();
    let res = send(&layer, from_peer("192.0.2.1", &[])).await;
    let h = res.headers();
    assert_eq!(h["x-ratelimit-limit"], "3");
    assert_eq!(h["x-ratelimit-remaining"], "2");
    assert_eq!(h["x-ratelimit-reset"], "20");
    assert_eq!(h["ratelimit"], "\"wide\";r=99;t=1, \"narrow\";r=2;t=20");
    assert_eq!(
        h["ratelimit-policy"],
        "\"wide\";q=100;w=1, \"narrow\";q=3;w=60"
    );
}

#[tokio::test]
async fn the_tightest_of_several_policies_decides() {
    let clock = ManualClock::new();
    let layer = RateLimiter::builder()
        .policy(Policy::new("ip-burst", Quota::per_second(10)).key(Key::client_ip()))
        .policy(Policy::new("user-hourly", Quota::per_hour(3)).key(Key::principal()))
        .clock(clock.clone())
        .build()
        .unwrap()
        .layer();
    let as_user = |ip: &str| {
        let mut req = from_peer(ip, &[]);
        req.extensions_mut().insert(Principal::new("alice"));
        req
    };
    for i in 0..3 {
        // Different addresses: only the hourly per-user policy can bind.
        assert_eq!(
            send(&layer, as_user(&format!("192.0.2.{i}")))
                .await
                .status(),
            200
        );
    }
    let res = send(&layer, as_user("192.0.2.50")).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1200");
    // Anonymous requests from the same address are not bound by the user policy.
    assert_eq!(
        send(&layer, from_peer("192.0.2.50", &[])).await.status(),
        200
    );
}

#[tokio::test]
async fn cost_spends_several_units_per_request() {
    let clock = ManualClock::new();
    let layer = limiter(Policy::new("export", Quota::per_minute(10)).cost(4), &clock).layer();
    assert_eq!(
        send(&layer, from_peer("192.0.2.1", &[])).await.status(),
        200
    );
    assert_eq!(
        send(&layer, from_peer("192.0.2.1", &[])).await.status(),
        200
    );
    assert_eq!(
        send(&layer, from_peer("192.0.2.1", &[])).await.status(),
        429
    );
}

#[tokio::test]
async fn header_keys_are_per_value() {
    let clock = ManualClock::new();
    let layer = limiter(
        Policy::new("api-key", Quota::per_second(1)).key(Key::header("x-api-key").unwrap()),
        &clock,
    )
    .layer();
    let with = |k: &str| from_peer("192.0.2.1", &[("x-api-key", k)]);
    assert_eq!(send(&layer, with("k1")).await.status(), 200);
    assert_eq!(send(&layer, with("k1")).await.status(), 429);
    assert_eq!(send(&layer, with("k2")).await.status(), 200);
}

#[tokio::test]
async fn dry_run_counts_and_reports_but_never_refuses() {
    let clock = ManualClock::new();
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", Quota::per_second(2)))
        .dry_run()
        .clock(clock.clone())
        .build()
        .unwrap();
    let layer = limiter.layer();
    for _ in 0..5 {
        let res = send(&layer, from_peer("192.0.2.1", &[])).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("ratelimit").is_some());
    }
    let stats = limiter.stats();
    assert_eq!(
        (stats.admitted, stats.dry_run_limited, stats.limited),
        (2, 3, 0)
    );
}

#[tokio::test]
async fn allow_listed_clients_are_never_limited_nor_counted() {
    let clock = ManualClock::new();
    let limiter = RateLimiter::builder()
        .policy(Policy::new("ip", Quota::per_second(1)))
        .allow_list(["10.1.0.0/16", "2001:db8::1"])
        .clock(clock.clone())
        .build()
        .unwrap();
    let layer = limiter.layer();
    for _ in 0..20 {
        let res = send(&layer, from_peer("10.1.2.3", &[])).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("ratelimit").is_none());
        assert_eq!(
            send(&layer, from_peer("2001:db8::1", &[])).await.status(),
            200
        );
    }
    assert_eq!(limiter.stats().allow_listed, 40);
    assert_eq!(limiter.memory_store().len(), 0);
    let e = RateLimiter::builder()
        .policy(Policy::new("ip", Quota::per_second(1)))
        .allow_list(["10.0.0.0/33"])
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("10.0.0.0/33"), "{e}");
}

// The §4 bypass list.

async fn through_client_ip(
    proxies: TrustedProxies,
    limiter: &RateLimiter,
    req: http::Request<()>,
) -> StatusCode {
    let svc = ClientIpLayer::new(proxies).layer(limiter.layer().layer(common::ok_service()));
    svc.oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let clock = ManualClock::new();
    let limiter = limiter(Policy::new("ip", Quota::per_second(1)), &clock);
    let proxies = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let xff = format!("203.0.113.{i}");
        let req = from_peer("198.51.100.7", &[("x-forwarded-for", &xff)]);
        statuses.push(through_client_ip(proxies.clone(), &limiter, req).await);
    }
    assert_eq!(statuses, [200, 429, 429, 429, 429]);
}

#[tokio::test]
async fn a_trusted_proxy_chain_resolves_to_the_client() {
    let clock = ManualClock::new();
    let limiter = limiter(Policy::new("ip", Quota::per_second(1)), &clock);
    let proxies = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
    // Two clients behind the same two proxies, each with a forged leftmost entry.
    let req = |client: &str| {
        let xff = format!("6.6.6.6, {client}, 10.0.0.5");
        from_peer("10.0.0.2", &[("x-forwarded-for", xff.as_str())])
    };
    assert_eq!(
        through_client_ip(proxies.clone(), &limiter, req("203.0.113.1")).await,
        200
    );
    assert_eq!(
        through_client_ip(proxies.clone(), &limiter, req("203.0.113.2")).await,
        200
    );
    assert_eq!(
        through_client_ip(proxies.clone(), &limiter, req("203.0.113.1")).await,
        429
    );
}

#[tokio::test]
async fn a_thousand_addresses_in_one_ipv6_64_share_a_bucket() {
    let clock = ManualClock::new();
    let limiter = limiter(Policy::new("ip", Quota::per_second(5)), &clock);
    let layer = limiter.layer();
    let mut admitted = 0;
    for i in 0..1000u32 {
        let ip = format!("2001:db8:aa:bb:{:x}:{:x}::1", i >> 8, i & 0xff);
        if send(&layer, from_peer(&ip, &[])).await.status() == 200 {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5);
    // Another /56 has its own bucket.
    assert_eq!(
        send(&layer, from_peer("2001:db8:aa:100::1", &[]))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn route_normalisation_variants_share_one_key() {
    let clock = ManualClock::new();
    let limiter = limiter(
        Policy::new("route", Quota::per_minute(1)).key(Key::route().and(Key::client_ip())),
        &clock,
    );
    let layer = limiter.layer();
    let at = |path: &str| {
        let mut req = from_peer("192.0.2.1", &[]);
        *req.uri_mut() = path.parse().unwrap();
        req
    };
    assert_eq!(send(&layer, at("/api/x")).await.status(), 200);
    for p in [
        "/api/x/",
        "/API/x",
        "/api/%78",
        "//api/x",
        "/api/x;jsessionid=1",
        "/api/./x",
    ] {
        assert_eq!(send(&layer, at(p)).await.status(), 429, "{p}");
    }
    assert_eq!(send(&layer, at("/api/y")).await.status(), 200);
}

#[test]
fn bad_configurations_are_errors_quoting_the_value() {
    let e = RateLimiter::new(Policy::new("bad name", Quota::per_second(1))).unwrap_err();
    assert!(e.to_string().contains("bad name"), "{e}");
    let e = RateLimiter::new(Policy::new("ip", Quota::per_second(0))).unwrap_err();
    assert!(e.to_string().contains("`ip`"), "{e}");
    let e = RateLimiter::builder().build().unwrap_err();
    assert!(e.to_string().contains("at least one policy"), "{e}");
    let e = RateLimiter::builder()
        .policy(Policy::new("a", Quota::per_second(1)))
        .policy(Policy::new("a", Quota::per_second(2)))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("`a`"), "{e}");
    let e = RateLimiter::builder()
        .policy(Policy::new("a", Quota::per_second(1)))
        .max_keys(1)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("max_keys 1"), "{e}");
}

#[tokio::test]
async fn requests_without_any_address_are_not_limited_by_an_ip_policy() {
    let limiter = RateLimiter::new(Policy::new("ip", Quota::per_second(1))).unwrap();
    let layer = limiter.layer();
    for _ in 0..3 {
        let res = send(&layer, http::Request::new(())).await;
        assert_eq!(res.status(), 200);
    }
}
