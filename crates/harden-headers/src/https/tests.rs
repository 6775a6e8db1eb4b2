use std::convert::Infallible;
use std::time::Duration;

use harden_core::ip::{ForwardedHeader, PeerAddr, Scheme, TrustedProxies};
use harden_core::{ErrorFormat, Rejection, RequestId, ResponseBody};
use http::header::{CONTENT_TYPE, HOST, LOCATION, STRICT_TRANSPORT_SECURITY as STS};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::{Layer, ServiceExt, service_fn};

use super::*;
use crate::ConfigError;

const DEFAULT_HSTS: &str = "max-age=31536000; includeSubDomains";

fn policy() -> HttpsRedirect {
    HttpsRedirect::builder("www.example.com").build().unwrap()
}

/// Sends `req` through the layer around a handler answering `status`.
async fn send_to(
    redirect: &HttpsRedirect,
    status: StatusCode,
    req: Request<()>,
) -> Response<ResponseBody<String>> {
    HttpsRedirectLayer::new(redirect.clone())
        .layer(service_fn(move |_req: Request<()>| async move {
            let mut res = Response::new(String::from("handler"));
            *res.status_mut() = status;
            Ok::<_, Infallible>(res)
        }))
        .oneshot(req)
        .await
        .unwrap()
}

async fn send(redirect: &HttpsRedirect, req: Request<()>) -> Response<ResponseBody<String>> {
    send_to(redirect, StatusCode::OK, req).await
}

fn over(scheme: Scheme, method: Method, uri: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(HOST, "www.example.com")
        .extension(scheme)
        .body(())
        .unwrap()
}

fn http_get(uri: &str) -> Request<()> {
    over(Scheme::Http, Method::GET, uri)
}

fn https_get(uri: &str) -> Request<()> {
    over(Scheme::Https, Method::GET, uri)
}

fn location(res: &Response<ResponseBody<String>>) -> &str {
    res.headers()[LOCATION].to_str().unwrap()
}

fn rejection(res: &Response<ResponseBody<String>>) -> (&'static str, &'static str) {
    let r = res.extensions().get::<Rejection>().unwrap();
    (r.layer(), r.reason())
}

async fn json(res: Response<ResponseBody<String>>) -> serde_json::Value {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn assert_redirect(res: &Response<ResponseBody<String>>, status: StatusCode, to: &str) {
    assert_eq!(res.status(), status);
    assert_eq!(location(res), to);
    assert!(res.headers().get(STS).is_none(), "a redirect is on http");
    assert_eq!(rejection(res), ("https", "redirect-to-https"));
}

// ---- §3.3 item 1: HSTS on HTTPS only ----

/// §3.3 item 1: the plain-HTTP listener never sends HSTS: not on redirects,
/// refusals, nor exempt paths served over http.
#[tokio::test]
async fn hsts_is_never_sent_on_the_http_listener() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_health_probes()
        .build()
        .unwrap();
    let redirected = send(&redirect, http_get("/")).await;
    assert_eq!(redirected.status(), StatusCode::PERMANENT_REDIRECT);
    let refused = send(&redirect, over(Scheme::Http, Method::POST, "/login")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let probe = send(&redirect, http_get("/healthz")).await;
    assert_eq!(probe.status(), StatusCode::OK);
    for res in [redirected, refused, probe] {
        assert!(res.headers().get(STS).is_none(), "{:?}", res.headers());
    }
}

/// §3.3 item 1: HTTPS responses carry the default policy.
#[tokio::test]
async fn hsts_is_added_to_https_responses() {
    let res = send(&policy(), https_get("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[STS], DEFAULT_HSTS);
    assert!(res.extensions().get::<Rejection>().is_none());
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes(),
        "handler"
    );
}

// ---- §3.3 item 2: preload-grade value, same host first ----

/// §3.3 item 2: with preload opted in, HTTPS responses carry a value
/// hstspreload.org accepts (max-age ≥ 31536000, includeSubDomains, preload).
#[tokio::test]
async fn preload_policy_is_sent_with_a_preload_grade_value() {
    let hsts = Hsts::builder().preload(true).build().unwrap();
    let redirect = HttpsRedirect::builder("www.example.com")
        .hsts(Some(hsts))
        .build()
        .unwrap();
    let res = send(&redirect, https_get("/")).await;
    let value = res.headers()[STS].to_str().unwrap();
    assert_eq!(value, "max-age=31536000; includeSubDomains; preload");
    let directives: Vec<_> = value.split(';').map(str::trim).collect();
    let max_age: u64 = directives[0]
        .strip_prefix("max-age=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age >= 31_536_000);
    assert!(directives.contains(&"includeSubDomains") && directives.contains(&"preload"));
}

/// §3.3 item 2: the first hop from plain HTTP stays on the host and only
/// changes the scheme: the canonical host to itself, and a kept host to itself
/// (hstspreload.org refuses an off-host first redirect).
#[tokio::test]
async fn first_hop_stays_on_the_same_host_and_only_changes_the_scheme() {
    let res = send(&policy(), http_get("/a?b=1")).await;
    assert_redirect(
        &res,
        StatusCode::PERMANENT_REDIRECT,
        "https://www.example.com/a?b=1",
    );

    let redirect = HttpsRedirect::builder("www.example.com")
        .keep_host("Example.com")
        .build()
        .unwrap();
    for host in ["example.com", "EXAMPLE.COM", "example.com:80"] {
        let mut req = http_get("/a");
        req.headers_mut()
            .insert(HOST, HeaderValue::from_str(host).unwrap());
        let res = send(&redirect, req).await;
        assert_redirect(
            &res,
            StatusCode::PERMANENT_REDIRECT,
            "https://example.com/a",
        );
    }
    let req = over(Scheme::Http, Method::GET, "http://example.com/x");
    assert_eq!(
        location(&send(&redirect, req).await),
        "https://example.com/x"
    );
    // Any other host, even one that merely contains a kept host, goes to the canonical one.
    for host in ["evil.com", "example.com.evil.com", "evilexample.com", ""] {
        let mut req = http_get("/a");
        req.headers_mut()
            .insert(HOST, HeaderValue::from_str(host).unwrap());
        let res = send(&redirect, req).await;
        assert_eq!(location(&res), "https://www.example.com/a", "{host}");
    }
}

// ---- §3.3 item 3: status, canonical host, path and query ----

/// §3.3 item 3: 308 by default, 301 when configured, for GET and HEAD.
#[tokio::test]
async fn redirect_is_308_by_default_and_301_when_configured() {
    let moved = HttpsRedirect::builder("www.example.com")
        .redirect_status(StatusCode::MOVED_PERMANENTLY)
        .build()
        .unwrap();
    for method in [Method::GET, Method::HEAD] {
        let res = send(&policy(), over(Scheme::Http, method.clone(), "/p")).await;
        assert_redirect(
            &res,
            StatusCode::PERMANENT_REDIRECT,
            "https://www.example.com/p",
        );
        let res = send(&moved, over(Scheme::Http, method, "/p")).await;
        assert_redirect(
            &res,
            StatusCode::MOVED_PERMANENTLY,
            "https://www.example.com/p",
        );
    }
}

/// §3.3 item 3: the target comes from configuration, whatever `Host`,
/// `X-Forwarded-Host` or an absolute-form request target say.
#[tokio::test]
async fn location_uses_the_configured_host_even_with_hostile_host_headers() {
    let hostile = [
        "evil.com",
        "evil.com:443",
        "www.example.com.evil.com",
        "www.example.com@evil.com",
        "evil.com/www.example.com",
        "[::1]",
        "localhost",
    ];
    for host in hostile {
        let req = Request::get("/path?q=1")
            .header(HOST, host)
            .header("x-forwarded-host", host)
            .header("forwarded", format!("host={host}"))
            .extension(Scheme::Http)
            .body(())
            .unwrap();
        let res = send(&policy(), req).await;
        assert_eq!(location(&res), "https://www.example.com/path?q=1", "{host}");
    }
    for target in [
        "http://evil.com/path?q=1",
        "http://user@evil.com:8080/path?q=1",
    ] {
        let res = send(&policy(), http_get(target)).await;
        assert_eq!(
            location(&res),
            "https://www.example.com/path?q=1",
            "{target}"
        );
    }
}

/// §3.3 item 3: path and query are kept as sent: a path that looks like a
/// network-path reference stays a path, encoded octets stay encoded, and a long
/// query survives.
#[tokio::test]
async fn path_and_query_are_kept() {
    let long_query = format!("/search?q={}", "a".repeat(7000));
    let cases: Vec<(&str, String)> = vec![
        ("/", "https://www.example.com/".into()),
        ("//evil.com/x", "https://www.example.com//evil.com/x".into()),
        (
            "/%2F%2Fevil.com",
            "https://www.example.com/%2F%2Fevil.com".into(),
        ),
        (
            "/a%20b/%E2%82%AC?x=%26&y=%0D%0A",
            "https://www.example.com/a%20b/%E2%82%AC?x=%26&y=%0D%0A".into(),
        ),
        (
            "/?next=https://evil.com",
            "https://www.example.com/?next=https://evil.com".into(),
        ),
        ("/a/../b/./c", "https://www.example.com/a/../b/./c".into()),
        ("/@evil.com", "https://www.example.com/@evil.com".into()),
        ("/p?", "https://www.example.com/p?".into()),
        (
            "http://www.example.com?x=1",
            "https://www.example.com/?x=1".into(),
        ),
        ("http://www.example.com", "https://www.example.com/".into()),
        (
            long_query.as_str(),
            format!("https://www.example.com{long_query}"),
        ),
    ];
    for (target, expected) in cases {
        let res = send(&policy(), http_get(target)).await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{target}");
        assert_eq!(location(&res), expected, "{target}");
        let back: Uri = location(&res).parse().unwrap();
        assert_eq!(back.host(), Some("www.example.com"), "{target}");
    }
}

/// §3.3 item 3: characters a URI may not hold (non-ASCII, quotes, braces,
/// backslash) are percent-encoded, the way browsers send them.
#[tokio::test]
async fn characters_outside_uri_syntax_are_percent_encoded() {
    let cases = [
        ("/caf\u{e9}", "https://www.example.com/caf%C3%A9"),
        ("/a\"b{c}|d", "https://www.example.com/a%22b%7Bc%7D%7Cd"),
        ("/\\evil.com", "https://www.example.com/%5Cevil.com"),
        ("/?q=`^[]", "https://www.example.com/?q=%60%5E%5B%5D"),
    ];
    for (target, expected) in cases {
        let uri: Uri = target.parse().unwrap();
        let req = Request::get(uri).extension(Scheme::Http).body(()).unwrap();
        assert_eq!(location(&send(&policy(), req).await), expected, "{target}");
    }
}

/// §3.3 item 3 / 7: a target whose `Location` would exceed
/// [`MAX_LOCATION_LEN`] is answered 414 in the shared format, not redirected.
#[tokio::test]
async fn location_too_long_is_refused_with_414() {
    let target = format!("/?q={}", "a".repeat(MAX_LOCATION_LEN));
    let res = send(&policy(), http_get(&target)).await;
    assert_eq!(res.status(), StatusCode::URI_TOO_LONG);
    assert!(res.headers().get(LOCATION).is_none());
    assert_eq!(rejection(&res), ("https", "location-too-long"));
    assert_eq!(json(res).await["error"]["status"], 414);
    // Encoding counts: 3000 non-ASCII characters become 18000 bytes.
    let target = format!("/{}", "\u{e9}".repeat(3000));
    let req = Request::get(target.parse::<Uri>().unwrap())
        .extension(Scheme::Http)
        .body(())
        .unwrap();
    assert_eq!(
        send(&policy(), req).await.status(),
        StatusCode::URI_TOO_LONG
    );
}

// ---- §3.3 item 4: forwarding headers only from trusted proxies ----

fn from_peer(peer: &str, scheme: Option<Scheme>, headers: &[(&str, &str)]) -> Request<()> {
    let mut b = Request::get("/account").extension(PeerAddr(peer.parse().unwrap()));
    if let Some(scheme) = scheme {
        b = b.extension(scheme);
    }
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(()).unwrap()
}

fn behind(header: ForwardedHeader) -> HttpsRedirect {
    let proxies = TrustedProxies::new(["10.0.0.0/8"]).unwrap().header(header);
    HttpsRedirect::builder("www.example.com")
        .trusted_proxies(proxies)
        .build()
        .unwrap()
}

/// §3.3 item 4: `X-Forwarded-Proto: https` / `Forwarded: proto=https` from a
/// peer that is not a trusted proxy is a lie the client told: still redirected.
#[tokio::test]
async fn spoofed_forwarded_proto_from_an_untrusted_peer_is_still_redirected() {
    let spoofs: [(ForwardedHeader, &[(&str, &str)]); 4] = [
        (
            ForwardedHeader::XForwardedFor,
            &[("x-forwarded-proto", "https")],
        ),
        (
            ForwardedHeader::XForwardedFor,
            &[("x-forwarded-proto", "http, https")],
        ),
        (
            ForwardedHeader::Forwarded,
            &[("forwarded", "for=203.0.113.9;proto=https")],
        ),
        (ForwardedHeader::Forwarded, &[("forwarded", "proto=https")]),
    ];
    for (header, headers) in spoofs {
        for scheme in [None, Some(Scheme::Http)] {
            let res = send(
                &behind(header),
                from_peer("203.0.113.9:5000", scheme, headers),
            )
            .await;
            assert_redirect(
                &res,
                StatusCode::PERMANENT_REDIRECT,
                "https://www.example.com/account",
            );
        }
    }
    // A trusted proxy that maintains X-Forwarded-Proto passes `Forwarded` through
    // from the client untouched: not believed.
    let req = from_peer(
        "10.0.0.2:5000",
        None,
        &[("forwarded", "for=10.0.0.3;proto=https")],
    );
    let res = send(&behind(ForwardedHeader::XForwardedFor), req).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    // With no trusted proxies configured, even a private-range peer is not believed.
    let req = from_peer("10.0.0.2:5000", None, &[("x-forwarded-proto", "https")]);
    let res = send(&policy(), req).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
}

/// §3.3 item 4: the same report from a trusted proxy is believed: served, with HSTS.
#[tokio::test]
async fn forwarded_proto_https_from_a_trusted_proxy_passes_with_hsts() {
    let reports: [(ForwardedHeader, &[(&str, &str)]); 3] = [
        (
            ForwardedHeader::XForwardedFor,
            &[("x-forwarded-proto", "https")],
        ),
        (
            ForwardedHeader::XForwardedFor,
            &[("x-forwarded-proto", "HTTPS")],
        ),
        (
            ForwardedHeader::Forwarded,
            &[("forwarded", "for=203.0.113.9;proto=https")],
        ),
    ];
    for (header, headers) in reports {
        let res = send(&behind(header), from_peer("10.0.0.2:5000", None, headers)).await;
        assert_eq!(res.status(), StatusCode::OK, "{headers:?}");
        assert_eq!(res.headers()[STS], DEFAULT_HSTS);
    }
}

/// §3.3 item 4: a trusted proxy reporting `http` wins over a TLS listener's
/// `Scheme::Https` (the proxy spoke TLS to us, the client did not): redirected,
/// and the redirect target is https, so there is no loop.
#[tokio::test]
async fn forwarded_proto_http_from_a_trusted_proxy_on_a_tls_listener_is_redirected() {
    let req = from_peer(
        "10.0.0.2:5000",
        Some(Scheme::Https),
        &[("x-forwarded-proto", "http")],
    );
    let res = send(&behind(ForwardedHeader::XForwardedFor), req).await;
    assert_redirect(
        &res,
        StatusCode::PERMANENT_REDIRECT,
        "https://www.example.com/account",
    );
    // The follow-up through the proxy, now over https, is served.
    let req = from_peer(
        "10.0.0.2:5000",
        Some(Scheme::Https),
        &[("x-forwarded-proto", "https")],
    );
    let res = send(&behind(ForwardedHeader::XForwardedFor), req).await;
    assert_eq!(res.status(), StatusCode::OK);
    // A trusted proxy that reports nothing leaves the listener's word.
    let req = from_peer("10.0.0.2:5000", Some(Scheme::Https), &[]);
    let res = send(&behind(ForwardedHeader::XForwardedFor), req).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// A listener that declares itself plain HTTP is believed over an absolute-form
/// `https://` request target the client wrote.
#[tokio::test]
async fn absolute_https_target_on_a_declared_http_listener_is_redirected() {
    let res = send(&policy(), http_get("https://www.example.com/x")).await;
    assert_redirect(
        &res,
        StatusCode::PERMANENT_REDIRECT,
        "https://www.example.com/x",
    );
    // Undeclared, the request URI decides (documented caveat).
    let req = Request::get("https://www.example.com/x").body(()).unwrap();
    assert_eq!(send(&policy(), req).await.status(), StatusCode::OK);
    let req = Request::get("/x").body(()).unwrap();
    assert_eq!(
        send(&policy(), req).await.status(),
        StatusCode::PERMANENT_REDIRECT
    );
}

// ---- §3.3 item 5: unsafe methods ----

/// §3.3 item 5: methods other than GET/HEAD over plain HTTP get a 403 in the
/// shared error format by default: their credentials already crossed the wire.
#[tokio::test]
async fn unsafe_methods_over_http_are_refused_with_403_by_default() {
    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::from_bytes(b"PROPFIND").unwrap(),
    ] {
        let mut req = over(Scheme::Http, method.clone(), "/api/items?id=1");
        req.extensions_mut()
            .insert(RequestId::from_header(&HeaderValue::from_static("req-9")).unwrap());
        let res = send(&policy(), req).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method}");
        assert!(res.headers().get(LOCATION).is_none());
        assert!(res.headers().get(STS).is_none());
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(rejection(&res), ("https", "insecure-method"));
        let v = json(res).await;
        assert_eq!(v["error"]["status"], 403);
        assert_eq!(v["error"]["requestId"], "req-9");
        assert!(v["error"]["message"].as_str().unwrap().contains("HTTPS"));
    }
    let mut req = over(Scheme::Http, Method::POST, "/");
    req.extensions_mut().insert(ErrorFormat::Problem);
    let res = send(&policy(), req).await;
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
}

/// §3.3 item 5: when configured, unsafe methods are redirected with 308 (which
/// keeps method and body), even if GET/HEAD use 301.
#[tokio::test]
async fn unsafe_methods_are_redirected_with_308_when_configured() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .redirect_status(StatusCode::MOVED_PERMANENTLY)
        .unsafe_methods(UnsafeMethods::Redirect)
        .build()
        .unwrap();
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let res = send(&redirect, over(Scheme::Http, method, "/api?x=1")).await;
        assert_redirect(
            &res,
            StatusCode::PERMANENT_REDIRECT,
            "https://www.example.com/api?x=1",
        );
    }
    let res = send(&redirect, http_get("/api")).await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
}

/// Over HTTPS every method is served.
#[tokio::test]
async fn unsafe_methods_over_https_are_served() {
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let res = send(&policy(), over(Scheme::Https, method, "/api")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[STS], DEFAULT_HSTS);
    }
}

/// `OPTIONS *` and `CONNECT host:port` have no path to redirect to: refused
/// as insecure methods by default, and 400 when unsafe methods are redirected.
/// `GET *` cannot be redirected either.
#[tokio::test]
async fn targets_without_a_path_over_http_are_refused() {
    let star = over(Scheme::Http, Method::OPTIONS, "*");
    let connect = over(Scheme::Http, Method::CONNECT, "www.example.com:443");
    for req in [star, connect] {
        let res = send(&policy(), req).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(rejection(&res), ("https", "insecure-method"));
    }
    let redirecting = HttpsRedirect::builder("www.example.com")
        .unsafe_methods(UnsafeMethods::Redirect)
        .build()
        .unwrap();
    let star = over(Scheme::Http, Method::OPTIONS, "*");
    let connect = over(Scheme::Http, Method::CONNECT, "www.example.com:443");
    let get_star = over(Scheme::Http, Method::GET, "*");
    for req in [star, connect, get_star] {
        let res = send(&redirecting, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get(LOCATION).is_none());
        assert_eq!(rejection(&res), ("https", "bad-request-target"));
        assert_eq!(json(res).await["error"]["status"], 400);
    }
    let res = send(&policy(), over(Scheme::Https, Method::OPTIONS, "*")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// HEAD is redirected like GET, with an empty body.
#[tokio::test]
async fn head_is_redirected_like_get_with_an_empty_body() {
    let res = send(&policy(), over(Scheme::Http, Method::HEAD, "/doc?v=2")).await;
    assert_redirect(
        &res,
        StatusCode::PERMANENT_REDIRECT,
        "https://www.example.com/doc?v=2",
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty());
}

// ---- §3.3 item 6: every HTTPS response carries HSTS ----

/// §3.3 item 6: HSTS is on every HTTPS response, whatever the inner service
/// answered (2xx, 3xx, 4xx, 5xx, including rejections by inner layers).
#[tokio::test]
async fn every_https_response_carries_hsts_whatever_its_status() {
    for status in [200, 204, 302, 304, 401, 403, 404, 429, 500, 503] {
        let status = StatusCode::from_u16(status).unwrap();
        let res = send_to(&policy(), status, https_get("/x")).await;
        assert_eq!(res.status(), status);
        assert_eq!(res.headers()[STS], DEFAULT_HSTS, "{status}");
        assert_eq!(res.headers().get_all(STS).iter().count(), 1);
    }
    // An inner layer's own rejection in the shared format gets it too.
    let svc = HttpsRedirectLayer::new(policy()).layer(service_fn(|req: Request<()>| async move {
        Ok::<_, Infallible>(
            ErrorResponse::new(StatusCode::UNAUTHORIZED, "no token")
                .for_request(req.extensions())
                .into_response::<String>(),
        )
    }));
    let res = svc.oneshot(https_get("/x")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()[STS], DEFAULT_HSTS);
}

/// §3.3 item 6: a policy the handler set (say `max-age=0` to retire HSTS) is kept.
#[tokio::test]
async fn hsts_set_by_the_handler_is_kept() {
    let svc = HttpsRedirectLayer::new(policy()).layer(service_fn(|_req: Request<()>| async {
        let mut res = Response::new(String::new());
        res.headers_mut()
            .insert(STS, HeaderValue::from_static("max-age=0"));
        Ok::<_, Infallible>(res)
    }));
    let res = svc.oneshot(https_get("/")).await.unwrap();
    assert_eq!(res.headers()[STS], "max-age=0");
    assert_eq!(res.headers().get_all(STS).iter().count(), 1);
}

/// `hsts(None)` leaves HSTS to another layer; redirects still happen.
#[tokio::test]
async fn hsts_none_leaves_the_header_to_another_layer() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .hsts(None)
        .build()
        .unwrap();
    assert!(redirect.hsts().is_none());
    let res = send(&redirect, https_get("/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(STS).is_none());
    assert_eq!(
        send(&redirect, http_get("/")).await.status(),
        StatusCode::PERMANENT_REDIRECT
    );
}

/// The inner service's error is passed through untouched.
#[tokio::test]
async fn inner_errors_pass_through() {
    let svc = HttpsRedirectLayer::new(policy()).layer(service_fn(|_req: Request<()>| async {
        Err::<Response<String>, _>("inner failed")
    }));
    assert_eq!(
        svc.oneshot(https_get("/")).await.unwrap_err(),
        "inner failed"
    );
}

// ---- §3.3 item 7: header injection ----

/// §3.3 item 7: CR, LF, NUL and other controls never reach `Location`. The
/// `http` crate refuses to build a URI holding them; the core refuses them too
/// (a 400 `bad-location` in the shared format) instead of panicking or encoding
/// them into the header.
#[tokio::test]
async fn control_characters_never_reach_location() {
    for raw in [
        "/a\r\nSet-Cookie: x=1",
        "/\nLocation: https://evil.com",
        "/a\0b",
        "/?q=\r",
        "/a b",
        "/a\tb",
        "/\u{7f}",
        "/\u{1b}[31m",
    ] {
        assert!(raw.parse::<Uri>().is_err(), "{raw:?}");
        assert_eq!(
            build_location("https://www.example.com", raw),
            Err(Refusal::BadLocation),
            "{raw:?}"
        );
    }
    let res = Refusal::BadLocation
        .error_response()
        .into_response::<String>();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(rejection(&res), ("https", "bad-location"));
    assert_eq!(json(res).await["error"]["status"], 400);
    // Encoded forms are kept encoded: harmless text in the header.
    let res = send(&policy(), http_get("/a%0d%0aSet-Cookie:%20x=1?%00")).await;
    assert_eq!(
        location(&res),
        "https://www.example.com/a%0d%0aSet-Cookie:%20x=1?%00"
    );
}

/// The properties every `Location` the layer sends must have.
fn assert_safe_location(target: &str, value: &str) {
    assert!(
        value.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "{target:?} gave {value:?}"
    );
    let rest = value
        .strip_prefix("https://www.example.com/")
        .unwrap_or_else(|| panic!("{target:?} gave {value:?}"));
    assert!(!rest.contains(['"', '<', '>', '\\', '{', '}', '|', '^', '`']));
    let back: Uri = value.parse().unwrap();
    assert_eq!(back.host(), Some("www.example.com"), "{target:?}");
    assert_eq!(back.scheme_str(), Some("https"));
}

/// §3.3 item 7: hundreds of hostile paths and queries (every byte in several
/// positions, smuggling and traversal strings) through the real layer: no
/// panic, and every answer is a redirect to the canonical host with a clean
/// `Location`, or an error in the shared format.
#[tokio::test]
async fn hostile_paths_and_queries_never_break_location() {
    let mut targets: Vec<Vec<u8>> = Vec::new();
    for b in 0u8..=255 {
        for template in [
            &b"/a_b"[..],
            b"/?q=_",
            b"/_",
            b"//_evil.com/",
            b"/x?_=1&y=_",
            b"/%_0",
        ] {
            targets.push(
                template
                    .iter()
                    .map(|&t| if t == b'_' { b } else { t })
                    .collect(),
            );
        }
    }
    for s in [
        "//evil.com",
        "///evil.com",
        "/\\\\evil.com",
        "/\\/evil.com",
        "/%5c%5cevil.com",
        "/%2f%2fevil.com",
        "/.//evil.com",
        "/@evil.com",
        "/:@evil.com",
        "/https://evil.com",
        "/?redirect=//evil.com",
        "/%0d%0aSet-Cookie:a=b",
        "/%E5%98%8A%E5%98%8DSet-Cookie:a=b",
        "/\u{560a}\u{560d}Set-Cookie:a=b",
        "/\u{2028}\u{2029}",
        "/\u{feff}",
        "/\u{202e}moc.live",
        "/\u{ff0f}\u{ff0f}evil.com",
        "/%",
        "/%%%",
        "/%zz",
        "/\"><script>alert(1)</script>",
        "/{{7*7}}",
        "/${jndi:ldap://evil.com/a}",
        "/..;/..;/admin",
        "/?a=%ff%fe",
        "/?",
        "/??",
        "/?#",
        "/#frag",
        "/a#b?c",
    ] {
        targets.push(s.as_bytes().to_vec());
    }
    targets.push([b"/".as_slice(), &[0xe9; 4]].concat());
    targets.push([b"/".as_slice(), "\u{1f600}".as_bytes()].concat());
    for n in [100, 2000, 8100, 20_000] {
        targets.push(format!("/?q={}", "%".repeat(n)).into_bytes());
        targets.push(format!("/{}", "\\".repeat(n)).into_bytes());
    }

    let (mut redirected, mut refused, mut unparsable) = (0, 0, 0);
    for target in &targets {
        let Ok(uri) = Uri::from_maybe_shared(Bytes::copy_from_slice(target)) else {
            unparsable += 1;
            continue;
        };
        let shown = String::from_utf8_lossy(target).into_owned();
        for method in [Method::GET, Method::HEAD] {
            let req = Request::builder()
                .method(method)
                .uri(uri.clone())
                .header(HOST, "evil.com")
                .extension(Scheme::Http)
                .body(())
                .unwrap();
            let res = send(&policy(), req).await;
            if res.status() == StatusCode::PERMANENT_REDIRECT {
                redirected += 1;
                assert_safe_location(&shown, location(&res));
            } else {
                refused += 1;
                assert!(res.headers().get(LOCATION).is_none(), "{shown:?}");
                assert_eq!(res.status(), StatusCode::URI_TOO_LONG, "{shown:?}");
                json(res).await;
            }
        }
    }
    assert!(redirected > 800, "{redirected} redirected");
    assert!(refused >= 2, "{refused} refused");
    assert!(unparsable > 100, "{unparsable} refused by http::Uri");
}

proptest! {
    /// §3.3 item 7: for any string, the `Location` is either refused or
    /// visible ASCII on the canonical origin, with the target's URI-safe bytes
    /// kept in order.
    #[test]
    fn any_target_gives_a_safe_location_or_a_refusal(target in "\\PC*|[\\x00-\\x7f]*") {
        match build_location("https://www.example.com", &target) {
            Ok(value) => {
                let s = value.to_str().unwrap();
                prop_assert!(s.starts_with("https://www.example.com/"));
                prop_assert!(s.bytes().all(|b| (0x21..0x7f).contains(&b)));
                prop_assert!(s.len() <= MAX_LOCATION_LEN);
            }
            Err(refusal) => prop_assert!(matches!(
                refusal,
                Refusal::BadLocation | Refusal::LocationTooLong
            )),
        }
    }

    /// Whatever bytes a request target holds, if `http` accepts it the decision
    /// is made without panicking, and a redirect stays on the canonical host.
    #[test]
    fn any_parsable_request_target_is_decided_safely(
        target in proptest::collection::vec(any::<u8>(), 0..200),
        method in prop_oneof![Just(Method::GET), Just(Method::POST), Just(Method::OPTIONS)],
    ) {
        let mut target = target;
        target.insert(0, b'/');
        if let Ok(uri) = Uri::from_maybe_shared(Bytes::from(target)) {
            let mut ext = Extensions::new();
            ext.insert(Scheme::Http);
            match policy().decide(&method, &uri, &HeaderMap::new(), &ext) {
                Decision::Redirect(loc) => {
                    prop_assert_eq!(&method, &Method::GET);
                    prop_assert!(loc.as_str().starts_with("https://www.example.com/"));
                }
                Decision::Refuse(r) => prop_assert!(method != Method::GET || r != Refusal::InsecureMethod),
                Decision::Pass { .. } => prop_assert!(false, "plain http passed"),
            }
        }
    }
}

// ---- exemptions ----

/// No path stays on plain HTTP unless configured.
#[tokio::test]
async fn no_path_is_exempt_by_default() {
    for path in [
        "/healthz",
        "/livez",
        "/readyz",
        "/health",
        "/.well-known/acme-challenge/t",
    ] {
        let res = send(&policy(), http_get(path)).await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
    }
}

/// The health-probe convenience exempts exactly `/livez`, `/readyz`,
/// `/healthz` and `/health`; lookalikes are redirected.
#[tokio::test]
async fn health_probe_convenience_exempts_the_four_usual_paths() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_health_probes()
        .build()
        .unwrap();
    for path in [
        "/livez",
        "/readyz",
        "/healthz",
        "/health",
        "/healthz?verbose=1",
    ] {
        let res = send(&redirect, http_get(path)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers().get(STS).is_none());
    }
    for path in [
        "/healthz-evil",
        "/healthz/",
        "/healthz/admin",
        "/HEALTHZ",
        "/healthzz",
        "/health/x",
        "//healthz",
        "/api/healthz",
        "/healthz%2f..",
        "/",
    ] {
        let res = send(&redirect, http_get(path)).await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
    }
}

/// An exact exemption matches only that path.
#[tokio::test]
async fn exact_exemption_does_not_match_longer_paths() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_path("/status")
        .build()
        .unwrap();
    assert!(redirect.is_exempt("/status"));
    for path in ["/status-evil", "/status/", "/statu", "/Status", "/status;x"] {
        assert!(!redirect.is_exempt(path), "{path}");
        let res = send(&redirect, http_get(path)).await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
    }
}

/// A prefix exemption keeps ACME HTTP-01 challenges on plain HTTP.
#[tokio::test]
async fn prefix_exemption_keeps_acme_challenges_on_plain_http() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_prefix("/.well-known/acme-challenge/")
        .build()
        .unwrap();
    let res = send(&redirect, http_get("/.well-known/acme-challenge/Ab-c_9")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(STS).is_none());
    for path in [
        "/.well-known/acme-challenge",
        "/.well-known/other",
        "/.well-known/ACME-challenge/x",
        "/x/.well-known/acme-challenge/t",
    ] {
        let res = send(&redirect, http_get(path)).await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
    }
}

/// A prefix does not exempt a path that a proxy or router could normalise out
/// of it.
#[tokio::test]
async fn prefix_exemption_refuses_paths_that_escape_the_prefix() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_prefix("/.well-known/acme-challenge/")
        .build()
        .unwrap();
    for path in [
        "/.well-known/acme-challenge/../../admin",
        "/.well-known/acme-challenge/..",
        "/.well-known/acme-challenge/%2e%2e/admin",
        "/.well-known/acme-challenge/%2E./admin",
        "/.well-known/acme-challenge/.%2e/admin",
        "/.well-known/acme-challenge/..;/admin",
        "/.well-known/acme-challenge/./x",
        "/.well-known/acme-challenge/..%2fadmin",
        "/.well-known/acme-challenge/..%5Cadmin",
        "/.well-known/acme-challenge/\\..\\admin",
    ] {
        assert!(!redirect.is_exempt(path), "{path}");
        let uri: Uri = path.parse().unwrap();
        let req = Request::get(uri).extension(Scheme::Http).body(()).unwrap();
        let res = send(&redirect, req).await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{path}");
    }
    for path in [
        "/.well-known/acme-challenge/a..b",
        "/.well-known/acme-challenge/...",
        "/.well-known/acme-challenge/.hidden",
    ] {
        assert!(redirect.is_exempt(path), "{path}");
    }
}

/// Exemptions apply to every method and keep HSTS over HTTPS.
#[tokio::test]
async fn exempt_paths_take_any_method_and_still_get_hsts_over_https() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_path("/hook")
        .build()
        .unwrap();
    let res = send(&redirect, over(Scheme::Http, Method::POST, "/hook")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(STS).is_none());
    let res = send(&redirect, https_get("/hook")).await;
    assert_eq!(res.headers()[STS], DEFAULT_HSTS);
}

// ---- hosts and ports ----

/// An IPv6 canonical host is bracketed (and normalised) in `Location`.
#[tokio::test]
async fn ipv6_canonical_host_is_bracketed_in_location() {
    let redirect = HttpsRedirect::builder("[2001:DB8:0::1]").build().unwrap();
    assert_eq!(redirect.canonical_origin(), "https://[2001:db8::1]");
    let res = send(&redirect, http_get("/a?b")).await;
    assert_eq!(location(&res), "https://[2001:db8::1]/a?b");
    let redirect = HttpsRedirect::builder("[::1]:8443").build().unwrap();
    let res = send(&redirect, http_get("/")).await;
    assert_eq!(location(&res), "https://[::1]:8443/");
    let back: Uri = location(&res).parse().unwrap();
    assert_eq!(back.port_u16(), Some(8443));
}

/// A custom HTTPS port appears in `Location`; 443 does not; the host's own
/// `:port` and `https_port` agree or the build fails.
#[tokio::test]
async fn custom_https_port_appears_in_location_and_443_does_not() {
    let cases = [
        (
            HttpsRedirect::builder("www.example.com").https_port(8443),
            "https://www.example.com:8443",
        ),
        (
            HttpsRedirect::builder("www.example.com:8443"),
            "https://www.example.com:8443",
        ),
        (
            HttpsRedirect::builder("www.example.com:8443").https_port(8443),
            "https://www.example.com:8443",
        ),
        (
            HttpsRedirect::builder("www.example.com").https_port(443),
            "https://www.example.com",
        ),
        (
            HttpsRedirect::builder("www.example.com:443"),
            "https://www.example.com",
        ),
        (
            HttpsRedirect::builder("192.0.2.1").https_port(4443),
            "https://192.0.2.1:4443",
        ),
    ];
    for (builder, origin) in cases {
        let redirect = builder.build().unwrap();
        assert_eq!(redirect.canonical_origin(), origin);
        let res = send(&redirect, http_get("/p")).await;
        assert_eq!(location(&res), format!("{origin}/p"));
    }
    let redirect = HttpsRedirect::builder("www.example.com")
        .https_port(8443)
        .keep_host("example.com")
        .build()
        .unwrap();
    let mut req = http_get("/");
    req.headers_mut()
        .insert(HOST, HeaderValue::from_static("example.com"));
    assert_eq!(
        location(&send(&redirect, req).await),
        "https://example.com:8443/"
    );
}

/// Host names are lowercased; names, IPv4 and IPv6 literals are accepted.
#[test]
fn canonical_hosts_are_normalised() {
    for (host, origin) in [
        ("WWW.Example.COM", "https://www.example.com"),
        ("localhost", "https://localhost"),
        ("xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("a-b.c0", "https://a-b.c0"),
        ("10.0.0.1", "https://10.0.0.1"),
        ("[::ffff:192.0.2.1]", "https://[::ffff:192.0.2.1]"),
    ] {
        let redirect = HttpsRedirect::builder(host).build().unwrap();
        assert_eq!(redirect.canonical_origin(), origin, "{host}");
    }
}

/// Every refused configuration names the value it refused.
#[test]
fn builder_errors_quote_the_bad_value() {
    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!("{}.com", ["abcdefghi"; 26].join("."));
    let bad_hosts = [
        "",
        "https://www.example.com",
        "www.example.com/",
        "www.example.com/path",
        "www.example.com?x",
        "www.example.com#x",
        "user@www.example.com",
        "user:pw@www.example.com",
        "*.example.com",
        "*",
        " www.example.com",
        "www.example.com ",
        "www.exa mple.com",
        "www.example.com\r\n",
        "2001:db8::1",
        "[2001:db8::1",
        "[not-v6]",
        "[fe80::1%25eth0]",
        "[::1]x",
        "[::1]:",
        "www.example.com:",
        "www.example.com:0",
        "www.example.com:65536",
        "www.example.com:https",
        "www.example.com:+443",
        "exa_mple.com",
        "-example.com",
        "example-.com",
        "a..b",
        ".example.com",
        "example.com.",
        "1.2.3",
        "256.1.1.1",
        "example.123",
        "b\u{fc}cher.de",
        "\\\\evil.com",
        long_label.as_str(),
        long_name.as_str(),
    ];
    for host in bad_hosts {
        let err = HttpsRedirect::builder(host).build().unwrap_err();
        assert!(
            matches!(err, ConfigError::RedirectHost { ref value, .. } if value == host),
            "{host:?}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("`{host}`")), "{err}");
    }

    let err = HttpsRedirect::builder("a.com")
        .https_port(0)
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::HttpsPort { value: 0 });
    assert!(err.to_string().contains("`0`"), "{err}");

    let err = HttpsRedirect::builder("a.com:8443")
        .https_port(9443)
        .build()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`a.com:8443`") && msg.contains("9443"),
        "{msg}"
    );

    for status in [200, 302, 303, 307, 400] {
        let err = HttpsRedirect::builder("a.com")
            .redirect_status(StatusCode::from_u16(status).unwrap())
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::RedirectStatus { value: status });
        assert!(err.to_string().contains(&format!("`{status}`")), "{err}");
    }

    let exact = ["healthz", "", "/a?b", "/a#b", "/a b", "/a\nb"];
    for path in exact {
        let err = HttpsRedirect::builder("a.com")
            .exempt_path(path)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::ExemptPath { ref value, .. } if value == path),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("`{path}`")), "{err}");
    }
    for prefix in ["/", "x/", "/a/../", "/a/%2e%2e/", "/a%2f", "/a\\b"] {
        let err = HttpsRedirect::builder("a.com")
            .exempt_prefix(prefix)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::ExemptPath { ref value, .. } if value == prefix),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("`{prefix}`")), "{err}");
    }

    for kept in ["example.com:8443", "*.example.com", "https://example.com"] {
        let err = HttpsRedirect::builder("www.example.com")
            .keep_host(kept)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(&format!("`{kept}`")), "{err}");
    }
}

/// The core is usable without tower: a `Decision` from plain `http` types.
#[test]
fn decide_needs_no_tower() {
    let redirect = HttpsRedirect::builder("www.example.com")
        .exempt_path("/healthz")
        .build()
        .unwrap();
    let mut http_ext = Extensions::new();
    http_ext.insert(Scheme::Http);
    let mut https_ext = Extensions::new();
    https_ext.insert(Scheme::Https);
    let headers = HeaderMap::new();
    let uri = |s: &str| s.parse::<Uri>().unwrap();
    assert_eq!(
        redirect.decide(&Method::GET, &uri("/x"), &headers, &https_ext),
        Decision::Pass { add_hsts: true }
    );
    assert_eq!(
        redirect.decide(&Method::GET, &uri("/healthz"), &headers, &http_ext),
        Decision::Pass { add_hsts: false }
    );
    assert_eq!(
        redirect.decide(&Method::POST, &uri("/x"), &headers, &http_ext),
        Decision::Refuse(Refusal::InsecureMethod)
    );
    let Decision::Redirect(loc) = redirect.decide(&Method::GET, &uri("/x"), &headers, &http_ext)
    else {
        panic!("not a redirect");
    };
    assert_eq!(loc.as_str(), "https://www.example.com/x");
    assert_eq!(loc.header_value(), "https://www.example.com/x");
    assert_eq!(loc.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        redirect.scheme(&uri("/x"), &headers, &https_ext),
        Scheme::Https
    );
}

// ---- serde configuration ----

#[cfg(feature = "serde")]
mod config {
    use super::*;

    fn parse(toml: &str) -> Result<HttpsRedirect, String> {
        let config: HttpsConfig = toml::from_str(toml).map_err(|e| e.to_string())?;
        HttpsRedirect::try_from(config).map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn full_config_builds_the_same_policy() {
        let redirect = parse(
            r#"
            canonical_host = "WWW.example.com"
            https_port = 8443
            keep_hosts = ["example.com"]
            redirect_status = 301
            redirect_unsafe_methods = true
            exempt_paths = ["/healthz"]
            exempt_prefixes = ["/.well-known/acme-challenge/"]
            hsts = { max_age = "730d", preload = true }
            "#,
        )
        .unwrap();
        assert_eq!(redirect.canonical_origin(), "https://www.example.com:8443");
        assert_eq!(redirect.redirect_status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(redirect.unsafe_methods(), UnsafeMethods::Redirect);
        assert!(redirect.is_exempt("/healthz"));
        assert!(redirect.is_exempt("/.well-known/acme-challenge/x"));
        assert_eq!(
            redirect.hsts().unwrap().header_value(),
            "max-age=63072000; includeSubDomains; preload"
        );
        let res = send(&redirect, over(Scheme::Http, Method::POST, "/a")).await;
        assert_redirect(
            &res,
            StatusCode::PERMANENT_REDIRECT,
            "https://www.example.com:8443/a",
        );
        let res = send(&redirect, https_get("/")).await;
        assert_eq!(
            res.headers()[STS],
            "max-age=63072000; includeSubDomains; preload"
        );
    }

    #[test]
    fn minimal_config_has_the_builder_defaults() {
        let redirect = parse(r#"canonical_host = "www.example.com""#).unwrap();
        assert_eq!(redirect.canonical_origin(), "https://www.example.com");
        assert_eq!(redirect.redirect_status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(redirect.unsafe_methods(), UnsafeMethods::Refuse);
        assert!(!redirect.is_exempt("/healthz"));
        assert_eq!(redirect.hsts(), Some(&Hsts::default()));
        assert!(redirect.trusted_proxies().is_none());
        let from_new = HttpsRedirect::try_from(HttpsConfig::new("www.example.com")).unwrap();
        assert_eq!(from_new.canonical_origin(), redirect.canonical_origin());
        assert_eq!(from_new.hsts(), redirect.hsts());
    }

    #[test]
    fn hsts_can_be_switched_off_on_or_tuned() {
        let r = parse("canonical_host = \"a.com\"\nhsts = false").unwrap();
        assert!(r.hsts().is_none());
        let r = parse("canonical_host = \"a.com\"\nhsts = true").unwrap();
        assert_eq!(r.hsts(), Some(&Hsts::default()));
        let r = parse(
            "canonical_host = \"a.com\"\n[hsts]\nmax_age = \"1d\"\ninclude_subdomains = false",
        )
        .unwrap();
        assert_eq!(r.hsts().unwrap().header_value(), "max-age=86400");
        let err = parse("canonical_host = \"a.com\"\n[hsts]\nmax_age = \"1d\"\npreload = true")
            .unwrap_err();
        assert!(err.contains("max-age=86400"), "{err}");
        let err = parse("canonical_host = \"a.com\"\n[hsts]\nmaxage = \"1d\"").unwrap_err();
        assert!(err.contains("maxage"), "{err}");
        let err = parse("canonical_host = \"a.com\"\nhsts = \"yes\"").unwrap_err();
        assert!(err.contains("HSTS table"), "{err}");
    }

    #[test]
    fn config_errors_quote_the_bad_value() {
        for status in [302, 307, 200, 1000] {
            let err = parse(&format!(
                "canonical_host = \"a.com\"\nredirect_status = {status}"
            ))
            .unwrap_err();
            assert!(err.contains(&format!("`{status}`")), "{err}");
        }
        let err = parse("canonical_host = \"https://a.com/\"").unwrap_err();
        assert!(err.contains("`https://a.com/`"), "{err}");
        let err = parse("canonical_host = \"a.com\"\nexempt_prefixes = [\"/\"]").unwrap_err();
        assert!(err.contains("`/`"), "{err}");
        let err = parse("canonical_host = \"a.com\"\nredirect_unsafe = true").unwrap_err();
        assert!(err.contains("redirect_unsafe"), "{err}");
        let err = parse("https_port = 443").unwrap_err();
        assert!(err.contains("canonical_host"), "{err}");
    }

    /// The umbrella's trusted proxies come in through `into_redirect`.
    #[tokio::test]
    async fn into_redirect_takes_the_trusted_proxies() {
        let config: HttpsConfig = toml::from_str(r#"canonical_host = "www.example.com""#).unwrap();
        let proxies = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
        let redirect = config.clone().into_redirect(proxies).unwrap();
        let req = from_peer("10.0.0.2:1", None, &[("x-forwarded-proto", "https")]);
        assert_eq!(send(&redirect, req).await.status(), StatusCode::OK);
        let without = HttpsRedirect::try_from(config).unwrap();
        let req = from_peer("10.0.0.2:1", None, &[("x-forwarded-proto", "https")]);
        assert_eq!(
            send(&without, req).await.status(),
            StatusCode::PERMANENT_REDIRECT
        );
    }
}

/// The default HSTS policy is the playbook's: one year, subdomains, no preload.
#[test]
fn default_hsts_is_one_year_with_subdomains() {
    assert_eq!(
        policy().hsts().unwrap().max_age(),
        Duration::from_secs(31_536_000)
    );
    assert_eq!(policy().hsts().unwrap().header_value(), DEFAULT_HSTS);
}
