//! One JWKS fetch over HTTP(S): the client's settings, the capped body, the
//! caching headers, and the error a failed fetch reports.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, AGE, CACHE_CONTROL};
use http::{HeaderMap, HeaderValue};

use super::state::Freshness;

/// What went wrong with a JWKS fetch, for metrics and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// No connection, a TLS failure, or the connection broke.
    Connect,
    /// The fetch took longer than the configured timeout.
    Timeout,
    /// The identity provider answered with a status other than 2xx or 3xx.
    Status,
    /// The identity provider answered with a redirect, which is never followed.
    Redirect,
    /// The body is larger than the configured cap.
    TooLarge,
    /// The body is not a JWKS with at least one usable signature key.
    Invalid,
    /// The fetch was requested outside a tokio runtime.
    NoRuntime,
}

impl FetchErrorKind {
    /// A short, stable name for logs and metric labels (`"timeout"`).
    pub fn as_str(self) -> &'static str {
        match self {
            FetchErrorKind::Connect => "connect",
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::Status => "status",
            FetchErrorKind::Redirect => "redirect",
            FetchErrorKind::TooLarge => "too-large",
            FetchErrorKind::Invalid => "invalid",
            FetchErrorKind::NoRuntime => "no-runtime",
        }
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JWKS fetch that failed. The last good key set, if any, stays in use.
///
/// The message names the URL and the reason; it never holds key material
/// (the URL may not carry credentials: the builder refuses them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fetching the JWKS at `{url}` failed: {detail}")]
pub struct FetchError {
    kind: FetchErrorKind,
    url: Arc<str>,
    detail: String,
}

impl FetchError {
    pub(super) fn new(kind: FetchErrorKind, url: impl Into<Arc<str>>, detail: String) -> Self {
        FetchError {
            kind,
            url: url.into(),
            detail,
        }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> FetchErrorKind {
        self.kind
    }

    /// The URL fetched.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Builds the one HTTP client a remote key set uses: no redirects followed,
/// no cookies (reqwest keeps none without its `cookies` feature), the
/// timeout on connect and on the whole exchange, `Accept: application/json`.
/// A loopback URL never goes through a proxy; an HTTPS URL may use the
/// proxies in the environment (`HTTPS_PROXY`, `NO_PROXY`).
pub(super) fn client(timeout: Duration, https: bool) -> Result<reqwest::Client, reqwest::Error> {
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, application/jwk-set+json"),
    );
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .default_headers(headers)
        .user_agent(concat!("harden-auth/", env!("CARGO_PKG_VERSION")))
        .https_only(https);
    let builder = if https { builder } else { builder.no_proxy() };
    builder.build()
}

/// Fetches `url`, reading at most `max_body` bytes of body.
pub(super) async fn get(
    client: &reqwest::Client,
    url: &url::Url,
    shown: &Arc<str>,
    max_body: usize,
) -> Result<(Vec<u8>, Freshness), FetchError> {
    let fail = |kind, detail: String| FetchError::new(kind, Arc::clone(shown), detail);
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| fail(classify(&e), describe(&e)))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(fail(
            FetchErrorKind::Redirect,
            format!("status {}; redirects are not followed", status.as_u16()),
        ));
    }
    if !status.is_success() {
        return Err(fail(
            FetchErrorKind::Status,
            format!("status {}", status.as_u16()),
        ));
    }
    let too_large = || {
        fail(
            FetchErrorKind::TooLarge,
            format!("the body exceeds {max_body} bytes"),
        )
    };
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(max_body).unwrap_or(u64::MAX))
    {
        return Err(too_large());
    }
    let freshness = freshness(response.headers());
    let mut body = Vec::with_capacity(max_body.min(16 * 1024));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fail(classify(&e), describe(&e)))?
    {
        if body.len().saturating_add(chunk.len()) > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, freshness))
}

fn classify(error: &reqwest::Error) -> FetchErrorKind {
    if error.is_timeout() {
        FetchErrorKind::Timeout
    } else {
        FetchErrorKind::Connect
    }
}

/// The error and its causes on one line, without the URL (the caller names it).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the body could not be read".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    let mut depth = 0;
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
        depth += 1;
        if depth >= 4 {
            break;
        }
    }
    text
}

/// Reads `Cache-Control` (every field line): `no-store` or `no-cache` wins,
/// else `max-age` (less `Age`); other directives are ignored, and so is a
/// malformed or repeated `max-age`.
pub(super) fn freshness(headers: &HeaderMap) -> Freshness {
    let mut max_age: Option<u64> = None;
    let mut repeated = false;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Freshness::NoCache;
            }
            if name.eq_ignore_ascii_case("max-age") {
                let parsed = arg
                    .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
                    // RFC 9111 §1.2.2: a delta too large to represent is 2^31.
                    .map(|a| a.parse::<u64>().unwrap_or(2_147_483_648));
                if max_age.is_some() {
                    repeated = true;
                }
                max_age = parsed;
            }
        }
    }
    match max_age {
        Some(secs) if !repeated => {
            let age = headers
                .get(AGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            Freshness::MaxAge(Duration::from_secs(secs.saturating_sub(age)))
        }
        _ => Freshness::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let secs = |s| Freshness::MaxAge(Duration::from_secs(s));
        assert_eq!(
            freshness(&headers(&[("cache-control", "public, max-age=300")])),
            secs(300)
        );
        assert_eq!(
            freshness(&headers(&[(
                "cache-control",
                "Max-Age=\"120\", must-revalidate"
            )])),
            secs(120)
        );
        assert_eq!(
            freshness(&headers(&[
                ("cache-control", "public"),
                ("cache-control", "max-age=60")
            ])),
            secs(60)
        );
        assert_eq!(
            freshness(&headers(&[
                ("cache-control", "max-age=300"),
                ("age", "100")
            ])),
            secs(200)
        );
        assert_eq!(
            freshness(&headers(&[("cache-control", "max-age=30"), ("age", "100")])),
            secs(0)
        );
        assert_eq!(
            freshness(&headers(&[(
                "cache-control",
                "max-age=99999999999999999999999"
            )])),
            secs(2_147_483_648)
        );
    }

    #[test]
    fn no_store_and_no_cache_win_over_max_age() {
        for value in [
            "no-store",
            "max-age=600, no-cache",
            "NO-CACHE=\"set-cookie\"",
        ] {
            assert_eq!(
                freshness(&headers(&[("cache-control", value)])),
                Freshness::NoCache,
                "{value}"
            );
        }
    }

    #[test]
    fn malformed_or_repeated_max_age_is_ignored() {
        for value in [
            "max-age=-1",
            "max-age=1e3",
            "max-age=",
            "max-age",
            "s-maxage=60",
            "max-age=60, max-age=70",
        ] {
            assert_eq!(
                freshness(&headers(&[("cache-control", value)])),
                Freshness::Unspecified,
                "{value}"
            );
        }
        assert_eq!(freshness(&HeaderMap::new()), Freshness::Unspecified);
    }

    #[test]
    fn the_error_message_names_the_url_and_the_reason() {
        let error = FetchError::new(
            FetchErrorKind::Status,
            "https://idp.example/jwks",
            "status 500".into(),
        );
        assert_eq!(
            error.to_string(),
            "fetching the JWKS at `https://idp.example/jwks` failed: status 500"
        );
        assert_eq!(error.kind().as_str(), "status");
        assert_eq!(error.url(), "https://idp.example/jwks");
    }
}
