//! `Rejection`: the record a layer leaves on a response when it refused the request.

use std::fmt;

/// Which layer refused a request, and why, as a response extension.
///
/// Every harden layer that answers a request itself instead of calling its inner
/// service puts one in the response extensions, so audit, metrics and logs can
/// tell a rate-limit 429 from a handler's 429 without parsing bodies.
///
/// Both fields are short, stable, machine-readable identifiers (`"cors"`,
/// `"origin-not-allowed"`), safe to use as metric labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rejection {
    layer: &'static str,
    reason: &'static str,
}

impl Rejection {
    /// A rejection by `layer` for `reason`.
    pub const fn new(layer: &'static str, reason: &'static str) -> Self {
        Rejection { layer, reason }
    }

    /// The layer that refused the request (`"cors"`, `"https"`, `"ratelimit"`, …).
    pub fn layer(&self) -> &'static str {
        self.layer
    }

    /// Why (`"origin-not-allowed"`, `"insecure-method"`, …).
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.layer, self.reason)
    }
}
