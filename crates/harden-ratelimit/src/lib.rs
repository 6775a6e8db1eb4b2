//! Rate limits and load shedding for tower services, as the hardening
//! playbook asks: GCRA quotas whose names mean what they say, per client IP
//! (behind trusted proxies, IPv6 grouped by network), per principal, per
//! header value or per route; state in memory with a cap on tracked keys, or
//! in Redis so replicas share one quota; 429 in the shared error format with
//! `Retry-After` and the IETF `RateLimit` fields.
//!
//! ```
//! use harden_core::ip::PeerAddr;
//! use harden_ratelimit::{Key, Policy, Quota, RateLimiter};
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let limiter = RateLimiter::builder()
//!     .policy(Policy::new("ip", Quota::per_second(5).burst(2)).key(Key::client_ip()))
//!     .build()?;
//! let svc = limiter.layer().layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("ok")))
//! }));
//!
//! let request = || {
//!     Request::builder()
//!         .extension(PeerAddr("192.0.2.7:4000".parse().unwrap()))
//!         .body(())
//!         .unwrap()
//! };
//! let first = svc.clone().oneshot(request()).await?;
//! assert_eq!(first.status(), StatusCode::OK);
//! assert_eq!(first.headers()["ratelimit-policy"], "\"ip\";q=5;w=1");
//! assert_eq!(first.headers()["ratelimit"], "\"ip\";r=1;t=1");
//! svc.clone().oneshot(request()).await?;
//!
//! let third = svc.oneshot(request()).await?;
//! assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(third.headers()["retry-after"], "1");
//! assert_eq!(third.headers()["cache-control"], "no-store");
//! # Ok(())
//! # }
//! ```
//!
//! - [`Quota`]: `Quota::per_second(5)` is five per second, with a
//!   [`burst`](Quota::burst); [`Policy`]: a named quota over a [`Key`], with a
//!   cost per request and a [`FailMode`].
//! - [`RateLimiter`]: several policies (the tightest decides), an allow-list,
//!   dry-run mode; the core, without tower, for any framework.
//! - [`RateLimitLayer`]: the tower layer, one limiter shared by every clone.
//! - [`MemoryStore`]: per-instance state, bounded by a cap on tracked keys.
//! - `RedisStore` (feature `redis`): one quota for every replica.
//! - [`LoadShed`]: soft and hard limits on requests in flight; 503 with
//!   `Retry-After` at the hard limit.
//!
//! # Where to put it
//!
//! The per-IP limit goes early (after `ClientIpLayer`, CORS and body limits,
//! before JWT verification, so floods do not cost signature checks); a
//! per-principal limit goes after authentication. CORS belongs outside, so a
//! browser can read the 429.
//!
//! # GCRA: governor's arithmetic, our bounded store
//!
//! GCRA keeps one number per key (the theoretical arrival time). In memory,
//! each policy's decisions are made by a [governor] rate limiter, whose state
//! store is [`MemoryStore`]: governor's own keyed stores are unbounded maps
//! (a client rotating keys grows them until someone sweeps), ours has a cap
//! on tracked keys and evicts idle keys first, at the same 8 bytes of state
//! per key. Time is governor's quanta clock (a cheap TSC read) unless the
//! builder is given a [`Clock`]. The Redis store keeps its own Lua script,
//! which mirrors governor's arithmetic step for step; the conformance tests
//! check that both stores give the same answers, and a property test checks
//! governor on our store against the reference step the script follows.
//!
//! [governor]: https://docs.rs/governor
//!
//! # Caveats
//!
//! - A request admitted by one policy spends that policy's quota even when
//!   another policy refuses it.
//! - A policy whose key is missing from a request (no principal, no such
//!   header, no peer address) does not apply to it.
//! - Dry-run mode never refuses: it is for sizing quotas, not protection.
//!
//! # Features
//!
//! - `axum`: [`Key::route`] uses axum's `MatchedPath`; the peer is read from
//!   `ConnectInfo`.
//! - `redis`: `RedisStore`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod error;
mod headers;
mod key;
mod layer;
mod limiter;
mod memory;
mod quota;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
mod redis;
pub mod shed;

pub use self::clock::{Clock, ManualClock, MonotonicClock};
pub use self::error::ConfigError;
pub use self::key::{Key, RequestRef, normalize_path};
pub use self::layer::{RateLimit, RateLimitFuture, RateLimitLayer};
pub use self::limiter::{
    FailMode, Outcome, Policy, RateLimiter, RateLimiterBuilder, Stats, Verdict,
};
pub use self::memory::{DEFAULT_MAX_KEYS, MAX_BYTES_PER_KEY, MemoryStore};
pub use self::quota::{Decision, Quota};
#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, RedisStoreBuilder};
pub use self::shed::{LoadShed, LoadShedLayer, LoadShedService, OverSoftLimit};
