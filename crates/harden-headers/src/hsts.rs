//! `Hsts`: the `Strict-Transport-Security` policy, shared by
//! [`SecurityHeaders`](crate::security::SecurityHeaders) and
//! [`HttpsRedirect`](crate::https::HttpsRedirect).

use std::time::Duration;

use http::header::STRICT_TRANSPORT_SECURITY;
use http::{HeaderMap, HeaderValue};

use crate::ConfigError;

/// One year, in seconds: helmet 8's default and the hstspreload.org minimum.
pub const ONE_YEAR: Duration = Duration::from_secs(31_536_000);

/// A `Strict-Transport-Security` policy
/// ([RFC 6797](https://www.rfc-editor.org/rfc/rfc6797),
/// [MDN](https://developer.mozilla.org/docs/Web/HTTP/Headers/Strict-Transport-Security)).
///
/// The default is `max-age=31536000; includeSubDomains`, as helmet 8 and the
/// playbook. It is only ever sent on HTTPS responses: over plain HTTP browsers
/// ignore it (RFC 6797 §7.2), and an attacker in the middle could strip it anyway.
///
/// ```
/// use harden_headers::hsts::Hsts;
/// use std::time::Duration;
///
/// assert_eq!(Hsts::default().header_value(), "max-age=31536000; includeSubDomains");
///
/// let preload = Hsts::builder()
///     .max_age(Duration::from_secs(63_072_000))
///     .preload(true)
///     .build()?;
/// assert_eq!(preload.header_value(), "max-age=63072000; includeSubDomains; preload");
///
/// // Preload lists refuse short policies; so do we.
/// assert!(Hsts::builder().max_age(Duration::from_secs(86_400)).preload(true).build().is_err());
/// # Ok::<(), harden_headers::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hsts {
    max_age: Duration,
    include_subdomains: bool,
    preload: bool,
    value: HeaderValue,
}

impl Default for Hsts {
    fn default() -> Self {
        HstsBuilder::default().assemble()
    }
}

impl Hsts {
    /// Starts from the default (one year, `includeSubDomains`, no preload).
    pub fn builder() -> HstsBuilder {
        HstsBuilder::default()
    }

    /// The `max-age`.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Whether `includeSubDomains` is set.
    pub fn includes_subdomains(&self) -> bool {
        self.include_subdomains
    }

    /// Whether `preload` is set.
    pub fn is_preload(&self) -> bool {
        self.preload
    }

    /// The header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// Sets the header unless the response already has one (a handler that set
    /// its own policy, e.g. `max-age=0` to retire HSTS, keeps it).
    pub fn apply(&self, headers: &mut HeaderMap) {
        headers
            .entry(STRICT_TRANSPORT_SECURITY)
            .or_insert_with(|| self.value.clone());
    }
}

/// Builds an [`Hsts`] policy.
#[derive(Clone, Debug)]
#[must_use]
pub struct HstsBuilder {
    max_age: Duration,
    include_subdomains: bool,
    preload: bool,
}

impl Default for HstsBuilder {
    fn default() -> Self {
        HstsBuilder {
            max_age: ONE_YEAR,
            include_subdomains: true,
            preload: false,
        }
    }
}

impl HstsBuilder {
    /// How long browsers remember to use HTTPS only, in whole seconds.
    /// `Duration::ZERO` tells browsers to forget the policy.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Whether the policy covers subdomains (default `true`).
    pub fn include_subdomains(mut self, include: bool) -> Self {
        self.include_subdomains = include;
        self
    }

    /// Whether to ask for inclusion in browsers' preload lists (default
    /// `false`). Preloading is hard to undo: read <https://hstspreload.org> first.
    pub fn preload(mut self, preload: bool) -> Self {
        self.preload = preload;
        self
    }

    /// Validates and builds the policy.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HstsPreload`] when `preload` is asked for with a
    /// `max-age` under one year or without `includeSubDomains`, which
    /// hstspreload.org rejects.
    pub fn build(self) -> Result<Hsts, ConfigError> {
        if self.preload && (self.max_age < ONE_YEAR || !self.include_subdomains) {
            return Err(ConfigError::HstsPreload {
                max_age: self.max_age.as_secs(),
                include_subdomains: self.include_subdomains,
            });
        }
        Ok(self.assemble())
    }

    fn assemble(self) -> Hsts {
        let mut value = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if self.preload {
            value.push_str("; preload");
        }
        let value = HeaderValue::try_from(value)
            .unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
        Hsts {
            max_age: self.max_age,
            include_subdomains: self.include_subdomains,
            preload: self.preload,
            value,
        }
    }
}

/// HSTS settings in a configuration file; converts into [`Hsts`].
///
/// ```toml
/// max_age = "365d"
/// include_subdomains = true
/// preload = false
/// ```
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HstsConfig {
    /// `max-age`, as a duration string.
    #[serde(deserialize_with = "harden_core::config::deserialize_duration")]
    pub max_age: Duration,
    /// `includeSubDomains`.
    pub include_subdomains: bool,
    /// `preload`.
    pub preload: bool,
}

#[cfg(feature = "serde")]
impl Default for HstsConfig {
    fn default() -> Self {
        HstsConfig {
            max_age: ONE_YEAR,
            include_subdomains: true,
            preload: false,
        }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<HstsConfig> for Hsts {
    type Error = ConfigError;

    fn try_from(c: HstsConfig) -> Result<Self, ConfigError> {
        Hsts::builder()
            .max_age(c.max_age)
            .include_subdomains(c.include_subdomains)
            .preload(c.preload)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matches_helmet_and_the_playbook() {
        let h = Hsts::default();
        assert_eq!(h.header_value(), "max-age=31536000; includeSubDomains");
        assert_eq!(h.max_age(), ONE_YEAR);
        assert!(h.includes_subdomains() && !h.is_preload());
    }

    #[test]
    fn preload_needs_a_year_and_subdomains() {
        let err = Hsts::builder()
            .include_subdomains(false)
            .preload(true)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("includeSubDomains=false"), "{err}");
        let err = Hsts::builder()
            .max_age(Duration::from_secs(31_535_999))
            .preload(true)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("31535999"), "{err}");
        assert!(Hsts::builder().preload(true).build().is_ok());
    }

    #[test]
    fn zero_max_age_retires_the_policy() {
        let h = Hsts::builder()
            .max_age(Duration::ZERO)
            .include_subdomains(false)
            .build()
            .unwrap();
        assert_eq!(h.header_value(), "max-age=0");
    }

    #[test]
    fn apply_keeps_a_policy_the_handler_set() {
        let mut headers = HeaderMap::new();
        headers.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=0"),
        );
        Hsts::default().apply(&mut headers);
        assert_eq!(headers[STRICT_TRANSPORT_SECURITY], "max-age=0");
        assert_eq!(headers.get_all(STRICT_TRANSPORT_SECURITY).iter().count(), 1);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn config_parses_durations_and_validates() {
        let c: HstsConfig = toml::from_str("max_age = \"730d\"\npreload = true").unwrap();
        let h = Hsts::try_from(c).unwrap();
        assert_eq!(
            h.header_value(),
            "max-age=63072000; includeSubDomains; preload"
        );
        let c: HstsConfig = toml::from_str("max_age = \"1d\"\npreload = true").unwrap();
        assert!(Hsts::try_from(c).is_err());
        assert!(toml::from_str::<HstsConfig>("maxage = \"1d\"").is_err());
    }
}
