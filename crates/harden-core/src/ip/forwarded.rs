//! Parsers for the untrusted forwarding headers: `X-Forwarded-For` entries and
//! RFC 7239 `Forwarded` elements.
//!
//! Everything here takes attacker-controlled text. Nothing panics, nothing
//! allocates per entry, and anything that is not exactly a node address yields
//! `None`, which the resolver treats as the end of the trustworthy chain.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Scheme;
use crate::syntax::is_tchar;

/// Parses one `X-Forwarded-For` entry: an IPv4 or IPv6 address, optionally with a
/// port (`192.0.2.1:4711`, `[2001:db8::1]:4711`) or in brackets (`[2001:db8::1]`).
/// Surrounding spaces and tabs are ignored.
pub(crate) fn parse_forwarded_for_entry(entry: &str) -> Option<IpAddr> {
    parse_node_address(entry.trim_matches([' ', '\t']))
}

/// One element of a `Forwarded` header: the `for` node and the `proto`, where present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ForwardedElement<'a> {
    /// The `for=` parameter, unquoted but not yet interpreted.
    pub(crate) for_node: Option<&'a str>,
    /// The `proto=` parameter, if it names `http` or `https`.
    pub(crate) proto: Option<Scheme>,
}

/// Parses one RFC 7239 element (`for=192.0.2.60;proto=http;by=203.0.113.43`).
///
/// Returns `None` when the element is malformed: a pair without `=`, a parameter
/// given twice, an unterminated quoted string, or a `proto` other than a URI scheme.
pub(crate) fn parse_forwarded_element(element: &str) -> Option<ForwardedElement<'_>> {
    let mut out = ForwardedElement {
        for_node: None,
        proto: None,
    };
    let mut seen_proto = false;
    for pair in split_unquoted(element, b';') {
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        let name = name.trim_matches([' ', '\t']);
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return None;
        }
        let value = unquote(value.trim_matches([' ', '\t']))?;
        if name.eq_ignore_ascii_case("for") {
            if out.for_node.is_some() {
                return None;
            }
            out.for_node = Some(value);
        } else if name.eq_ignore_ascii_case("proto") {
            if seen_proto {
                return None;
            }
            seen_proto = true;
            out.proto = parse_scheme(value);
            if out.proto.is_none() && !is_uri_scheme(value) {
                return None;
            }
        }
    }
    Some(out)
}

/// Interprets a `Forwarded` `for=` node. `unknown`, obfuscated identifiers
/// (`_hidden`) and anything malformed give `None`.
pub(crate) fn parse_forwarded_node(node: &str) -> Option<IpAddr> {
    parse_node_address(node)
}

/// Parses `http` or `https`, in any case.
pub(crate) fn parse_scheme(value: &str) -> Option<Scheme> {
    if value.eq_ignore_ascii_case("https") {
        Some(Scheme::Https)
    } else if value.eq_ignore_ascii_case("http") {
        Some(Scheme::Http)
    } else {
        None
    }
}

/// Splits `input` at `sep` bytes outside double-quoted strings. A quoted string
/// that never ends makes the last piece contain the rest; the element parser then
/// rejects it because `unquote` fails.
pub(crate) fn split_unquoted(input: &str, sep: u8) -> impl DoubleEndedIterator<Item = &str> {
    let bytes = input.as_bytes();
    let mut cuts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
        } else if b == b'"' {
            in_quotes = true;
        } else if b == sep {
            cuts.push(i);
        }
    }
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        pieces.push(input.get(start..cut).unwrap_or(""));
        start = cut + 1;
    }
    pieces.push(input.get(start..).unwrap_or(""));
    pieces.into_iter()
}

/// Removes the quotes of an RFC 9110 quoted-string. Node values never need
/// escapes, so a backslash inside quotes is rejected rather than interpreted.
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            if inner.bytes().any(|b| b == b'"' || b == b'\\') {
                None
            } else {
                Some(inner)
            }
        }
        None => {
            if value
                .bytes()
                .all(|b| is_tchar(b) || b == b':' || b == b'[' || b == b']')
            {
                Some(value)
            } else {
                None
            }
        }
    }
}

fn parse_node_address(node: &str) -> Option<IpAddr> {
    if node.is_empty() || node.len() > 64 {
        return None;
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !after.is_empty() && !is_port(after.strip_prefix(':')?) {
            return None;
        }
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(v6) = node.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    let (host, port) = match node.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (node, None),
    };
    if let Some(port) = port
        && !is_port(port)
    {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

fn is_uri_scheme(value: &str) -> bool {
    let mut bytes = value.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_entries_in_every_legitimate_shape() {
        assert_eq!(
            parse_forwarded_for_entry("203.0.113.7"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            parse_forwarded_for_entry(" 203.0.113.7\t"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            parse_forwarded_for_entry("203.0.113.7:4711"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            parse_forwarded_for_entry("2001:db8::7"),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            parse_forwarded_for_entry("[2001:db8::7]"),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            parse_forwarded_for_entry("[2001:db8::7]:443"),
            Some(ip("2001:db8::7"))
        );
    }

    #[test]
    fn obfuscated_and_malformed_forwarded_for_entries_are_rejected() {
        for bad in [
            "",
            "unknown",
            "_hidden",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "127.1",
            "2130706433",
            "1.2.3.4.5",
            "1.2.3.256",
            "1.2.3.4:",
            "1.2.3.4:99999999",
            "1.2.3.4:port",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[1.2.3.4]",
            "fe80::1%eth0",
            "1.2.3.4 5.6.7.8",
            "localhost",
        ] {
            assert_eq!(parse_forwarded_for_entry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn forwarded_elements_parse_for_and_proto_case_insensitively() {
        let e = parse_forwarded_element("For=\"[2001:db8:cafe::17]:4711\";PROTO=HTTPS;by=10.0.0.1")
            .unwrap();
        assert_eq!(e.for_node, Some("[2001:db8:cafe::17]:4711"));
        assert_eq!(e.proto, Some(Scheme::Https));
        assert_eq!(
            parse_forwarded_node(e.for_node.unwrap()),
            Some(ip("2001:db8:cafe::17"))
        );
        let e = parse_forwarded_element("for=192.0.2.60;proto=http").unwrap();
        assert_eq!(e.for_node, Some("192.0.2.60"));
        assert_eq!(e.proto, Some(Scheme::Http));
    }

    #[test]
    fn forwarded_element_with_other_scheme_has_no_proto() {
        let e = parse_forwarded_element("for=192.0.2.60;proto=ws").unwrap();
        assert_eq!(e.proto, None);
    }

    #[test]
    fn malformed_forwarded_elements_are_rejected() {
        for bad in [
            "for",
            "for=1.2.3.4;for=5.6.7.8",
            "for=\"1.2.3.4",
            "for=\"1.2\"3.4\"",
            "for=\"1.2.3.4\\\"\"",
            "=1.2.3.4",
            "f r=1.2.3.4",
            "for=1.2.3.4;proto=h ttp",
            "for=1.2.3.4;proto=https;proto=http",
            "for=1.2.3.4;proto=",
        ] {
            assert_eq!(parse_forwarded_element(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_and_obfuscated_nodes_have_no_address() {
        for node in ["unknown", "_gazonk", "_SEVKISEK", "unknown:4711"] {
            assert_eq!(parse_forwarded_node(node), None, "{node}");
        }
    }

    #[test]
    fn split_respects_quotes() {
        let parts: Vec<_> = split_unquoted("a=\"x,y\",b=2", b',').collect();
        assert_eq!(parts, ["a=\"x,y\"", "b=2"]);
        let parts: Vec<_> = split_unquoted("a,,b,", b',').collect();
        assert_eq!(parts, ["a", "", "b", ""]);
    }
}
