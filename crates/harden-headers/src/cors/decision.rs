//! `Cors::check`: the decision for one request, and writing it onto the
//! response.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, HOST, ORIGIN,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};

use harden_core::syntax::is_token;
use harden_core::vary::append_vary;
use harden_core::{ErrorResponse, Rejection};

use super::builder::{Allowed, Cors, Origins, Policy};
use super::origin;

/// `Access-Control-Request-Private-Network`, sent by Chromium on preflights to a
/// more private network.
pub const ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");

/// `Access-Control-Allow-Private-Network`, the answer to
/// [`ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK`].
pub const ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The response headers a [`Cors`] policy owns: whatever the inner service set
/// under these names is replaced or removed.
const OWNED: [HeaderName; 7] = [
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
];

/// Why a request was not granted cross-origin access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CorsDenial {
    /// The `Origin` is not allowed, is `null` or is malformed.
    OriginNotAllowed,
    /// The preflight's `Access-Control-Request-Method` is not allowed.
    MethodNotAllowed,
    /// A header in the preflight's `Access-Control-Request-Headers` is not
    /// allowed.
    HeaderNotAllowed,
}

impl CorsDenial {
    /// The machine-readable reason: `origin-not-allowed`, `method-not-allowed`
    /// or `header-not-allowed`.
    pub fn reason(self) -> &'static str {
        match self {
            CorsDenial::OriginNotAllowed => "origin-not-allowed",
            CorsDenial::MethodNotAllowed => "method-not-allowed",
            CorsDenial::HeaderNotAllowed => "header-not-allowed",
        }
    }

    /// The [`Rejection`] recorded when the request is refused:
    /// `Rejection::new("cors", self.reason())`.
    pub fn rejection(self) -> Rejection {
        Rejection::new("cors", self.reason())
    }

    /// The client-facing message of the 403. It never quotes the request.
    pub fn message(self) -> &'static str {
        match self {
            CorsDenial::OriginNotAllowed => "Origin not allowed",
            CorsDenial::MethodNotAllowed => "Method not allowed by the CORS policy",
            CorsDenial::HeaderNotAllowed => "Request header not allowed by the CORS policy",
        }
    }

    /// The `403 Forbidden` in the shared error format, with its [`Rejection`].
    /// Call [`ErrorResponse::for_request`] on it for the request id and format.
    pub fn error_response(self) -> ErrorResponse {
        ErrorResponse::new(StatusCode::FORBIDDEN, self.message()).rejection(self.rejection())
    }
}

/// What to do with a request, from [`CorsDecision::action`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsAction {
    /// Call the handler, then [`CorsDecision::apply`] to its response.
    Forward,
    /// Answer the preflight now: `204 No Content`, then
    /// [`CorsDecision::apply`].
    Preflight,
    /// Refuse now (only with
    /// [`reject_disallowed`](super::CorsBuilder::reject_disallowed)): the 403 of
    /// [`CorsDenial::error_response`], then [`CorsDecision::apply`].
    Reject(CorsDenial),
}

/// The outcome of [`Cors::check`] for one request.
///
/// It holds everything needed to write the response headers, so that it can
/// be kept across the call to the handler and applied to whatever the handler
/// (or an inner layer's 401, 429 or 503) answers.
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsDecision {
    cors: Cors,
    preflight: bool,
    grant: Option<HeaderValue>,
    denial: Option<CorsDenial>,
    refuse: bool,
    private_network: bool,
}

impl Cors {
    /// Decides on a request from its method and headers.
    ///
    /// A preflight is an `OPTIONS` request with both `Origin` and
    /// `Access-Control-Request-Method`; any other request, `OPTIONS` included,
    /// is an actual request. The same-origin test of
    /// [`reject_disallowed`](super::CorsBuilder::reject_disallowed) reads the
    /// `Host` header; with HTTP/2, where the authority is in the URI, use
    /// [`check_request`](Self::check_request).
    ///
    /// ```
    /// use harden_headers::cors::{Cors, CorsAction};
    /// use http::{HeaderMap, Method};
    ///
    /// let cors = Cors::builder().allow_origin("https://app.example.com").build()?;
    /// let mut request = HeaderMap::new();
    /// request.insert("origin", "https://app.example.com".parse()?);
    /// let decision = cors.check(&Method::GET, &request);
    /// assert_eq!(decision.action(), CorsAction::Forward);
    ///
    /// let mut response = HeaderMap::new();
    /// decision.apply(&mut response);
    /// assert_eq!(response["access-control-allow-origin"], "https://app.example.com");
    /// assert_eq!(response["vary"], "origin");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> CorsDecision {
        self.decide(method, headers, None)
    }

    /// Like [`check`](Self::check), also reading the authority from the URI
    /// when there is no `Host` header (HTTP/2 `:authority`).
    pub fn check_request<B>(&self, request: &Request<B>) -> CorsDecision {
        let authority = request.uri().authority().map(|a| a.as_str().as_bytes());
        self.decide(request.method(), request.headers(), authority)
    }

    fn decide(
        &self,
        method: &Method,
        headers: &HeaderMap,
        authority: Option<&[u8]>,
    ) -> CorsDecision {
        let policy = &*self.policy;
        let origin_value = single(headers, &ORIGIN);
        let preflight = *method == Method::OPTIONS
            && origin_value.is_some()
            && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        let value = origin_value.flatten();

        let (grant, denial) = if preflight {
            match self.grant_for(value) {
                None => (None, Some(CorsDenial::OriginNotAllowed)),
                Some(_) if !self.method_allowed(headers) => {
                    (None, Some(CorsDenial::MethodNotAllowed))
                }
                Some(_) if !self.headers_allowed(headers) => {
                    (None, Some(CorsDenial::HeaderNotAllowed))
                }
                Some(grant) => (Some(grant), None),
            }
        } else if matches!(policy.origins, Origins::Any) {
            // One answer for everyone, so that caches need no `Vary: Origin`.
            (Some(HeaderValue::from_static("*")), None)
        } else if origin_value.is_none() {
            (None, None)
        } else {
            match self.grant_for(value) {
                Some(grant) => (Some(grant), None),
                None => (None, Some(CorsDenial::OriginNotAllowed)),
            }
        };

        let refuse = policy.reject
            && denial.is_some()
            && (preflight || !same_origin(headers, value, authority));
        let private_network = preflight
            && grant.is_some()
            && policy.private_network
            && single(headers, &ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK)
                .flatten()
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));

        CorsDecision {
            cors: self.clone(),
            preflight,
            grant,
            denial,
            refuse,
            private_network,
        }
    }

    /// The `Access-Control-Allow-Origin` for a well-formed, allowed origin.
    fn grant_for(&self, value: Option<&HeaderValue>) -> Option<HeaderValue> {
        let value = value?;
        match &self.policy.origins {
            Origins::Any => origin::parse(value.as_bytes())
                .ok()
                .map(|_| HeaderValue::from_static("*")),
            Origins::List { exact, wildcard } => {
                // Browsers send the canonical serialisation, which is what an
                // exact entry holds: equal bytes are equal origins, no parsing
                // needed.
                if let Some(entry) = exact
                    .iter()
                    .find(|e| e.header_value().as_bytes() == value.as_bytes())
                {
                    return Some(entry.header_value().clone());
                }
                let origin = origin::parse(value.as_bytes()).ok()?;
                if let Some(entry) = exact.iter().find(|e| e.matches(&origin)) {
                    return Some(entry.header_value().clone());
                }
                if !wildcard.iter().any(|w| w.matches(&origin)) {
                    return None;
                }
                // Browsers send the canonical form, which is echoed as it came;
                // anything else is rewritten (never seen from a browser).
                if origin.is_canonical() {
                    Some(value.clone())
                } else {
                    origin.to_header_value()
                }
            }
        }
    }

    fn method_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(Some(requested)) = single(headers, &ACCESS_CONTROL_REQUEST_METHOD) else {
            return false;
        };
        let requested = requested.as_bytes();
        if !is_token(requested) {
            return false;
        }
        match &self.policy.methods {
            Allowed::Any => true,
            Allowed::List(methods) => methods.iter().any(|m| m.as_str().as_bytes() == requested),
        }
    }

    fn headers_allowed(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .all(|value| {
                value.as_bytes().split(|b| *b == b',').all(|item| {
                    let item = item.trim_ascii();
                    item.is_empty()
                        || (is_token(item)
                            && match &self.policy.headers {
                                Allowed::Any => true,
                                Allowed::List(names) => names
                                    .iter()
                                    .any(|n| n.as_str().as_bytes().eq_ignore_ascii_case(item)),
                            })
                })
            })
    }
}

impl CorsDecision {
    /// What to do with the request: forward it, answer the preflight, or
    /// refuse it.
    pub fn action(&self) -> CorsAction {
        match self.denial {
            Some(denial) if self.refuse => CorsAction::Reject(denial),
            _ if self.preflight => CorsAction::Preflight,
            _ => CorsAction::Forward,
        }
    }

    /// Whether the request is a preflight.
    pub fn is_preflight(&self) -> bool {
        self.preflight
    }

    /// Whether the response grants cross-origin access (carries
    /// `Access-Control-Allow-Origin`).
    pub fn is_allowed(&self) -> bool {
        self.grant.is_some()
    }

    /// Why access was not granted to a request that carried an `Origin`.
    pub fn denial(&self) -> Option<CorsDenial> {
        self.denial
    }

    /// Writes the CORS response headers: removes whatever the handler set
    /// under the `Access-Control-Allow-*`, `-Expose-Headers` and `-Max-Age`
    /// names, writes the policy's values when access is granted, and adds
    /// the `Vary` fields the answer depends on.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let policy = &*self.cors.policy;
        if headers.keys().any(is_owned) {
            for name in &OWNED {
                headers.remove(name);
            }
        }
        if let Some(origin) = &self.grant {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            write_grant(policy, self.preflight, headers);
            if self.private_network {
                headers.insert(
                    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
                    HeaderValue::from_static("true"),
                );
            }
        }
        write_vary(policy, self.preflight, headers);
    }

    /// The headers of the layer's own answer to a preflight: the same as
    /// [`apply`](Self::apply) on an empty map, from a map precomputed when the
    /// policy was built.
    pub(crate) fn preflight_headers(&self) -> HeaderMap {
        let policy = &*self.cors.policy;
        match &self.grant {
            Some(origin) => {
                let mut headers = policy.preflight_granted.clone();
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                if self.private_network {
                    headers.insert(
                        ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
                        HeaderValue::from_static("true"),
                    );
                }
                headers
            }
            None => policy.preflight_denied.clone(),
        }
    }
}

/// The preflight answer's headers that do not depend on the request: what
/// [`CorsDecision::apply`] writes for a granted (or refused) preflight, minus
/// `Access-Control-Allow-Origin` and the Private Network Access grant. Room is
/// left for those two.
pub(crate) fn preflight_template(policy: &Policy, granted: bool) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(10);
    if granted {
        write_grant(policy, true, &mut headers);
    }
    write_vary(policy, true, &mut headers);
    headers
}

/// The headers of a grant besides `Access-Control-Allow-Origin` and the
/// Private Network Access answer: they depend on the policy only.
fn write_grant(policy: &Policy, preflight: bool, headers: &mut HeaderMap) {
    if policy.credentials {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    let mut put = |name: HeaderName, value: &Option<HeaderValue>| {
        if let Some(value) = value {
            headers.insert(name, value.clone());
        }
    };
    if preflight {
        put(ACCESS_CONTROL_ALLOW_METHODS, &policy.allow_methods_value);
        put(ACCESS_CONTROL_ALLOW_HEADERS, &policy.allow_headers_value);
        put(ACCESS_CONTROL_MAX_AGE, &policy.max_age_value);
    } else {
        put(ACCESS_CONTROL_EXPOSE_HEADERS, &policy.expose_value);
    }
}

/// The `Vary` fields the answer depends on: `Origin` unless every origin gets
/// the same answer; on preflights also the request headers they answer.
fn write_vary(policy: &Policy, preflight: bool, headers: &mut HeaderMap) {
    if preflight || !matches!(policy.origins, Origins::Any) {
        append_vary(headers, ORIGIN);
    }
    if preflight {
        append_vary(headers, ACCESS_CONTROL_REQUEST_METHOD);
        append_vary(headers, ACCESS_CONTROL_REQUEST_HEADERS);
        if policy.private_network {
            append_vary(headers, ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK);
        }
    }
}

fn is_owned(name: &HeaderName) -> bool {
    name.as_str().starts_with("access-control-") && OWNED.contains(name)
}

/// The header's only value: `None` when absent, `Some(None)` when repeated
/// (browsers never repeat these, so a repeat is malformed).
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Option<&'a HeaderValue>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    Some(values.next().is_none().then_some(first))
}

/// Whether the request comes from the server's own origin: `Sec-Fetch-Site`
/// when the browser sent it (it cannot be set by scripts), otherwise the
/// `Origin` compared with `Host` (only non-browser clients can forge `Host`,
/// and CORS does not apply to them).
fn same_origin(
    headers: &HeaderMap,
    origin: Option<&HeaderValue>,
    authority: Option<&[u8]>,
) -> bool {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        let site = site.as_bytes();
        return site.eq_ignore_ascii_case(b"same-origin") || site.eq_ignore_ascii_case(b"none");
    }
    let Some(Ok(origin)) = origin.map(|v| origin::parse(v.as_bytes())) else {
        return false;
    };
    headers
        .get(HOST)
        .map(HeaderValue::as_bytes)
        .or(authority)
        .is_some_and(|host| origin.same_authority(host))
}
