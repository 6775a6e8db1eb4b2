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

    // ---- HTTPS redirect (module `https`) ----

    // ---- shared ----
    /// A configuration harden-core refused (trusted proxies, durations, …).
    #[error(transparent)]
    Core(#[from] harden_core::ConfigError),
}
