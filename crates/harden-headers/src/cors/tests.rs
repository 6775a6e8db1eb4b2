//! CORS through the real layer. Items of the security catalog
//! (`research/security-catalog.md` §2) are cited as `§2.n`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use harden_core::{Rejection, RequestId, ResponseBody};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::{Layer, ServiceExt, service_fn};

use super::*;
use crate::ConfigError;

// ---- helpers ----

/// Drives a future that completes without waiting (the handler is immediate).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the test service never waits"),
    }
}

/// The handler: marks responses it produced with `x-handler`, answers the
/// status in `x-status`, and with `x-set-cors` sets CORS headers of its own
/// (which the layer owns).
fn handler(req: Request<()>) -> std::future::Ready<Result<Response<String>, Infallible>> {
    let mut res = Response::new("handler".to_owned());
    res.headers_mut()
        .insert("x-handler", HeaderValue::from_static("reached"));
    if let Some(status) = req.headers().get("x-status") {
        *res.status_mut() = StatusCode::from_bytes(status.as_bytes()).unwrap();
    }
    if req.headers().contains_key("x-set-cors") {
        let h = res.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("set-cookie"),
        );
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    std::future::ready(Ok(res))
}

fn call(cors: &Cors, req: Request<()>) -> Response<ResponseBody<String>> {
    block_on(cors.layer().layer(service_fn(handler)).oneshot(req)).unwrap()
}

fn get(origin: &str) -> Request<()> {
    Request::get("/api")
        .header("origin", origin)
        .body(())
        .unwrap()
}

fn preflight(origin: &str, method: &str, headers: &str) -> Request<()> {
    let mut req = Request::options("/api")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if !headers.is_empty() {
        req = req.header("access-control-request-headers", headers);
    }
    req.body(()).unwrap()
}

fn header<'a, B>(res: &'a Response<B>, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

fn acao<B>(res: &Response<B>) -> Option<&str> {
    header(res, "access-control-allow-origin")
}

fn reached<B>(res: &Response<B>) -> bool {
    res.headers().contains_key("x-handler")
}

/// Every `Vary` field, lowercase.
fn vary<B>(res: &Response<B>) -> Vec<String> {
    res.headers()
        .get_all(header::VARY)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|f| f.trim().to_ascii_lowercase())
        .collect()
}

fn cors_headers<B>(res: &Response<B>) -> Vec<String> {
    res.headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.to_string())
        .collect()
}

fn body(res: Response<ResponseBody<String>>) -> String {
    let bytes = block_on(res.into_body().collect()).unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn example() -> Cors {
    Cors::builder()
        .allow_origins(["https://example.com"])
        .allow_methods(["GET", "POST", "PUT"])
        .allow_headers(["content-type", "x-custom"])
        .expose_headers(["x-request-id"])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
        .build()
        .unwrap()
}

fn example_rejecting() -> Cors {
    Cors::builder()
        .allow_origins(["https://example.com", "https://*.example.com"])
        .allow_methods(["GET", "POST", "PUT"])
        .allow_headers(["content-type"])
        .allow_credentials(true)
        .reject_disallowed(true)
        .build()
        .unwrap()
}

fn wildcard() -> Cors {
    Cors::builder()
        .allow_origins(["https://*.example.com"])
        .allow_credentials(true)
        .build()
        .unwrap()
}

// ---- §2.1 origin reflection ----

/// §2.1: an arbitrary Origin is never reflected, with or without credentials.
#[test]
fn arbitrary_origin_is_not_reflected_with_credentials() {
    let cors = example();
    for req in [
        get("https://evil.example"),
        preflight("https://evil.example", "GET", ""),
    ] {
        let res = call(&cors, req);
        assert_eq!(acao(&res), None);
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        assert!(cors_headers(&res).is_empty(), "{:?}", cors_headers(&res));
    }
    let res = call(&cors, get("https://example.com"));
    assert_eq!(acao(&res), Some("https://example.com"));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
}

// ---- §2.2 wildcards with credentials ----

/// §2.2: `*` origin, methods, headers or exposed headers with credentials is a
/// build error (tower-http panics here), never a panic.
#[test]
fn credentials_with_any_wildcard_is_a_build_error() {
    let base = || Cors::builder().allow_credentials(true);
    for (builder, what) in [
        (base().allow_any_origin(), "origin"),
        (base().allow_origins(["*"]), "origin"),
        (base().allow_any_method(), "methods"),
        (base().allow_any_header(), "headers"),
        (base().expose_headers(["*"]), "exposed headers"),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err, ConfigError::CorsCredentialsWithWildcard { what });
        assert!(err.to_string().contains("`*`"), "{err}");
    }
    assert!(Cors::builder().allow_any_origin().build().is_ok());
    assert!(
        Cors::builder()
            .allow_any_method()
            .allow_any_header()
            .expose_headers(["*"])
            .build()
            .is_ok()
    );
}

/// §2.2 (tower-http #284/#285): `*` inside a list is refused, not a silent
/// "any".
#[test]
fn star_mixed_into_a_list_is_a_build_error() {
    let err = Cors::builder()
        .allow_origins(["https://a.com", "*"])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`*` in the allowed origins cannot be combined with other entries (got `https://a.com`)"
    );
    assert!(matches!(
        Cors::builder().allow_methods(["*", "GET"]).build(),
        Err(ConfigError::CorsWildcardMixed {
            list: "methods",
            ..
        })
    ));
    assert!(matches!(
        Cors::builder().allow_headers(["x-a", "*"]).build(),
        Err(ConfigError::CorsWildcardMixed {
            list: "headers",
            ..
        })
    ));
}

// ---- §2.3 null ----

/// §2.3: `Origin: null` is never allowed, in a list, with wildcards or in
/// any-origin mode (preflight).
#[test]
fn null_origin_is_never_allowed() {
    for cors in [example(), wildcard(), example_rejecting()] {
        for req in [get("null"), preflight("null", "GET", "")] {
            let res = call(&cors, req);
            assert_eq!(acao(&res), None);
            assert!(cors_headers(&res).is_empty());
        }
    }
    let any = Cors::builder().allow_any_origin().build().unwrap();
    let res = call(&any, preflight("null", "GET", ""));
    assert_eq!(acao(&res), None);
    let res = call(&any, preflight("https://x.example", "GET", ""));
    assert_eq!(acao(&res), Some("*"));
}

/// §2.3: configuring `null` is an error quoting it.
#[test]
fn configuring_the_null_origin_is_a_build_error() {
    for value in ["null", "NULL", "Null"] {
        let err = Cors::builder()
            .allow_origins(["https://a.com", value])
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::CorsNullOrigin {
                value: value.to_owned()
            }
        );
        assert!(err.to_string().contains(&format!("`{value}`")), "{err}");
    }
}

// ---- §2.4 matching ----

/// §2.4: the allow-list matching bugs of the catalog, against `https://example.com`.
#[test]
fn allow_list_matching_bugs_do_not_match_an_exact_entry() {
    let cors = example();
    for origin in [
        "https://evilexample.com",
        "https://example.com.evil.net",
        "https://exampleXcom",
        "https://example.com@evil.net",
        "https://example.com%60.evil.net",
        "http://example.com",
        "https://example.com:8443",
        "https://example.com/",
        "https://example.com/path",
        "https://example.com?x=1",
        "https://example.com#x",
        "https://sub.example.com",
        "https://example.co",
        "https://example.com.",
        "https://example.com:",
        "https:/example.com",
        "https//example.com",
        "example.com",
        "https://example.com https://example.com",
        "https://example.com, https://example.com",
        "wss://example.com",
    ] {
        let res = call(&cors, get(origin));
        assert_eq!(acao(&res), None, "{origin}");
        let res = call(&cors, preflight(origin, "GET", ""));
        assert_eq!(acao(&res), None, "{origin}");
    }
}

/// §2.4: an uppercase Origin matches by its parsed, lowercased form, and
/// `Access-Control-Allow-Origin` answers the canonical serialisation.
#[test]
fn uppercase_origin_matches_by_its_lowercased_parse() {
    let cors = example();
    for origin in [
        "https://EXAMPLE.com",
        "HTTPS://example.COM",
        "https://example.com:443",
    ] {
        let res = call(&cors, get(origin));
        assert_eq!(acao(&res), Some("https://example.com"), "{origin}");
    }
    let cors = Cors::builder()
        .allow_origin("HTTPS://Example.COM:443")
        .build()
        .unwrap();
    let res = call(&cors, get("https://example.com"));
    assert_eq!(acao(&res), Some("https://example.com"));
}

/// §2.4: ports are compared after folding the default one.
#[test]
fn explicit_ports_match_only_themselves() {
    let cors = Cors::builder()
        .allow_origins([
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "https://a.com:443",
        ])
        .build()
        .unwrap();
    for (origin, expected) in [
        ("http://localhost:3000", Some("http://localhost:3000")),
        ("http://localhost", None),
        ("http://localhost:3001", None),
        ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
        ("http://127.0.0.1", None),
        ("http://[::1]:8080", Some("http://[::1]:8080")),
        ("http://[0:0:0:0:0:0:0:1]:8080", Some("http://[::1]:8080")),
        ("http://[::2]:8080", None),
        ("https://a.com", Some("https://a.com")),
        ("https://a.com:443", Some("https://a.com")),
        ("http://a.com:443", None),
    ] {
        assert_eq!(acao(&call(&cors, get(origin))), expected, "{origin}");
    }
}

/// §2.4: the same family of bugs against a wildcard entry `https://*.example.com`.
#[test]
fn allow_list_matching_bugs_do_not_match_a_wildcard_entry() {
    let cors = wildcard();
    for origin in [
        "https://example.com",
        "https://evil-example.com",
        "https://evilexample.com",
        "https://a.evilexample.com",
        "https://a.example.com.evil.net",
        "https://a.exampleXcom",
        "https://aXexample.com",
        "https://a.example.com@evil.net",
        "https://evil.net@a.example.com",
        "https://a.example.com%60.evil.net",
        "https://a%2eexample.com",
        "http://a.example.com",
        "https://a.example.com:8443",
        "https://a.example.com/",
        "https://a.example.com/path",
        "https://.example.com",
        "https://a..example.com",
        "https://*.example.com",
        "https://a.example.com.",
        "https://a.example.co",
        "null",
    ] {
        let res = call(&cors, get(origin));
        assert_eq!(acao(&res), None, "{origin}");
        let res = call(&cors, preflight(origin, "GET", ""));
        assert_eq!(acao(&res), None, "{origin}");
    }
}

/// §2.4: a wildcard matches at any depth and echoes the request's origin, in
/// its canonical form.
#[test]
fn wildcard_matches_subdomains_at_any_depth_and_echoes_them() {
    let cors = wildcard();
    for (origin, expected) in [
        ("https://a.example.com", "https://a.example.com"),
        ("https://a.b.c.example.com", "https://a.b.c.example.com"),
        (
            "https://xn--bcher-kva.example.com",
            "https://xn--bcher-kva.example.com",
        ),
        ("https://A.Example.COM", "https://a.example.com"),
        ("https://a.example.com:443", "https://a.example.com"),
    ] {
        let res = call(&cors, get(origin));
        assert_eq!(acao(&res), Some(expected), "{origin}");
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            Some("true")
        );
    }
    let ported = Cors::builder()
        .allow_origin("https://*.example.com:8443")
        .build()
        .unwrap();
    assert_eq!(
        acao(&call(&ported, get("https://a.example.com:8443"))),
        Some("https://a.example.com:8443")
    );
    assert_eq!(acao(&call(&ported, get("https://a.example.com"))), None);
}

/// §2.4: a wildcard needs two labels after it, and may only be the whole
/// leftmost label.
#[test]
fn broad_or_misplaced_wildcards_are_build_errors() {
    let err = Cors::builder()
        .allow_origin("https://*.com")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "allowed origin `https://*.com` is too broad: a wildcard needs at least two labels after it"
    );
    for value in [
        "https://*example.com",
        "https://a.*.example.com",
        "https://*.*.example.com",
        "https://ex*.example.com",
        "https://example.com:*",
        "*://example.com",
        "https://*",
        "*.example.com",
    ] {
        let err = Cors::builder().allow_origin(value).build().unwrap_err();
        assert!(
            matches!(
                &err,
                ConfigError::CorsWildcardPlacement { .. } | ConfigError::CorsInvalidOrigin { .. }
            ),
            "{value}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("`{value}`")), "{err}");
    }
}

/// §2.4: configured origins obey the same grammar as requests: a trailing
/// slash or a path is an error that says so.
#[test]
fn malformed_configured_origins_are_build_errors_quoting_them() {
    for value in [
        "https://example.com/",
        "https://example.com/api",
        "example.com",
        "https://user@example.com",
        "https://exa%6dple.com",
        "https://example.com:99999",
        "https://",
        " https://example.com",
        "https://ex ample.com",
        "https://ex\u{e4}mple.com",
        "",
    ] {
        let err = Cors::builder().allow_origin(value).build().unwrap_err();
        assert!(
            matches!(err, ConfigError::CorsInvalidOrigin { .. }),
            "{value}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("`{value}`")), "{err}");
    }
    let err = Cors::builder()
        .allow_origin("https://example.com/")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("trailing slash"), "{err}");
}

// ---- §2.5 Vary ----

/// §2.5: `Vary: Origin` on allowed, disallowed, non-CORS and error responses.
#[test]
fn vary_origin_is_on_allowed_disallowed_non_cors_and_error_responses() {
    let cors = example();
    let no_origin = Request::get("/").body(()).unwrap();
    let error_allowed = Request::get("/")
        .header("origin", "https://example.com")
        .header("x-status", "500")
        .body(())
        .unwrap();
    let error_disallowed = Request::get("/")
        .header("origin", "https://evil.example")
        .header("x-status", "401")
        .body(())
        .unwrap();
    for req in [
        get("https://example.com"),
        get("https://evil.example"),
        get("null"),
        no_origin,
        error_allowed,
        error_disallowed,
    ] {
        let res = call(&cors, req);
        assert_eq!(vary(&res), ["origin"]);
    }
    let res = call(&example_rejecting(), get("https://evil.example"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(vary(&res), ["origin"]);
}

/// §2.5: preflights vary on the request method and headers too.
#[test]
fn preflights_vary_on_origin_request_method_and_request_headers() {
    let expected = [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
    ];
    for req in [
        preflight("https://example.com", "PUT", "content-type"),
        preflight("https://evil.example", "PUT", ""),
        preflight("https://example.com", "DELETE", ""),
    ] {
        assert_eq!(vary(&call(&example(), req)), expected);
    }
    let any = Cors::builder().allow_any_origin().build().unwrap();
    assert_eq!(
        vary(&call(&any, preflight("https://a.example", "GET", ""))),
        expected
    );
    let pna = Cors::builder()
        .allow_origin("https://example.com")
        .allow_private_network(true)
        .build()
        .unwrap();
    let res = call(&pna, preflight("https://example.com", "GET", ""));
    assert_eq!(
        vary(&res),
        [
            "origin",
            "access-control-request-method",
            "access-control-request-headers",
            "access-control-request-private-network"
        ]
    );
}

/// §2.5: any origin without credentials answers `*` to everyone, so the
/// response does not depend on the Origin and needs no `Vary: Origin`.
#[test]
fn any_origin_answers_star_without_vary_origin() {
    let cors = Cors::builder()
        .allow_any_origin()
        .expose_headers(["x-request-id"])
        .build()
        .unwrap();
    for req in [
        get("https://a.example"),
        get("null"),
        Request::get("/").body(()).unwrap(),
    ] {
        let res = call(&cors, req);
        assert_eq!(acao(&res), Some("*"));
        assert_eq!(
            header(&res, "access-control-expose-headers"),
            Some("x-request-id")
        );
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        assert!(vary(&res).is_empty(), "{:?}", vary(&res));
    }
}

/// §2.5: the handler's own `Vary` values are kept, never duplicated.
#[test]
fn the_handler_s_vary_values_are_kept() {
    let req = Request::get("/")
        .header("origin", "https://example.com")
        .header("x-set-cors", "1")
        .body(())
        .unwrap();
    let res = call(&example(), req);
    assert_eq!(vary(&res), ["accept-encoding", "origin"]);
}

// ---- §2.6 preflight ----

/// §2.6: an `OPTIONS` without `Access-Control-Request-Method` (or without
/// `Origin`) is not a preflight and reaches the handler.
#[test]
fn other_options_requests_reach_the_handler() {
    let cors = example();
    let plain = Request::options("/").body(()).unwrap();
    let origin_only = Request::options("/")
        .header("origin", "https://example.com")
        .body(())
        .unwrap();
    let method_only = Request::options("/")
        .header("access-control-request-method", "PUT")
        .body(())
        .unwrap();
    for req in [plain, method_only] {
        let res = call(&cors, req);
        assert!(reached(&res));
        assert_eq!(acao(&res), None);
    }
    let res = call(&cors, origin_only);
    assert!(reached(&res));
    assert_eq!(acao(&res), Some("https://example.com"));
    assert_eq!(header(&res, "access-control-allow-methods"), None);
}

/// §2.6: an allowed preflight is answered 204 by the layer with the
/// configured lists, before the handler (which here would answer 401).
#[test]
fn allowed_preflight_is_answered_with_the_configured_lists() {
    let mut req = preflight("https://example.com", "PUT", "x-custom,content-type");
    req.headers_mut()
        .insert("x-status", HeaderValue::from_static("401"));
    let res = call(&example(), req);
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!reached(&res));
    assert_eq!(acao(&res), Some("https://example.com"));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&res, "access-control-allow-methods"),
        Some("GET, POST, PUT")
    );
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("content-type, x-custom")
    );
    assert_eq!(header(&res, "access-control-max-age"), Some("600"));
    assert_eq!(header(&res, "access-control-expose-headers"), None);
    assert_eq!(body(res), "");
}

/// §2.6: with credentials, requested headers are never echoed: an unlisted
/// one fails the preflight, and a listed one is answered with the configured
/// list.
#[test]
fn preflight_never_echoes_requested_headers_with_credentials() {
    let cors = example();
    let res = call(&cors, preflight("https://example.com", "PUT", "x-evil"));
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(cors_headers(&res).is_empty());
    let res = call(&cors, preflight("https://example.com", "PUT", "x-custom"));
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("content-type, x-custom")
    );
    let res = call(
        &cors,
        preflight("https://example.com", "PUT", "x-custom, authorization"),
    );
    assert!(cors_headers(&res).is_empty());
}

/// §2.6: requested headers are a case-insensitive token list, over one or
/// several header lines, with empty elements tolerated.
#[test]
fn requested_headers_compare_case_insensitively_as_a_token_list() {
    let cors = example();
    for list in [
        "Content-Type",
        "CONTENT-TYPE , X-Custom",
        " content-type,,x-custom ",
        "x-custom,\tcontent-type",
        ",",
    ] {
        let res = call(&cors, preflight("https://example.com", "POST", list));
        assert_eq!(acao(&res), Some("https://example.com"), "{list}");
    }
    let mut req = preflight("https://example.com", "POST", "content-type");
    req.headers_mut().append(
        "access-control-request-headers",
        HeaderValue::from_static("X-CUSTOM"),
    );
    assert!(acao(&call(&cors, req)).is_some());
    for list in [
        "content-type;x-custom",
        "content type",
        "content-type, x-custom2",
        "\"content-type\"",
        "content-type/x",
    ] {
        let res = call(&cors, preflight("https://example.com", "POST", list));
        assert_eq!(acao(&res), None, "{list}");
    }
    let mut req = preflight("https://example.com", "POST", "content-type");
    req.headers_mut().append(
        "access-control-request-headers",
        HeaderValue::from_static("x-other"),
    );
    assert_eq!(acao(&call(&cors, req)), None);
}

/// §2.6: the requested method must be listed, case-sensitively.
#[test]
fn preflight_with_an_unlisted_method_gets_no_cors_headers() {
    let cors = example();
    for method in [
        "DELETE", "PATCH", "put", "Put", "", "PUT ", "P UT", "GET,PUT",
    ] {
        let res = call(&cors, preflight("https://example.com", method, ""));
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{method}");
        assert!(cors_headers(&res).is_empty(), "{method}");
        assert!(!reached(&res));
    }
    let mut req = preflight("https://example.com", "PUT", "");
    req.headers_mut().append(
        "access-control-request-method",
        HeaderValue::from_static("PUT"),
    );
    assert_eq!(acao(&call(&cors, req)), None, "repeated request method");
}

/// §2.6: the default methods are `GET, HEAD, POST`.
#[test]
fn default_methods_are_get_head_post() {
    let cors = Cors::builder()
        .allow_origin("https://example.com")
        .build()
        .unwrap();
    for (method, allowed) in [
        ("GET", true),
        ("HEAD", true),
        ("POST", true),
        ("PUT", false),
    ] {
        let res = call(&cors, preflight("https://example.com", method, ""));
        assert_eq!(acao(&res).is_some(), allowed, "{method}");
        if allowed {
            assert_eq!(
                header(&res, "access-control-allow-methods"),
                Some("GET, HEAD, POST")
            );
            assert_eq!(header(&res, "access-control-allow-headers"), None);
            assert_eq!(header(&res, "access-control-max-age"), None);
        }
    }
}

/// §2.6: any method and any header answer `*` (without credentials).
#[test]
fn any_method_and_any_header_answer_star() {
    let cors = Cors::builder()
        .allow_origin("https://example.com")
        .allow_any_method()
        .allow_any_header()
        .build()
        .unwrap();
    let res = call(
        &cors,
        preflight("https://example.com", "PURGE", "x-anything, x-else"),
    );
    assert_eq!(acao(&res), Some("https://example.com"));
    assert_eq!(header(&res, "access-control-allow-methods"), Some("*"));
    assert_eq!(header(&res, "access-control-allow-headers"), Some("*"));
    let res = call(&cors, preflight("https://example.com", "P@TCH", "x-a"));
    assert_eq!(acao(&res), None, "not a token");
}

/// §2.6: `Max-Age` is bounded by a cap (Chromium's 2 hours by default,
/// configurable up to Firefox's 24 hours), and the error quotes the value.
#[test]
fn max_age_over_the_cap_is_a_build_error_quoting_it() {
    let err = Cors::builder()
        .max_age(Duration::from_secs(7201))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::CorsMaxAge {
            max_age: 7201,
            cap: 7200
        }
    );
    assert!(err.to_string().contains("7201"), "{err}");
    assert!(
        Cors::builder()
            .max_age(Duration::from_secs(7200))
            .build()
            .is_ok()
    );
    let day = Cors::builder()
        .max_age_cap(FIREFOX_MAX_AGE)
        .max_age(Duration::from_secs(86_400))
        .build()
        .unwrap();
    assert_eq!(day.max_age(), Some(Duration::from_secs(86_400)));
    let err = Cors::builder()
        .max_age_cap(Duration::from_secs(86_401))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::CorsMaxAgeCap { cap: 86_401 });
    assert!(err.to_string().contains("86401"), "{err}");
}

/// §2.6: with `reject_disallowed`, a refused preflight is a 403 in the shared
/// error format, with the reason in a `Rejection`.
#[test]
fn reject_mode_refuses_disallowed_preflights_with_403() {
    let cors = example_rejecting();
    for (req, reason) in [
        (
            preflight("https://evil.example", "PUT", ""),
            "origin-not-allowed",
        ),
        (preflight("null", "PUT", ""), "origin-not-allowed"),
        (
            preflight("https://example.com", "DELETE", ""),
            "method-not-allowed",
        ),
        (
            preflight("https://a.example.com", "PUT", "x-evil"),
            "header-not-allowed",
        ),
    ] {
        let res = call(&cors, req);
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{reason}");
        assert!(!reached(&res));
        assert!(cors_headers(&res).is_empty());
        assert_eq!(
            res.extensions().get::<Rejection>(),
            Some(&Rejection::new("cors", reason))
        );
        assert_eq!(header(&res, "content-type"), Some("application/json"));
        let doc: serde_json::Value = serde_json::from_str(&body(res)).unwrap();
        assert_eq!(doc["error"]["status"], 403);
    }
    let res = call(
        &cors,
        preflight("https://a.example.com", "PUT", "content-type"),
    );
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(acao(&res), Some("https://a.example.com"));
}

/// The 403 carries the request id set by an outer `RequestIdLayer`.
#[test]
fn reject_mode_reports_the_request_id() {
    let mut req = get("https://evil.example");
    req.extensions_mut()
        .insert(RequestId::from_header(&HeaderValue::from_static("req-7")).unwrap());
    let res = call(&example_rejecting(), req);
    let doc: serde_json::Value = serde_json::from_str(&body(res)).unwrap();
    assert_eq!(doc["error"]["requestId"], "req-7");
}

// ---- §2.7 Private Network Access ----

/// §2.7: `Access-Control-Allow-Private-Network` only when configured, the
/// origin allowed and the preflight asked for it.
#[test]
fn private_network_access_is_granted_only_when_configured() {
    let ask = |origin: &str| {
        let mut req = preflight(origin, "GET", "");
        req.headers_mut().insert(
            "access-control-request-private-network",
            HeaderValue::from_static("true"),
        );
        req
    };
    let off = example();
    let res = call(&off, ask("https://example.com"));
    assert_eq!(acao(&res), Some("https://example.com"));
    assert_eq!(header(&res, "access-control-allow-private-network"), None);

    let on = Cors::builder()
        .allow_origin("https://example.com")
        .allow_private_network(true)
        .build()
        .unwrap();
    let res = call(&on, ask("https://example.com"));
    assert_eq!(
        header(&res, "access-control-allow-private-network"),
        Some("true")
    );
    let res = call(&on, ask("https://evil.example"));
    assert!(cors_headers(&res).is_empty());
    let res = call(&on, preflight("https://example.com", "GET", ""));
    assert_eq!(header(&res, "access-control-allow-private-network"), None);
    let mut actual = get("https://example.com");
    actual.headers_mut().insert(
        "access-control-request-private-network",
        HeaderValue::from_static("true"),
    );
    let res = call(&on, actual);
    assert_eq!(header(&res, "access-control-allow-private-network"), None);
}

// ---- §2.8 exposed headers ----

/// §2.8: exposing credential-bearing headers is a build error quoting the
/// name, in any case.
#[test]
fn exposing_credential_headers_is_a_build_error() {
    for value in [
        "set-cookie",
        "Set-Cookie",
        "set-cookie2",
        "cookie",
        "Authorization",
        "proxy-authorization",
    ] {
        let err = Cors::builder()
            .expose_headers(["x-request-id", value])
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::CorsSensitiveExpose {
                value: value.to_owned()
            }
        );
        assert!(err.to_string().contains(&format!("`{value}`")), "{err}");
    }
}

/// §2.8: the exposed list appears on actual responses to allowed origins
/// only, and replaces whatever the handler exposed.
#[test]
fn exposed_headers_appear_on_allowed_actual_responses_only() {
    let cors = example();
    let mut req = get("https://example.com");
    req.headers_mut()
        .insert("x-set-cors", HeaderValue::from_static("1"));
    let res = call(&cors, req);
    assert_eq!(
        header(&res, "access-control-expose-headers"),
        Some("x-request-id")
    );
    let res = call(&cors, get("https://evil.example"));
    assert_eq!(header(&res, "access-control-expose-headers"), None);
    let res = call(&cors, preflight("https://example.com", "GET", ""));
    assert_eq!(header(&res, "access-control-expose-headers"), None);
}

// ---- §2.9 CORS is not CSRF protection ----

/// §2.9: a simple cross-origin POST from a disallowed origin reaches the
/// handler (CORS only hides the answer from the page); reject mode refuses
/// it, while same-origin requests and requests without Origin pass.
#[test]
fn simple_cross_origin_post_reaches_the_handler_unless_reject_mode_is_on() {
    let post = |origin: Option<&str>, host: Option<&str>, site: Option<&str>| {
        let mut req = Request::post("/transfer").header("content-type", "text/plain");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        if let Some(host) = host {
            req = req.header("host", host);
        }
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        req.body(()).unwrap()
    };

    let res = call(&example(), post(Some("https://evil.example"), None, None));
    assert!(reached(&res), "CORS alone lets the request through");
    assert_eq!(acao(&res), None);

    let cors = example_rejecting();
    let res = call(
        &cors,
        post(Some("https://evil.example"), Some("api.example.net"), None),
    );
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!reached(&res));
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::new("cors", "origin-not-allowed"))
    );
    let refused = [
        post(Some("https://evil.example"), None, Some("cross-site")),
        post(Some("null"), Some("api.example.net"), None),
        post(
            Some("https://api.example.net/"),
            Some("api.example.net"),
            None,
        ),
        // A browser that says cross-site is believed over the Host comparison
        // (here an `http:` page posting to the same host).
        post(
            Some("http://api.example.net"),
            Some("api.example.net"),
            Some("cross-site"),
        ),
        post(
            Some("https://api.example.net"),
            Some("api.example.net"),
            Some("same-site"),
        ),
    ];
    for req in refused {
        assert_eq!(call(&cors, req).status(), StatusCode::FORBIDDEN);
    }
    let passed = [
        post(None, Some("api.example.net"), None),
        post(
            Some("https://example.com"),
            Some("api.example.net"),
            Some("cross-site"),
        ),
        post(Some("https://a.example.com"), None, None),
        post(
            Some("https://api.example.net"),
            Some("api.example.net"),
            None,
        ),
        post(
            Some("https://api.example.net"),
            Some("API.example.net:443"),
            None,
        ),
        post(Some("http://localhost:3000"), Some("localhost:3000"), None),
        post(Some("https://elsewhere.example"), None, Some("same-origin")),
        post(Some("null"), None, Some("same-origin")),
        post(Some("https://elsewhere.example"), None, Some("none")),
    ];
    for req in passed {
        let res = call(&cors, req);
        assert_eq!(res.status(), StatusCode::OK);
        assert!(reached(&res));
    }
    let refused_port = post(
        Some("https://api.example.net:8443"),
        Some("api.example.net"),
        None,
    );
    assert_eq!(call(&cors, refused_port).status(), StatusCode::FORBIDDEN);
}

/// §2.9: with HTTP/2 there is no `Host` header; the URI authority is used.
#[test]
fn http2_authority_stands_in_for_the_host_header() {
    let req = Request::post("https://api.example.net/transfer")
        .header("origin", "https://api.example.net")
        .body(())
        .unwrap();
    let res = call(&example_rejecting(), req);
    assert_eq!(res.status(), StatusCode::OK);
}

// ---- §2.10 errors from inner layers ----

/// §2.10: 401, 403, 413, 429 and 503 from inner layers carry the same CORS
/// headers as a 200 for allowed origins, and none for disallowed ones.
#[test]
fn inner_error_responses_carry_cors_headers_for_allowed_origins_only() {
    let cors = example();
    let ok = call(&cors, get("https://example.com"));
    let expected = cors_headers(&ok);
    assert_eq!(expected.len(), 3, "{expected:?}");
    for status in ["401", "403", "413", "429", "503"] {
        let mut req = get("https://example.com");
        req.headers_mut()
            .insert("x-status", HeaderValue::from_str(status).unwrap());
        let res = call(&cors, req);
        assert_eq!(res.status().as_str(), status);
        assert_eq!(cors_headers(&res), expected, "{status}");
        for name in &expected {
            assert_eq!(res.headers()[name], ok.headers()[name], "{status} {name}");
        }
        assert_eq!(vary(&res), ["origin"]);

        let mut req = get("https://evil.example");
        req.headers_mut()
            .insert("x-status", HeaderValue::from_str(status).unwrap());
        req.headers_mut()
            .insert("x-set-cors", HeaderValue::from_static("1"));
        let res = call(&cors, req);
        assert!(cors_headers(&res).is_empty(), "{status}");
    }
}

/// An inner service's error (not an error response) passes through.
#[test]
fn inner_service_errors_pass_through() {
    let svc = example()
        .layer()
        .layer(service_fn(|_req: Request<()>| async {
            Err::<Response<String>, _>("boom")
        }));
    let err = block_on(svc.oneshot(get("https://example.com"))).unwrap_err();
    assert_eq!(err, "boom");
}

// ---- §2.11 Observatory ----

/// §2.11: the HTTP Observatory's probe origin is never reflected with
/// credentials, on a preflight or an actual request.
#[test]
fn observatory_probe_origin_is_never_reflected_with_credentials() {
    const PROBE: &str = "https://http-observatory.security.mozilla.org";
    for cors in [example(), wildcard(), example_rejecting()] {
        for req in [preflight(PROBE, "GET", ""), get(PROBE)] {
            let res = call(&cors, req);
            assert_ne!(acao(&res), Some(PROBE));
            assert_eq!(acao(&res), None);
            assert_eq!(header(&res, "access-control-allow-credentials"), None);
        }
    }
}

// ---- ownership of the headers ----

/// The layer owns the CORS response headers: the handler's are replaced for
/// allowed origins and removed otherwise.
#[test]
fn handler_cors_headers_are_replaced_or_removed() {
    let cors = Cors::builder()
        .allow_origin("https://example.com")
        .build()
        .unwrap();
    let with_handler_cors = |origin: Option<&str>| {
        let mut req = Request::get("/").header("x-set-cors", "1");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        call(&cors, req.body(()).unwrap())
    };
    let res = with_handler_cors(Some("https://example.com"));
    assert_eq!(cors_headers(&res), ["access-control-allow-origin"]);
    assert_eq!(acao(&res), Some("https://example.com"));
    for origin in [Some("https://evil.example"), None] {
        let res = with_handler_cors(origin);
        assert!(cors_headers(&res).is_empty(), "{origin:?}");
    }
}

// ---- the core without tower ----

/// The decision is usable without tower, as the actix example does.
#[test]
fn the_core_decides_without_tower() {
    let cors = example_rejecting();
    let mut h = HeaderMap::new();
    h.insert("origin", HeaderValue::from_static("https://a.example.com"));
    h.insert(
        "access-control-request-method",
        HeaderValue::from_static("PUT"),
    );
    let decision = cors.check(&Method::OPTIONS, &h);
    assert!(decision.is_preflight());
    assert!(decision.is_allowed());
    assert_eq!(decision.action(), CorsAction::Preflight);
    let mut res = HeaderMap::new();
    decision.apply(&mut res);
    assert_eq!(res["access-control-allow-origin"], "https://a.example.com");

    h.insert("origin", HeaderValue::from_static("https://evil.example"));
    let decision = cors.check(&Method::OPTIONS, &h);
    assert_eq!(decision.denial(), Some(CorsDenial::OriginNotAllowed));
    assert_eq!(
        decision.action(),
        CorsAction::Reject(CorsDenial::OriginNotAllowed)
    );
    assert_eq!(CorsDenial::OriginNotAllowed.error_response().status(), 403);

    let decision = cors.check(&Method::GET, &HeaderMap::new());
    assert_eq!(decision.action(), CorsAction::Forward);
    assert!(!decision.is_allowed());
    assert_eq!(decision.denial(), None);
}

/// The default policy allows nothing cross-origin.
#[test]
fn the_default_policy_allows_nothing() {
    let cors = Cors::default();
    assert!(!cors.allows_any_origin());
    let res = call(&cors, get("https://example.com"));
    assert!(cors_headers(&res).is_empty());
    assert_eq!(vary(&res), ["origin"]);
    let res = call(&cors, preflight("https://example.com", "GET", ""));
    assert!(cors_headers(&res).is_empty());
}

/// Methods and header names are validated tokens; a lowercase standard
/// method is refused since browsers send it uppercase.
#[test]
fn invalid_methods_and_header_names_are_build_errors_quoting_them() {
    for value in ["G ET", "", "GET,POST", "g\u{e9}t", "get", "Post"] {
        let err = Cors::builder().allow_methods([value]).build().unwrap_err();
        assert!(
            matches!(err, ConfigError::CorsInvalidMethod { .. }),
            "{value}: {err:?}"
        );
        assert!(err.to_string().contains(&format!("`{value}`")), "{err}");
    }
    assert!(
        Cors::builder()
            .allow_methods(["PATCH", "PURGE", "patch"])
            .build()
            .is_ok()
    );
    for value in ["content type", "", "x:y", "x-\u{e9}", "a,b"] {
        for builder in [
            Cors::builder().allow_headers([value]),
            Cors::builder().expose_headers([value]),
        ] {
            let err = builder.build().unwrap_err();
            assert_eq!(
                err,
                ConfigError::CorsInvalidHeader {
                    value: value.to_owned()
                }
            );
        }
    }
}

/// A repeated `Origin` header is malformed: browsers send one.
#[test]
fn repeated_origin_headers_are_never_allowed() {
    let req = Request::get("/")
        .header("origin", "https://example.com")
        .header("origin", "https://example.com")
        .body(())
        .unwrap();
    assert_eq!(acao(&call(&example(), req)), None);
}

// ---- hostile input ----

fn hostile_values() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "",
        " ",
        "null",
        "NULL",
        "*",
        "https://",
        "https:///",
        "https://:",
        "https://:0",
        "://example.com",
        "https:example.com",
        "https://[",
        "https://[]",
        "https://[::1",
        "https://[::1]x",
        "https://[zz]",
        "https://[::1]:",
        "https://[::1]:99999",
        "https://[::ffff:1.2.3.4]",
        "https://1.2.3.4.5",
        "https://256.1.1.1",
        "https://0x7f.1",
        "https://1e3",
        "https://a.b.c.d.e.f.g.h.i.j.example.com",
        "https://-.example.com",
        "https://_.example.com",
        "https://a.example.com:65535",
        "https://a.example.com:00",
        "https://example.com:+443",
        "https://example.com:-1",
        "https://example.com:4 43",
        "https://example.com::443",
        "https://exa mple.com",
        "https://exa\tmple.com",
        "https://example.com\\@evil",
        "https://example.com;evil",
        "https://example.com,evil",
        "http://example.com:80:80",
        "javascript:alert(1)",
        "data:text/html,x",
        "file://",
        "https://example.com%00",
        "https://%65xample.com",
        "GET",
        "PUT, POST",
        "content-type",
        ",,,,",
        "a,,b",
        "\"x\"",
        "x=y",
        "(",
        "{}",
        "<script>",
        "${jndi:ldap://x}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    for b in 0u8..=255 {
        out.push(format!("https://example.com{}", b as char).into_bytes());
        let mut v = b"https://example.com".to_vec();
        v.push(b);
        out.push(v);
        let mut v = vec![b];
        v.extend_from_slice(b"https://example.com");
        out.push(v);
        let mut v = b"https://a".to_vec();
        v.push(b);
        v.extend_from_slice(b".example.com");
        out.push(v);
    }
    for n in [64, 254, 600, 10_000] {
        out.push(format!("https://{}.example.com", "a".repeat(n)).into_bytes());
        out.push(format!("https://{}example.com", "a.".repeat(n)).into_bytes());
        out.push(",".repeat(n).into_bytes());
        out.push("x-custom,".repeat(n).into_bytes());
        out.push(":".repeat(n).into_bytes());
    }
    out.push("https://\u{0435}xample.com".as_bytes().to_vec());
    out.push("https://example.com\u{202e}".as_bytes().to_vec());
    out.push(b"https://\xff\xfe.example.com".to_vec());
    out
}

/// Whether `value` is `https://example.com` or a well-formed host under it,
/// by the documented rule: what `example_rejecting` allows.
fn under_example_com(value: &[u8]) -> bool {
    let Ok(v) = std::str::from_utf8(value) else {
        return false;
    };
    let v = v.to_ascii_lowercase();
    if v == "https://example.com" {
        return true;
    }
    let Some(host) = v.strip_prefix("https://") else {
        return false;
    };
    let Some(sub) = host.strip_suffix(".example.com") else {
        return false;
    };
    host.len() <= 253
        && sub.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Hundreds of malformed `Origin`, `Access-Control-Request-Method` and
/// `-Request-Headers` values: no panic, and nothing malformed is allowed.
#[test]
fn hostile_cors_request_headers_never_panic_nor_match() {
    let cors = example_rejecting();
    let any = Cors::builder()
        .allow_any_origin()
        .allow_any_header()
        .build()
        .unwrap();
    let mut tried = 0;
    let mut allowed = 0;
    for value in hostile_values() {
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            continue;
        };
        tried += 1;
        for policy in [&cors, &any] {
            let mut req = Request::get("/").body(()).unwrap();
            req.headers_mut().insert("origin", value.clone());
            req.headers_mut().insert("host", value.clone());
            let res = call(policy, req);
            if policy.allows_any_origin() {
                assert_eq!(acao(&res), Some("*"));
            } else if under_example_com(value.as_bytes()) {
                allowed += 1;
                let lower = value.to_str().unwrap().to_ascii_lowercase();
                assert_eq!(acao(&res), Some(lower.as_str()), "{value:?}");
            } else {
                assert_eq!(acao(&res), None, "{value:?}");
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{value:?}");
            }

            let mut req = Request::options("/").body(()).unwrap();
            let h = req.headers_mut();
            h.insert("origin", value.clone());
            h.insert("access-control-request-method", value.clone());
            h.insert("access-control-request-headers", value.clone());
            h.insert("access-control-request-private-network", value.clone());
            assert_eq!(acao(&call(policy, req)), None, "{value:?}");

            let mut req = preflight("https://example.com", "PUT", "");
            let h = req.headers_mut();
            h.insert("access-control-request-method", value.clone());
            h.insert("access-control-request-headers", value.clone());
            let res = call(policy, req);
            assert!(matches!(
                res.status(),
                StatusCode::NO_CONTENT | StatusCode::FORBIDDEN
            ));
            if acao(&res).is_some() {
                let methods: &[&[u8]] = if policy.allows_any_origin() {
                    &[b"GET", b"HEAD", b"POST"]
                } else {
                    &[b"GET", b"POST", b"PUT"]
                };
                assert!(methods.contains(&value.as_bytes()), "{value:?}");
            }
        }
    }
    assert!(tried > 900, "{tried}");
    assert!(allowed > 50, "{allowed}");
}

// ---- property test ----

/// The parts of a generated origin, before they are put together.
#[derive(Clone, Debug)]
struct Parts {
    scheme: &'static str,
    labels: Vec<&'static str>,
    base: &'static str,
    port: Option<&'static str>,
    junk: &'static str,
}

impl Parts {
    fn host(&self) -> String {
        let mut labels = self.labels.clone();
        if !self.base.is_empty() || labels.is_empty() {
            labels.push(self.base);
        }
        labels.join(".")
    }

    fn origin(&self) -> String {
        let mut s = format!("{}://{}", self.scheme, self.host());
        if let Some(port) = self.port {
            s.push(':');
            s.push_str(port);
        }
        s.push_str(self.junk);
        s
    }
}

const ALLOW_LIST: [&str; 5] = [
    "https://example.com",
    "https://*.example.com",
    "http://localhost:3000",
    "https://*.api.example.org:8443",
    "http://127.0.0.1:8080",
];

/// The documented rule, written independently of the parser: the expected
/// `Access-Control-Allow-Origin`, if any.
fn reference(p: &Parts) -> Option<String> {
    if !p.junk.is_empty() {
        return None;
    }
    let scheme = p.scheme.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let host = p.host().to_ascii_lowercase();
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if !labels_ok {
        return None;
    }
    let port: u32 = match p.port {
        None => default,
        Some(s) => {
            if s.is_empty() || s.starts_with('0') || !s.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            match s.parse() {
                Ok(n) if (1..=65535).contains(&n) => n,
                _ => return None,
            }
        }
    };
    let allowed = (scheme == "https"
        && port == 443
        && (host == "example.com" || host.ends_with(".example.com")))
        || (scheme == "http" && port == 3000 && host == "localhost")
        || (scheme == "https" && port == 8443 && host.ends_with(".api.example.org"))
        || (scheme == "http" && port == 8080 && host == "127.0.0.1");
    if !allowed {
        return None;
    }
    Some(if port == default {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}:{port}")
    })
}

fn parts() -> impl Strategy<Value = Parts> {
    let scheme = prop::sample::select(vec![
        "https", "https", "https", "https", "http", "http", "HTTPS", "Https", "ftp", "wss", "",
        "ht tp", "1http",
    ]);
    let label = prop::sample::select(vec![
        "a",
        "a",
        "b-c",
        "_x",
        "api",
        "example",
        "EXAMPLE",
        "com",
        "evil",
        "exampleXcom",
        "net",
        "xn--bcher-kva",
        "",
        "ex ample",
        "*",
        "\u{e9}",
        "1",
        "org",
    ]);
    let base = prop::sample::select(vec![
        "example.com",
        "example.com",
        "example.com",
        "example.com",
        "EXAMPLE.COM",
        "Example.Com",
        "example.org",
        "api.example.org",
        "api.example.org",
        "evilexample.com",
        "example.com.evil.net",
        "com",
        "",
        "localhost",
        "localhost",
        "127.0.0.1",
        "127.0.0.1",
        "example.com.",
    ]);
    let port = prop::sample::select(vec![
        None,
        None,
        None,
        None,
        Some("443"),
        Some("443"),
        Some("443"),
        Some("80"),
        Some("8443"),
        Some("8443"),
        Some("3000"),
        Some("8080"),
        Some("0"),
        Some("65536"),
        Some(""),
        Some("0443"),
        Some("abc"),
    ]);
    let junk = prop::sample::select(vec![
        "",
        "",
        "",
        "",
        "",
        "/",
        "/path",
        "?q",
        "#f",
        "@evil.net",
        "%60",
        " ",
        "\t",
        ".",
        ":",
    ]);
    (scheme, prop::collection::vec(label, 0..4), base, port, junk).prop_map(
        |(scheme, labels, base, port, junk)| Parts {
            scheme,
            labels,
            base,
            port,
            junk,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// A random origin is allowed if and only if the reference matcher allows
    /// it, and then answered in its canonical form; on actual requests and
    /// preflights alike.
    #[test]
    fn random_origins_are_allowed_iff_the_reference_rule_allows_them(p in parts()) {
        let cors = Cors::builder().allow_origins(ALLOW_LIST).build().unwrap();
        let origin = p.origin();
        let Ok(value) = HeaderValue::from_bytes(origin.as_bytes()) else {
            return Err(TestCaseError::reject("not a header value"));
        };
        let expected = reference(&p);

        let mut req = Request::get("/").body(()).unwrap();
        req.headers_mut().insert("origin", value.clone());
        let res = call(&cors, req);
        prop_assert_eq!(acao(&res).map(str::to_owned), expected.clone(), "{}", origin);

        let mut req = preflight("https://x.example", "GET", "");
        req.headers_mut().insert("origin", value);
        let res = call(&cors, req);
        prop_assert_eq!(acao(&res).map(str::to_owned), expected, "{}", origin);
    }
}

/// The layer answers preflights from a precomputed map; it must say exactly
/// what `CorsDecision::apply` writes on an empty response, for every outcome.
#[test]
fn precomputed_preflight_answers_match_apply() {
    let policies = [
        Cors::builder()
            .allow_origin("https://app.example.com")
            .build()
            .unwrap(),
        Cors::builder()
            .allow_origins(["https://app.example.com", "https://*.example.org"])
            .allow_methods(["GET", "PUT"])
            .allow_headers(["content-type", "x-custom"])
            .allow_credentials(true)
            .max_age(Duration::from_secs(600))
            .allow_private_network(true)
            .build()
            .unwrap(),
        Cors::builder()
            .allow_any_origin()
            .allow_any_header()
            .build()
            .unwrap(),
    ];
    let requests: [&[(&str, &str)]; 6] = [
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "https://a.b.example.org"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type, x-custom"),
            ("access-control-request-private-network", "true"),
        ],
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "DELETE"),
        ],
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-unlisted"),
        ],
        &[("origin", "null"), ("access-control-request-method", "GET")],
    ];
    for cors in &policies {
        for request in requests {
            let mut headers = HeaderMap::new();
            for (name, value) in request {
                headers.append(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            let decision = cors.check(&Method::OPTIONS, &headers);
            assert!(decision.is_preflight());
            let mut applied = HeaderMap::new();
            decision.apply(&mut applied);
            let precomputed = decision.preflight_headers();
            let norm = |h: &HeaderMap| {
                let mut v: Vec<_> = h
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(norm(&precomputed), norm(&applied), "{request:?}");
        }
    }
}
