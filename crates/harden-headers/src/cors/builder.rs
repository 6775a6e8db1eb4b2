//! `Cors`, the validated policy, and `CorsBuilder`, which refuses every
//! configuration that browsers would reject or that would be silently unsafe.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::decision::preflight_template;

use super::origin::{ExactOrigin, OriginError, PatternError, WildcardOrigin};
use crate::ConfigError;

/// Chromium's cap on `Access-Control-Max-Age`, the default cap: 2 hours.
pub const CHROMIUM_MAX_AGE: Duration = Duration::from_secs(7200);

/// Firefox's cap on `Access-Control-Max-Age`, the highest cap accepted: 24 hours.
pub const FIREFOX_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Response headers that carry credentials and are never exposed.
const SENSITIVE_EXPOSE: [&str; 5] = [
    "set-cookie",
    "set-cookie2",
    "cookie",
    "authorization",
    "proxy-authorization",
];

/// Methods that browsers uppercase before sending them
/// ([Fetch: normalize a method](https://fetch.spec.whatwg.org/#concept-method-normalize)).
const NORMALIZED_METHODS: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// A validated CORS policy: the core of [`CorsLayer`](super::CorsLayer), usable
/// without tower through [`Cors::check`].
///
/// Cloning is cheap (the policy is shared behind an `Arc`). Every header value
/// the policy answers with is computed when it is built.
///
/// The [`Default`] policy allows no cross-origin reads at all (no origin is
/// listed), with the default methods `GET, HEAD, POST`.
#[derive(Clone, Debug, Default)]
pub struct Cors {
    pub(crate) policy: Arc<Policy>,
}

/// Which origins are allowed.
#[derive(Clone, Debug)]
pub(crate) enum Origins {
    /// `*`: any origin, without credentials.
    Any,
    /// Exact origins and wildcard patterns.
    List {
        exact: Vec<ExactOrigin>,
        wildcard: Vec<WildcardOrigin>,
    },
}

/// Which methods or request headers are allowed.
#[derive(Clone, Debug)]
pub(crate) enum Allowed<T> {
    Any,
    List(Vec<T>),
}

/// The policy behind a [`Cors`], with its precomputed header values.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub(crate) origins: Origins,
    pub(crate) methods: Allowed<Method>,
    pub(crate) headers: Allowed<HeaderName>,
    pub(crate) credentials: bool,
    pub(crate) private_network: bool,
    pub(crate) reject: bool,
    pub(crate) max_age: Option<Duration>,
    pub(crate) allow_methods_value: Option<HeaderValue>,
    pub(crate) allow_headers_value: Option<HeaderValue>,
    pub(crate) expose_value: Option<HeaderValue>,
    pub(crate) max_age_value: Option<HeaderValue>,
    /// The headers of a granted preflight answer, but its
    /// `Access-Control-Allow-Origin` (and Private Network Access grant).
    pub(crate) preflight_granted: HeaderMap,
    /// The headers of a refused preflight answer.
    pub(crate) preflight_denied: HeaderMap,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            origins: Origins::List {
                exact: Vec::new(),
                wildcard: Vec::new(),
            },
            methods: Allowed::List(vec![Method::GET, Method::HEAD, Method::POST]),
            headers: Allowed::List(Vec::new()),
            credentials: false,
            private_network: false,
            reject: false,
            max_age: None,
            allow_methods_value: Some(HeaderValue::from_static("GET, HEAD, POST")),
            allow_headers_value: None,
            expose_value: None,
            max_age_value: None,
            preflight_granted: HeaderMap::new(),
            preflight_denied: HeaderMap::new(),
        }
    }
}

impl Cors {
    /// Starts a policy that allows nothing cross-origin, with the default
    /// methods `GET, HEAD, POST`.
    pub fn builder() -> CorsBuilder {
        CorsBuilder::default()
    }

    /// Whether any origin is allowed (`*`).
    pub fn allows_any_origin(&self) -> bool {
        matches!(self.policy.origins, Origins::Any)
    }

    /// Whether credentialed requests are allowed
    /// (`Access-Control-Allow-Credentials: true`).
    pub fn allows_credentials(&self) -> bool {
        self.policy.credentials
    }

    /// Whether disallowed requests are refused with 403 rather than answered
    /// without CORS headers.
    pub fn rejects_disallowed(&self) -> bool {
        self.policy.reject
    }

    /// The `Access-Control-Max-Age` answered on preflights, if any.
    pub fn max_age(&self) -> Option<Duration> {
        self.policy.max_age
    }
}

/// Builds a [`Cors`] policy; [`build`](CorsBuilder::build) validates it.
///
/// List setters in the plural replace the list; [`allow_origin`](Self::allow_origin)
/// adds one origin.
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsBuilder {
    origins: Vec<String>,
    methods: Vec<String>,
    headers: Vec<String>,
    expose: Vec<String>,
    credentials: bool,
    max_age: Option<Duration>,
    max_age_cap: Duration,
    private_network: bool,
    reject: bool,
}

impl Default for CorsBuilder {
    fn default() -> Self {
        CorsBuilder {
            origins: Vec::new(),
            methods: vec!["GET".to_owned(), "HEAD".to_owned(), "POST".to_owned()],
            headers: Vec::new(),
            expose: Vec::new(),
            credentials: false,
            max_age: None,
            max_age_cap: CHROMIUM_MAX_AGE,
            private_network: false,
            reject: false,
        }
    }
}

impl CorsBuilder {
    /// Adds an allowed origin
    /// ([MDN: `Access-Control-Allow-Origin`](https://developer.mozilla.org/docs/Web/HTTP/Headers/Access-Control-Allow-Origin)):
    ///
    /// - `https://example.com` or `http://localhost:3000`: exactly that scheme,
    ///   host and port (the default port may be written or not);
    /// - `https://*.example.com`: any host under `example.com` at any depth, on
    ///   that scheme and port; not `example.com` itself. The `*` must be the
    ///   whole leftmost label and be followed by at least two labels;
    /// - `*` alone: any origin, only without credentials (prefer
    ///   [`allow_any_origin`](Self::allow_any_origin)).
    ///
    /// `null` is refused: it is the origin of sandboxed iframes and of `data:`
    /// and `file:` documents, which any attacker can produce.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Replaces the allowed origins; each entry as in
    /// [`allow_origin`](Self::allow_origin).
    pub fn allow_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Allows any origin: `Access-Control-Allow-Origin: *` on every response,
    /// for public, non-credentialed resources. Refused with credentials.
    pub fn allow_any_origin(self) -> Self {
        self.allow_origins(["*"])
    }

    /// Replaces the methods a preflight may ask for (default `GET`, `HEAD`,
    /// `POST`), answered as
    /// [`Access-Control-Allow-Methods`](https://developer.mozilla.org/docs/Web/HTTP/Headers/Access-Control-Allow-Methods).
    /// Methods are case-sensitive (`PATCH`, not `patch`). `*` alone allows any
    /// method, only without credentials.
    pub fn allow_methods<I>(mut self, methods: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Allows any method (`Access-Control-Allow-Methods: *`); refused with
    /// credentials.
    pub fn allow_any_method(self) -> Self {
        self.allow_methods(["*"])
    }

    /// Replaces the request headers a preflight may ask for (default none),
    /// answered as
    /// [`Access-Control-Allow-Headers`](https://developer.mozilla.org/docs/Web/HTTP/Headers/Access-Control-Allow-Headers)
    /// and compared case-insensitively. `*` alone allows any header, only
    /// without credentials (and browsers never let `*` cover `Authorization`).
    pub fn allow_headers<I>(mut self, headers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Allows any request header (`Access-Control-Allow-Headers: *`); refused
    /// with credentials.
    pub fn allow_any_header(self) -> Self {
        self.allow_headers(["*"])
    }

    /// Replaces the response headers scripts may read beyond the safelisted
    /// ones
    /// ([MDN: `Access-Control-Expose-Headers`](https://developer.mozilla.org/docs/Web/HTTP/Headers/Access-Control-Expose-Headers)).
    /// Keep it minimal: `Set-Cookie`, `Set-Cookie2`, `Cookie`, `Authorization`
    /// and `Proxy-Authorization` are refused; `*` alone is refused with
    /// credentials.
    pub fn expose_headers<I>(mut self, headers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.expose = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Allows credentialed requests (cookies, HTTP authentication, client
    /// certificates):
    /// [`Access-Control-Allow-Credentials: true`](https://developer.mozilla.org/docs/Web/HTTP/Headers/Access-Control-Allow-Credentials).
    /// Refused together with any `*`.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long browsers may cache a preflight answer, in whole seconds
    /// ([`Access-Control-Max-Age`](https://developer.mozilla.org/docs/Web/HTTP/Headers/Access-Control-Max-Age)).
    /// Unset by default (browsers then cache for 5 seconds). Must not exceed
    /// the cap (see [`max_age_cap`](Self::max_age_cap)).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The longest [`max_age`](Self::max_age) accepted: by default
    /// [`CHROMIUM_MAX_AGE`] (2 hours, what Chromium honours), at most
    /// [`FIREFOX_MAX_AGE`] (24 hours).
    pub fn max_age_cap(mut self, cap: Duration) -> Self {
        self.max_age_cap = cap;
        self
    }

    /// Answers `Access-Control-Allow-Private-Network: true` to an allowed
    /// preflight that carries `Access-Control-Request-Private-Network: true`
    /// ([Private Network Access](https://wicg.github.io/private-network-access/)):
    /// lets public sites reach this service on a private network. Off by
    /// default.
    pub fn allow_private_network(mut self, allow: bool) -> Self {
        self.private_network = allow;
        self
    }

    /// Refuses disallowed requests with `403 Forbidden` in the shared error
    /// format instead of answering without CORS headers: preflights from
    /// disallowed origins or asking for disallowed methods or headers, and
    /// cross-origin actual requests from disallowed origins (same-origin ones
    /// pass). This turns the policy into a CSRF defence for browsers, which
    /// CORS alone is not. Off by default.
    pub fn reject_disallowed(mut self, reject: bool) -> Self {
        self.reject = reject;
        self
    }

    /// Validates the configuration and precomputes every header value.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] quoting the first refused value:
    /// [`CorsInvalidOrigin`](ConfigError::CorsInvalidOrigin),
    /// [`CorsNullOrigin`](ConfigError::CorsNullOrigin),
    /// [`CorsOriginTooBroad`](ConfigError::CorsOriginTooBroad),
    /// [`CorsWildcardPlacement`](ConfigError::CorsWildcardPlacement),
    /// [`CorsWildcardMixed`](ConfigError::CorsWildcardMixed),
    /// [`CorsCredentialsWithWildcard`](ConfigError::CorsCredentialsWithWildcard),
    /// [`CorsInvalidMethod`](ConfigError::CorsInvalidMethod),
    /// [`CorsInvalidHeader`](ConfigError::CorsInvalidHeader),
    /// [`CorsSensitiveExpose`](ConfigError::CorsSensitiveExpose),
    /// [`CorsMaxAge`](ConfigError::CorsMaxAge) or
    /// [`CorsMaxAgeCap`](ConfigError::CorsMaxAgeCap).
    pub fn build(self) -> Result<Cors, ConfigError> {
        if self.max_age_cap > FIREFOX_MAX_AGE {
            return Err(ConfigError::CorsMaxAgeCap {
                cap: self.max_age_cap.as_secs(),
            });
        }
        if let Some(max_age) = self.max_age
            && max_age.as_secs() > self.max_age_cap.as_secs()
        {
            return Err(ConfigError::CorsMaxAge {
                max_age: max_age.as_secs(),
                cap: self.max_age_cap.as_secs(),
            });
        }

        let origins = build_origins(&self.origins)?;
        let methods = build_methods(&self.methods)?;
        let headers = build_header_names(&self.headers, "headers")?;
        let expose = build_header_names(&self.expose, "exposed headers")?;
        if let Allowed::List(names) = &expose
            && let Some(name) = names
                .iter()
                .find(|name| SENSITIVE_EXPOSE.contains(&name.as_str()))
        {
            let value = self
                .expose
                .iter()
                .find(|e| e.eq_ignore_ascii_case(name.as_str()))
                .cloned()
                .unwrap_or_else(|| name.to_string());
            return Err(ConfigError::CorsSensitiveExpose { value });
        }

        if self.credentials {
            let wildcard = if matches!(origins, Origins::Any) {
                Some("origin")
            } else if matches!(methods, Allowed::Any) {
                Some("methods")
            } else if matches!(headers, Allowed::Any) {
                Some("headers")
            } else if matches!(expose, Allowed::Any) {
                Some("exposed headers")
            } else {
                None
            };
            if let Some(what) = wildcard {
                return Err(ConfigError::CorsCredentialsWithWildcard { what });
            }
        }

        let allow_methods_value = match &methods {
            Allowed::Any => Some(HeaderValue::from_static("*")),
            Allowed::List(list) => join(list.iter().map(Method::as_str))?,
        };
        let allow_headers_value = list_value(&headers)?;
        let expose_value = list_value(&expose)?;
        let max_age_value = self.max_age.map(|d| HeaderValue::from(d.as_secs()));

        let mut policy = Policy {
            origins,
            methods,
            headers,
            credentials: self.credentials,
            private_network: self.private_network,
            reject: self.reject,
            max_age: self.max_age.map(|d| Duration::from_secs(d.as_secs())),
            allow_methods_value,
            allow_headers_value,
            expose_value,
            max_age_value,
            preflight_granted: HeaderMap::new(),
            preflight_denied: HeaderMap::new(),
        };
        policy.preflight_granted = preflight_template(&policy, true);
        policy.preflight_denied = preflight_template(&policy, false);
        Ok(Cors {
            policy: Arc::new(policy),
        })
    }
}

/// Whether `entries` is exactly `["*"]`; an error if `*` is mixed with others.
fn is_wildcard(entries: &[String], list: &'static str) -> Result<bool, ConfigError> {
    let has_star = entries.iter().any(|e| e == "*");
    if !has_star {
        return Ok(false);
    }
    match entries.iter().find(|e| *e != "*") {
        Some(other) => Err(ConfigError::CorsWildcardMixed {
            list,
            value: other.clone(),
        }),
        None => Ok(true),
    }
}

fn build_origins(entries: &[String]) -> Result<Origins, ConfigError> {
    if is_wildcard(entries, "origins")? {
        return Ok(Origins::Any);
    }
    let mut exact: Vec<ExactOrigin> = Vec::new();
    let mut wildcard = Vec::new();
    for entry in entries {
        let invalid = |e: OriginError| ConfigError::CorsInvalidOrigin {
            value: entry.clone(),
            reason: e.reason(),
        };
        if entry.eq_ignore_ascii_case("null") {
            return Err(ConfigError::CorsNullOrigin {
                value: entry.clone(),
            });
        }
        if entry.contains('*') {
            let pattern = WildcardOrigin::parse(entry).map_err(|e| match e {
                PatternError::Origin(e) => invalid(e),
                PatternError::Placement => ConfigError::CorsWildcardPlacement {
                    value: entry.clone(),
                },
                PatternError::TooBroad => ConfigError::CorsOriginTooBroad {
                    value: entry.clone(),
                },
            })?;
            wildcard.push(pattern);
        } else {
            let origin = ExactOrigin::parse(entry).map_err(invalid)?;
            if !exact
                .iter()
                .any(|o| o.header_value() == origin.header_value())
            {
                exact.push(origin);
            }
        }
    }
    Ok(Origins::List { exact, wildcard })
}

fn build_methods(entries: &[String]) -> Result<Allowed<Method>, ConfigError> {
    if is_wildcard(entries, "methods")? {
        return Ok(Allowed::Any);
    }
    let mut methods: Vec<Method> = Vec::new();
    for entry in entries {
        let invalid = |reason| ConfigError::CorsInvalidMethod {
            value: entry.clone(),
            reason,
        };
        if NORMALIZED_METHODS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(entry) && *m != entry.as_str())
        {
            return Err(invalid(
                "methods are case-sensitive and browsers send this one in uppercase",
            ));
        }
        let method = Method::from_bytes(entry.as_bytes())
            .map_err(|_| invalid("a method is a token of letters, digits and `!#$%&'*+-.^_`|~`"))?;
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    Ok(Allowed::List(methods))
}

fn build_header_names(
    entries: &[String],
    list: &'static str,
) -> Result<Allowed<HeaderName>, ConfigError> {
    if is_wildcard(entries, list)? {
        return Ok(Allowed::Any);
    }
    let mut names: Vec<HeaderName> = Vec::new();
    for entry in entries {
        let name = HeaderName::from_bytes(entry.as_bytes()).map_err(|_| {
            ConfigError::CorsInvalidHeader {
                value: entry.clone(),
            }
        })?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(Allowed::List(names))
}

fn list_value(allowed: &Allowed<HeaderName>) -> Result<Option<HeaderValue>, ConfigError> {
    match allowed {
        Allowed::Any => Ok(Some(HeaderValue::from_static("*"))),
        Allowed::List(list) => join(list.iter().map(HeaderName::as_str)),
    }
}

/// `a, b, c` as a header value; `None` for an empty list.
fn join<'a>(items: impl Iterator<Item = &'a str>) -> Result<Option<HeaderValue>, ConfigError> {
    let joined = items.collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        return Ok(None);
    }
    HeaderValue::try_from(joined.as_str())
        .map(Some)
        .map_err(|_| ConfigError::CorsInvalidHeader { value: joined })
}
