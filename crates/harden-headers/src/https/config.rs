//! The builder of [`HttpsRedirect`], its validation, and the serde configuration.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use harden_core::ip::TrustedProxies;
use http::StatusCode;
use http::uri::PathAndQuery;

use super::{HEALTH_PROBE_PATHS, HttpsRedirect, KeptHost, Policy, escapes_prefix};
use crate::ConfigError;
use crate::hsts::Hsts;

/// What happens to a request other than `GET` or `HEAD` over plain HTTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnsafeMethods {
    /// Answer `403` in the shared error format (the default). The request's
    /// credentials and body have already crossed the network in clear text; a
    /// redirect would have the client send them a second time and hide the
    /// mistake.
    #[default]
    Refuse,
    /// Redirect with `308 Permanent Redirect`, which keeps the method and body
    /// ([RFC 9110 §15.4.9](https://www.rfc-editor.org/rfc/rfc9110#section-15.4.9)),
    /// whatever [`redirect_status`](HttpsRedirectBuilder::redirect_status) says.
    Redirect,
}

/// Builds an [`HttpsRedirect`]; start with [`HttpsRedirect::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct HttpsRedirectBuilder {
    canonical_host: String,
    https_port: Option<u16>,
    kept_hosts: Vec<String>,
    redirect_status: StatusCode,
    unsafe_methods: UnsafeMethods,
    exempt_paths: Vec<String>,
    exempt_prefixes: Vec<String>,
    proxies: Option<TrustedProxies>,
    hsts: Option<Hsts>,
}

impl HttpsRedirectBuilder {
    pub(super) fn new(canonical_host: String) -> Self {
        HttpsRedirectBuilder {
            canonical_host,
            https_port: None,
            kept_hosts: Vec::new(),
            redirect_status: StatusCode::PERMANENT_REDIRECT,
            unsafe_methods: UnsafeMethods::default(),
            exempt_paths: Vec::new(),
            exempt_prefixes: Vec::new(),
            proxies: None,
            hsts: Some(Hsts::default()),
        }
    }

    /// The port of the HTTPS listener, written into the `Location` unless it is
    /// 443, the default port of `https` URIs
    /// ([RFC 9110 §4.2.2](https://www.rfc-editor.org/rfc/rfc9110#section-4.2.2)).
    /// It may also be given as the canonical host's `:port`.
    pub fn https_port(mut self, port: u16) -> Self {
        self.https_port = Some(port);
        self
    }

    /// The status of redirects of `GET` and `HEAD`:
    /// [`308 Permanent Redirect`](https://developer.mozilla.org/docs/Web/HTTP/Status/308)
    /// (the default) or
    /// [`301 Moved Permanently`](https://developer.mozilla.org/docs/Web/HTTP/Status/301),
    /// for old clients that do not know 308. Anything else fails
    /// [`build`](Self::build). Other methods are governed by
    /// [`unsafe_methods`](Self::unsafe_methods).
    pub fn redirect_status(mut self, status: StatusCode) -> Self {
        self.redirect_status = status;
        self
    }

    /// What happens to methods other than `GET`/`HEAD` over plain HTTP (default
    /// [`UnsafeMethods::Refuse`], a `403`).
    pub fn unsafe_methods(mut self, policy: UnsafeMethods) -> Self {
        self.unsafe_methods = policy;
        self
    }

    /// Serves this exact path over plain HTTP too (compared with the request
    /// path, query excluded, case-sensitively): `/healthz` exempts
    /// `/healthz?full=1` but not `/healthz/x` or `/healthz-x`.
    pub fn exempt_path(mut self, path: impl Into<String>) -> Self {
        self.exempt_paths.push(path.into());
        self
    }

    /// Serves every path starting with `prefix` over plain HTTP too, e.g.
    /// `/.well-known/acme-challenge/` for ACME HTTP-01 validation
    /// ([RFC 8555 §8.3](https://www.rfc-editor.org/rfc/rfc8555#section-8.3)).
    /// End a folder prefix with `/`: `/health` would also exempt `/healthcheck-admin`.
    /// A path with a dot segment, backslash or encoded slash is never exempt by
    /// prefix.
    pub fn exempt_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.exempt_prefixes.push(prefix.into());
        self
    }

    /// Exempts [`HEALTH_PROBE_PATHS`] (`/livez`, `/readyz`, `/healthz`,
    /// `/health`) as exact paths, so probes that speak plain HTTP to the pod
    /// keep working.
    pub fn exempt_health_probes(mut self) -> Self {
        self.exempt_paths
            .extend(HEALTH_PROBE_PATHS.iter().map(|p| (*p).to_owned()));
        self
    }

    /// Another host this service answers for whose plain-HTTP requests are
    /// redirected to HTTPS on that same host (with the same HTTPS port) rather
    /// than to the canonical host. hstspreload.org requires the first redirect
    /// of `http://example.com` to go to `https://example.com`
    /// (<https://hstspreload.org/#submission-requirements>). The request's
    /// `Host` only selects among configured hosts; it is never copied.
    pub fn keep_host(mut self, host: impl Into<String>) -> Self {
        self.kept_hosts.push(host.into());
        self
    }

    /// Believe `X-Forwarded-Proto` / `Forwarded: proto=` from these proxies
    /// (and only these), as
    /// [MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/X-Forwarded-Proto)
    /// and [RFC 7239](https://www.rfc-editor.org/rfc/rfc7239) describe. A trusted
    /// proxy's report wins over the listener's [`Scheme`](harden_core::ip::Scheme).
    /// Without this, forwarding headers are ignored.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = Some(proxies);
        self
    }

    /// The [`Strict-Transport-Security`](https://www.rfc-editor.org/rfc/rfc6797)
    /// policy added to HTTPS responses (default [`Hsts::default`],
    /// `max-age=31536000; includeSubDomains`), or `None` to leave HSTS to
    /// another layer.
    pub fn hsts(mut self, hsts: Option<Hsts>) -> Self {
        self.hsts = hsts;
        self
    }

    /// Validates and builds the policy.
    ///
    /// # Errors
    ///
    /// - [`ConfigError::RedirectHost`] for a canonical or kept host that is not
    ///   a DNS name or IP literal (a scheme, path, userinfo, wildcard,
    ///   whitespace, an unbracketed IPv6 address, a bad port, or a port on a kept
    ///   host).
    /// - [`ConfigError::HttpsPort`] for port 0, [`ConfigError::HttpsPortConflict`]
    ///   when the host's `:port` and [`https_port`](Self::https_port) differ.
    /// - [`ConfigError::RedirectStatus`] for a status other than 301 or 308.
    /// - [`ConfigError::ExemptPath`] for an exemption that does not start with
    ///   `/`, holds a query or characters no path holds, or (as a prefix) is `/`
    ///   or holds a dot segment.
    pub fn build(self) -> Result<HttpsRedirect, ConfigError> {
        let (host, host_port) =
            parse_host(&self.canonical_host).map_err(|reason| ConfigError::RedirectHost {
                value: self.canonical_host.clone(),
                reason,
            })?;
        if self.https_port == Some(0) {
            return Err(ConfigError::HttpsPort { value: 0 });
        }
        let port = match (host_port, self.https_port) {
            (Some(a), Some(b)) if a != b => {
                return Err(ConfigError::HttpsPortConflict {
                    host: self.canonical_host,
                    https_port: b,
                });
            }
            (a, b) => b.or(a).unwrap_or(443),
        };
        let kept_hosts = self
            .kept_hosts
            .iter()
            .map(|value| {
                let refuse = |reason| ConfigError::RedirectHost {
                    value: value.clone(),
                    reason,
                };
                match parse_host(value).map_err(refuse)? {
                    (host, None) => Ok(KeptHost {
                        origin: origin(&host, port),
                        host: host.into(),
                    }),
                    (_, Some(_)) => Err(refuse(
                        "a kept host takes the HTTPS port of the canonical host: drop the `:port`",
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !matches!(self.redirect_status.as_u16(), 301 | 308) {
            return Err(ConfigError::RedirectStatus {
                value: self.redirect_status.as_u16(),
            });
        }
        let exempt_paths = self
            .exempt_paths
            .iter()
            .map(|p| check_exempt(p, false))
            .collect::<Result<_, _>>()?;
        let exempt_prefixes = self
            .exempt_prefixes
            .iter()
            .map(|p| check_exempt(p, true))
            .collect::<Result<_, _>>()?;
        Ok(HttpsRedirect {
            policy: Arc::new(Policy {
                canonical: origin(&host, port),
                kept_hosts: kept_hosts.into(),
                redirect_status: self.redirect_status,
                unsafe_methods: self.unsafe_methods,
                exempt_paths,
                exempt_prefixes,
                proxies: self.proxies,
                hsts: self.hsts,
            }),
        })
    }
}

fn origin(host: &str, port: u16) -> Box<str> {
    if port == 443 {
        format!("https://{host}").into()
    } else {
        format!("https://{host}:{port}").into()
    }
}

/// Splits and validates `host[:port]`; the host comes back lowercase, an IPv6
/// literal bracketed and in its canonical text form.
fn parse_host(value: &str) -> Result<(String, Option<u16>), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err("it contains whitespace or a control character");
    }
    if value.contains("://") {
        return Err("give the host alone, without a scheme such as `https://`");
    }
    if value.contains(['/', '?', '#', '\\']) {
        return Err("give the host alone, without a path, query or fragment");
    }
    if value.contains('@') {
        return Err("userinfo (`user@`) is not allowed");
    }
    if value.contains('*') {
        return Err("a wildcard is not allowed: a redirect needs one concrete host");
    }
    if !value.is_ascii() {
        return Err("give an internationalised name in its ASCII (`xn--`) form");
    }
    if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or("an IPv6 literal is missing its closing `]`")?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| "the text in brackets is not an IPv6 address")?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after
                    .strip_prefix(':')
                    .ok_or("only `:port` may follow an IPv6 literal")?,
            )?),
        };
        return Ok((format!("[{ip}]"), port));
    }
    let (name, port) = match value.split_once(':') {
        None => (value, None),
        Some((_, port)) if port.contains(':') => {
            return Err("an IPv6 address needs brackets, as in `[2001:db8::1]`");
        }
        Some((name, port)) => (name, Some(parse_port(port)?)),
    };
    Ok((parse_name(name)?, port))
}

fn parse_port(port: &str) -> Result<u16, &'static str> {
    const BAD: &str = "the port must be a number from 1 to 65535";
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    port.parse::<u16>().ok().filter(|p| *p != 0).ok_or(BAD)
}

/// A DNS name (letters, digits, hyphens; labels of 1 to 63 characters) or an
/// IPv4 address: as in the WHATWG URL standard, a name whose last label is
/// numeric must be an IPv4 address.
fn parse_name(name: &str) -> Result<String, &'static str> {
    if name.is_empty() {
        return Err("the host name is empty");
    }
    if name.len() > 253 {
        return Err("a host name is at most 253 characters");
    }
    if name.ends_with('.') {
        return Err("a trailing dot is not allowed");
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return name
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| "it looks like an IPv4 address but is not one");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("a label is empty (two dots in a row, or a leading dot)");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with a hyphen");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("only letters, digits, hyphens and dots are allowed in a host name");
        }
    }
    Ok(name.to_ascii_lowercase())
}

fn check_exempt(value: &str, prefix: bool) -> Result<Box<str>, ConfigError> {
    let refuse = |reason| ConfigError::ExemptPath {
        value: value.to_owned(),
        reason,
    };
    if !value.starts_with('/') {
        return Err(refuse("a path starts with `/`"));
    }
    if value.contains(['?', '#']) {
        return Err(refuse(
            "exemptions match the path only: remove the query or fragment",
        ));
    }
    if PathAndQuery::try_from(value).is_err() {
        return Err(refuse("it contains characters a request path cannot hold"));
    }
    if prefix && value == "/" {
        return Err(refuse(
            "the prefix `/` would exempt every path: HTTPS would never be enforced",
        ));
    }
    if prefix && escapes_prefix(value) {
        return Err(refuse(
            "a prefix with a dot segment, backslash or encoded slash never matches",
        ));
    }
    Ok(value.into())
}

#[cfg(feature = "serde")]
pub use self::serde_config::HttpsConfig;

#[cfg(feature = "serde")]
mod serde_config {
    use std::fmt;

    use harden_core::ip::TrustedProxies;
    use http::StatusCode;
    use serde::de::{MapAccess, Visitor, value::MapAccessDeserializer};
    use serde::{Deserialize, Deserializer};

    use super::UnsafeMethods;
    use crate::ConfigError;
    use crate::hsts::{Hsts, HstsConfig};
    use crate::https::HttpsRedirect;

    /// HTTPS enforcement in a configuration file; converts into
    /// [`HttpsRedirect`] with [`into_redirect`](Self::into_redirect) (with the
    /// trusted proxies configured elsewhere) or `TryFrom` (without).
    ///
    /// ```toml
    /// canonical_host = "www.example.com"
    /// https_port = 443                 # optional
    /// keep_hosts = ["example.com"]     # redirected to https on the same host
    /// redirect_status = 308            # or 301
    /// redirect_unsafe_methods = false  # true: 308 instead of 403
    /// exempt_paths = ["/healthz"]
    /// exempt_prefixes = ["/.well-known/acme-challenge/"]
    /// hsts = { max_age = "365d", include_subdomains = true, preload = false }
    /// # hsts = false                   # leave HSTS to another layer
    /// ```
    #[derive(Clone, Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[non_exhaustive]
    pub struct HttpsConfig {
        /// The host plain-HTTP requests are sent to (see [`HttpsRedirect::builder`]).
        pub canonical_host: String,
        /// The HTTPS port, if not 443.
        #[serde(default)]
        pub https_port: Option<u16>,
        /// Hosts redirected to HTTPS on themselves.
        #[serde(default)]
        pub keep_hosts: Vec<String>,
        /// 308 (default) or 301.
        #[serde(default = "default_status")]
        pub redirect_status: u16,
        /// Redirect methods other than `GET`/`HEAD` with 308 instead of
        /// answering 403.
        #[serde(default)]
        pub redirect_unsafe_methods: bool,
        /// Exact paths served over plain HTTP too.
        #[serde(default)]
        pub exempt_paths: Vec<String>,
        /// Path prefixes served over plain HTTP too.
        #[serde(default)]
        pub exempt_prefixes: Vec<String>,
        /// The HSTS policy: a table, `true` for the default, `false` for none.
        #[serde(default = "default_hsts", deserialize_with = "deserialize_hsts")]
        pub hsts: Option<HstsConfig>,
    }

    impl HttpsConfig {
        /// The defaults for `canonical_host`.
        pub fn new(canonical_host: impl Into<String>) -> Self {
            HttpsConfig {
                canonical_host: canonical_host.into(),
                https_port: None,
                keep_hosts: Vec::new(),
                redirect_status: default_status(),
                redirect_unsafe_methods: false,
                exempt_paths: Vec::new(),
                exempt_prefixes: Vec::new(),
                hsts: default_hsts(),
            }
        }

        /// Builds the policy, believing forwarding headers from `proxies`.
        ///
        /// # Errors
        ///
        /// As [`HttpsRedirectBuilder::build`](super::HttpsRedirectBuilder::build),
        /// plus [`ConfigError::RedirectStatus`] for a status that is not an
        /// HTTP status at all, and [`ConfigError::HstsPreload`].
        pub fn into_redirect(self, proxies: TrustedProxies) -> Result<HttpsRedirect, ConfigError> {
            self.builder()?.trusted_proxies(proxies).build()
        }

        fn builder(self) -> Result<super::HttpsRedirectBuilder, ConfigError> {
            let status = StatusCode::from_u16(self.redirect_status).map_err(|_| {
                ConfigError::RedirectStatus {
                    value: self.redirect_status,
                }
            })?;
            let hsts = self.hsts.map(Hsts::try_from).transpose()?;
            let mut b = HttpsRedirect::builder(self.canonical_host)
                .redirect_status(status)
                .unsafe_methods(if self.redirect_unsafe_methods {
                    UnsafeMethods::Redirect
                } else {
                    UnsafeMethods::Refuse
                })
                .hsts(hsts);
            if let Some(port) = self.https_port {
                b = b.https_port(port);
            }
            for host in self.keep_hosts {
                b = b.keep_host(host);
            }
            for path in self.exempt_paths {
                b = b.exempt_path(path);
            }
            for prefix in self.exempt_prefixes {
                b = b.exempt_prefix(prefix);
            }
            Ok(b)
        }
    }

    impl TryFrom<HttpsConfig> for HttpsRedirect {
        type Error = ConfigError;

        /// Builds the policy with no trusted proxies: forwarding headers are
        /// ignored.
        fn try_from(config: HttpsConfig) -> Result<Self, ConfigError> {
            config.builder()?.build()
        }
    }

    fn default_status() -> u16 {
        308
    }

    fn default_hsts() -> Option<HstsConfig> {
        Some(HstsConfig::default())
    }

    fn deserialize_hsts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<HstsConfig>, D::Error> {
        struct HstsSetting;

        impl<'de> Visitor<'de> for HstsSetting {
            type Value = Option<HstsConfig>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "`true`, `false` or an HSTS table (max_age, include_subdomains, preload)",
                )
            }

            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Self::Value, E> {
                Ok(on.then(HstsConfig::default))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                HstsConfig::deserialize(MapAccessDeserializer::new(map)).map(Some)
            }
        }

        d.deserialize_any(HstsSetting)
    }
}
