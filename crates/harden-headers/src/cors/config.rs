//! `CorsConfig`: the serde face of [`CorsBuilder`](super::CorsBuilder).

use std::time::Duration;

use harden_core::config::{deserialize_duration, deserialize_opt_duration};
use serde::Deserialize;

use super::builder::{CHROMIUM_MAX_AGE, Cors};
use crate::ConfigError;

/// CORS settings from a configuration file; converts into [`Cors`] with
/// `TryFrom`, through the same validation as the builder.
///
/// ```toml
/// allow_origins = ["https://app.example.com", "https://*.example.com"]  # "*" = any
/// allow_methods = ["GET", "HEAD", "POST", "PUT"]   # default GET, HEAD, POST
/// allow_headers = ["content-type", "authorization"] # "*" = any
/// expose_headers = ["x-request-id"]
/// allow_credentials = true
/// max_age = "10m"
/// max_age_cap = "2h"            # the default; at most "24h"
/// allow_private_network = false
/// reject_disallowed = true
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CorsConfig {
    /// Allowed origins, exact or `scheme://*.domain`; `["*"]` for any.
    pub allow_origins: Vec<String>,
    /// Methods a preflight may ask for.
    pub allow_methods: Vec<String>,
    /// Request headers a preflight may ask for; `["*"]` for any.
    pub allow_headers: Vec<String>,
    /// Response headers scripts may read.
    pub expose_headers: Vec<String>,
    /// Whether credentialed requests are allowed.
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer (`"10m"`).
    #[serde(deserialize_with = "deserialize_opt_duration")]
    pub max_age: Option<Duration>,
    /// The longest `max_age` accepted (default `"2h"`, at most `"24h"`).
    #[serde(deserialize_with = "deserialize_duration")]
    pub max_age_cap: Duration,
    /// Whether Private Network Access preflights are granted.
    pub allow_private_network: bool,
    /// Whether disallowed requests are refused with 403.
    pub reject_disallowed: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allow_origins: Vec::new(),
            allow_methods: vec!["GET".to_owned(), "HEAD".to_owned(), "POST".to_owned()],
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            allow_credentials: false,
            max_age: None,
            max_age_cap: CHROMIUM_MAX_AGE,
            allow_private_network: false,
            reject_disallowed: false,
        }
    }
}

impl TryFrom<CorsConfig> for Cors {
    type Error = ConfigError;

    fn try_from(config: CorsConfig) -> Result<Self, ConfigError> {
        let mut builder = Cors::builder()
            .allow_origins(config.allow_origins)
            .allow_methods(config.allow_methods)
            .allow_headers(config.allow_headers)
            .expose_headers(config.expose_headers)
            .allow_credentials(config.allow_credentials)
            .max_age_cap(config.max_age_cap)
            .allow_private_network(config.allow_private_network)
            .reject_disallowed(config.reject_disallowed);
        if let Some(max_age) = config.max_age {
            builder = builder.max_age(max_age);
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    #[test]
    fn a_full_config_converts() {
        let cfg: CorsConfig = toml::from_str(
            r#"
            allow_origins = ["https://app.example.com", "https://*.example.com"]
            allow_methods = ["GET", "PUT"]
            allow_headers = ["content-type"]
            expose_headers = ["x-request-id"]
            allow_credentials = true
            max_age = "10m"
            allow_private_network = true
            reject_disallowed = true
            "#,
        )
        .unwrap();
        let cors = Cors::try_from(cfg).unwrap();
        assert!(cors.allows_credentials());
        assert!(cors.rejects_disallowed());
        assert_eq!(cors.max_age(), Some(Duration::from_secs(600)));

        let mut h = HeaderMap::new();
        h.insert("origin", "https://a.b.example.com".parse().unwrap());
        let mut res = HeaderMap::new();
        cors.check(&Method::GET, &h).apply(&mut res);
        assert_eq!(
            res["access-control-allow-origin"],
            "https://a.b.example.com"
        );
        assert_eq!(res["access-control-expose-headers"], "x-request-id");
    }

    #[test]
    fn an_empty_config_allows_nothing_cross_origin() {
        let cors = Cors::try_from(toml::from_str::<CorsConfig>("").unwrap()).unwrap();
        let mut h = HeaderMap::new();
        h.insert("origin", "https://a.example".parse().unwrap());
        assert!(!cors.check(&Method::GET, &h).is_allowed());
    }

    #[test]
    fn star_in_the_origin_list_means_any_origin() {
        let cfg: CorsConfig = toml::from_str(r#"allow_origins = ["*"]"#).unwrap();
        assert!(Cors::try_from(cfg).unwrap().allows_any_origin());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<CorsConfig>("allow_origin = []").unwrap_err();
        assert!(err.to_string().contains("allow_origin"), "{err}");
    }

    #[test]
    fn bad_durations_are_refused_quoting_them() {
        let err = toml::from_str::<CorsConfig>(r#"max_age = "10""#).unwrap_err();
        assert!(err.to_string().contains("`10`"), "{err}");
    }

    #[test]
    fn refused_values_are_quoted_through_the_config_too() {
        for (toml, quoted) in [
            (r#"allow_origins = ["https://*.com"]"#, "`https://*.com`"),
            (r#"allow_origins = ["null"]"#, "`null`"),
            (r#"max_age = "3h""#, "10800"),
            (r#"max_age_cap = "2d""#, "172800"),
            (r#"expose_headers = ["Set-Cookie"]"#, "`Set-Cookie`"),
        ] {
            let cfg: CorsConfig = toml::from_str(toml).unwrap();
            let err = Cors::try_from(cfg).unwrap_err();
            assert!(err.to_string().contains(quoted), "{toml}: {err}");
        }
        let cfg: CorsConfig =
            toml::from_str("allow_origins = [\"*\"]\nallow_credentials = true").unwrap();
        assert!(matches!(
            Cors::try_from(cfg),
            Err(ConfigError::CorsCredentialsWithWildcard { what: "origin" })
        ));
    }
}
