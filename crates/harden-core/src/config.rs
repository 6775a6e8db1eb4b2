//! Configuration errors, duration parsing and, behind the `serde` feature, the
//! configuration structs of the layers in this crate.

use std::time::Duration;

/// A configuration this crate refuses, quoting the value it refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A trusted-proxy block that is not CIDR notation.
    #[error("trusted proxy `{value}` is not a CIDR block: {reason}")]
    InvalidCidr {
        /// The block as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A trusted-proxy block with bits set beyond its prefix.
    #[error(
        "trusted proxy `{value}` has host bits set beyond its prefix; did you mean `{network}`?"
    )]
    HostBitsSet {
        /// The block as written.
        value: String,
        /// The network it was probably meant to be.
        network: String,
    },
    /// An IPv6 grouping prefix outside 32..=128.
    #[error("IPv6 key prefix /{value} is out of range: use 32 to 128 bits (default 56)")]
    Ipv6Prefix {
        /// The prefix length given.
        value: u8,
    },
    /// A header name that is not a valid HTTP field name.
    #[error("`{value}` is not a valid HTTP header name")]
    InvalidHeaderName {
        /// The name as written.
        value: String,
    },
    /// A duration that is not `<number><unit>` (`"30s"`, `"500ms"`, `"1h30m"`).
    #[error("duration `{value}` is invalid: {reason}")]
    InvalidDuration {
        /// The duration as written.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Parses a duration such as `"30s"`, `"500ms"`, `"5m"`, `"1h30m"` or `"1d"`.
///
/// Units: `ms`, `s`, `m`, `h`, `d`. A bare number is refused, because `"30"`
/// could mean seconds or milliseconds and a wrong guess is a silently different
/// policy.
///
/// ```
/// use harden_core::config::parse_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("1h30m")?, Duration::from_secs(5400));
/// assert_eq!(parse_duration("250ms")?, Duration::from_millis(250));
/// assert!(parse_duration("30").is_err());
/// # Ok::<(), harden_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// [`ConfigError::InvalidDuration`] quoting the input.
pub fn parse_duration(value: &str) -> Result<Duration, ConfigError> {
    let invalid = |reason| ConfigError::InvalidDuration {
        value: value.to_owned(),
        reason,
    };
    let mut rest = value.trim();
    if rest.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid("expected a number, as in `30s` or `1h30m`"));
        }
        let (number, after) = rest.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| invalid("the number is too large"))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let part = match unit {
            "ms" => Some(Duration::from_millis(number)),
            "s" => Some(Duration::from_secs(number)),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            "d" => number.checked_mul(86_400).map(Duration::from_secs),
            "" => return Err(invalid("a unit is required: ms, s, m, h or d")),
            _ => return Err(invalid("unknown unit: use ms, s, m, h or d")),
        }
        .ok_or_else(|| invalid("the duration is too large"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| invalid("the duration is too large"))?;
        rest = after;
    }
    Ok(total)
}

#[cfg(feature = "serde")]
pub use self::serde_impl::*;

#[cfg(feature = "serde")]
mod serde_impl {
    use std::time::Duration;

    use http::HeaderName;
    use serde::{Deserialize, Deserializer};

    use super::{ConfigError, parse_duration};
    use crate::ip::{DEFAULT_IPV6_PREFIX, ForwardedHeader, TrustedProxies};
    use crate::request_id::RequestIdLayer;

    /// Deserialises a [`Duration`] from a string such as `"30s"` (see
    /// [`parse_duration`]); for `#[serde(deserialize_with = "…")]`.
    ///
    /// # Errors
    ///
    /// The deserializer's error, quoting the bad value.
    pub fn deserialize_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// Like [`deserialize_duration`], for an `Option<Duration>`.
    ///
    /// # Errors
    ///
    /// The deserializer's error, quoting the bad value.
    pub fn deserialize_opt_duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }

    /// How the client address is found; converts into [`TrustedProxies`].
    ///
    /// ```toml
    /// trusted_proxies = ["10.0.0.0/8", "fd00::/8"]
    /// header = "x-forwarded-for"   # or "forwarded"
    /// ipv6_prefix = 56
    /// ```
    #[derive(Clone, Debug, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    #[non_exhaustive]
    pub struct ClientIpConfig {
        /// CIDR blocks of the proxies allowed to report the client.
        pub trusted_proxies: Vec<String>,
        /// The header they maintain: `"x-forwarded-for"` or `"forwarded"`.
        pub header: ForwardedHeaderConfig,
        /// IPv6 grouping prefix for keys, 32 to 128.
        pub ipv6_prefix: u8,
    }

    impl Default for ClientIpConfig {
        fn default() -> Self {
            ClientIpConfig {
                trusted_proxies: Vec::new(),
                header: ForwardedHeaderConfig::XForwardedFor,
                ipv6_prefix: DEFAULT_IPV6_PREFIX,
            }
        }
    }

    /// The names of [`ForwardedHeader`] in configuration files.
    #[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum ForwardedHeaderConfig {
        /// `X-Forwarded-For` and `X-Forwarded-Proto`.
        #[serde(rename = "x-forwarded-for")]
        XForwardedFor,
        /// RFC 7239 `Forwarded`.
        #[serde(rename = "forwarded")]
        Forwarded,
    }

    impl TryFrom<ClientIpConfig> for TrustedProxies {
        type Error = ConfigError;

        fn try_from(config: ClientIpConfig) -> Result<Self, ConfigError> {
            let header = match config.header {
                ForwardedHeaderConfig::XForwardedFor => ForwardedHeader::XForwardedFor,
                ForwardedHeaderConfig::Forwarded => ForwardedHeader::Forwarded,
            };
            TrustedProxies::new(&config.trusted_proxies)?
                .header(header)
                .ipv6_prefix(config.ipv6_prefix)
        }
    }

    /// Request id settings; converts into [`RequestIdLayer`].
    ///
    /// ```toml
    /// header = "x-request-id"
    /// accept_incoming = true
    /// ```
    #[derive(Clone, Debug, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    #[non_exhaustive]
    pub struct RequestIdConfig {
        /// The header carrying the id.
        pub header: String,
        /// Whether a plain incoming id is kept.
        pub accept_incoming: bool,
    }

    impl Default for RequestIdConfig {
        fn default() -> Self {
            RequestIdConfig {
                header: "x-request-id".to_owned(),
                accept_incoming: true,
            }
        }
    }

    impl TryFrom<RequestIdConfig> for RequestIdLayer {
        type Error = ConfigError;

        fn try_from(config: RequestIdConfig) -> Result<Self, ConfigError> {
            let name = HeaderName::from_bytes(config.header.as_bytes()).map_err(|_| {
                ConfigError::InvalidHeaderName {
                    value: config.header.clone(),
                }
            })?;
            let layer = RequestIdLayer::new().header(name);
            Ok(if config.accept_incoming {
                layer
            } else {
                layer.ignore_incoming()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_units_parse() {
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration(" 5m ").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(
            parse_duration("1h1m1s1ms").unwrap(),
            Duration::from_millis(3_661_001)
        );
    }

    #[test]
    fn bad_durations_are_errors_quoting_the_value() {
        for bad in [
            "",
            "30",
            "s",
            "-1s",
            "1.5s",
            "10 s",
            "1y",
            "1sec",
            "9999999999999999999999s",
            "999999999999999999d",
            "1h 30m",
            "ms5",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{bad}`")),
                "{bad}: {err}"
            );
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn client_ip_config_converts_and_rejects_unknown_keys() {
        use crate::ip::TrustedProxies;
        let cfg: ClientIpConfig = toml::from_str(
            "trusted_proxies = [\"10.0.0.0/8\"]\nheader = \"forwarded\"\nipv6_prefix = 64",
        )
        .unwrap();
        let proxies = TrustedProxies::try_from(cfg).unwrap();
        assert!(proxies.is_trusted("10.1.1.1".parse().unwrap()));

        let err = toml::from_str::<ClientIpConfig>("trusted_proxy = []").unwrap_err();
        assert!(err.to_string().contains("trusted_proxy"), "{err}");
        let cfg: ClientIpConfig = toml::from_str("trusted_proxies = [\"10.0.0.1/8\"]").unwrap();
        let err = TrustedProxies::try_from(cfg).unwrap_err();
        assert!(err.to_string().contains("`10.0.0.1/8`"), "{err}");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn request_id_config_rejects_bad_header_names() {
        use crate::request_id::RequestIdLayer;
        let cfg: RequestIdConfig = toml::from_str("header = \"bad header\"").unwrap();
        let err = RequestIdLayer::try_from(cfg).unwrap_err();
        assert!(err.to_string().contains("`bad header`"), "{err}");
    }
}
