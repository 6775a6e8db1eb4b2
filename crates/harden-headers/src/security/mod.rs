//! Security headers on every response: helmet 8's defaults or the OWASP REST
//! set, a typed and validated Content Security Policy with per-request nonces,
//! `Permissions-Policy`, HSTS on HTTPS only, and fingerprinting headers removed.
//!
//! [`SecurityHeaders`] is the plain core: presets, a builder, and
//! [`SecurityHeaders::apply`] on an [`http::HeaderMap`]. [`SecurityHeadersLayer`]
//! is its tower adapter, which wraps the inner service and works on whatever
//! response comes back, including rejections produced by inner layers.
//!
//! ```
//! use harden_core::ip::Scheme;
//! use harden_headers::security::{
//!     Csp, CspNonce, FrameOptions, SecurityHeaders, SecurityHeadersLayer, Source,
//! };
//! use http::{Request, Response};
//! use std::convert::Infallible;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let headers = SecurityHeaders::helmet()
//!     .into_builder()
//!     .csp(
//!         Csp::helmet()
//!             .into_builder()
//!             .connect_src([Source::SELF, "https://api.example.com".into()])
//!             .build()?,
//!     )
//!     .csp_nonce(true)
//!     .frame_options(FrameOptions::Deny)
//!     .build()?;
//!
//! let page = service_fn(|req: Request<()>| async move {
//!     let nonce = req.extensions().get::<CspNonce>().copied().unwrap();
//!     let html = format!("<script nonce=\"{nonce}\">start()</script>");
//!     Ok::<_, Infallible>(Response::builder().header("server", "hyper").body(html).unwrap())
//! });
//! let svc = SecurityHeadersLayer::new(headers).layer(page);
//!
//! let req = Request::builder().extension(Scheme::Https).body(())?;
//! let res = svc.oneshot(req).await?;
//! let csp = res.headers()["content-security-policy"].to_str()?;
//! let nonce = res.body().split('"').nth(1).unwrap();
//! assert!(csp.contains(&format!("script-src 'self' 'nonce-{nonce}'")));
//! assert!(csp.ends_with(";connect-src 'self' https://api.example.com"));
//! assert_eq!(res.headers()["x-frame-options"], "DENY");
//! assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
//! assert!(!res.headers().contains_key("server"));
//! # Ok(())
//! # }
//! ```
//!
//! # Presets
//!
//! - [`SecurityHeaders::helmet`]: exactly the twelve headers helmet 8.3 sets
//!   by default, for HTML applications.
//! - [`SecurityHeaders::strict_api`]: the OWASP REST Security Cheat Sheet's
//!   set for JSON APIs (`default-src 'none'`, `Cache-Control: no-store`,
//!   `X-Frame-Options: DENY`, a deny-all `Permissions-Policy`, …).
//!
//! Change either through [`SecurityHeaders::into_builder`]: typed values for
//! framing, referrer and cross-origin policies, [`Csp`], [`PermissionsPolicy`]
//! and [`Hsts`](crate::hsts::Hsts); extra headers; `without` to drop one.
//!
//! # Nonces
//!
//! With [`SecurityHeadersBuilder::csp_nonce`], each request gets 128 fresh
//! random bits as a [`CspNonce`] request extension (an axum extractor with the
//! `axum` feature), and the response's policy gets the same `'nonce-…'` in
//! `script-src` and `style-src`. The policy is precomputed as a template, so
//! the per-request work is one buffer copy with the nonce written in.
//!
//! # Caveats
//!
//! - **HSTS is sent on HTTPS only**, decided with [`Scheme::of`](harden_core::ip::Scheme::of): a
//!   [`Scheme`](harden_core::ip::Scheme)
//!   request extension (from a TLS listener or from
//!   [`ClientIpLayer`](harden_core::ip::ClientIpLayer)) or else an absolute
//!   `https://` request URI. Behind a TLS-terminating proxy the request arrives
//!   as plain HTTP: put `ClientIpLayer`, configured with the proxy's address,
//!   **outside** this layer, so it reads `X-Forwarded-Proto` from the trusted
//!   proxy and inserts `Scheme::Https`. Otherwise HSTS is never sent.
//! - A header the handler set is kept (so one route can allow framing or
//!   caching); [`override_existing`](SecurityHeadersBuilder::override_existing)
//!   replaces it. The strip list (`Server`, `X-Powered-By`) applies always.
//! - Only responses get headers: when the inner service fails with an error
//!   instead of a response, there is nothing to set them on. Put this layer
//!   outside the layers that reject (CORS, rate limiting, auth) so their
//!   401/429/503 responses carry the headers too.
//! - In CSP2+ browsers a nonce disables `'unsafe-inline'` in its directive:
//!   with helmet's `style-src`, inline `style="…"` attributes stop working
//!   once `style-src` has a nonce. Choose the directives with
//!   [`csp_nonce_directives`](SecurityHeadersBuilder::csp_nonce_directives).
//! - A page carrying a nonce must not be stored by a shared cache: everyone
//!   would get the same nonce, and an attacker who reads it can inject
//!   scripts. Mark such pages `Cache-Control: no-store` or `private`.
//! - `Cross-Origin-Resource-Policy: same-origin` (both presets) stops other
//!   origins from embedding your images and fonts; relax it with
//!   [`cross_origin_resource_policy`](SecurityHeadersBuilder::cross_origin_resource_policy)
//!   for public assets.
//! - `Permissions-Policy`'s `interest-cohort` (in OWASP's list) is refused:
//!   FLoC is gone and Chrome logs a console warning for it.
//! - Unknown CSP directive names and Permissions-Policy features are errors,
//!   as a typo would silently leave the real one unset;
//!   [`PermissionsPolicyBuilder::custom`] takes features newer than this crate.

mod builder;
#[cfg(feature = "serde")]
mod config;
mod csp;
mod headers;
mod layer;
mod nonce;
mod permissions;
mod values;

#[cfg(test)]
mod tests;

pub use self::builder::SecurityHeadersBuilder;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use self::config::{CspConfig, PermissionsPolicyConfig, SecurityHeadersConfig, SecurityPreset};
pub use self::csp::{Csp, CspBuilder, Source};
pub use self::headers::{
    CROSS_ORIGIN_EMBEDDER_POLICY, CROSS_ORIGIN_OPENER_POLICY, CROSS_ORIGIN_RESOURCE_POLICY,
    ORIGIN_AGENT_CLUSTER, PERMISSIONS_POLICY, REPORTING_ENDPOINTS, SecurityHeaders,
    X_DOWNLOAD_OPTIONS, X_PERMITTED_CROSS_DOMAIN_POLICIES, X_POWERED_BY,
};
pub use self::layer::{ResponseFuture, SecurityHeadersLayer, SecurityHeadersService};
pub use self::nonce::CspNonce;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::nonce::MissingCspNonce;
pub use self::permissions::{Allowlist, PermissionsPolicy, PermissionsPolicyBuilder};
pub use self::values::{
    CrossOriginEmbedderPolicy, CrossOriginOpenerPolicy, CrossOriginResourcePolicy, FrameOptions,
    ReferrerPolicy,
};
