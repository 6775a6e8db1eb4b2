//! harden-ratelimit on an axum app: a per-IP limit behind trusted proxies, in
//! memory or, with `REDIS_URL`, shared by every replica through Redis.
//!
//! ```sh
//! HARDEN_RATELIMIT_PER_SECOND=5 HARDEN_RATELIMIT_BURST=10 cargo run --example ratelimit
//! for i in $(seq 12); do curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:8080/; done
//! curl -i http://127.0.0.1:8080/
//! ```
//!
//! Environment: `HARDEN_ADDR` (default `127.0.0.1:8080`),
//! `HARDEN_RATELIMIT_PER_SECOND` (default 5), `HARDEN_RATELIMIT_BURST`
//! (default 10), `HARDEN_TRUSTED_PROXIES` (comma-separated CIDR blocks,
//! default none), `REDIS_URL` (unset: in memory). A bad value stops the program
//! at startup with a message quoting it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use harden::ip::{ClientIpLayer, TrustedProxies};
use harden::ratelimit::{Key, MemoryStore, Policy, Quota, RateLimiter, RedisStore};

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = env_or("HARDEN_ADDR", "127.0.0.1:8080")
        .parse()
        .map_err(|e| format!("HARDEN_ADDR: {e}"))?;
    let per_second: u32 = parse_env("HARDEN_RATELIMIT_PER_SECOND", "5")?;
    let burst: u32 = parse_env("HARDEN_RATELIMIT_BURST", "10")?;
    let proxies = env_or("HARDEN_TRUSTED_PROXIES", "");
    let proxies = TrustedProxies::new(proxies.split(',').map(str::trim).filter(|p| !p.is_empty()))?;

    let mut limiter = RateLimiter::builder().policy(
        Policy::new("per-ip", Quota::per_second(per_second).burst(burst)).key(Key::client_ip()),
    );
    let store = match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            limiter = limiter.redis(RedisStore::builder(url).build()?);
            "redis"
        }
        _ => "memory",
    };
    let limiter = limiter.build()?;

    // Optional upkeep: forget idle keys every minute, so the key count metric
    // follows the active clients (memory is bounded either way).
    let store_handle: MemoryStore = limiter.memory_store().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            store_handle.retain_recent();
        }
    });

    let app = Router::new()
        .route("/", get(|| async { "hello\n" }))
        .layer(limiter.layer())
        .layer(ClientIpLayer::new(proxies));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("rate limit: {per_second}/s, burst {burst}, per client IP, {store} store");
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn parse_env(name: &str, default: &str) -> Result<u32, String> {
    let value = env_or(name, default);
    value
        .trim()
        .parse()
        .map_err(|_| format!("{name}: `{value}` is not a whole number"))
}
