//! Strict CORS ([Fetch: CORS protocol](https://fetch.spec.whatwg.org/#http-cors-protocol),
//! [MDN](https://developer.mozilla.org/docs/Web/HTTP/CORS)): an allow-list of
//! parsed origins with safe wildcard subdomains, validated when built.
//!
//! ```
//! use harden_headers::cors::Cors;
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cors = Cors::builder()
//!     .allow_origins(["https://app.example.com", "https://*.preview.example.com"])
//!     .allow_methods(["GET", "POST", "PUT"])
//!     .allow_headers(["content-type", "authorization"])
//!     .expose_headers(["x-request-id"])
//!     .allow_credentials(true)
//!     .max_age(Duration::from_secs(600))
//!     .build()?;
//! let handler = service_fn(|_req: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("hello")))
//! });
//! let svc = cors.layer().layer(handler);
//!
//! // A preflight is answered by the layer.
//! let preflight = Request::options("/api")
//!     .header("origin", "https://pr-42.preview.example.com")
//!     .header("access-control-request-method", "PUT")
//!     .header("access-control-request-headers", "content-type")
//!     .body(())?;
//! let res = svc.clone().oneshot(preflight).await?;
//! assert_eq!(res.status(), StatusCode::NO_CONTENT);
//! assert_eq!(res.headers()["access-control-allow-origin"], "https://pr-42.preview.example.com");
//! assert_eq!(res.headers()["access-control-allow-methods"], "GET, POST, PUT");
//! assert_eq!(res.headers()["access-control-max-age"], "600");
//!
//! // An actual request from an unlisted origin reaches the handler, without
//! // CORS headers: the browser will not let the page read the answer.
//! let req = Request::get("/api").header("origin", "https://evil.example").body(())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert!(res.headers().get("access-control-allow-origin").is_none());
//! assert_eq!(res.headers()["vary"], "origin");
//!
//! // Unsafe configurations are errors, not panics.
//! let err = Cors::builder().allow_origin("https://*.com").build().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "allowed origin `https://*.com` is too broad: a wildcard needs at least two labels after it",
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # The rules
//!
//! - **Origins** are parsed as `scheme://host[:port]` and compared parsed:
//!   scheme and host case-insensitively, the default port folded
//!   (`https://a.com:443` is `https://a.com`). `Access-Control-Allow-Origin`
//!   answers the canonical (lowercase) form of an exact entry. An `Origin`
//!   with a path, trailing slash, query, fragment, user info, percent-escapes,
//!   whitespace, non-ASCII bytes, an empty host or a bad port is malformed and
//!   never allowed.
//! - **Wildcards** `https://*.example.com` match hosts under `example.com` at
//!   any depth on that scheme and port (the default port when none is written),
//!   and nothing else: not `example.com`, not `evil-example.com`. The `*` is
//!   the whole leftmost label, followed by at least two labels.
//! - **`null`** is never allowed, and configuring it is an error.
//! - **Any origin** (`*`) is only for public, non-credentialed resources:
//!   every actual response then carries `Access-Control-Allow-Origin: *`, the
//!   same for every requester, so it needs no `Vary: Origin`.
//! - **Credentials** with any `*` (origin, methods, headers, exposed headers)
//!   is a build error, as is exposing `Set-Cookie`, `Set-Cookie2`, `Cookie`,
//!   `Authorization` or `Proxy-Authorization`, or a `max_age` over the cap
//!   (2 hours by default, Chromium's; configurable up to 24 hours, Firefox's).
//! - **Preflights** are `OPTIONS` requests with both `Origin` and
//!   `Access-Control-Request-Method`; the layer answers every one itself,
//!   `204 No Content`. Every other `OPTIONS` reaches the handler. The
//!   requested method must be listed (case-sensitively), and every requested
//!   header (compared case-insensitively). The answer lists the configured
//!   methods and headers, never the requested ones.
//! - **Denied** requests get no CORS headers at all, and the browser blocks the
//!   read; with [`reject_disallowed`](CorsBuilder::reject_disallowed) they get
//!   `403` in the shared error format with a
//!   [`Rejection`](harden_core::Rejection) `cors` / `origin-not-allowed`,
//!   `method-not-allowed` or `header-not-allowed`.
//! - The layer **owns** the `Access-Control-Allow-*`, `-Expose-Headers` and
//!   `-Max-Age` response headers: what the handler set under those names is
//!   replaced, or removed when access is not granted.
//! - **`Vary`**: `Origin` on every response whose CORS headers depend on it
//!   (always, unless any origin is allowed), including responses without CORS
//!   headers and inner errors; on preflights also
//!   `Access-Control-Request-Method`, `-Request-Headers` and, with Private
//!   Network Access on, `-Request-Private-Network`.
//!
//! Without tower, [`Cors::check`] returns a [`CorsDecision`]: its
//! [`action`](CorsDecision::action) says whether to call the handler, answer
//! the preflight or refuse, and [`apply`](CorsDecision::apply) writes the
//! headers onto any response's `HeaderMap`.
//!
//! # Caveats
//!
//! - **CORS is not CSRF protection.** It decides what a page may *read*; a
//!   "simple" cross-origin request (a form `POST`, a `GET`) still reaches the
//!   handler whatever the policy says. State-changing routes need SameSite
//!   cookies, a required custom header, or
//!   [`reject_disallowed`](CorsBuilder::reject_disallowed), which refuses
//!   cross-origin requests from disallowed origins.
//! - `reject_disallowed` tells same-origin requests (never refused) by
//!   `Sec-Fetch-Site: same-origin` or `none`; when a browser sends
//!   `Sec-Fetch-Site`, nothing else is consulted. Without it (older browsers),
//!   a request is same-origin when the `Origin`'s host and port equal the
//!   `Host` header (or the HTTP/2 authority). Only non-browser clients can
//!   forge `Host`, and CORS does not apply to them. Requests without `Origin`
//!   (navigations, `<img>`, most same-origin `GET`s) are never refused.
//! - A wildcard is not a public-suffix check: `https://*.co.uk` is accepted
//!   (two labels), and `https://*.github.io` allows every GitHub Pages site.
//!   Only wildcard domains whose every subdomain you control.
//! - `Access-Control-Allow-Headers: *` (any header) never covers
//!   `Authorization` in browsers: list it explicitly.
//! - Methods are case-sensitive: browsers uppercase only `DELETE`, `GET`,
//!   `HEAD`, `OPTIONS`, `POST` and `PUT`; `fetch(url, {method: "patch"})`
//!   asks for `patch`, which `PATCH` does not allow.
//! - In any-origin mode, every actual response says `*`, including to pages
//!   with an opaque (`null`) origin (one answer for everyone keeps shared
//!   caches correct without `Vary: Origin`); preflights from `null` or
//!   malformed origins are still refused, and `reject_disallowed` refuses no
//!   actual request. The resources behind it must be public.
//! - Order matters: put [`CorsLayer`] outside authentication, rate limiting,
//!   timeouts and load shedding, so that preflights need no credentials and
//!   their 401, 429 and 503 carry CORS headers. An inner service's *error*
//!   (not an error response) passes through untouched.

mod builder;
#[cfg(feature = "serde")]
mod config;
mod decision;
mod layer;
mod origin;
#[cfg(test)]
mod tests;

pub use self::builder::{CHROMIUM_MAX_AGE, Cors, CorsBuilder, FIREFOX_MAX_AGE};
#[cfg(feature = "serde")]
pub use self::config::CorsConfig;
pub use self::decision::{
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK, ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK, CorsAction,
    CorsDecision, CorsDenial,
};
pub use self::layer::{CorsLayer, CorsService, ResponseFuture};
