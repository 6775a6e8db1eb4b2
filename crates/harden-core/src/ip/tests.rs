use std::convert::Infallible;
use std::net::IpAddr;

use http::{HeaderMap, HeaderValue, Request, Response};
use proptest::prelude::*;
use tower::{Layer, ServiceExt, service_fn};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

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

fn lb() -> TrustedProxies {
    TrustedProxies::new(["10.0.0.0/8", "fd00::/8"]).unwrap()
}

#[test]
fn untrusted_peer_is_the_client_and_its_forwarded_for_is_ignored() {
    let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
    assert_eq!(
        lb().resolve(ip("203.0.113.5"), &h).addr(),
        ip("203.0.113.5")
    );
    assert_eq!(
        TrustedProxies::none().resolve(ip("10.0.0.2"), &h).addr(),
        ip("10.0.0.2")
    );
}

#[test]
fn spoofed_forwarded_for_from_untrusted_peer_never_changes_the_key() {
    let proxies = lb();
    let keys: std::collections::HashSet<_> = (0..200)
        .map(|i| {
            let h = headers(&[("x-forwarded-for", &format!("198.51.100.{i}"))]);
            proxies.resolve(ip("203.0.113.5"), &h).key()
        })
        .collect();
    assert_eq!(keys.len(), 1);
}

#[test]
fn trusted_chain_resolves_to_first_untrusted_from_the_right() {
    let h = headers(&[(
        "x-forwarded-for",
        "6.6.6.6, 203.0.113.9, 10.1.1.1, 10.2.2.2",
    )]);
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("203.0.113.9"));
}

#[test]
fn forwarded_for_split_over_several_header_lines_is_one_list() {
    let h = headers(&[
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "203.0.113.9, 10.1.1.1"),
    ]);
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("203.0.113.9"));
}

#[test]
fn all_trusted_chain_resolves_to_the_leftmost_hop() {
    let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("10.9.9.9"));
}

#[test]
fn trusted_peer_without_header_is_the_client() {
    assert_eq!(
        lb().resolve(ip("10.0.0.2"), &HeaderMap::new()).addr(),
        ip("10.0.0.2")
    );
}

#[test]
fn malformed_entry_ends_the_walk_at_the_hop_that_reported_it() {
    let h = headers(&[("x-forwarded-for", "203.0.113.9, garbage, 10.1.1.1")]);
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("10.1.1.1"));
    let h = headers(&[("x-forwarded-for", "203.0.113.9, unknown")]);
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("10.0.0.2"));
    let h = headers(&[("x-forwarded-for", "")]);
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("10.0.0.2"));
}

#[test]
fn non_ascii_forwarded_for_is_ignored() {
    let mut h = HeaderMap::new();
    h.insert(
        "x-forwarded-for",
        HeaderValue::from_bytes(b"203.0.113.9\xff").unwrap(),
    );
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("10.0.0.2"));
}

#[test]
fn ipv6_with_brackets_and_port_resolves() {
    let h = headers(&[("x-forwarded-for", "[2001:db8::9]:5555, fd00::1")]);
    assert_eq!(lb().resolve(ip("fd00::2"), &h).addr(), ip("2001:db8::9"));
}

#[test]
fn ipv4_mapped_addresses_are_folded_to_ipv4() {
    let c = TrustedProxies::none().resolve(ip("::ffff:203.0.113.5"), &HeaderMap::new());
    assert_eq!(c.addr(), ip("203.0.113.5"));
    assert_eq!(c.key(), ip("203.0.113.5"));
    let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.1")]);
    assert_eq!(
        lb().resolve(ip("::ffff:10.0.0.2"), &h).addr(),
        ip("198.51.100.1")
    );
}

#[test]
fn a_thousand_addresses_in_one_slash_64_share_a_key() {
    let proxies = TrustedProxies::none();
    let keys: std::collections::HashSet<_> = (0u16..1000)
        .map(|i| {
            let addr = format!("2001:db8:1:2:{i:x}::{i:x}");
            proxies.resolve(ip(&addr), &HeaderMap::new()).key()
        })
        .collect();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys.into_iter().next().unwrap(), ip("2001:db8:1::"));
}

#[test]
fn ipv6_prefix_is_configurable_and_validated() {
    let p = TrustedProxies::none().ipv6_prefix(64).unwrap();
    let a = p.resolve(ip("2001:db8:1:2::1"), &HeaderMap::new()).key();
    let b = p.resolve(ip("2001:db8:1:3::1"), &HeaderMap::new()).key();
    assert_ne!(a, b);
    for bad in [0, 8, 31, 129, 255] {
        let err = TrustedProxies::none().ipv6_prefix(bad).unwrap_err();
        assert!(err.to_string().contains(&bad.to_string()), "{err}");
    }
}

#[test]
fn bad_block_in_the_list_is_an_error_quoting_it() {
    let err = TrustedProxies::new(["10.0.0.0/8", "10.0.0.0/40"]).unwrap_err();
    assert!(err.to_string().contains("`10.0.0.0/40`"), "{err}");
}

#[test]
fn forwarded_header_walks_elements_from_the_right() {
    let p = lb().header(ForwardedHeader::Forwarded);
    let h = headers(&[(
        "forwarded",
        "for=6.6.6.6;proto=http, for=\"[2001:db8::1]:4711\";proto=https, for=10.1.1.1;proto=http",
    )]);
    assert_eq!(p.resolve(ip("10.0.0.2"), &h).addr(), ip("2001:db8::1"));
    assert_eq!(p.forwarded_scheme(ip("10.0.0.2"), &h), Some(Scheme::Https));
}

#[test]
fn forwarded_header_ignores_x_forwarded_for_and_vice_versa() {
    let h = headers(&[
        ("forwarded", "for=198.51.100.1"),
        ("x-forwarded-for", "198.51.100.2"),
    ]);
    let fwd = lb().header(ForwardedHeader::Forwarded);
    assert_eq!(fwd.resolve(ip("10.0.0.2"), &h).addr(), ip("198.51.100.1"));
    assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), ip("198.51.100.2"));
}

#[test]
fn forwarded_obfuscated_identifier_ends_the_walk() {
    let p = lb().header(ForwardedHeader::Forwarded);
    for value in [
        "for=198.51.100.1, for=_hidden",
        "for=198.51.100.1, for=unknown",
        "for=198.51.100.1, by=10.0.0.1",
        "for=198.51.100.1, for=\"1.2.3.4",
    ] {
        let h = headers(&[("forwarded", value)]);
        assert_eq!(
            p.resolve(ip("10.0.0.2"), &h).addr(),
            ip("10.0.0.2"),
            "{value}"
        );
        assert_eq!(p.forwarded_scheme(ip("10.0.0.2"), &h), None, "{value}");
    }
}

#[test]
fn forwarded_proto_from_untrusted_peer_is_ignored() {
    let h = headers(&[("x-forwarded-proto", "https")]);
    assert_eq!(lb().forwarded_scheme(ip("203.0.113.5"), &h), None);
    assert_eq!(
        lb().forwarded_scheme(ip("10.0.0.2"), &h),
        Some(Scheme::Https)
    );
    let h = headers(&[("x-forwarded-proto", "http, https")]);
    assert_eq!(
        lb().forwarded_scheme(ip("10.0.0.2"), &h),
        Some(Scheme::Https)
    );
    let h = headers(&[("x-forwarded-proto", "gopher")]);
    assert_eq!(lb().forwarded_scheme(ip("10.0.0.2"), &h), None);
}

#[test]
fn scheme_prefers_trusted_report_then_extension_then_uri() {
    let p = lb();
    let mut ext = Extensions::new();
    let uri: Uri = "/x".parse().unwrap();
    assert_eq!(p.scheme(&uri, &HeaderMap::new(), &ext), Scheme::Http);
    ext.insert(Scheme::Https);
    assert_eq!(p.scheme(&uri, &HeaderMap::new(), &ext), Scheme::Https);
    ext.insert(PeerAddr("10.0.0.2:1".parse().unwrap()));
    let h = headers(&[("x-forwarded-proto", "http")]);
    assert_eq!(p.scheme(&uri, &h, &ext), Scheme::Http);
    let abs: Uri = "https://example.com/x".parse().unwrap();
    assert_eq!(Scheme::of(&abs, &Extensions::new()), Scheme::Https);
}

#[tokio::test]
async fn layer_inserts_client_ip_and_scheme() {
    let svc = ClientIpLayer::new(lb()).layer(service_fn(|req: Request<()>| async move {
        let ext = req.extensions();
        let body = format!(
            "{:?} {:?}",
            ext.get::<ClientIp>().map(ClientIp::addr),
            ext.get::<Scheme>()
        );
        Ok::<_, Infallible>(Response::new(body))
    }));
    let req = Request::builder()
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-forwarded-proto", "https")
        .extension(PeerAddr("10.0.0.2:1".parse().unwrap()))
        .body(())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.body(), "Some(203.0.113.9) Some(Https)");

    let res = svc.oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.body(), "None Some(Http)");
}

#[tokio::test]
async fn listener_scheme_is_declared_but_a_trusted_report_wins() {
    let svc = ClientIpLayer::new(lb())
        .listener_scheme(Scheme::Https)
        .layer(service_fn(|req: Request<()>| async move {
            Ok::<_, Infallible>(Response::new(format!(
                "{:?}",
                req.extensions().get::<Scheme>()
            )))
        }));
    let res = svc.clone().oneshot(Request::new(())).await.unwrap();
    assert_eq!(res.body(), "Some(Https)");
    let req = Request::builder()
        .header("x-forwarded-proto", "http")
        .extension(PeerAddr("10.0.0.2:1".parse().unwrap()))
        .body(())
        .unwrap();
    assert_eq!(svc.oneshot(req).await.unwrap().body(), "Some(Http)");
}

/// Hundreds of hostile values through both walks: the answer is always the peer
/// or an address that appears in the header, and nothing panics.
#[test]
fn hostile_forwarding_headers_never_panic() {
    let mut values: Vec<String> = [
        "",
        ",",
        ",,,,",
        " ",
        "\t",
        "unknown",
        "_hidden",
        "for=",
        "for=\"",
        "for=\"\"",
        "for=\"[\"",
        "for=[",
        "for=]",
        "for=[::1",
        "for=\"[::1]:\"",
        "for=\"[::1]:99999\"",
        "for=1.2.3.4;for=1.2.3.4",
        ";;;;",
        "=;=;=",
        "for==1.2.3.4",
        "\"\"\"\"",
        "for=\"1.2.3.4\\\"",
        "proto=https",
        "by=1.2.3.4",
        "0",
        "-1",
        "1e10",
        "255.255.255.255",
        "0.0.0.0",
        "::",
        "::ffff:0:0",
        "[::]:0",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "01.2.3.4",
        "1.2.3.04",
        "0x1.2.3.4",
        "1..2.3",
        "1.2.3.",
        ".1.2.3",
        "1.2.3.4/8",
        "1.2.3.4%20",
        "%31.2.3.4",
        "1.2.3.4\\",
        "[1.2.3.4]:80",
        "2001:db8::1::1",
        "2001:db8:::1",
        "gggg::1",
        "fe80::1%25eth0",
        "::ffff:1.2.3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in 0..64 {
        values.push(",".repeat(n));
        values.push("1.2.3.4,".repeat(n));
        values.push(format!("{}1.2.3.4", " ".repeat(n)));
        values.push(format!("for={}", "\"".repeat(n)));
        values.push("[".repeat(n) + &"]".repeat(n));
        values.push(format!("for=10.{n}.0.1, for=203.0.113.{n};proto=https"));
    }
    values.push("9".repeat(10_000));
    values.push("1.2.3.4, ".repeat(1000));
    let xff = lb();
    let fwd = lb().header(ForwardedHeader::Forwarded);
    let peer = ip("10.0.0.2");
    for v in &values {
        let Ok(value) = HeaderValue::from_str(v) else {
            continue;
        };
        for name in ["x-forwarded-for", "forwarded", "x-forwarded-proto"] {
            let mut h = HeaderMap::new();
            h.insert(http::HeaderName::from_static(name), value.clone());
            for p in [&xff, &fwd] {
                let got = p.resolve(peer, &h).addr();
                assert!(
                    got == peer || v.contains(&got.to_string()) || v.contains("::ffff:"),
                    "{v:?}"
                );
                let _ = p.forwarded_scheme(peer, &h);
            }
        }
    }
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

proptest! {
    /// Whatever the client writes to the left of the proxies' entries, the
    /// resolved address is the one the outermost trusted proxy recorded.
    #[test]
    fn client_written_prefix_never_changes_the_result(
        forged in proptest::collection::vec("[0-9a-f.:, \\[\\]]{0,40}", 0..6),
        client in arb_ip(),
        hops in 0usize..4,
    ) {
        let client = fold_mapped(client);
        prop_assume!(!lb().is_trusted(client));
        let mut chain: Vec<String> = forged;
        chain.push(client.to_string());
        for i in 0..hops {
            chain.push(format!("10.0.{i}.1"));
        }
        let Ok(value) = HeaderValue::from_str(&chain.join(",")) else {
            return Ok(());
        };
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value);
        prop_assert_eq!(lb().resolve(ip("10.0.0.2"), &h).addr(), client);
    }

    #[test]
    fn resolve_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            for name in ["x-forwarded-for", "forwarded"] {
                let mut h = HeaderMap::new();
                h.insert(http::HeaderName::from_static(name), value.clone());
                let _ = lb().resolve(ip("10.0.0.2"), &h);
                let _ = lb().header(ForwardedHeader::Forwarded).resolve(ip("10.0.0.2"), &h);
            }
        }
    }
}

/// The layer's single pass gives what `resolve` and `forwarded_scheme` give
/// separately, for both headers and trusted or untrusted peers.
#[test]
fn one_pass_resolution_matches_the_separate_calls() {
    let values = [
        "203.0.113.9, 10.1.1.1",
        "for=198.51.100.1;proto=https, for=10.1.1.1;proto=http",
        "garbage",
        "for=_hidden",
        "",
    ];
    for proxies in [lb(), lb().header(ForwardedHeader::Forwarded)] {
        for peer in ["10.0.0.2", "203.0.113.5"] {
            for v in values {
                for proto in ["https", "http", "gopher"] {
                    let h = headers(&[
                        ("x-forwarded-for", v),
                        ("forwarded", v),
                        ("x-forwarded-proto", proto),
                    ]);
                    let peer = ip(peer);
                    assert_eq!(
                        proxies.resolve_with_scheme(peer, &h),
                        (
                            proxies.resolve(peer, &h),
                            proxies.forwarded_scheme(peer, &h)
                        ),
                        "{v:?} {proto}"
                    );
                }
            }
        }
    }
}
