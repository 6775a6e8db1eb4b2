//! `SecurityHeaders`: the header set, its presets, and `apply`.

use http::header::{
    CACHE_CONTROL, Entry, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_XSS_PROTECTION,
};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::builder::SecurityHeadersBuilder;
use super::csp::{Csp, CspHeader};
use super::nonce::CspNonce;
use super::permissions::PermissionsPolicy;
use super::values::{
    CrossOriginOpenerPolicy, CrossOriginResourcePolicy, FrameOptions, ReferrerPolicy,
};
use crate::hsts::Hsts;

/// `Cross-Origin-Opener-Policy`.
pub const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");
/// `Cross-Origin-Embedder-Policy`.
pub const CROSS_ORIGIN_EMBEDDER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-embedder-policy");
/// `Cross-Origin-Resource-Policy`.
pub const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-resource-policy");
/// `Origin-Agent-Cluster`.
pub const ORIGIN_AGENT_CLUSTER: HeaderName = HeaderName::from_static("origin-agent-cluster");
/// `Permissions-Policy`.
pub const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");
/// `Reporting-Endpoints`.
pub const REPORTING_ENDPOINTS: HeaderName = HeaderName::from_static("reporting-endpoints");
/// `X-Download-Options`.
pub const X_DOWNLOAD_OPTIONS: HeaderName = HeaderName::from_static("x-download-options");
/// `X-Permitted-Cross-Domain-Policies`.
pub const X_PERMITTED_CROSS_DOMAIN_POLICIES: HeaderName =
    HeaderName::from_static("x-permitted-cross-domain-policies");
/// `X-Powered-By`.
pub const X_POWERED_BY: HeaderName = HeaderName::from_static("x-powered-by");

/// Which directives get the per-request nonce unless configured otherwise.
pub(super) const DEFAULT_NONCE_DIRECTIVES: [&str; 2] = ["script-src", "style-src"];

/// The security headers every response gets, precomputed.
///
/// Start from a preset ([`SecurityHeaders::helmet`] for HTML apps,
/// [`SecurityHeaders::strict_api`] for JSON APIs), change it through
/// [`SecurityHeaders::into_builder`], and serve it with
/// [`SecurityHeadersLayer`](super::SecurityHeadersLayer) or, without tower,
/// with [`SecurityHeaders::apply`].
///
/// ```
/// use harden_headers::security::{FrameOptions, SecurityHeaders};
/// use http::HeaderMap;
///
/// let headers = SecurityHeaders::helmet()
///     .into_builder()
///     .frame_options(FrameOptions::Deny)
///     .build()?;
///
/// let mut response_headers = HeaderMap::new();
/// response_headers.insert("x-powered-by", "Express".parse().unwrap());
/// headers.apply(&mut response_headers, true, None);
/// assert_eq!(response_headers["x-frame-options"], "DENY");
/// assert_eq!(response_headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
/// assert!(!response_headers.contains_key("x-powered-by"));
/// # Ok::<(), harden_headers::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    pub(super) settings: SecurityHeadersBuilder,
    pub(super) fixed: Box<[(HeaderName, HeaderValue)]>,
    /// Every header but a nonce-carrying CSP, for plain-HTTP responses.
    pub(super) template_http: HeaderMap,
    /// The same, with HSTS, for HTTPS responses.
    pub(super) template_https: HeaderMap,
    pub(super) csp: Box<[CspHeader]>,
    pub(super) hsts: Option<HeaderValue>,
    pub(super) strip: Box<[HeaderName]>,
    pub(super) override_existing: bool,
    pub(super) nonce: bool,
    pub(super) count: usize,
}

impl SecurityHeaders {
    /// An empty builder: no header set, `Server` and `X-Powered-By` stripped.
    pub fn builder() -> SecurityHeadersBuilder {
        SecurityHeadersBuilder::empty()
    }

    /// helmet 8.3's defaults, header for header:
    ///
    /// | Header | Value |
    /// |---|---|
    /// | `Content-Security-Policy` | [`Csp::helmet`] |
    /// | `Cross-Origin-Opener-Policy` | `same-origin` |
    /// | `Cross-Origin-Resource-Policy` | `same-origin` |
    /// | `Origin-Agent-Cluster` | `?1` |
    /// | `Referrer-Policy` | `no-referrer` |
    /// | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains` (HTTPS only) |
    /// | `X-Content-Type-Options` | `nosniff` |
    /// | `X-DNS-Prefetch-Control` | `off` |
    /// | `X-Download-Options` | `noopen` |
    /// | `X-Frame-Options` | `SAMEORIGIN` |
    /// | `X-Permitted-Cross-Domain-Policies` | `none` |
    /// | `X-XSS-Protection` | `0` |
    ///
    /// and `X-Powered-By` (and `Server`) removed.
    pub fn helmet() -> SecurityHeaders {
        Self::builder()
            .csp(Csp::helmet())
            .cross_origin_opener_policy(CrossOriginOpenerPolicy::SameOrigin)
            .cross_origin_resource_policy(CrossOriginResourcePolicy::SameOrigin)
            .header(ORIGIN_AGENT_CLUSTER, HeaderValue::from_static("?1"))
            .referrer_policy(ReferrerPolicy::NoReferrer)
            .hsts(Hsts::default())
            .header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))
            .dns_prefetch_control(false)
            .header(X_DOWNLOAD_OPTIONS, HeaderValue::from_static("noopen"))
            .frame_options(FrameOptions::SameOrigin)
            .header(
                X_PERMITTED_CROSS_DOMAIN_POLICIES,
                HeaderValue::from_static("none"),
            )
            .header(X_XSS_PROTECTION, HeaderValue::from_static("0"))
            .assemble()
    }

    /// The OWASP REST Security Cheat Sheet's headers for JSON APIs:
    ///
    /// | Header | Value |
    /// |---|---|
    /// | `Content-Security-Policy` | `default-src 'none';frame-ancestors 'none'` |
    /// | `Cache-Control` | `no-store` |
    /// | `X-Frame-Options` | `DENY` |
    /// | `Referrer-Policy` | `no-referrer` |
    /// | `Cross-Origin-Opener-Policy` | `same-origin` |
    /// | `Cross-Origin-Resource-Policy` | `same-origin` |
    /// | `Permissions-Policy` | [`PermissionsPolicy::deny_all`] |
    /// | `X-Content-Type-Options` | `nosniff` |
    /// | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains` (HTTPS only) |
    ///
    /// and `Server`, `X-Powered-By` removed. A handler that sets its own
    /// `Cache-Control` keeps it.
    pub fn strict_api() -> SecurityHeaders {
        Self::builder()
            .csp(Csp::strict_api())
            .header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
            .frame_options(FrameOptions::Deny)
            .referrer_policy(ReferrerPolicy::NoReferrer)
            .cross_origin_opener_policy(CrossOriginOpenerPolicy::SameOrigin)
            .cross_origin_resource_policy(CrossOriginResourcePolicy::SameOrigin)
            .permissions_policy(PermissionsPolicy::deny_all())
            .header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))
            .hsts(Hsts::default())
            .assemble()
    }

    /// A builder holding these settings, to change them.
    pub fn into_builder(self) -> SecurityHeadersBuilder {
        self.settings
    }

    /// Whether per-request CSP nonces are on.
    pub fn nonce_enabled(&self) -> bool {
        self.nonce
    }

    /// A fresh nonce if nonces are on: what the tower layer does per request,
    /// for adapters that call [`apply`](Self::apply) themselves (put it where
    /// the handler can read it, then pass it to `apply`).
    pub fn nonce_for_request(&self) -> Option<CspNonce> {
        self.nonce.then(CspNonce::generate)
    }

    /// The enforced policy, if any.
    pub fn csp(&self) -> Option<&Csp> {
        self.settings.enforced_csp()
    }

    /// The report-only policy, if any.
    pub fn csp_report_only(&self) -> Option<&Csp> {
        self.settings.report_only_csp()
    }

    /// Sets the headers on one response.
    ///
    /// - Removes every header on the strip list (`Server`, `X-Powered-By` by
    ///   default), always.
    /// - Sets each configured header unless the response already has it (a
    ///   handler's own value wins), or always with
    ///   [`override_existing`](SecurityHeadersBuilder::override_existing).
    /// - Sets `Strict-Transport-Security` only when `is_https`.
    /// - With nonces on, writes `nonce` into the CSP; with nonces on and no
    ///   `nonce` given, a fresh one nobody knows (so inline elements are
    ///   blocked rather than the policy loosened).
    pub fn apply(&self, headers: &mut HeaderMap, is_https: bool, nonce: Option<&CspNonce>) {
        let template = if is_https {
            &self.template_https
        } else {
            &self.template_http
        };
        // Hashing our dozen names into the response's map costs more than
        // hashing the response's few headers into a copy of a map built once;
        // the result is the same.
        if !self.override_existing && headers.len() <= template.len() {
            self.apply_onto_template(template, headers, nonce);
        } else {
            self.apply_each(headers, is_https, nonce);
        }
    }

    /// `apply` for a response with few headers: a copy of the precomputed map,
    /// the nonce-carrying CSP, then the response's own headers (which win), minus
    /// the strip list.
    pub(super) fn apply_onto_template(
        &self,
        template: &HeaderMap,
        headers: &mut HeaderMap,
        nonce: Option<&CspNonce>,
    ) {
        let mut out = template.clone();
        if self.nonce {
            let fresh;
            let nonce = match nonce {
                Some(n) => n,
                None => {
                    fresh = CspNonce::generate();
                    &fresh
                }
            };
            for csp in self.csp.iter().filter(|c| c.takes_nonce()) {
                let _ = out.try_insert(&csp.name, csp.value(nonce));
            }
        }
        let mut current: Option<HeaderName> = None;
        let mut keep = false;
        for (name, value) in std::mem::take(headers) {
            match name {
                Some(name) => {
                    keep = !self.strip.contains(&name);
                    if keep {
                        let _ = out.try_insert(&name, value);
                    }
                    current = Some(name);
                }
                None => {
                    if keep && let Some(name) = &current {
                        let _ = out.try_append(name, value);
                    }
                }
            }
        }
        *headers = out;
    }

    /// `apply` one header at a time, for responses with many headers and for
    /// `override_existing`.
    pub(super) fn apply_each(
        &self,
        headers: &mut HeaderMap,
        is_https: bool,
        nonce: Option<&CspNonce>,
    ) {
        // Failure means 32768 headers already; the inserts below then fail
        // quietly too, instead of panicking.
        let _ = headers.try_reserve(self.count);
        for name in &self.strip {
            headers.remove(name);
        }
        if !self.csp.is_empty() {
            let fresh;
            let nonce = match (self.nonce, nonce) {
                (false, _) => None,
                (true, Some(n)) => Some(n),
                (true, None) => {
                    fresh = CspNonce::generate();
                    Some(&fresh)
                }
            };
            for csp in &self.csp {
                match nonce {
                    Some(n) if csp.takes_nonce() => self.set(headers, &csp.name, || csp.value(n)),
                    _ => self.set(headers, &csp.name, || csp.static_value().clone()),
                }
            }
        }
        for (name, value) in &self.fixed {
            self.set(headers, name, || value.clone());
        }
        if is_https && let Some(hsts) = &self.hsts {
            self.set(headers, &STRICT_TRANSPORT_SECURITY, || hsts.clone());
        }
    }

    fn set(&self, headers: &mut HeaderMap, name: &HeaderName, value: impl FnOnce() -> HeaderValue) {
        if self.override_existing {
            let _ = headers.try_insert(name, value());
        } else if let Ok(Entry::Vacant(slot)) = headers.try_entry(name) {
            let _ = slot.try_insert(value());
        }
    }
}

impl Default for SecurityHeaders {
    /// [`SecurityHeaders::helmet`].
    fn default() -> Self {
        Self::helmet()
    }
}
