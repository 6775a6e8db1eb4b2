//! The security headers through the real layer.

use std::collections::HashSet;
use std::convert::Infallible;

use harden_core::ip::Scheme;
use harden_core::{ErrorResponse, Rejection, ResponseBody};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, SERVER,
    STRICT_TRANSPORT_SECURITY, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower::{Layer, ServiceExt, service_fn};

use super::*;
use crate::ConfigError;
use crate::hsts::Hsts;

const HELMET_CSP: &str = "default-src 'self';base-uri 'self';font-src 'self' https: data:;\
    form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';\
    script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';\
    upgrade-insecure-requests";

/// Runs one request through `headers` in front of a handler that sets
/// `handler_headers` and echoes the nonce it saw.
async fn respond(
    headers: SecurityHeaders,
    req: Request<()>,
    handler_headers: &[(&'static str, &'static str)],
) -> Response<String> {
    let handler_headers = handler_headers.to_vec();
    let svc = SecurityHeadersLayer::new(headers).layer(service_fn(move |req: Request<()>| {
        let handler_headers = handler_headers.clone();
        async move {
            let nonce = req
                .extensions()
                .get::<CspNonce>()
                .map(ToString::to_string)
                .unwrap_or_default();
            let mut res = Response::new(nonce);
            for (name, value) in handler_headers {
                res.headers_mut()
                    .append(name, HeaderValue::from_static(value));
            }
            Ok::<_, Infallible>(res)
        }
    }));
    svc.oneshot(req).await.unwrap()
}

fn https() -> Request<()> {
    Request::builder()
        .extension(Scheme::Https)
        .body(())
        .unwrap()
}

fn http() -> Request<()> {
    Request::new(())
}

fn sorted(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut all: Vec<_> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    all.sort();
    all
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all: Vec<_> = expected
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    all.sort();
    all
}

/// §3.2: helmet 8.3.0's twelve headers, value for value, and `X-Powered-By`
/// removed.
#[tokio::test]
async fn helmet_preset_sets_exactly_helmets_twelve_headers_and_removes_x_powered_by() {
    let res = respond(
        SecurityHeaders::helmet(),
        https(),
        &[("x-powered-by", "Express")],
    )
    .await;
    assert_eq!(
        sorted(res.headers()),
        pairs(&[
            ("content-security-policy", HELMET_CSP),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "same-origin"),
            ("origin-agent-cluster", "?1"),
            ("referrer-policy", "no-referrer"),
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains"
            ),
            ("x-content-type-options", "nosniff"),
            ("x-dns-prefetch-control", "off"),
            ("x-download-options", "noopen"),
            ("x-frame-options", "SAMEORIGIN"),
            ("x-permitted-cross-domain-policies", "none"),
            ("x-xss-protection", "0"),
        ])
    );
}

/// OWASP REST Security Cheat Sheet values, §3.1's deny-all Permissions-Policy.
#[tokio::test]
async fn strict_api_preset_sets_the_owasp_rest_values() {
    let res = respond(SecurityHeaders::strict_api(), https(), &[]).await;
    assert_eq!(
        sorted(res.headers()),
        pairs(&[
            (
                "content-security-policy",
                "default-src 'none';frame-ancestors 'none'"
            ),
            ("cache-control", "no-store"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "same-origin"),
            (
                "permissions-policy",
                PermissionsPolicy::deny_all()
                    .header_value()
                    .to_str()
                    .unwrap()
            ),
            ("x-content-type-options", "nosniff"),
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains"
            ),
        ])
    );
}

/// §3.3 item 1: HSTS only on HTTPS.
#[tokio::test]
async fn plain_http_responses_get_no_hsts() {
    for preset in [SecurityHeaders::helmet(), SecurityHeaders::strict_api()] {
        let res = respond(preset.clone(), http(), &[]).await;
        assert!(!res.headers().contains_key(STRICT_TRANSPORT_SECURITY));
        assert!(res.headers().contains_key(CONTENT_SECURITY_POLICY));
        let req = Request::builder()
            .uri("http://example.com/")
            .body(())
            .unwrap();
        let res = respond(preset, req, &[]).await;
        assert!(!res.headers().contains_key(STRICT_TRANSPORT_SECURITY));
    }
}

/// §3.3 item 1: HTTPS known from the `Scheme` extension or an absolute URI.
#[tokio::test]
async fn https_responses_get_hsts_from_the_scheme_extension_or_an_absolute_uri() {
    let res = respond(SecurityHeaders::helmet(), https(), &[]).await;
    assert_eq!(
        res.headers()[STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
    let req = Request::builder()
        .uri("https://example.com/a?b")
        .body(())
        .unwrap();
    let res = respond(SecurityHeaders::helmet(), req, &[]).await;
    assert_eq!(
        res.headers()[STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
}

/// §3.3 item 4: the listener's (or trusted proxy's) verdict wins over a URI
/// the client wrote.
#[tokio::test]
async fn a_scheme_extension_saying_http_beats_an_https_uri() {
    let req = Request::builder()
        .uri("https://example.com/")
        .extension(Scheme::Http)
        .body(())
        .unwrap();
    let res = respond(SecurityHeaders::helmet(), req, &[]).await;
    assert!(!res.headers().contains_key(STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn hsts_follows_the_configured_policy_and_can_be_dropped() {
    let hsts = Hsts::builder()
        .max_age(std::time::Duration::from_secs(63_072_000))
        .preload(true)
        .build()
        .unwrap();
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .hsts(hsts)
        .build()
        .unwrap();
    let res = respond(headers, https(), &[]).await;
    assert_eq!(
        res.headers()[STRICT_TRANSPORT_SECURITY],
        "max-age=63072000; includeSubDomains; preload"
    );
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .without(STRICT_TRANSPORT_SECURITY)
        .build()
        .unwrap();
    let res = respond(headers, https(), &[]).await;
    assert!(!res.headers().contains_key(STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn a_header_the_handler_set_is_kept() {
    let res = respond(
        SecurityHeaders::helmet(),
        https(),
        &[
            ("x-frame-options", "ALLOWALL-ISH"),
            (
                "content-security-policy",
                "default-src 'self' https://embed.example",
            ),
            ("strict-transport-security", "max-age=0"),
        ],
    )
    .await;
    let h = res.headers();
    assert_eq!(h[X_FRAME_OPTIONS], "ALLOWALL-ISH");
    assert_eq!(h.get_all(X_FRAME_OPTIONS).iter().count(), 1);
    assert_eq!(
        h[CONTENT_SECURITY_POLICY],
        "default-src 'self' https://embed.example"
    );
    assert_eq!(h[STRICT_TRANSPORT_SECURITY], "max-age=0");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn override_existing_replaces_what_the_handler_set() {
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .override_existing(true)
        .build()
        .unwrap();
    let res = respond(
        headers,
        https(),
        &[
            ("x-frame-options", "ALLOWALL-ISH"),
            ("x-frame-options", "SECOND"),
            ("content-security-policy", "default-src *"),
            ("strict-transport-security", "max-age=0"),
        ],
    )
    .await;
    let h = res.headers();
    let xfo: Vec<_> = h.get_all(X_FRAME_OPTIONS).iter().collect();
    assert_eq!(xfo, ["SAMEORIGIN"]);
    assert_eq!(h[CONTENT_SECURITY_POLICY], HELMET_CSP);
    assert_eq!(
        h[STRICT_TRANSPORT_SECURITY],
        "max-age=31536000; includeSubDomains"
    );
}

/// §3.1 "headers to remove": `Server` and `X-Powered-By`, every value, with
/// or without `override_existing`.
#[tokio::test]
async fn server_and_x_powered_by_are_always_removed() {
    for override_existing in [false, true] {
        let headers = SecurityHeaders::strict_api()
            .into_builder()
            .override_existing(override_existing)
            .build()
            .unwrap();
        let res = respond(
            headers,
            http(),
            &[
                ("server", "nginx/1.25.3"),
                ("x-powered-by", "PHP/8.3"),
                ("x-powered-by", "Express"),
            ],
        )
        .await;
        assert!(!res.headers().contains_key(SERVER));
        assert!(!res.headers().contains_key(X_POWERED_BY));
    }
}

#[tokio::test]
async fn the_strip_list_is_configurable() {
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .strip_headers([HeaderName::from_static("x-aspnet-version")])
        .strip(HeaderName::from_static("x-generator"))
        .build()
        .unwrap();
    let res = respond(
        headers,
        http(),
        &[
            ("server", "kept"),
            ("x-aspnet-version", "4.0.30319"),
            ("x-generator", "Drupal 10"),
        ],
    )
    .await;
    assert_eq!(res.headers()[SERVER], "kept");
    assert!(!res.headers().contains_key("x-aspnet-version"));
    assert!(!res.headers().contains_key("x-generator"));
}

/// Rejections produced by inner layers (auth 401, rate limit 429, load
/// shedding 503) carry the headers too.
#[tokio::test]
async fn inner_rejections_get_the_headers_too() {
    for status in [
        StatusCode::UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::SERVICE_UNAVAILABLE,
    ] {
        let inner = service_fn(move |req: Request<()>| async move {
            Ok::<_, Infallible>(
                ErrorResponse::new(status, "refused")
                    .rejection(Rejection::new("inner", "test"))
                    .for_request(req.extensions())
                    .into_response::<String>(),
            )
        });
        let svc = SecurityHeadersLayer::strict_api().layer(inner);
        let res: Response<ResponseBody<String>> = svc.oneshot(https()).await.unwrap();
        assert_eq!(res.status(), status);
        let h = res.headers();
        assert_eq!(
            h[CONTENT_SECURITY_POLICY],
            "default-src 'none';frame-ancestors 'none'"
        );
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert!(h.contains_key(STRICT_TRANSPORT_SECURITY));
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h.get_all(CACHE_CONTROL).iter().count(), 1);
        assert_eq!(
            res.extensions().get::<Rejection>().unwrap().layer(),
            "inner"
        );
    }
}

#[tokio::test]
async fn an_inner_error_passes_through_untouched() {
    let inner = service_fn(|_: Request<()>| async { Err::<Response<()>, _>("boom") });
    let svc = SecurityHeadersLayer::helmet().layer(inner);
    assert_eq!(svc.oneshot(http()).await.unwrap_err(), "boom");
}

#[tokio::test]
async fn builder_setters_replace_preset_values() {
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .frame_options(FrameOptions::Deny)
        .referrer_policy(ReferrerPolicy::StrictOriginWhenCrossOrigin)
        .cross_origin_opener_policy(CrossOriginOpenerPolicy::SameOriginAllowPopups)
        .cross_origin_embedder_policy(CrossOriginEmbedderPolicy::RequireCorp)
        .cross_origin_resource_policy(CrossOriginResourcePolicy::CrossOrigin)
        .dns_prefetch_control(true)
        .header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
        .without(X_DOWNLOAD_OPTIONS)
        .without(ORIGIN_AGENT_CLUSTER)
        .build()
        .unwrap();
    let res = respond(headers, http(), &[]).await;
    let h = res.headers();
    assert_eq!(h[X_FRAME_OPTIONS], "DENY");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    assert_eq!(h[CROSS_ORIGIN_OPENER_POLICY], "same-origin-allow-popups");
    assert_eq!(h[CROSS_ORIGIN_EMBEDDER_POLICY], "require-corp");
    assert_eq!(h[CROSS_ORIGIN_RESOURCE_POLICY], "cross-origin");
    assert_eq!(h["x-dns-prefetch-control"], "on");
    assert_eq!(h[CACHE_CONTROL], "no-store");
    assert!(!h.contains_key(X_DOWNLOAD_OPTIONS));
    assert!(!h.contains_key(ORIGIN_AGENT_CLUSTER));
    assert_eq!(h.len(), 11);
}

#[test]
fn managed_headers_cannot_be_set_as_extras() {
    for name in [
        CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY_REPORT_ONLY,
        STRICT_TRANSPORT_SECURITY,
    ] {
        let err = SecurityHeaders::helmet()
            .into_builder()
            .header(name.clone(), HeaderValue::from_static("x"))
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::ManagedHeader { .. }), "{err}");
        assert!(err.to_string().contains(name.as_str()), "{err}");
    }
}

#[tokio::test]
async fn the_csp_can_be_dropped_or_sent_report_only() {
    let report_only = Csp::helmet()
        .into_builder()
        .report_to("csp")
        .report_only(true)
        .build()
        .unwrap();
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .without(CONTENT_SECURITY_POLICY)
        .csp(report_only)
        .reporting_endpoint("csp", "https://reports.example/csp")
        .build()
        .unwrap();
    let res = respond(headers, http(), &[]).await;
    let h = res.headers();
    assert!(!h.contains_key(CONTENT_SECURITY_POLICY));
    assert_eq!(
        h[CONTENT_SECURITY_POLICY_REPORT_ONLY],
        format!("{HELMET_CSP};report-to csp")
    );
    assert_eq!(
        h[REPORTING_ENDPOINTS],
        "csp=\"https://reports.example/csp\""
    );
}

#[tokio::test]
async fn an_enforced_and_a_report_only_policy_can_coexist() {
    let trial = Csp::strict_api()
        .into_builder()
        .report_uri(["/csp-reports"])
        .report_only(true)
        .build()
        .unwrap();
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .csp(trial)
        .build()
        .unwrap();
    let res = respond(headers, http(), &[]).await;
    assert_eq!(res.headers()[CONTENT_SECURITY_POLICY], HELMET_CSP);
    assert_eq!(
        res.headers()[CONTENT_SECURITY_POLICY_REPORT_ONLY],
        "default-src 'none';frame-ancestors 'none';report-uri /csp-reports"
    );
}

#[test]
fn reporting_endpoints_are_validated_and_joined() {
    let headers = SecurityHeaders::builder()
        .reporting_endpoint("csp", "https://r.example/csp")
        .reporting_endpoint("default", "http://localhost:8080/r")
        .build()
        .unwrap();
    let mut h = HeaderMap::new();
    headers.apply(&mut h, false, None);
    assert_eq!(
        h[REPORTING_ENDPOINTS],
        "csp=\"https://r.example/csp\", default=\"http://localhost:8080/r\""
    );
    for (name, url) in [
        ("csp", "http://r.example/csp"),
        ("csp", "http://localhost.evil.example/csp"),
        ("csp", "https://"),
        ("csp", "ftp://r.example/"),
        ("csp", "https://r.example/\"x"),
        ("Csp", "https://r.example/"),
        ("csp", "https://r.example/a b"),
        ("", "https://r.example/"),
    ] {
        let err = SecurityHeaders::builder()
            .reporting_endpoint(name, url)
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains(&url.escape_debug().to_string()),
            "{err}"
        );
    }
}

// ---- nonces ----

fn nonced(headers: SecurityHeaders) -> SecurityHeaders {
    headers.into_builder().csp_nonce(true).build().unwrap()
}

fn is_base64_nonce(s: &str) -> bool {
    s.len() == 24
        && s.ends_with("==")
        && s[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// 1,000 requests, 1,000 distinct 24-character base64 nonces, each the one in
/// its own response's policy.
#[tokio::test]
async fn every_request_gets_a_fresh_nonce_matching_its_header() {
    let layer = SecurityHeadersLayer::new(nonced(SecurityHeaders::helmet()));
    let svc = layer.layer(service_fn(|req: Request<()>| async move {
        let nonce = req.extensions().get::<CspNonce>().unwrap().to_string();
        Ok::<_, Infallible>(Response::new(nonce))
    }));
    let mut seen = HashSet::new();
    for _ in 0..1_000 {
        let res = svc.clone().oneshot(http()).await.unwrap();
        let nonce = res.body().clone();
        assert!(is_base64_nonce(&nonce), "{nonce}");
        let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(
            csp,
            HELMET_CSP
                .replace(
                    "script-src 'self';",
                    &format!("script-src 'self' 'nonce-{nonce}';")
                )
                .replace(
                    "style-src 'self' https: 'unsafe-inline';",
                    &format!("style-src 'self' https: 'unsafe-inline' 'nonce-{nonce}';")
                )
        );
        assert_eq!(csp.matches(&format!("'nonce-{nonce}'")).count(), 2);
        assert!(seen.insert(nonce));
    }
    assert_eq!(seen.len(), 1_000);
}

#[tokio::test]
async fn nonce_directives_are_configurable() {
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .csp_nonce(true)
        .csp_nonce_directives(["script-src"])
        .build()
        .unwrap();
    let res = respond(headers, http(), &[]).await;
    let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    let nonce = res.body();
    assert_eq!(csp.matches(&format!("'nonce-{nonce}'")).count(), 1);
    assert!(
        csp.contains("style-src 'self' https: 'unsafe-inline';"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_missing_nonce_directive_inherits_its_fallback_and_drops_none() {
    let res = respond(nonced(SecurityHeaders::strict_api()), http(), &[]).await;
    let nonce = res.body();
    assert_eq!(
        res.headers()[CONTENT_SECURITY_POLICY],
        format!(
            "default-src 'none';frame-ancestors 'none';script-src 'nonce-{nonce}';\
             style-src 'nonce-{nonce}'"
        )
    );

    let csp = Csp::builder()
        .default_src([Source::SELF])
        .script_src([Source::SELF, "https://cdn.example".into()])
        .build()
        .unwrap();
    let headers = SecurityHeaders::builder()
        .csp(csp)
        .csp_nonce(true)
        .csp_nonce_directives(["script-src-elem", "style-src-elem"])
        .build()
        .unwrap();
    let res = respond(headers, http(), &[]).await;
    let nonce = res.body();
    assert_eq!(
        res.headers()[CONTENT_SECURITY_POLICY],
        format!(
            "default-src 'self';script-src 'self' https://cdn.example;\
             script-src-elem 'self' https://cdn.example 'nonce-{nonce}';\
             style-src-elem 'self' 'nonce-{nonce}'"
        )
    );
}

#[tokio::test]
async fn the_report_only_policy_carries_the_same_nonce() {
    let trial = Csp::strict_api()
        .into_builder()
        .report_only(true)
        .build()
        .unwrap();
    let headers = SecurityHeaders::helmet()
        .into_builder()
        .csp(trial)
        .csp_nonce(true)
        .build()
        .unwrap();
    let res = respond(headers, http(), &[]).await;
    let nonce = format!("'nonce-{}'", res.body());
    for name in [CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY] {
        let v = res.headers()[name].to_str().unwrap();
        assert_eq!(v.matches(&nonce).count(), 2, "{v}");
    }
}

#[test]
fn nonces_need_a_policy_that_can_carry_them() {
    let err = SecurityHeaders::builder()
        .csp_nonce(true)
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::SecurityHeaders { .. }), "{err}");
    let only_images = Csp::builder().img_src([Source::SELF]).build().unwrap();
    assert!(
        SecurityHeaders::builder()
            .csp(only_images)
            .csp_nonce(true)
            .build()
            .is_err()
    );
    for bad in ["img-src", "script-src-attr", "default-src", "scirpt-src"] {
        let err = SecurityHeaders::helmet()
            .into_builder()
            .csp_nonce(true)
            .csp_nonce_directives([bad])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
    }
}

#[test]
fn apply_without_a_nonce_uses_one_nobody_knows() {
    let headers = nonced(SecurityHeaders::helmet());
    let mut a = HeaderMap::new();
    let mut b = HeaderMap::new();
    headers.apply(&mut a, false, None);
    headers.apply(&mut b, false, None);
    let a = a[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(a.contains("'nonce-"), "{a}");
    assert!(!a.contains("AAAAAAAAAAAAAAAAAAAAAAAA"), "{a}");
    assert_ne!(a, b[CONTENT_SECURITY_POLICY]);

    let given = headers.nonce_for_request().unwrap();
    let mut c = HeaderMap::new();
    headers.apply(&mut c, false, Some(&given));
    assert!(
        c[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains(&format!("script-src 'self' 'nonce-{given}'"))
    );
    assert!(SecurityHeaders::helmet().nonce_for_request().is_none());
}

#[tokio::test]
async fn nested_layers_share_the_outer_nonce() {
    let inner = SecurityHeadersLayer::new(nonced(SecurityHeaders::helmet()));
    let outer = SecurityHeadersLayer::new(
        nonced(SecurityHeaders::strict_api())
            .into_builder()
            .override_existing(true)
            .build()
            .unwrap(),
    );
    let svc = outer.layer(inner.layer(service_fn(|req: Request<()>| async move {
        let nonce = req.extensions().get::<CspNonce>().unwrap().to_string();
        Ok::<_, Infallible>(Response::new(nonce))
    })));
    let res = svc.oneshot(http()).await.unwrap();
    let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains(&format!("script-src 'nonce-{}'", res.body())),
        "{csp}"
    );
}

#[tokio::test]
async fn without_nonces_the_request_gets_no_nonce_extension() {
    let res = respond(SecurityHeaders::helmet(), http(), &[]).await;
    assert_eq!(res.body(), "");
    assert_eq!(res.headers()[CONTENT_SECURITY_POLICY], HELMET_CSP);
}

// ---- CSP validation ----

fn script_src(source: &str) -> Result<Csp, ConfigError> {
    Csp::builder().script_src([source.to_owned()]).build()
}

/// helmet 8 made unquoted keywords an error; so do we.
#[test]
fn unquoted_keywords_are_errors_that_suggest_the_quotes() {
    for bad in [
        "self",
        "none",
        "unsafe-inline",
        "unsafe-eval",
        "strict-dynamic",
        "unsafe-hashes",
        "report-sample",
        "wasm-unsafe-eval",
        "SELF",
        "nonce-abc",
        "sha256-abc",
    ] {
        let err = script_src(bad).unwrap_err();
        assert!(
            matches!(err, ConfigError::CspUnquotedKeyword { .. }),
            "{bad}: {err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{bad}`")), "{msg}");
        assert!(msg.contains(&format!("did you mean `'{bad}'`")), "{msg}");
        assert!(msg.contains("script-src"), "{msg}");
    }
}

#[test]
fn malformed_and_injecting_sources_are_errors_quoting_them() {
    for bad in [
        "'selff'",
        "'self",
        "self'",
        "''",
        "'*'",
        "'self''none'",
        "https://a.com;script-src *",
        "https://a.com, default-src *",
        "https://a.com\nX-Injected: 1",
        "https://a.com\r",
        "https://a.com\0",
        "https://a .com",
        "https://a.com\t",
        "https://exämple.com",
        "https://a.com/\u{2028}",
        "",
        "https://",
        "https://a.*.com",
        "https://ex*ample.com",
        "https://a..com",
        "https://a.com:99999",
        "https://a.com:8o",
        "https://a.com:",
        "https://a.com/path?query",
        "https://a.com/#frag",
        "https://a.com/<script>",
        "https://a.com/\"",
        "https://[::1]",
        "1http://a.com",
        "ht tp:",
        "'nonce-abcdefghijklmnopqrstuv=='",
        "'sha256-tooShort='",
        "'sha256-!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!='",
        "'sha384-x'",
        "a'b",
    ] {
        let err = script_src(bad).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("`{}`", bad.escape_debug())),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn valid_sources_are_kept_and_keywords_normalised() {
    let sha256 = Source::sha256(&[7; 32]);
    let sha384 = Source::sha384(&[7; 48]);
    let sha512 = Source::sha512(&[7; 64]);
    let csp = Csp::builder()
        .script_src([
            Source::SELF,
            "'STRICT-DYNAMIC'".into(),
            "https://cdn.example.com".into(),
            "*.example.com".into(),
            "https://*.example.com:*".into(),
            "example.com:8443/js/".into(),
            "wss:".into(),
            "HTTPS:".into(),
            "*".into(),
            "localhost:3000".into(),
            sha256.clone(),
            sha384.clone(),
            sha512.clone(),
            "'sha256-abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE='".into(),
            Source::SELF,
        ])
        .build()
        .unwrap();
    assert_eq!(
        csp.to_string(),
        format!(
            "script-src 'self' 'strict-dynamic' https://cdn.example.com *.example.com \
             https://*.example.com:* example.com:8443/js/ wss: https: * localhost:3000 \
             {sha256} {sha384} {sha512} 'sha256-abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE='"
        )
    );
    assert_eq!(sha256.as_str().len(), "'sha256-'".len() + 44);
}

#[test]
fn none_cannot_be_combined_with_other_sources() {
    let err = Csp::builder()
        .object_src([Source::NONE, Source::SELF])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("`'none'`"), "{err}");
}

#[test]
fn directive_names_are_validated() {
    for (bad, why) in [
        ("scirpt-src", "not a CSP directive"),
        ("block-all-mixed-content", "obsolete"),
        ("plugin-types", "obsolete"),
        ("script-src;", "letters, digits"),
        ("script src", "letters, digits"),
        ("", "letters, digits"),
    ] {
        let err = Csp::builder()
            .directive(bad, [Source::SELF])
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::CspDirective { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("`{bad}`")) && msg.contains(why),
            "{msg}"
        );
    }
    let csp = Csp::builder()
        .directive("Script-Src", [Source::SELF])
        .build()
        .unwrap();
    assert_eq!(csp.to_string(), "script-src 'self'");
}

#[test]
fn directives_check_their_own_value_shapes() {
    let empty = Csp::builder().script_src([] as [Source; 0]).build();
    assert!(matches!(empty, Err(ConfigError::CspDirective { .. })));
    assert!(Csp::builder().build().is_err());
    let cases: [(&str, &[&str]); 9] = [
        ("upgrade-insecure-requests", &["'self'"]),
        ("frame-ancestors", &["'unsafe-inline'"]),
        (
            "frame-ancestors",
            &["'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"],
        ),
        ("sandbox", &["allow-everything"]),
        ("report-to", &["a", "b"]),
        ("report-to", &["has/slash"]),
        ("report-uri", &["/csp<reports>"]),
        ("require-trusted-types-for", &["'style'"]),
        ("webrtc", &["'maybe'"]),
    ];
    for (name, values) in cases {
        let err = Csp::builder()
            .directive(name, values.iter().copied())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    let csp = Csp::builder()
        .default_src([Source::NONE])
        .sandbox(["allow-scripts", "allow-forms"])
        .trusted_types(["myPolicy", "'allow-duplicates'"])
        .require_trusted_types_for_script()
        .frame_ancestors(["https://parent.example"])
        .upgrade_insecure_requests(true)
        .build()
        .unwrap();
    assert_eq!(
        csp.to_string(),
        "default-src 'none';sandbox allow-scripts allow-forms;\
         trusted-types myPolicy 'allow-duplicates';require-trusted-types-for 'script';\
         frame-ancestors https://parent.example;upgrade-insecure-requests"
    );
    assert_eq!(
        csp.get("sandbox").unwrap().collect::<Vec<_>>(),
        ["allow-scripts", "allow-forms"]
    );
}

#[test]
fn setting_a_directive_again_replaces_it_in_place_and_extend_adds() {
    let csp = Csp::helmet()
        .into_builder()
        .img_src([Source::SELF])
        .extend("img-src", ["https://img.example"])
        .extend("connect-src", [Source::SELF])
        .upgrade_insecure_requests(false)
        .remove("script-src-attr")
        .build()
        .unwrap();
    assert_eq!(
        csp.to_string(),
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;\
         form-action 'self';frame-ancestors 'self';img-src 'self' https://img.example;\
         object-src 'none';script-src 'self';style-src 'self' https: 'unsafe-inline';\
         connect-src 'self'"
    );
}

#[test]
fn presets_pass_their_own_validation() {
    for preset in [Csp::helmet(), Csp::strict_api()] {
        assert_eq!(preset.clone().into_builder().build().unwrap(), preset);
    }
    assert_eq!(Csp::helmet().to_string(), HELMET_CSP);
    let pp = PermissionsPolicy::deny_all();
    assert_eq!(pp.clone().into_builder().build().unwrap(), pp);
}

/// Hundreds of hostile strings: the builder never panics, and anything it
/// accepts is one source with no separator in it.
#[test]
fn hostile_sources_never_panic_or_inject() {
    let pieces = [
        "",
        "'",
        "\"",
        ";",
        ",",
        " ",
        "\t",
        "\r\n",
        "\0",
        "\u{7f}",
        "é",
        "\u{2028}",
        "*",
        ".",
        ":",
        "//",
        "/",
        "?",
        "#",
        "%0d%0a",
        "self",
        "none",
        "nonce-",
        "sha256-",
        "https",
        "data",
        "a",
        "example.com",
        "[::1]",
        "80",
        "99999",
        "'self'",
        "unsafe-inline",
        "=",
        "\\",
        "<",
        ">",
        "`",
    ];
    let mut checked = 0;
    for a in pieces {
        for b in pieces {
            for c in ["", "x", ";default-src *", "'"] {
                let raw = format!("{a}{b}{c}");
                let outcome = std::panic::catch_unwind(|| script_src(&raw));
                let result = outcome.unwrap_or_else(|_| panic!("panicked on {raw:?}"));
                match result {
                    Ok(csp) => {
                        let value = csp.to_string();
                        let body = value.strip_prefix("script-src ").unwrap();
                        assert!(
                            !body.contains([';', ',', ' ', '\t', '\r', '\n', '\0']),
                            "{raw:?} became {value:?}"
                        );
                        assert!(HeaderValue::from_str(&value).is_ok());
                    }
                    Err(err) => {
                        assert!(
                            err.to_string().contains(&raw.escape_debug().to_string()),
                            "{raw:?}: {err}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 5_000);
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn arbitrary_sources_never_panic_or_inject(raw in "\\PC{0,40}|[ -~]{0,40}") {
            match script_src(&raw) {
                Ok(csp) => {
                    let value = csp.to_string();
                    let body = value.strip_prefix("script-src ").unwrap();
                    prop_assert!(!body.contains([';', ',', ' ']));
                    prop_assert!(HeaderValue::from_str(&value).is_ok());
                }
                Err(err) => prop_assert!(err.to_string().contains(&raw.escape_debug().to_string())),
            }
        }

        #[test]
        fn arbitrary_permissions_inputs_never_panic(name in "\\PC{0,20}", origin in "\\PC{0,40}") {
            let built = PermissionsPolicy::builder()
                .allow(name, Allowlist::origins([origin]))
                .build();
            if let Ok(p) = built {
                prop_assert!(p.header_value().to_str().is_ok());
            }
        }
    }
}

// ---- axum ----

#[cfg(feature = "axum")]
mod axum_extractor {
    use axum::Router;
    use axum::body::Body;
    use axum::response::Html;
    use axum::routing::get;
    use http_body_util::BodyExt;

    use super::*;

    async fn page(nonce: CspNonce) -> Html<String> {
        Html(format!("<script nonce=\"{nonce}\">go()</script>"))
    }

    async fn maybe(nonce: Option<CspNonce>) -> String {
        nonce.map_or_else(|| "none".to_owned(), |n| n.to_string())
    }

    fn get_req(path: &str) -> Request<Body> {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    async fn body_text(res: Response<Body>) -> String {
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_extractor_hands_the_handler_the_nonce_in_the_header() {
        let app = Router::new()
            .route("/", get(page))
            .layer(SecurityHeadersLayer::new(nonced(SecurityHeaders::helmet())));
        let res = app.oneshot(get_req("/")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let csp = res.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        let html = body_text(res).await;
        let nonce = html.split('"').nth(1).unwrap();
        assert!(is_base64_nonce(nonce), "{nonce}");
        assert!(
            csp.contains(&format!("script-src 'self' 'nonce-{nonce}'")),
            "{csp}"
        );
        assert!(
            csp.contains(&format!("'unsafe-inline' 'nonce-{nonce}'")),
            "{csp}"
        );
    }

    #[tokio::test]
    async fn without_the_layer_the_extractor_answers_500_in_the_shared_format() {
        let app = Router::new().route("/", get(page));
        let req = Request::builder()
            .uri("/")
            .header("x-request-id", "req-7")
            .extension(harden_core::RequestId::generate())
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        let rejection = *res.extensions().get::<Rejection>().unwrap();
        assert_eq!(rejection.layer(), "security-headers");
        assert_eq!(rejection.reason(), "csp-nonce-missing");
        let v: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
        assert_eq!(v["error"]["status"], 500);
        assert_eq!(v["error"]["message"], "Internal Server Error");
        assert!(v["error"]["requestId"].is_string());
    }

    #[tokio::test]
    async fn an_optional_nonce_is_none_without_the_layer() {
        let app = Router::new().route("/", get(maybe));
        assert_eq!(
            body_text(app.oneshot(get_req("/")).await.unwrap()).await,
            "none"
        );
        let app = Router::new()
            .route("/", get(maybe))
            .layer(SecurityHeadersLayer::new(nonced(SecurityHeaders::helmet())));
        let text = body_text(app.oneshot(get_req("/")).await.unwrap()).await;
        assert!(is_base64_nonce(&text), "{text}");
    }

    #[tokio::test]
    async fn axum_404s_get_the_headers_too() {
        let app = Router::new()
            .route("/", get(page))
            .layer(SecurityHeadersLayer::strict_api());
        let res = app.oneshot(get_req("/missing")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(res.headers()[X_FRAME_OPTIONS], "DENY");
    }
}

// ---- configuration ----

#[cfg(feature = "serde")]
mod config {
    use super::*;

    fn from_toml(s: &str) -> Result<SecurityHeaders, ConfigError> {
        let c: SecurityHeadersConfig = toml::from_str(s).unwrap();
        SecurityHeaders::try_from(c)
    }

    fn headers_of(h: &SecurityHeaders, https: bool) -> HeaderMap {
        let mut map = HeaderMap::new();
        h.apply(&mut map, https, None);
        map
    }

    #[test]
    fn an_empty_config_is_helmet() {
        let h = from_toml("").unwrap();
        assert_eq!(
            sorted(&headers_of(&h, true)),
            sorted(&headers_of(&SecurityHeaders::helmet(), true))
        );
        let h = from_toml("preset = \"strict_api\"").unwrap();
        assert_eq!(
            sorted(&headers_of(&h, true)),
            sorted(&headers_of(&SecurityHeaders::strict_api(), true))
        );
    }

    #[test]
    fn a_full_config_converts() {
        let h = from_toml(
            r#"
            preset = "helmet"
            override_existing = true
            frame_options = "deny"
            referrer_policy = "strict-origin-when-cross-origin"
            cross_origin_opener_policy = "same-origin-allow-popups"
            cross_origin_embedder_policy = "credentialless"
            cross_origin_resource_policy = "same-site"
            omit = ["x-download-options"]
            remove = ["x-aspnet-version"]

            [csp]
            nonce = true
            nonce_directives = ["script-src"]
            remove_directives = ["upgrade-insecure-requests"]
            directives = { script-src = ["'self'", "https://cdn.jsdelivr.net"], connect-src = ["'self'"] }

            [permissions_policy]
            deny_all = true
            features = { fullscreen = ["self"], geolocation = ["self", "https://maps.example"] }

            [hsts]
            max_age = "730d"
            preload = true

            [headers]
            cache-control = "no-store"

            [reporting_endpoints]
            csp = "https://reports.example/csp"
            "#,
        )
        .unwrap();
        assert!(h.nonce_enabled());
        let map = headers_of(&h, true);
        let csp = map[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' https://cdn.jsdelivr.net 'nonce-"),
            "{csp}"
        );
        assert!(csp.ends_with(";connect-src 'self'"), "{csp}");
        assert!(!csp.contains("upgrade-insecure-requests"), "{csp}");
        assert_eq!(csp.matches("'nonce-").count(), 1);
        assert_eq!(map[X_FRAME_OPTIONS], "DENY");
        assert_eq!(map["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(map[CROSS_ORIGIN_OPENER_POLICY], "same-origin-allow-popups");
        assert_eq!(map[CROSS_ORIGIN_EMBEDDER_POLICY], "credentialless");
        assert_eq!(map[CROSS_ORIGIN_RESOURCE_POLICY], "same-site");
        assert!(!map.contains_key(X_DOWNLOAD_OPTIONS));
        assert_eq!(map[CACHE_CONTROL], "no-store");
        assert_eq!(
            map[STRICT_TRANSPORT_SECURITY],
            "max-age=63072000; includeSubDomains; preload"
        );
        let pp = map[PERMISSIONS_POLICY].to_str().unwrap();
        assert!(pp.contains("fullscreen=(self)"), "{pp}");
        assert!(
            pp.contains("geolocation=(self \"https://maps.example\")"),
            "{pp}"
        );
        assert!(pp.contains("camera=()"), "{pp}");
        assert_eq!(
            map[REPORTING_ENDPOINTS],
            "csp=\"https://reports.example/csp\""
        );

        let mut res = HeaderMap::new();
        res.insert(SERVER, HeaderValue::from_static("kept"));
        res.insert("x-aspnet-version", HeaderValue::from_static("4.0"));
        res.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        h.apply(&mut res, false, None);
        assert_eq!(res[SERVER], "kept");
        assert!(!res.contains_key("x-aspnet-version"));
        assert_eq!(res[X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn report_only_moves_the_preset_policy() {
        let h =
            from_toml("[csp]\nreport_only = true\ndirectives = { report-uri = [\"/r\"] }").unwrap();
        let map = headers_of(&h, false);
        assert!(!map.contains_key(CONTENT_SECURITY_POLICY));
        assert_eq!(
            map[CONTENT_SECURITY_POLICY_REPORT_ONLY],
            format!("{HELMET_CSP};report-uri /r")
        );
        let h = from_toml("[csp]\nuse_preset = false\ndirectives = { default-src = [\"'none'\"] }")
            .unwrap();
        assert_eq!(
            headers_of(&h, false)[CONTENT_SECURITY_POLICY],
            "default-src 'none'"
        );
    }

    #[test]
    fn bad_values_are_errors_quoting_them() {
        for (toml, quoted) in [
            ("[csp]\ndirectives = { script-src = [\"self\"] }", "`self`"),
            (
                "[csp]\ndirectives = { scirpt-src = [\"'self'\"] }",
                "`scirpt-src`",
            ),
            (
                "[csp]\nnonce = true\nnonce_directives = [\"img-src\"]",
                "`img-src`",
            ),
            (
                "[permissions_policy]\nfeatures = { geolocaton = [] }",
                "`geolocaton`",
            ),
            (
                "[permissions_policy]\nfeatures = { camera = [\"maps.example\"] }",
                "`maps.example`",
            ),
            ("[headers]\n\"bad header\" = \"x\"", "`bad header`"),
            ("[headers]\nx-a = \"line\\nbreak\"", "`line\\nbreak`"),
            (
                "[headers]\nstrict-transport-security = \"max-age=1\"",
                "strict-transport-security",
            ),
            ("omit = [\"bad header\"]", "`bad header`"),
            ("remove = [\"bad:header\"]", "`bad:header`"),
            ("[hsts]\nmax_age = \"1d\"\npreload = true", "86400"),
        ] {
            let err = from_toml(toml).unwrap_err();
            assert!(err.to_string().contains(quoted), "{toml}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_values_are_refused_by_the_parser() {
        for bad in [
            "preset = \"express\"",
            "presets = \"helmet\"",
            "frame_options = \"allow\"",
            "referrer_policy = \"never\"",
            "[csp]\nnonces = true",
            "[permissions_policy]\ndeny = true",
            "[hsts]\nmaxage = \"1d\"",
        ] {
            assert!(
                toml::from_str::<SecurityHeadersConfig>(bad).is_err(),
                "{bad}"
            );
        }
    }
}

/// The two ways `apply` works (a copy of the precomputed map for responses
/// with few headers, one insert at a time otherwise) give the same headers:
/// the handler's values kept (all of them, in order), ours added where absent,
/// the strip list removed.
#[test]
fn both_apply_strategies_give_the_same_headers() {
    let presets = [
        SecurityHeaders::helmet(),
        SecurityHeaders::strict_api(),
        SecurityHeaders::helmet()
            .into_builder()
            .csp_nonce(true)
            .build()
            .unwrap(),
    ];
    let pool: Vec<(HeaderName, HeaderValue)> = [
        ("content-type", "text/html"),
        ("server", "hyper"),
        ("x-powered-by", "Express"),
        ("x-frame-options", "ALLOWALL"),
        ("content-security-policy", "default-src *"),
        ("cache-control", "public, max-age=60"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("vary", "accept-encoding"),
        ("strict-transport-security", "max-age=0"),
        ("x-custom", "1"),
        ("x-custom", "2"),
        ("etag", "\"v1\""),
    ]
    .iter()
    .map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)))
    .collect();
    let nonce = CspNonce::generate();
    let mut cases = 0;
    for headers in &presets {
        for start in 0..pool.len() {
            for len in [0, 1, 3, pool.len()] {
                for extra in [0usize, 30] {
                    let mut response = HeaderMap::new();
                    for (name, value) in pool.iter().cycle().skip(start).take(len) {
                        response.append(name.clone(), value.clone());
                    }
                    for i in 0..extra {
                        response.insert(
                            HeaderName::try_from(format!("x-filler-{i}")).unwrap(),
                            HeaderValue::from_static("f"),
                        );
                    }
                    for https in [false, true] {
                        let mut copied = response.clone();
                        let template = if https {
                            &headers.template_https
                        } else {
                            &headers.template_http
                        };
                        headers.apply_onto_template(template, &mut copied, Some(&nonce));
                        let mut each = response.clone();
                        headers.apply_each(&mut each, https, Some(&nonce));
                        assert_eq!(ordered(&copied), ordered(&each), "start {start} len {len}");
                        let mut auto = response.clone();
                        headers.apply(&mut auto, https, Some(&nonce));
                        assert_eq!(ordered(&auto), ordered(&each));
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 3 * 13 * 4 * 2 * 2);
}

/// Each header name with its values in order, names sorted.
fn ordered(headers: &HeaderMap) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = headers
        .keys()
        .map(|name| {
            let values = headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (name.to_string(), values)
        })
        .collect();
    out.sort();
    out
}
