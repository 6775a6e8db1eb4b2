//! `SecurityHeadersBuilder`: changing a preset, validated at build.

use std::borrow::Cow;

use http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, REFERRER_POLICY, SERVER,
    STRICT_TRANSPORT_SECURITY, X_DNS_PREFETCH_CONTROL, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::csp::{Csp, CspHeader, nonce_directive};
use super::headers::{
    CROSS_ORIGIN_EMBEDDER_POLICY, CROSS_ORIGIN_OPENER_POLICY, CROSS_ORIGIN_RESOURCE_POLICY,
    DEFAULT_NONCE_DIRECTIVES, PERMISSIONS_POLICY, REPORTING_ENDPOINTS, SecurityHeaders,
    X_POWERED_BY,
};
use super::permissions::PermissionsPolicy;
use super::values::{
    CrossOriginEmbedderPolicy, CrossOriginOpenerPolicy, CrossOriginResourcePolicy, FrameOptions,
    ReferrerPolicy,
};
use crate::ConfigError;
use crate::hsts::Hsts;

/// Builds [`SecurityHeaders`]; start from [`SecurityHeaders::builder`] or a
/// preset's [`into_builder`](SecurityHeaders::into_builder).
///
/// Setters replace the preset's value for their header; errors (a bad
/// header, a managed header given as an extra) surface at
/// [`build`](Self::build).
#[derive(Clone, Debug)]
#[must_use]
pub struct SecurityHeadersBuilder {
    headers: Vec<(HeaderName, HeaderValue)>,
    csp: Option<Csp>,
    csp_report_only: Option<Csp>,
    nonce: bool,
    nonce_directives: Vec<Cow<'static, str>>,
    hsts: Option<Hsts>,
    strip: Vec<HeaderName>,
    override_existing: bool,
    error: Option<ConfigError>,
}

impl SecurityHeadersBuilder {
    pub(super) fn empty() -> Self {
        SecurityHeadersBuilder {
            headers: Vec::new(),
            csp: None,
            csp_report_only: None,
            nonce: false,
            nonce_directives: DEFAULT_NONCE_DIRECTIVES
                .iter()
                .map(|d| Cow::Borrowed(*d))
                .collect(),
            hsts: None,
            strip: vec![SERVER, X_POWERED_BY],
            override_existing: false,
            error: None,
        }
    }

    pub(super) fn enforced_csp(&self) -> Option<&Csp> {
        self.csp.as_ref()
    }

    pub(super) fn report_only_csp(&self) -> Option<&Csp> {
        self.csp_report_only.as_ref()
    }

    /// Sets the Content Security Policy: as `Content-Security-Policy`, or as
    /// `Content-Security-Policy-Report-Only` if it was built
    /// [`report_only`](super::CspBuilder::report_only). One of each may be
    /// set, to trial a stricter policy beside the enforced one
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy)).
    pub fn csp(mut self, csp: Csp) -> Self {
        if csp.is_report_only() {
            self.csp_report_only = Some(csp);
        } else {
            self.csp = Some(csp);
        }
        self
    }

    /// Gives every request a fresh [`CspNonce`](super::CspNonce) and adds `'nonce-…'` to the
    /// nonce directives (`script-src` and `style-src` unless
    /// [`csp_nonce_directives`](Self::csp_nonce_directives) says otherwise)
    /// of every policy. A directive the policy lacks is created from the one
    /// it falls back to (`default-src`), so nothing else loosens
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTML/Global_attributes/nonce)).
    ///
    /// In CSP2+ browsers a nonce disables `'unsafe-inline'` in its directive:
    /// with helmet's `style-src 'self' https: 'unsafe-inline'`, inline
    /// `<style>` then needs the nonce, and `style="…"` attributes are blocked
    /// (attributes cannot carry a nonce). Use
    /// `csp_nonce_directives(["script-src"])` to keep inline styles.
    pub fn csp_nonce(mut self, on: bool) -> Self {
        self.nonce = on;
        self
    }

    /// Which directives get the nonce: any of `script-src`,
    /// `script-src-elem`, `style-src`, `style-src-elem` (checked at build).
    pub fn csp_nonce_directives<I, S>(mut self, directives: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        self.nonce_directives = directives.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `X-Frame-Options`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/X-Frame-Options)).
    pub fn frame_options(self, value: FrameOptions) -> Self {
        self.put(X_FRAME_OPTIONS, value.header_value())
    }

    /// Sets `Referrer-Policy`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Referrer-Policy)).
    pub fn referrer_policy(self, value: ReferrerPolicy) -> Self {
        self.put(REFERRER_POLICY, value.header_value())
    }

    /// Sets `Cross-Origin-Opener-Policy`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Cross-Origin-Opener-Policy)).
    pub fn cross_origin_opener_policy(self, value: CrossOriginOpenerPolicy) -> Self {
        self.put(CROSS_ORIGIN_OPENER_POLICY, value.header_value())
    }

    /// Sets `Cross-Origin-Embedder-Policy`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Cross-Origin-Embedder-Policy)).
    pub fn cross_origin_embedder_policy(self, value: CrossOriginEmbedderPolicy) -> Self {
        self.put(CROSS_ORIGIN_EMBEDDER_POLICY, value.header_value())
    }

    /// Sets `Cross-Origin-Resource-Policy`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Cross-Origin-Resource-Policy)).
    pub fn cross_origin_resource_policy(self, value: CrossOriginResourcePolicy) -> Self {
        self.put(CROSS_ORIGIN_RESOURCE_POLICY, value.header_value())
    }

    /// Sets `Permissions-Policy`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Permissions-Policy)).
    pub fn permissions_policy(self, policy: PermissionsPolicy) -> Self {
        let value = policy.header_value().clone();
        self.put(PERMISSIONS_POLICY, value)
    }

    /// Sets `X-DNS-Prefetch-Control` to `on` or `off`
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/X-DNS-Prefetch-Control)).
    pub fn dns_prefetch_control(self, allow: bool) -> Self {
        let value = HeaderValue::from_static(if allow { "on" } else { "off" });
        self.put(X_DNS_PREFETCH_CONTROL, value)
    }

    /// Sets `Strict-Transport-Security`, sent on HTTPS responses only
    /// ([RFC 6797](https://www.rfc-editor.org/rfc/rfc6797),
    /// [MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Strict-Transport-Security)).
    pub fn hsts(mut self, hsts: Hsts) -> Self {
        self.hsts = Some(hsts);
        self
    }

    /// Declares a Reporting API endpoint (`Reporting-Endpoints: name="url"`)
    /// for CSP's [`report_to`](super::CspBuilder::report_to)
    /// ([MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Reporting-Endpoints)).
    /// Repeat for several endpoints. The URL must be absolute `https://` (or
    /// `http://localhost` for development).
    pub fn reporting_endpoint(mut self, name: &str, url: &str) -> Self {
        if let Err(err) = check_endpoint(name, url) {
            self.error.get_or_insert(err);
            return self;
        }
        let item = format!("{name}=\"{url}\"");
        let joined = match self.headers.iter().find(|(n, _)| *n == REPORTING_ENDPOINTS) {
            Some((_, v)) => format!("{}, {item}", v.to_str().unwrap_or_default()),
            None => item,
        };
        match HeaderValue::try_from(joined) {
            Ok(value) => self.put(REPORTING_ENDPOINTS, value),
            Err(_) => {
                self.error.get_or_insert(ConfigError::InvalidHeaderValue {
                    name: REPORTING_ENDPOINTS.to_string(),
                    value: url.to_owned(),
                });
                self
            }
        }
    }

    /// Sets any other header (`Cache-Control`, `Cross-Origin-Embedder-Policy`
    /// written by hand, …), replacing the preset's value for that name.
    ///
    /// `Content-Security-Policy(-Report-Only)` and `Strict-Transport-Security`
    /// have their own methods ([`csp`](Self::csp), [`hsts`](Self::hsts)) and
    /// are refused here at build.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        let method =
            if name == CONTENT_SECURITY_POLICY || name == CONTENT_SECURITY_POLICY_REPORT_ONLY {
                Some("csp")
            } else if name == STRICT_TRANSPORT_SECURITY {
                Some("hsts")
            } else {
                None
            };
        if let Some(method) = method {
            self.error.get_or_insert(ConfigError::ManagedHeader {
                name: name.to_string(),
                method,
            });
            return self;
        }
        self.put(name, value)
    }

    /// Stops setting header `name`, whichever it is (a preset header, the
    /// CSP, HSTS, `Permissions-Policy`, …).
    pub fn without(mut self, name: HeaderName) -> Self {
        if name == CONTENT_SECURITY_POLICY {
            self.csp = None;
        } else if name == CONTENT_SECURITY_POLICY_REPORT_ONLY {
            self.csp_report_only = None;
        } else if name == STRICT_TRANSPORT_SECURITY {
            self.hsts = None;
        }
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    /// Also removes header `name` from every response (fingerprinting headers
    /// such as `X-AspNet-Version`; OWASP keeps a list of 87).
    pub fn strip(mut self, name: HeaderName) -> Self {
        if !self.strip.contains(&name) {
            self.strip.push(name);
        }
        self
    }

    /// Replaces the list of headers removed from every response (default
    /// `Server` and `X-Powered-By`; an empty list removes nothing). Removal
    /// happens before this layer sets its own headers.
    pub fn strip_headers<I: IntoIterator<Item = HeaderName>>(mut self, names: I) -> Self {
        self.strip = Vec::new();
        for name in names {
            self = self.strip(name);
        }
        self
    }

    /// Whether a header the handler already set is replaced (default
    /// `false`: the handler's value wins, so one route can relax its own
    /// framing or caching).
    pub fn override_existing(mut self, on: bool) -> Self {
        self.override_existing = on;
        self
    }

    fn put(mut self, name: HeaderName, value: HeaderValue) -> Self {
        match self.headers.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name, value)),
        }
        self
    }

    /// Checks the settings and precomputes every header value.
    ///
    /// # Errors
    ///
    /// - The first error a setter recorded ([`ConfigError::ManagedHeader`],
    ///   [`ConfigError::InvalidHeaderValue`]).
    /// - [`ConfigError::CspDirective`]: a nonce directive that is not one of
    ///   `script-src`, `script-src-elem`, `style-src`, `style-src-elem`.
    /// - [`ConfigError::SecurityHeaders`]: nonces on without a policy that can
    ///   carry them.
    pub fn build(mut self) -> Result<SecurityHeaders, ConfigError> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        let mut directives = Vec::with_capacity(self.nonce_directives.len());
        for d in &self.nonce_directives {
            let name = nonce_directive(d)?;
            if !directives.contains(&name) {
                directives.push(name);
            }
        }
        let built = self.assemble_with(&directives);
        if built.nonce && !built.csp.iter().any(CspHeader::takes_nonce) {
            return Err(ConfigError::SecurityHeaders {
                reason: "CSP nonces are on, but no Content-Security-Policy has a nonce \
                         directive or a `default-src` to carry one",
            });
        }
        Ok(built)
    }

    /// Precomputes the presets, whose settings need no checking.
    pub(super) fn assemble(self) -> SecurityHeaders {
        let directives: Vec<String> = DEFAULT_NONCE_DIRECTIVES
            .iter()
            .map(|d| (*d).to_owned())
            .collect();
        self.assemble_with(&directives)
    }

    fn assemble_with(self, nonce_directives: &[String]) -> SecurityHeaders {
        let nonce_in: &[String] = if self.nonce { nonce_directives } else { &[] };
        let csp: Box<[CspHeader]> = [&self.csp, &self.csp_report_only]
            .into_iter()
            .flatten()
            .map(|c| c.header(nonce_in))
            .collect();
        let hsts = self.hsts.as_ref().map(|h| h.header_value().clone());
        let count = self.headers.len() + csp.len() + usize::from(hsts.is_some());
        // Everything but the per-request CSP, hashed once here. Room for as many
        // of the response's own headers again (the most `apply` copies in) plus a
        // CSP, so that no copy ever needs rehashing.
        let mut template_http = HeaderMap::with_capacity(2 * count + 2);
        for c in csp.iter().filter(|c| !(self.nonce && c.takes_nonce())) {
            template_http.insert(c.name.clone(), c.static_value().clone());
        }
        for (name, value) in &self.headers {
            template_http.insert(name.clone(), value.clone());
        }
        let mut template_https = template_http.clone();
        if let Some(hsts) = &hsts {
            template_https.insert(STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        SecurityHeaders {
            fixed: self.headers.clone().into_boxed_slice(),
            template_http,
            template_https,
            csp,
            hsts,
            strip: self.strip.clone().into_boxed_slice(),
            override_existing: self.override_existing,
            nonce: self.nonce,
            count,
            settings: self,
        }
    }
}

/// `name` is a structured-field key; `url` an absolute URL safe inside a
/// quoted string.
fn check_endpoint(name: &str, url: &str) -> Result<(), ConfigError> {
    let mut bytes = name.bytes();
    let key = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        });
    let quoted_safe = url
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    // The Reporting API only posts to potentially trustworthy URLs.
    let host_of = |rest: &str| {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..end).unwrap_or(rest);
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
            _ => authority.to_owned(),
        }
    };
    let secure = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => !host_of(rest).is_empty(),
        (None, Some(rest)) => matches!(host_of(rest).as_str(), "localhost" | "127.0.0.1" | "[::1]"),
        _ => false,
    };
    if key && quoted_safe && secure {
        Ok(())
    } else {
        Err(ConfigError::InvalidHeaderValue {
            name: REPORTING_ENDPOINTS.to_string(),
            value: format!("{name}=\"{url}\""),
        })
    }
}
