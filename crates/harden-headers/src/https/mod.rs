//! HTTPS enforcement: plain-HTTP requests are redirected to HTTPS at a
//! configured canonical host, and HTTPS responses carry
//! `Strict-Transport-Security`.
//!
//! [`HttpsRedirect`] is the policy and its plain decision,
//! [`decide`](HttpsRedirect::decide), usable from any framework;
//! [`HttpsRedirectLayer`] applies it as a tower layer.
//!
//! - **Where to.** The `Location` is built from the configured canonical host,
//!   never from `Host` or `X-Forwarded-Host` (that would be an open redirect and
//!   a cache-poisoning vector). Path and query are kept.
//! - **How.** `308 Permanent Redirect` by default, or `301` for `GET`/`HEAD`.
//! - **Unsafe methods.** A `POST`, `PUT`, `DELETE`, … over plain HTTP is
//!   answered `403` in the shared error format instead of redirected: its
//!   credentials and body have already crossed the network in clear text, and a
//!   redirect would teach the client that this works. It can be redirected with
//!   `308` instead ([`UnsafeMethods::Redirect`]).
//! - **Which requests are HTTPS.** The listener's [`Scheme`] request extension
//!   (or an absolute `https://` request URI); behind a load balancer,
//!   `X-Forwarded-Proto` or `Forwarded: proto=` **only** from configured
//!   [`TrustedProxies`], whose report wins over the listener's.
//! - **HSTS** (`max-age=31536000; includeSubDomains` by default) is added to every
//!   HTTPS response, whatever its status and including rejections by inner
//!   layers, and never to a plain-HTTP one (RFC 6797 §7.2). A policy the handler
//!   set itself is kept.
//! - **Exemptions.** None by default. Exact paths and path prefixes can stay on
//!   plain HTTP (health probes, `/.well-known/acme-challenge/`);
//!   [`exempt_health_probes`](HttpsRedirectBuilder::exempt_health_probes) adds
//!   [`HEALTH_PROBE_PATHS`].
//!
//! # Example
//!
//! ```
//! use harden_core::ip::Scheme;
//! use harden_headers::https::{HttpsRedirect, HttpsRedirectLayer};
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let redirect = HttpsRedirect::builder("www.example.com")
//!     .exempt_health_probes()
//!     .build()?;
//! let svc = HttpsRedirectLayer::new(redirect).layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("hello")))
//! }));
//!
//! // Plain HTTP, whatever the client claims its host is: sent to the canonical host.
//! let req = Request::get("/cart?item=7")
//!     .header("host", "evil.example")
//!     .extension(Scheme::Http)
//!     .body(())?;
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
//! assert_eq!(res.headers()["location"], "https://www.example.com/cart?item=7");
//! assert!(res.headers().get("strict-transport-security").is_none());
//!
//! // HTTPS (here declared by the TLS listener): served, with HSTS.
//! let req = Request::get("/cart").extension(Scheme::Https).body(())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(
//!     res.headers()["strict-transport-security"],
//!     "max-age=31536000; includeSubDomains"
//! );
//! # Ok(())
//! # }
//! ```
//!
//! Without tower (the actix example does this), call
//! [`decide`](HttpsRedirect::decide) and act on the [`Decision`].
//!
//! # Caveats
//!
//! - The scheme must be known. A server that terminates TLS itself should insert
//!   `Scheme::Https` into each request's extensions (or use
//!   [`ClientIpLayer::listener_scheme`](harden_core::ip::ClientIpLayer::listener_scheme));
//!   with no declaration, the request URI decides, and a plain-HTTP client can
//!   send an absolute `https://` request target. Declare `Scheme::Http` on the
//!   plain listener to close that.
//! - Behind a TLS-terminating proxy that is not configured as trusted, every
//!   request looks like plain HTTP and is redirected forever. Configure the
//!   proxy's addresses with [`trusted_proxies`](HttpsRedirectBuilder::trusted_proxies).
//! - Exempt paths are matched on the raw request path, case-sensitively. A prefix
//!   match is refused when the path holds a dot segment (`..`, `%2e%2e`), a
//!   backslash or an encoded slash, so `/.well-known/acme-challenge/../../admin`
//!   is redirected; exact paths are compared whole. An exemption applies to every
//!   method.
//! - A handler's own `Strict-Transport-Security` on a plain-HTTP response (an
//!   exempt path) is not removed; browsers ignore it there.
//! - Characters that are not allowed in a URI (non-ASCII, `"`, `{`, `|`, `\`, …)
//!   are percent-encoded in the `Location`; a `Location` over
//!   [`MAX_LOCATION_LEN`] bytes is refused with `414`.
//! - With one canonical host, `http://example.com` is sent straight to
//!   `https://www.example.com`; hstspreload.org wants the first hop to stay on
//!   the same host. List such hosts with
//!   [`keep_host`](HttpsRedirectBuilder::keep_host).

mod config;
mod layer;

use std::sync::Arc;

use bytes::Bytes;
use harden_core::ip::{Scheme, TrustedProxies};
use harden_core::{ErrorResponse, Rejection, ResponseBody};
use http::header::{HOST, LOCATION};
use http::{Extensions, HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use self::config::HttpsConfig;
pub use self::config::{HttpsRedirectBuilder, UnsafeMethods};
pub use self::layer::{HttpsRedirectLayer, HttpsRedirectService, ResponseFuture};
use crate::hsts::Hsts;

/// The paths [`exempt_health_probes`](HttpsRedirectBuilder::exempt_health_probes)
/// exempts: the usual Kubernetes and load-balancer probe endpoints.
pub const HEALTH_PROBE_PATHS: [&str; 4] = ["/livez", "/readyz", "/healthz", "/health"];

/// The longest `Location` sent, in bytes. Longer targets are refused with
/// `414 URI Too Long`: many proxies and clients drop header lines over 8 KiB.
pub const MAX_LOCATION_LEN: usize = 8192;

/// The layer name in every [`Rejection`] this module records.
const LAYER: &str = "https";

/// The HTTPS policy: where plain-HTTP requests go, which stay, and the HSTS
/// policy of HTTPS responses.
///
/// Build it with [`HttpsRedirect::builder`]; cheap to clone (the policy is
/// shared).
#[derive(Clone, Debug)]
pub struct HttpsRedirect {
    policy: Arc<Policy>,
}

#[derive(Debug)]
struct Policy {
    /// `https://host[:port]`, without a trailing slash.
    canonical: Box<str>,
    kept_hosts: Box<[KeptHost]>,
    redirect_status: StatusCode,
    unsafe_methods: UnsafeMethods,
    exempt_paths: Box<[Box<str>]>,
    exempt_prefixes: Box<[Box<str>]>,
    proxies: Option<TrustedProxies>,
    hsts: Option<Hsts>,
}

#[derive(Debug)]
struct KeptHost {
    /// The host as compared with the request's (lowercase, IPv6 in brackets).
    host: Box<str>,
    /// `https://host[:port]`.
    origin: Box<str>,
}

/// What to do with a request, as decided by [`HttpsRedirect::decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve it. When `add_hsts` is set (an HTTPS request and an HSTS policy is
    /// configured), apply [`HttpsRedirect::hsts`] to the response with
    /// [`Hsts::apply`], whatever its status.
    Pass {
        /// Whether the response gets `Strict-Transport-Security`.
        add_hsts: bool,
    },
    /// Answer with a redirect to HTTPS (no HSTS: this answer goes out over
    /// plain HTTP).
    Redirect(Location),
    /// Answer with an error in the shared format.
    Refuse(Refusal),
}

/// Where a plain-HTTP request is sent, and with which status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    status: StatusCode,
    value: HeaderValue,
}

impl Location {
    /// `301` or `308`.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Location` header value: an absolute `https://` URL of visible ASCII.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// The `Location` as a string.
    pub fn as_str(&self) -> &str {
        self.value.to_str().unwrap_or_default()
    }

    /// The redirect response: the status, `Location`, an empty body, and a
    /// [`Rejection`] `https: redirect-to-https` in the extensions.
    pub fn into_response<B>(self) -> Response<ResponseBody<B>> {
        let mut res = Response::new(ResponseBody::empty());
        *res.status_mut() = self.status;
        res.headers_mut().insert(LOCATION, self.value);
        res.extensions_mut()
            .insert(Rejection::new(LAYER, "redirect-to-https"));
        res
    }
}

/// Why a plain-HTTP request is answered with an error instead of a redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A method other than `GET`/`HEAD` over plain HTTP, under
    /// [`UnsafeMethods::Refuse`]: `403`, reason `insecure-method`.
    InsecureMethod,
    /// A request target with no path to redirect to (`OPTIONS *`, `CONNECT
    /// host:port`): `400`, reason `bad-request-target`.
    UnredirectableTarget,
    /// A request target that cannot form a safe `Location` (control characters
    /// or whitespace): `400`, reason `bad-location`.
    BadLocation,
    /// A `Location` longer than [`MAX_LOCATION_LEN`]: `414`, reason
    /// `location-too-long`.
    LocationTooLong,
}

impl Refusal {
    /// The response status.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::InsecureMethod => StatusCode::FORBIDDEN,
            Refusal::UnredirectableTarget | Refusal::BadLocation => StatusCode::BAD_REQUEST,
            Refusal::LocationTooLong => StatusCode::URI_TOO_LONG,
        }
    }

    /// The machine-readable reason of the [`Rejection`].
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::InsecureMethod => "insecure-method",
            Refusal::UnredirectableTarget => "bad-request-target",
            Refusal::BadLocation => "bad-location",
            Refusal::LocationTooLong => "location-too-long",
        }
    }

    /// The client-facing message.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::InsecureMethod => {
                "HTTPS required: only GET and HEAD are redirected from plain HTTP"
            }
            Refusal::UnredirectableTarget => "HTTPS required: this request target has no HTTPS URL",
            Refusal::BadLocation => "Invalid characters in the request target",
            Refusal::LocationTooLong => "The request target is too long to redirect",
        }
    }

    /// The error in the shared format, with its [`Rejection`]; add
    /// [`for_request`](ErrorResponse::for_request) for the request id and format.
    pub fn error_response(self) -> ErrorResponse {
        ErrorResponse::new(self.status(), self.message())
            .rejection(Rejection::new(LAYER, self.reason()))
    }
}

impl HttpsRedirect {
    /// Starts a policy that redirects to `https://{canonical_host}`.
    ///
    /// `canonical_host` is a DNS name or IP literal (IPv6 in brackets) with an
    /// optional `:port`, e.g. `"www.example.com"`, `"[2001:db8::1]:8443"`; it is
    /// validated by [`build`](HttpsRedirectBuilder::build).
    pub fn builder(canonical_host: impl Into<String>) -> HttpsRedirectBuilder {
        HttpsRedirectBuilder::new(canonical_host.into())
    }

    /// The origin plain-HTTP requests are sent to, e.g. `https://www.example.com`.
    pub fn canonical_origin(&self) -> &str {
        &self.policy.canonical
    }

    /// The HSTS policy of HTTPS responses, if this layer adds one.
    pub fn hsts(&self) -> Option<&Hsts> {
        self.policy.hsts.as_ref()
    }

    /// The status of redirects of `GET` and `HEAD`.
    pub fn redirect_status(&self) -> StatusCode {
        self.policy.redirect_status
    }

    /// What happens to other methods over plain HTTP.
    pub fn unsafe_methods(&self) -> UnsafeMethods {
        self.policy.unsafe_methods
    }

    /// The trusted proxies whose `X-Forwarded-Proto` / `Forwarded` is believed.
    pub fn trusted_proxies(&self) -> Option<&TrustedProxies> {
        self.policy.proxies.as_ref()
    }

    /// Whether a request for `path` may stay on plain HTTP.
    pub fn is_exempt(&self, path: &str) -> bool {
        let p = &self.policy;
        p.exempt_paths.iter().any(|e| **e == *path)
            || p.exempt_prefixes
                .iter()
                .any(|e| path.starts_with(&**e) && !escapes_prefix(path))
    }

    /// The scheme the client used: a trusted proxy's report if proxies are
    /// configured and one reported, else [`Scheme::of`].
    pub fn scheme(&self, uri: &Uri, headers: &HeaderMap, extensions: &Extensions) -> Scheme {
        match &self.policy.proxies {
            Some(proxies) => proxies.scheme(uri, headers, extensions),
            None => Scheme::of(uri, extensions),
        }
    }

    /// Decides what to do with a request: serve it (with or without HSTS),
    /// redirect it to HTTPS, or refuse it.
    ///
    /// ```
    /// use harden_headers::https::{Decision, HttpsRedirect};
    /// use http::{Extensions, HeaderMap, Method, Uri};
    ///
    /// let redirect = HttpsRedirect::builder("www.example.com").https_port(8443).build()?;
    /// let uri: Uri = "/a?b=c".parse().unwrap();
    /// let d = redirect.decide(&Method::GET, &uri, &HeaderMap::new(), &Extensions::new());
    /// let Decision::Redirect(location) = d else { panic!("{d:?}") };
    /// assert_eq!(location.as_str(), "https://www.example.com:8443/a?b=c");
    /// assert_eq!(location.status(), 308);
    /// # Ok::<(), harden_headers::ConfigError>(())
    /// ```
    pub fn decide(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Decision {
        let p = &self.policy;
        if self.scheme(uri, headers, extensions) == Scheme::Https {
            return Decision::Pass {
                add_hsts: p.hsts.is_some(),
            };
        }
        if self.is_exempt(uri.path()) {
            return Decision::Pass { add_hsts: false };
        }
        let status = if method == Method::GET || method == Method::HEAD {
            p.redirect_status
        } else {
            match p.unsafe_methods {
                UnsafeMethods::Refuse => return Decision::Refuse(Refusal::InsecureMethod),
                UnsafeMethods::Redirect => StatusCode::PERMANENT_REDIRECT,
            }
        };
        let Some(target) = request_target(uri) else {
            return Decision::Refuse(Refusal::UnredirectableTarget);
        };
        match build_location(self.origin_for(uri, headers), target) {
            Ok(value) => Decision::Redirect(Location { status, value }),
            Err(refusal) => Decision::Refuse(refusal),
        }
    }

    /// The origin to redirect to: a kept host's own when the request names one,
    /// else the canonical host. The request's host only selects among
    /// configured values; it is never copied.
    fn origin_for(&self, uri: &Uri, headers: &HeaderMap) -> &str {
        let p = &self.policy;
        if !p.kept_hosts.is_empty()
            && let Some(host) = request_host(uri, headers)
            && let Some(kept) = p
                .kept_hosts
                .iter()
                .find(|k| k.host.eq_ignore_ascii_case(host))
        {
            return &kept.origin;
        }
        &p.canonical
    }
}

/// The path and query to redirect to, or `None` for a target that has none
/// (asterisk-form `*`, authority-form `host:port`).
fn request_target(uri: &Uri) -> Option<&str> {
    match uri.path_and_query() {
        Some(pq) if pq.as_str() == "*" => None,
        Some(pq) => Some(pq.as_str()),
        None if uri.scheme().is_some() => Some("/"),
        None => None,
    }
}

/// The host the request names (absolute-form authority, else `Host`), without
/// userinfo or port.
fn request_host<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    let authority = match uri.authority() {
        Some(authority) => authority.as_str(),
        None => headers.get(HOST)?.to_str().ok()?,
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.starts_with('[') {
        let end = host.find(']')?;
        return host.get(..=end);
    }
    Some(host.split_once(':').map_or(host, |(host, _)| host))
}

/// Whether a byte may appear in a `Location` path or query as it is: RFC 3986
/// unreserved, sub-delims, `:`, `@`, `/`, `?`, and `%` (already-encoded octets
/// stay encoded).
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'%'
        )
}

/// `origin` followed by `target`, with bytes outside [`is_uri_byte`]
/// percent-encoded. Control characters and whitespace are refused rather than
/// encoded: no valid request target contains them.
fn build_location(origin: &str, target: &str) -> Result<HeaderValue, Refusal> {
    let slash = !target.starts_with('/');
    let mut out = String::with_capacity(origin.len() + usize::from(slash) + target.len());
    out.push_str(origin);
    if slash {
        out.push('/');
    }
    if target.bytes().all(is_uri_byte) {
        out.push_str(target);
    } else {
        for b in target.bytes() {
            if b.is_ascii_control() || b == b' ' {
                return Err(Refusal::BadLocation);
            }
            if is_uri_byte(b) {
                out.push(char::from(b));
            } else {
                out.push('%');
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0x0f));
            }
            if out.len() > MAX_LOCATION_LEN {
                return Err(Refusal::LocationTooLong);
            }
        }
    }
    if out.len() > MAX_LOCATION_LEN {
        return Err(Refusal::LocationTooLong);
    }
    HeaderValue::from_maybe_shared(Bytes::from(out)).map_err(|_| Refusal::BadLocation)
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

/// Whether `path` could leave an exempt prefix once normalised by a proxy or
/// router: a dot segment (also `%2e`, or followed by `;params`), a backslash,
/// or an encoded `/` or `\`.
fn escapes_prefix(path: &str) -> bool {
    path.contains('\\')
        || path
            .as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%2f") || w.eq_ignore_ascii_case(b"%5c"))
        || path.split('/').any(is_dot_segment)
}

fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.split(';').next().unwrap_or(segment);
    let mut dots = 0;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            rest = after;
        } else if rest.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%2e")) {
            rest = rest.get(3..).unwrap_or_default();
        } else {
            return false;
        }
        dots += 1;
    }
    matches!(dots, 1 | 2)
}

#[cfg(test)]
mod tests;
