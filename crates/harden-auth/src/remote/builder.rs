//! `RemoteJwksBuilder`: every setting of a remote key set, checked at build.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::{Host, Url};

use crate::alg::{Algorithm, Family};
use crate::error::ConfigError;

use super::state::Settings;
use super::{Clock, RemoteJwks, fetch};

/// The default fetch timeout (jose's `timeoutDuration`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default body cap.
const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// The largest body cap accepted.
const MAX_MAX_BODY: usize = 1024 * 1024;
/// The default cooldown between unknown-kid refetches (jose's `cooldownDuration`).
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// The default refresh interval without `max-age` (jose's `cacheMaxAge`).
const DEFAULT_REFRESH: Duration = Duration::from_secs(10 * 60);
const DEFAULT_MIN_REFRESH: Duration = Duration::from_secs(60);
const DEFAULT_MAX_REFRESH: Duration = Duration::from_secs(24 * 60 * 60);
const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(24 * 60 * 60);
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Builds a [`RemoteJwks`]; every setting is checked in
/// [`build`](RemoteJwksBuilder::build).
#[must_use]
pub struct RemoteJwksBuilder {
    url: String,
    allow_insecure_loopback: bool,
    settings: Settings,
    clock: Option<Clock>,
}

impl fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("url", &self.url)
            .field("allow_insecure_loopback", &self.allow_insecure_loopback)
            .field("settings", &self.settings)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl RemoteJwksBuilder {
    pub(super) fn new(url: String) -> Self {
        RemoteJwksBuilder {
            url,
            allow_insecure_loopback: false,
            settings: Settings {
                timeout: DEFAULT_TIMEOUT,
                max_body: DEFAULT_MAX_BODY,
                cooldown: DEFAULT_COOLDOWN,
                default_refresh: DEFAULT_REFRESH,
                min_refresh: DEFAULT_MIN_REFRESH,
                max_refresh: DEFAULT_MAX_REFRESH,
                max_staleness: DEFAULT_MAX_STALENESS,
                retry_after: DEFAULT_RETRY_AFTER,
                rsa_default: Some(Algorithm::RS256),
            },
            clock: None,
        }
    }

    /// Allows a plain `http://` URL whose host is a loopback address
    /// (`127.0.0.0/8`, `::1`) or `localhost`: for tests and local
    /// development. Any other URL must use `https://` either way.
    pub fn allow_insecure_loopback(mut self, allow: bool) -> Self {
        self.allow_insecure_loopback = allow;
        self
    }

    /// The longest a fetch may take, connection and body included
    /// (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The largest JWKS document read, in bytes (default 64 KiB, at most
    /// 1 MiB). A larger body fails the fetch. At most 100 keys are read
    /// from one document either way.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.settings.max_body = bytes;
        self
    }

    /// The shortest time between two fetches triggered by tokens naming an
    /// unknown `kid` (default 30 s, as jose's `cooldownDuration`). Within it
    /// such tokens are refused at once, without waiting.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.settings.cooldown = cooldown;
        self
    }

    /// How long a key set is used before it is fetched again when the
    /// response has no `Cache-Control: max-age` (default 10 minutes, as
    /// jose's `cacheMaxAge`).
    ///
    /// [`Cache-Control`](https://www.rfc-editor.org/rfc/rfc9111#section-5.2)
    pub fn default_refresh(mut self, interval: Duration) -> Self {
        self.settings.default_refresh = interval;
        self
    }

    /// The shortest refresh interval: a smaller `max-age`, `no-cache` and
    /// `no-store` mean this (default 1 minute).
    pub fn min_refresh(mut self, interval: Duration) -> Self {
        self.settings.min_refresh = interval;
        self
    }

    /// The longest refresh interval: a larger `max-age` means this (default
    /// 24 hours). A key removed at the identity provider is refused at most
    /// this long after its removal.
    pub fn max_refresh(mut self, interval: Duration) -> Self {
        self.settings.max_refresh = interval;
        self
    }

    /// How long the last good key set keeps verifying after its refresh
    /// interval ended while refreshes fail (default 24 hours). After that,
    /// requests are refused with 503 (fail closed), tokens verified earlier
    /// included, until a fetch succeeds.
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.settings.max_staleness = staleness;
        self
    }

    /// The `Retry-After` of the 503 answered while no usable key set is
    /// loaded (default 5 s).
    ///
    /// [`Retry-After`](https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3)
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.settings.retry_after = retry_after;
        self
    }

    /// The algorithm of RSA keys published without `alg` (default RS256);
    /// `None` skips such keys. EC and OKP keys take theirs from the curve.
    pub fn rsa_default_alg(mut self, alg: Option<Algorithm>) -> Self {
        self.settings.rsa_default = alg;
        self
    }

    /// The clock that refresh intervals, the cooldown and staleness are
    /// measured on (default [`Instant::now`]). For tests and simulations:
    /// it lets them move time forward without waiting.
    pub fn clock(mut self, clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the settings and builds the key set, empty: nothing is fetched
    /// until [`RemoteJwks::refresher`] runs or [`RemoteJwks::fetch_now`] is
    /// called.
    ///
    /// # Errors
    ///
    /// When the URL is not an absolute `https://` URL (or an allowed loopback
    /// `http://` one), carries credentials, a duration is zero, the body cap
    /// is zero or over 1 MiB, `min_refresh` exceeds `max_refresh`, the
    /// default refresh lies outside them, the RSA default is not an RSA
    /// algorithm, or the HTTP client cannot be set up.
    pub fn build(self) -> Result<RemoteJwks, ConfigError> {
        let (url, https) = check_url(&self.url, self.allow_insecure_loopback)?;
        let s = &self.settings;
        for (setting, value) in [
            ("timeout", s.timeout),
            ("cooldown", s.cooldown),
            ("default_refresh", s.default_refresh),
            ("min_refresh", s.min_refresh),
            ("max_refresh", s.max_refresh),
            ("max_staleness", s.max_staleness),
            ("retry_after", s.retry_after),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Setting {
                    setting,
                    value: format!("{value:?}"),
                    reason: "must be longer than zero",
                });
            }
        }
        if s.max_body == 0 || s.max_body > MAX_MAX_BODY {
            return Err(ConfigError::Setting {
                setting: "max_body",
                value: s.max_body.to_string(),
                reason: "the body cap is 1 byte to 1 MiB",
            });
        }
        if s.min_refresh > s.max_refresh {
            return Err(ConfigError::Setting {
                setting: "min_refresh",
                value: format!("{:?} > max_refresh {:?}", s.min_refresh, s.max_refresh),
                reason: "the shortest refresh interval exceeds the longest",
            });
        }
        if s.default_refresh < s.min_refresh || s.default_refresh > s.max_refresh {
            return Err(ConfigError::Setting {
                setting: "default_refresh",
                value: format!(
                    "{:?} (min_refresh {:?}, max_refresh {:?})",
                    s.default_refresh, s.min_refresh, s.max_refresh
                ),
                reason: "the default refresh interval must lie between min_refresh and max_refresh",
            });
        }
        if let Some(alg) = s.rsa_default
            && alg.family() != Family::Rsa
        {
            return Err(ConfigError::Setting {
                setting: "rsa_default_alg",
                value: alg.to_string(),
                reason: "the default for RSA keys must be an RSA algorithm (RS256, PS256, …)",
            });
        }
        let client = fetch::client(s.timeout, https).map_err(|_| ConfigError::Setting {
            setting: "jwks_url",
            value: url.to_string(),
            reason: "the HTTP client cannot be set up on this system (TLS initialisation failed)",
        })?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(Instant::now));
        Ok(RemoteJwks::new(url, client, self.settings, clock))
    }
}

/// The URL, if it is `https://`, or `http://` to a loopback host when
/// allowed; and whether it is HTTPS.
fn check_url(raw: &str, allow_insecure_loopback: bool) -> Result<(Url, bool), ConfigError> {
    let refuse = |value: String, reason: &'static str| ConfigError::Setting {
        setting: "jwks_url",
        value,
        reason,
    };
    let mut url = Url::parse(raw).map_err(|_| refuse(raw.to_owned(), "not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Quote the URL without its credentials.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        return Err(refuse(
            url.to_string(),
            "a JWKS URL must not carry credentials (they would reach logs and errors)",
        ));
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(refuse(raw.to_owned(), "the URL has no host")),
    };
    match url.scheme() {
        "https" => Ok((url, true)),
        "http" if allow_insecure_loopback && loopback => Ok((url, false)),
        "http" if allow_insecure_loopback => Err(refuse(
            raw.to_owned(),
            "plain http is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); use https",
        )),
        "http" => Err(refuse(
            raw.to_owned(),
            "a JWKS URL must use https (plain http only to a loopback host, with allow_insecure_loopback)",
        )),
        _ => Err(refuse(raw.to_owned(), "a JWKS URL must use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(builder: RemoteJwksBuilder) -> String {
        builder.build().unwrap_err().to_string()
    }

    #[test]
    fn https_urls_are_accepted_and_others_refused_with_the_url_quoted() {
        assert!(
            RemoteJwks::builder("https://idp.example/.well-known/jwks.json")
                .build()
                .is_ok()
        );
        let err = error(RemoteJwks::builder("http://idp.example/jwks"));
        assert!(
            err.contains("`http://idp.example/jwks`") && err.contains("must use https"),
            "{err}"
        );
        let err =
            error(RemoteJwks::builder("ftp://idp.example/jwks").allow_insecure_loopback(true));
        assert!(err.contains("must use https"), "{err}");
        let err = error(RemoteJwks::builder("/jwks.json"));
        assert!(err.contains("not an absolute URL"), "{err}");
    }

    #[test]
    fn plain_http_needs_both_the_opt_in_and_a_loopback_host() {
        for url in [
            "http://127.0.0.1:8080/jwks",
            "http://[::1]/jwks",
            "http://localhost/jwks",
            "http://127.9.9.9/jwks",
        ] {
            assert!(
                RemoteJwks::builder(url).build().is_err(),
                "{url} without the opt-in"
            );
            assert!(
                RemoteJwks::builder(url)
                    .allow_insecure_loopback(true)
                    .build()
                    .is_ok(),
                "{url} with the opt-in"
            );
        }
        for url in [
            "http://10.0.0.1/jwks",
            "http://localhost.idp.example/jwks",
            "http://[::2]/jwks",
        ] {
            let err = error(RemoteJwks::builder(url).allow_insecure_loopback(true));
            assert!(err.contains("only to a loopback host"), "{url}: {err}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_being_quoted() {
        let err = error(RemoteJwks::builder("https://user:hunter2@idp.example/jwks"));
        assert!(
            err.contains("credentials") && !err.contains("hunter2") && !err.contains("user"),
            "{err}"
        );
    }

    #[test]
    fn zero_durations_and_inverted_clamps_are_refused_with_their_values() {
        let b = || RemoteJwks::builder("https://idp.example/jwks");
        assert!(error(b().timeout(Duration::ZERO)).contains("`timeout` = `0ns`"));
        assert!(error(b().cooldown(Duration::ZERO)).contains("`cooldown`"));
        assert!(error(b().max_staleness(Duration::ZERO)).contains("`max_staleness`"));
        assert!(error(b().retry_after(Duration::ZERO)).contains("`retry_after`"));
        let err = error(
            b().min_refresh(Duration::from_secs(7200))
                .max_refresh(Duration::from_secs(3600)),
        );
        assert!(err.contains("7200s > max_refresh 3600s"), "{err}");
        let err = error(b().default_refresh(Duration::from_secs(10)));
        assert!(
            err.contains("`default_refresh` = `10s (min_refresh 60s"),
            "{err}"
        );
        assert!(error(b().max_body(0)).contains("`max_body` = `0`"));
        assert!(error(b().max_body(2 * 1024 * 1024)).contains("1 MiB"));
        let err = error(b().rsa_default_alg(Some(Algorithm::ES256)));
        assert!(err.contains("`rsa_default_alg` = `ES256`"), "{err}");
        assert!(b().rsa_default_alg(None).build().is_ok());
    }
}
