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

    // ---- CORS (module `cors`) ----

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
