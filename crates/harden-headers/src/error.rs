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

    // ---- shared ----
    /// A configuration harden-core refused (trusted proxies, durations, …).
    #[error(transparent)]
    Core(#[from] harden_core::ConfigError),
}
