//! **harden** turns a development-grade HTTP service into a production-ready
//! one: the hardening playbook's security, reliability and operability layers,
//! as composable `tower` layers that axum (and, through their cores, actix-web)
//! services add with one dependency.
//!
//! This crate gathers the family. Today it re-exports:
//!
//! - [`harden_core`]: client IP behind trusted proxies, request ids, the shared
//!   error format, rejections, principals;
//! - [`harden_headers`]: security headers (helmet parity, CSP with nonces,
//!   Permissions-Policy), CORS, HTTPS redirect and HSTS;
//! - [`auth`] ([`harden_auth`]): JWT bearer authentication with keys bound to
//!   one algorithm, strict claims, scopes and roles; with the `auth-remote`
//!   feature, keys from an identity provider's JWKS (`auth::RemoteJwks`).
//! - [`ratelimit`] ([`harden_ratelimit`]): GCRA rate limits in memory or
//!   shared by replicas through Redis (feature `ratelimit-redis`), IETF
//!   `RateLimit` fields, load shedding.
//! - [`breaker`] ([`harden_breaker`]): an opossum-style circuit breaker and
//!   bulkhead around any future, as a tower layer, and per key; with the
//!   `metrics` feature, its counters through the `metrics` facade.
//!
//! Caching, audit logging,
//! compression and the `production` preset join as their crates land (see the
//! README's crate table).
//!
//! ```
//! use harden::ip::{ClientIpLayer, TrustedProxies};
//! use harden::{Cors, RequestIdLayer, SecurityHeadersLayer};
//! use axum::{Router, routing::get};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cors = Cors::builder()
//!     .allow_origin("https://app.example.com")
//!     .allow_credentials(true)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/api/data", get(|| async { "{\"ok\":true}" }))
//!     // `Router::layer` wraps outside in: the last added runs first.
//!     .layer(cors.layer())
//!     .layer(SecurityHeadersLayer::strict_api())
//!     .layer(ClientIpLayer::new(TrustedProxies::new(["10.0.0.0/8"])?))
//!     .layer(RequestIdLayer::new());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use harden_auth as auth;
pub use harden_breaker as breaker;
pub use harden_core;
pub use harden_headers;
pub use harden_ratelimit as ratelimit;

#[doc(no_inline)]
pub use harden_core::{
    ErrorFormat, ErrorFormatLayer, ErrorResponse, Principal, Rejection, RequestId, RequestIdLayer,
    ResponseBody, ip,
};
#[doc(no_inline)]
pub use harden_headers::cors::{Cors, CorsLayer};
#[doc(no_inline)]
pub use harden_headers::hsts::Hsts;
#[doc(no_inline)]
pub use harden_headers::https::{HttpsRedirect, HttpsRedirectLayer};
#[doc(no_inline)]
pub use harden_headers::security::{
    Csp, CspNonce, PermissionsPolicy, SecurityHeaders, SecurityHeadersLayer,
};
#[doc(no_inline)]
pub use harden_ratelimit::{LoadShed, Policy, Quota, RateLimitLayer, RateLimiter};
