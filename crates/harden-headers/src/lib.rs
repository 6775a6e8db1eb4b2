//! Security headers, CORS and HTTPS enforcement as tower layers.
//!
//! ```
//! use harden_core::ip::{ClientIpLayer, PeerAddr, TrustedProxies};
//! use harden_headers::cors::Cors;
//! use harden_headers::https::{HttpsRedirect, HttpsRedirectLayer};
//! use harden_headers::security::SecurityHeadersLayer;
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let proxies = TrustedProxies::new(["10.0.0.0/8"])?;
//! let svc = ServiceBuilder::new()
//!     // Resolve client and scheme once, from the load balancer's headers only.
//!     .layer(ClientIpLayer::new(proxies.clone()))
//!     // Outside the rest, so every answer below gets the headers.
//!     .layer(SecurityHeadersLayer::strict_api())
//!     .layer(HttpsRedirectLayer::new(
//!         HttpsRedirect::builder("api.example.com")
//!             .trusted_proxies(proxies)
//!             .exempt_health_probes()
//!             .build()?,
//!     ))
//!     .layer(
//!         Cors::builder()
//!             .allow_origin("https://app.example.com")
//!             .allow_methods(["GET", "POST"])
//!             .allow_credentials(true)
//!             .build()?
//!             .layer(),
//!     )
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("{\"ok\":true}")))
//!     }));
//!
//! // A browser request that came through the TLS-terminating load balancer.
//! let req = Request::get("/orders")
//!     .header("origin", "https://app.example.com")
//!     .header("x-forwarded-for", "203.0.113.7")
//!     .header("x-forwarded-proto", "https")
//!     .extension(PeerAddr("10.0.0.2:40000".parse()?))
//!     .body(())?;
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! let h = res.headers();
//! assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
//! assert_eq!(h["strict-transport-security"], "max-age=31536000; includeSubDomains");
//! assert_eq!(h["content-security-policy"], "default-src 'none';frame-ancestors 'none'");
//! assert_eq!(h["cache-control"], "no-store");
//!
//! // The same request straight to the instance over plain HTTP is redirected.
//! let req = Request::get("/orders")
//!     .header("x-forwarded-proto", "https")
//!     .extension(PeerAddr("198.51.100.9:40000".parse()?))
//!     .body(())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
//! assert_eq!(res.headers()["location"], "https://api.example.com/orders");
//! # Ok(())
//! # }
//! ```
//!
//! - [`security`]: [`SecurityHeaders`](security::SecurityHeaders) —
//!   `helmet()` (helmet 8's defaults, header for header) or `strict_api()`
//!   (the OWASP REST set), a typed [`Csp`](security::Csp) that refuses unquoted
//!   keywords, per-request [`CspNonce`](security::CspNonce)s, a
//!   [`PermissionsPolicy`](security::PermissionsPolicy) builder.
//! - [`cors`]: [`Cors`](cors::Cors) — validated when built, origins compared
//!   parsed, safe wildcard subdomains, `null` never allowed, no credentials
//!   with wildcards, `Vary` on every response that depends on `Origin`.
//! - [`https`]: [`HttpsRedirect`](https::HttpsRedirect) — to a configured
//!   canonical host, 403 for unsafe methods over plain HTTP, exempt probes,
//!   forwarding headers only from trusted proxies; [`Hsts`](hsts::Hsts) on
//!   HTTPS responses only.
//!
//! Each has a framework-free core (`SecurityHeaders::apply`, `Cors::check`,
//! `HttpsRedirect::decide`) working on `http` types, which the actix-web
//! example calls directly, and a tower layer.
//!
//! # Order
//!
//! Outside in: `ClientIpLayer` (the scheme and client the others read), then
//! security headers (so every answer gets them, rejections included), then the
//! HTTPS redirect (before anything costs CPU), then CORS (preflights answered
//! before authentication; 401/429/503 still carry CORS headers), then
//! authentication, rate limits and the rest.
//!
//! # Features
//!
//! - `axum`: the [`CspNonce`](security::CspNonce) extractor; axum's
//!   `ConnectInfo` as the peer address.
//! - `serde`: configuration structs (`deny_unknown_fields`, durations like
//!   `"30s"`) that convert into each policy with `TryFrom`.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cors;
mod error;
pub mod hsts;
pub mod https;
pub mod security;

pub use self::error::ConfigError;
