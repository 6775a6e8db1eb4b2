//! Origins: parsing the `Origin` request header and the configured allow-list,
//! and matching one against the other.
//!
//! An origin is `scheme "://" host [":" port]` and nothing else
//! ([RFC 6454 §6.2](https://www.rfc-editor.org/rfc/rfc6454#section-6.2), the
//! [WHATWG serialisation](https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin)).
//! Both sides are parsed with the same strict grammar and compared as parsed
//! values, never as byte prefixes or regular expressions:
//!
//! - the scheme and host are compared case-insensitively (browsers send them in
//!   lowercase);
//! - the default port is folded (`https://a.com:443` is `https://a.com`);
//! - host names are dot-separated labels of `[A-Za-z0-9_-]`, 1 to 63 bytes each,
//!   at most 253 bytes in all; a host whose last label is numeric must be a
//!   dotted-quad IPv4 address; IPv6 hosts are bracketed and compared as addresses;
//! - anything else (a path, a trailing slash, a query, a fragment, user info,
//!   percent-escapes, whitespace, control or non-ASCII bytes, an empty host, a
//!   port that is empty, zero, too large or has a leading zero) is malformed.
//!
//! Nothing here allocates while parsing or matching a request's origin.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use http::HeaderValue;

/// The longest `Origin` value looked at: a 253-byte host, a scheme and a port
/// fit with room to spare.
const MAX_ORIGIN_LEN: usize = 512;
const MAX_SCHEME_LEN: usize = 32;
const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// A parsed host, borrowed from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host<'a> {
    /// A host name, in the case it was written.
    Name(&'a str),
    /// A dotted-quad IPv4 address.
    V4(Ipv4Addr),
    /// A bracketed IPv6 address.
    V6(Ipv6Addr),
}

impl Host<'_> {
    fn same_as(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            (Host::V4(a), Host::V4(b)) => a == b,
            (Host::V6(a), Host::V6(b)) => a == b,
            _ => false,
        }
    }
}

/// A parsed origin, borrowed from the input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'a> {
    scheme: &'a str,
    host: Host<'a>,
    /// `None` when absent or the scheme's default port.
    port: Option<u16>,
    /// Whether the input was already the canonical serialisation (lowercase,
    /// no default port), so that it can be echoed as it came.
    canonical: bool,
}

impl Origin<'_> {
    /// Whether the input bytes were already the canonical serialisation.
    pub(crate) fn is_canonical(&self) -> bool {
        self.canonical
    }

    /// Whether `authority` (a `Host` header or an HTTP/2 `:authority`) names the
    /// same host and port as this origin. The scheme cannot be compared: the
    /// request's own scheme is not known here.
    pub(crate) fn same_authority(&self, authority: &[u8]) -> bool {
        let Ok(authority) = ascii(authority) else {
            return false;
        };
        let Ok((host, port, _)) = parse_authority(authority) else {
            return false;
        };
        let default = default_port(self.scheme);
        host.same_as(&self.host) && port.or(default) == self.port.or(default)
    }

    /// The canonical serialisation as a header value.
    pub(crate) fn to_header_value(self) -> Option<HeaderValue> {
        HeaderValue::try_from(self.to_string()).ok()
    }
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lower(f, self.scheme)?;
        f.write_str("://")?;
        match self.host {
            Host::Name(name) => write_lower(f, name)?,
            Host::V4(ip) => write!(f, "{ip}")?,
            Host::V6(ip) => write!(f, "[{ip}]")?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

fn write_lower(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    s.chars()
        .try_for_each(|c| f.write_char(c.to_ascii_lowercase()))
}

/// Why an origin is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OriginError {
    Empty,
    TooLong,
    BadByte,
    NoScheme,
    BadScheme,
    Path,
    UserInfo,
    PercentEscape,
    EmptyHost,
    BadHost,
    BadPort,
}

impl OriginError {
    /// A human-readable reason, for configuration errors.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            OriginError::Empty => "it is empty",
            OriginError::TooLong => "it is too long",
            OriginError::BadByte => "it contains whitespace, control or non-ASCII characters",
            OriginError::NoScheme => "it has no `scheme://`, as in `https://example.com`",
            OriginError::BadScheme => "the scheme is not valid",
            OriginError::Path => {
                "an origin has no path, trailing slash, query or fragment: \
                 write only scheme, host and port, as in `https://example.com`"
            }
            OriginError::UserInfo => "an origin has no user info (`@`)",
            OriginError::PercentEscape => "an origin has no percent-escapes",
            OriginError::EmptyHost => "the host is empty",
            OriginError::BadHost => {
                "the host is not a valid name (dot-separated labels of letters, digits, \
                 `-` and `_`), a dotted-quad IPv4 address or a bracketed IPv6 address"
            }
            OriginError::BadPort => "the port is not a number from 1 to 65535",
        }
    }
}

fn ascii(input: &[u8]) -> Result<&str, OriginError> {
    if !input.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(OriginError::BadByte);
    }
    std::str::from_utf8(input).map_err(|_| OriginError::BadByte)
}

/// The default port of the schemes that have one in an origin.
fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else {
        None
    }
}

/// Parses an `Origin` value (or a configured origin) strictly.
///
/// Written as plain byte loops: this runs on every cross-origin request that
/// does not byte-match an exact entry, attacker-chosen values included.
pub(crate) fn parse(input: &[u8]) -> Result<Origin<'_>, OriginError> {
    if input.is_empty() {
        return Err(OriginError::Empty);
    }
    if input.len() > MAX_ORIGIN_LEN {
        return Err(OriginError::TooLong);
    }
    let input = ascii(input)?;
    let colon = input.bytes().position(|b| b == b':');
    let (scheme, rest) = match colon {
        Some(at) => (
            input.get(..at).unwrap_or_default(),
            input
                .get(at + 1..)
                .and_then(|r| r.strip_prefix("//"))
                .ok_or(OriginError::NoScheme)?,
        ),
        None => return Err(OriginError::NoScheme),
    };
    let mut scheme_bytes = scheme.bytes();
    let scheme_ok = scheme.len() <= MAX_SCHEME_LEN
        && scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(OriginError::BadScheme);
    }
    let (host, port, mut canonical) = parse_authority(rest)?;
    canonical &= !scheme.bytes().any(|b| b.is_ascii_uppercase());
    let default = default_port(scheme);
    let port = if port.is_some() && port == default {
        canonical = false;
        None
    } else {
        port
    };
    Ok(Origin {
        scheme,
        host,
        port,
        canonical,
    })
}

/// Parses `host [":" port]`; the port is returned as written (not folded).
fn parse_authority(rest: &str) -> Result<(Host<'_>, Option<u16>, bool), OriginError> {
    let (mut at, mut percent, mut path) = (false, false, false);
    for b in rest.bytes() {
        match b {
            b'@' => at = true,
            b'%' => percent = true,
            b'/' | b'?' | b'#' | b'\\' => path = true,
            _ => {}
        }
    }
    if at {
        return Err(OriginError::UserInfo);
    }
    if percent {
        return Err(OriginError::PercentEscape);
    }
    if path {
        return Err(OriginError::Path);
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let end = bracketed
            .bytes()
            .position(|b| b == b']')
            .ok_or(OriginError::BadHost)?;
        let inside = bracketed.get(..end).unwrap_or_default();
        let after = bracketed.get(end + 1..).unwrap_or_default();
        let ip = inside
            .parse::<Ipv6Addr>()
            .map_err(|_| OriginError::BadHost)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(OriginError::BadHost)?),
        };
        (Host::V6(ip), port)
    } else {
        let (name, port) = match rest.bytes().position(|b| b == b':') {
            Some(at) => (
                rest.get(..at).unwrap_or_default(),
                Some(rest.get(at + 1..).unwrap_or_default()),
            ),
            None => (rest, None),
        };
        (parse_host_name(name)?, port)
    };
    let port = port.map(parse_port).transpose()?;
    let canonical = match host {
        Host::Name(name) => !name.bytes().any(|b| b.is_ascii_uppercase()),
        // Only host names are ever echoed back; addresses are compared parsed.
        Host::V4(_) | Host::V6(_) => false,
    };
    Ok((host, port, canonical))
}

fn parse_host_name(name: &str) -> Result<Host<'_>, OriginError> {
    if name.is_empty() {
        return Err(OriginError::EmptyHost);
    }
    if name.len() > MAX_HOST_LEN {
        return Err(OriginError::BadHost);
    }
    // One pass: every label 1..=63 bytes of `[A-Za-z0-9_-]`, and where the
    // last label starts.
    let mut label_len = 0usize;
    let mut last_start = 0usize;
    for (i, b) in name.bytes().enumerate() {
        if b == b'.' {
            if label_len == 0 {
                return Err(OriginError::BadHost);
            }
            label_len = 0;
            last_start = i + 1;
        } else if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            label_len += 1;
            if label_len > MAX_LABEL_LEN {
                return Err(OriginError::BadHost);
            }
        } else {
            return Err(OriginError::BadHost);
        }
    }
    if label_len == 0 {
        return Err(OriginError::BadHost);
    }
    // URL parsers read a host whose last label is a number as an IPv4 address
    // (`1.2.3` is `1.2.0.3`, `0x7f.1` is `127.0.0.1`), so browsers never send
    // such a host as written: accept only the canonical dotted quad.
    let last = name.get(last_start..).unwrap_or(name);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"));
    if numeric {
        return name
            .parse::<Ipv4Addr>()
            .map(Host::V4)
            .map_err(|_| OriginError::BadHost);
    }
    Ok(Host::Name(name))
}

fn parse_port(port: &str) -> Result<u16, OriginError> {
    let plain = !port.is_empty()
        && port.len() <= 5
        && !port.starts_with('0')
        && port.bytes().all(|b| b.is_ascii_digit());
    if !plain {
        return Err(OriginError::BadPort);
    }
    port.parse::<u16>().map_err(|_| OriginError::BadPort)
}

/// A host owned by the configuration, lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedHost {
    Name(Box<str>),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// One exact entry of the allow-list, with its precomputed
/// `Access-Control-Allow-Origin` value.
#[derive(Clone, Debug)]
pub(crate) struct ExactOrigin {
    scheme: Box<str>,
    host: OwnedHost,
    port: Option<u16>,
    value: HeaderValue,
}

impl ExactOrigin {
    /// Parses a configured origin.
    pub(crate) fn parse(entry: &str) -> Result<Self, OriginError> {
        let origin = parse(entry.as_bytes())?;
        let host = match origin.host {
            Host::Name(name) => OwnedHost::Name(name.to_ascii_lowercase().into()),
            Host::V4(ip) => OwnedHost::V4(ip),
            Host::V6(ip) => OwnedHost::V6(ip),
        };
        let value = origin.to_header_value().ok_or(OriginError::BadByte)?;
        Ok(ExactOrigin {
            scheme: origin.scheme.to_ascii_lowercase().into(),
            host,
            port: origin.port,
            value,
        })
    }

    /// The canonical serialisation, answered as `Access-Control-Allow-Origin`.
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    pub(crate) fn matches(&self, origin: &Origin<'_>) -> bool {
        self.port == origin.port
            && self.scheme.eq_ignore_ascii_case(origin.scheme)
            && match (&self.host, origin.host) {
                (OwnedHost::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
                (OwnedHost::V4(a), Host::V4(b)) => *a == b,
                (OwnedHost::V6(a), Host::V6(b)) => *a == b,
                _ => false,
            }
    }
}

/// Why a wildcard entry is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// The rest of the entry is not an origin.
    Origin(OriginError),
    /// `*` somewhere other than the whole leftmost label.
    Placement,
    /// Fewer than two labels after the wildcard.
    TooBroad,
}

/// A wildcard entry, `scheme://*.suffix[:port]`: matches every host strictly
/// under `suffix`, at any depth, on that scheme and port.
#[derive(Clone, Debug)]
pub(crate) struct WildcardOrigin {
    scheme: Box<str>,
    /// Lowercase, with its leading dot: `.example.com`.
    suffix: Box<str>,
    port: Option<u16>,
}

impl WildcardOrigin {
    /// Parses a configured wildcard entry (one that contains `*`).
    pub(crate) fn parse(entry: &str) -> Result<Self, PatternError> {
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or(PatternError::Origin(OriginError::NoScheme))?;
        let suffix = rest.strip_prefix("*.").ok_or(PatternError::Placement)?;
        if scheme.contains('*') || suffix.contains('*') {
            return Err(PatternError::Placement);
        }
        // Parse the suffix as the host of an ordinary origin, so that both sides
        // of a match obey one grammar.
        let probe = format!("{scheme}://x.{suffix}");
        let origin = parse(probe.as_bytes()).map_err(PatternError::Origin)?;
        let Host::Name(host) = origin.host else {
            return Err(PatternError::Origin(OriginError::BadHost));
        };
        let suffix = host.get(1..).unwrap_or_default();
        if suffix.split('.').count() < 3 {
            return Err(PatternError::TooBroad);
        }
        Ok(WildcardOrigin {
            scheme: origin.scheme.to_ascii_lowercase().into(),
            suffix: suffix.to_ascii_lowercase().into(),
            port: origin.port,
        })
    }

    pub(crate) fn matches(&self, origin: &Origin<'_>) -> bool {
        let Host::Name(host) = origin.host else {
            return false;
        };
        self.port == origin.port
            && self.scheme.eq_ignore_ascii_case(origin.scheme)
            && host.len() > self.suffix.len()
            && host
                .len()
                .checked_sub(self.suffix.len())
                .and_then(|start| host.get(start..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(&self.suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(s: &str) -> String {
        parse(s.as_bytes()).unwrap().to_string()
    }

    #[test]
    fn canonical_form_folds_case_and_default_ports() {
        assert_eq!(canonical("https://a.com"), "https://a.com");
        assert_eq!(canonical("https://a.com:443"), "https://a.com");
        assert_eq!(canonical("HTTP://A.COM:80"), "http://a.com");
        assert_eq!(canonical("http://a.com:443"), "http://a.com:443");
        assert_eq!(canonical("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(canonical("http://[::1]:8080"), "http://[::1]:8080");
        assert_eq!(canonical("https://[0:0::1]"), "https://[::1]");
        assert!(parse(b"https://a.com").unwrap().is_canonical());
        assert!(!parse(b"https://A.com").unwrap().is_canonical());
        assert!(!parse(b"https://a.com:443").unwrap().is_canonical());
    }

    #[test]
    fn malformed_origins_say_why() {
        for (input, why) in [
            ("", OriginError::Empty),
            ("https://a.com/", OriginError::Path),
            ("https://a.com?x", OriginError::Path),
            ("https://a.com#x", OriginError::Path),
            ("https://u@a.com", OriginError::UserInfo),
            ("https://a%2ecom", OriginError::PercentEscape),
            ("https://a.com ", OriginError::BadByte),
            ("https://\u{e9}.com", OriginError::BadByte),
            ("a.com", OriginError::NoScheme),
            ("1http://a.com", OriginError::BadScheme),
            ("https://", OriginError::EmptyHost),
            ("https://:443", OriginError::EmptyHost),
            ("https://a..com", OriginError::BadHost),
            ("https://a.com.", OriginError::BadHost),
            ("https://1.2.3", OriginError::BadHost),
            ("https://0x7f.1", OriginError::BadHost),
            ("https://01.2.3.4", OriginError::BadHost),
            ("https://[::1", OriginError::BadHost),
            ("https://::1", OriginError::EmptyHost),
            ("https://a.com:", OriginError::BadPort),
            ("https://a.com:0", OriginError::BadPort),
            ("https://a.com:0443", OriginError::BadPort),
            ("https://a.com:65536", OriginError::BadPort),
            ("https://a.com:1:2", OriginError::BadPort),
        ] {
            assert_eq!(parse(input.as_bytes()).unwrap_err(), why, "{input}");
        }
    }

    #[test]
    fn authority_comparison_folds_the_default_port() {
        let o = parse(b"https://a.com").unwrap();
        assert!(o.same_authority(b"a.com"));
        assert!(o.same_authority(b"A.com:443"));
        assert!(!o.same_authority(b"a.com:8443"));
        assert!(!o.same_authority(b"b.com"));
        assert!(!o.same_authority(b"a.com/"));
        let o = parse(b"http://[::1]:8080").unwrap();
        assert!(o.same_authority(b"[::1]:8080"));
        assert!(!o.same_authority(b"[::1]"));
    }

    #[test]
    fn wildcard_suffix_needs_two_labels_and_a_leftmost_star() {
        assert!(WildcardOrigin::parse("https://*.example.com").is_ok());
        assert!(WildcardOrigin::parse("https://*.co.uk:8443").is_ok());
        assert_eq!(
            WildcardOrigin::parse("https://*.com").unwrap_err(),
            PatternError::TooBroad
        );
        for bad in [
            "https://*example.com",
            "https://a.*.example.com",
            "https://*.*.example.com",
            "https://*-x.example.com",
            "https://example.com:*",
            "*://example.com",
            "https://*",
        ] {
            assert_eq!(
                WildcardOrigin::parse(bad).unwrap_err(),
                PatternError::Placement,
                "{bad}"
            );
        }
        assert!(matches!(
            WildcardOrigin::parse("https://*.1.2.3"),
            Err(PatternError::Origin(OriginError::BadHost))
        ));
    }
}
