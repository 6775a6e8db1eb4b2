//! `ConfigError`: every configuration harden-headers refuses, quoting the value.

/// A configuration refused when a layer is built: never a panic, never a
/// silently weaker policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    // ---- HSTS ----
    /// `preload` asked for with a policy hstspreload.org would reject.
    #[error(
        "HSTS preload needs max-age of at least 31536000 seconds and includeSubDomains \
         (hstspreload.org); got max-age={max_age} includeSubDomains={include_subdomains}"
    )]
    HstsPreload {
        /// The configured max-age in seconds.
        max_age: u64,
        /// Whether includeSubDomains was set.
        include_subdomains: bool,
    },

    // ---- security headers, CSP, Permissions-Policy (module `security`) ----
    /// A CSP source expression that is malformed or would inject into the header.
    #[error("CSP source `{}` in `{directive}` is invalid: {reason}", .value.escape_debug())]
    CspSource {
        /// The directive it was given for.
        directive: String,
        /// The source as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A CSP keyword written without its single quotes (`self` for `'self'`),
    /// which browsers would read as a host name (helmet 8 refuses it too).
    #[error(
        "CSP source `{}` in `{directive}` is a keyword without its quotes, which browsers \
         read as a host name: did you mean `'{}'`?",
        .value.escape_debug(), .value.escape_debug()
    )]
    CspUnquotedKeyword {
        /// The directive it was given for.
        directive: String,
        /// The source as written.
        value: String,
    },
    /// A CSP directive that is unknown, obsolete or misused.
    #[error("CSP directive `{}` is invalid: {reason}", .name.escape_debug())]
    CspDirective {
        /// The directive name as written.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A Permissions-Policy feature name that is malformed or unknown.
    #[error("Permissions-Policy feature `{}` is invalid: {reason}", .name.escape_debug())]
    PermissionsFeature {
        /// The feature name as written.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A Permissions-Policy allowlist entry that is not an origin.
    #[error(
        "Permissions-Policy origin `{}` for `{feature}` is invalid: {reason}",
        .value.escape_debug()
    )]
    PermissionsOrigin {
        /// The feature it was given for.
        feature: String,
        /// The origin as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header value that is not a valid HTTP field value.
    #[error("value `{}` of header `{name}` is not a valid HTTP field value", .value.escape_debug())]
    InvalidHeaderValue {
        /// The header name.
        name: String,
        /// The value as written.
        value: String,
    },
    /// A header that `SecurityHeaders` manages itself, given as an extra header.
    #[error("header `{name}` cannot be set as an extra header: use `{method}`")]
    ManagedHeader {
        /// The header name.
        name: String,
        /// The builder method that sets it.
        method: &'static str,
    },
    /// Security header settings that contradict each other.
    #[error("security headers: {reason}")]
    SecurityHeaders {
        /// What contradicts what.
        reason: &'static str,
    },

    // ---- CORS (module `cors`) ----
    /// An allowed origin that is not `scheme://host[:port]`.
    #[error("allowed origin `{value}` is invalid: {reason}")]
    CorsInvalidOrigin {
        /// The origin as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `null` in the allowed origins: sandboxed iframes, `data:` and `file:`
    /// documents all send `Origin: null`, so allowing it allows anyone.
    #[error(
        "allowed origin `{value}` is refused: sandboxed iframes, data: and file: documents \
         all send `Origin: null`, so allowing it would allow any page"
    )]
    CorsNullOrigin {
        /// The entry as written.
        value: String,
    },
    /// A wildcard origin with fewer than two labels after the `*`.
    #[error("allowed origin `{value}` is too broad: a wildcard needs at least two labels after it")]
    CorsOriginTooBroad {
        /// The origin as written.
        value: String,
    },
    /// A `*` anywhere but the whole leftmost label of the host.
    #[error(
        "allowed origin `{value}` has a misplaced wildcard: `*` may only be the whole \
         leftmost label of the host, as in `https://*.example.com`"
    )]
    CorsWildcardPlacement {
        /// The origin as written.
        value: String,
    },
    /// `*` listed together with other entries.
    #[error("`*` in the allowed {list} cannot be combined with other entries (got `{value}`)")]
    CorsWildcardMixed {
        /// Which list: `origins`, `methods`, `headers` or `exposed headers`.
        list: &'static str,
        /// The other entry.
        value: String,
    },
    /// Credentials together with a wildcard, which browsers refuse.
    #[error(
        "allow_credentials cannot be combined with `*` {what}: browsers refuse a wildcard \
         on credentialed requests; list them explicitly"
    )]
    CorsCredentialsWithWildcard {
        /// Which wildcard: `origin`, `methods`, `headers` or `exposed headers`.
        what: &'static str,
    },
    /// An allowed method that is not a valid HTTP method token.
    #[error("allowed method `{value}` is invalid: {reason}")]
    CorsInvalidMethod {
        /// The method as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An allowed or exposed header that is not a valid header name.
    #[error("CORS header `{value}` is not a valid HTTP header name")]
    CorsInvalidHeader {
        /// The name as written.
        value: String,
    },
    /// A credential-bearing header in the exposed headers.
    #[error("exposing `{value}` to cross-origin scripts is refused: it carries credentials")]
    CorsSensitiveExpose {
        /// The name as written.
        value: String,
    },
    /// A `Max-Age` over the configured cap.
    #[error(
        "CORS max-age of {max_age} seconds is over the cap of {cap} seconds (browsers \
         ignore longer values: Chromium caps at 7200, Firefox at 86400)"
    )]
    CorsMaxAge {
        /// The configured max-age in seconds.
        max_age: u64,
        /// The cap in seconds.
        cap: u64,
    },
    /// A `Max-Age` cap over Firefox's 86400 seconds.
    #[error(
        "CORS max-age cap of {cap} seconds is over 86400 seconds, the longest any browser honours"
    )]
    CorsMaxAgeCap {
        /// The configured cap in seconds.
        cap: u64,
    },

    // ---- HTTPS redirect (module `https`) ----
    /// A canonical or kept host that is not a bare DNS name or IP literal.
    #[error("HTTPS redirect host `{value}` is invalid: {reason}")]
    RedirectHost {
        /// The host as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An HTTPS port of 0.
    #[error("HTTPS port `{value}` is invalid: use 1 to 65535")]
    HttpsPort {
        /// The port given.
        value: u16,
    },
    /// A canonical host whose `:port` disagrees with the configured HTTPS port.
    #[error(
        "canonical host `{host}` names a port but the HTTPS port is set to {https_port}: \
         give the port once"
    )]
    HttpsPortConflict {
        /// The canonical host as written.
        host: String,
        /// The port given to `https_port`.
        https_port: u16,
    },
    /// A redirect status other than 301 or 308.
    #[error("redirect status `{value}` is not allowed: use 308 (keeps the method and body) or 301")]
    RedirectStatus {
        /// The status given.
        value: u16,
    },
    /// An exempt path or prefix that cannot match a request path, or would
    /// exempt everything.
    #[error("HTTPS exemption `{value}` is invalid: {reason}")]
    ExemptPath {
        /// The path or prefix as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    // ---- shared ----
    /// A configuration harden-core refused (trusted proxies, durations, …).
    #[error(transparent)]
    Core(#[from] harden_core::ConfigError),
}
