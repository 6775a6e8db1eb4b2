//! The one error format every harden layer answers with.
//!
//! By default the playbook's shape (section 5.1):
//!
//! ```json
//! {"error":{"message":"Forbidden origin","status":403,"timestamp":"2025-01-19T08:30:00.123Z","requestId":"5f1c…"}}
//! ```
//!
//! or, with [`ErrorFormat::Problem`], RFC 9457 `application/problem+json`:
//!
//! ```json
//! {"type":"about:blank","title":"Forbidden","status":403,"detail":"Forbidden origin","timestamp":"…","requestId":"5f1c…"}
//! ```
//!
//! A 5xx never carries the message it was built with: it says only the status's
//! reason phrase, so internal details cannot leak. Every error response is marked
//! `Cache-Control: no-store` (a cached 4xx is a denial of service for everyone
//! behind the cache).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::rejection::Rejection;
use crate::request_id::RequestId;
use crate::time::Timestamp;

/// Which document an error response carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ErrorFormat {
    /// `{"error":{"message","status","timestamp","requestId"}}` as
    /// `application/json`: the playbook's global error handler.
    #[default]
    Playbook,
    /// RFC 9457 problem details, `application/problem+json`.
    Problem,
}

/// An error response in the shared format, built by a layer that refuses a request.
///
/// ```
/// use harden_core::{ErrorResponse, Rejection};
/// use http::StatusCode;
///
/// let res = ErrorResponse::new(StatusCode::FORBIDDEN, "Origin not allowed")
///     .rejection(Rejection::new("cors", "origin-not-allowed"))
///     .into_response::<String>();
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// assert_eq!(res.headers()["content-type"], "application/json");
/// assert_eq!(res.extensions().get::<Rejection>().unwrap().layer(), "cors");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ErrorResponse {
    status: StatusCode,
    message: Cow<'static, str>,
    format: ErrorFormat,
    request_id: Option<RequestId>,
    rejection: Option<Rejection>,
    problem_type: Option<&'static str>,
    headers: HeaderMap,
}

impl ErrorResponse {
    /// An error with this status and client-facing message. For a 5xx status the
    /// message is replaced by the reason phrase.
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        let message = if status.is_server_error() {
            Cow::Borrowed(status.canonical_reason().unwrap_or("Server Error"))
        } else {
            message.into()
        };
        ErrorResponse {
            status,
            message,
            format: ErrorFormat::default(),
            request_id: None,
            rejection: None,
            problem_type: None,
            headers: HeaderMap::new(),
        }
    }

    /// Takes the [`RequestId`] and [`ErrorFormat`] from the request's extensions,
    /// where [`RequestIdLayer`](crate::RequestIdLayer) and
    /// [`ErrorFormatLayer`] put them.
    pub fn for_request(mut self, extensions: &Extensions) -> Self {
        if let Some(id) = extensions.get::<RequestId>() {
            self.request_id = Some(id.clone());
        }
        if let Some(format) = extensions.get::<ErrorFormat>() {
            self.format = *format;
        }
        self
    }

    /// Sets the document format.
    pub fn format(mut self, format: ErrorFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets the request id reported in the body.
    pub fn request_id(mut self, id: RequestId) -> Self {
        self.request_id = Some(id);
        self
    }

    /// Records which layer refused the request and why; the [`Rejection`] is put
    /// in the response extensions for audit, metrics and logs.
    pub fn rejection(mut self, rejection: Rejection) -> Self {
        self.rejection = Some(rejection);
        self
    }

    /// The RFC 9457 `type` URI (default `about:blank`); only the problem format
    /// shows it.
    pub fn problem_type(mut self, uri: &'static str) -> Self {
        self.problem_type = Some(uri);
        self
    }

    /// Adds a response header (`WWW-Authenticate`, `Retry-After`, …).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The client-facing message (the reason phrase for a 5xx).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `Content-Type` of the document.
    pub fn content_type(&self) -> HeaderValue {
        match self.format {
            ErrorFormat::Playbook => HeaderValue::from_static("application/json"),
            ErrorFormat::Problem => HeaderValue::from_static("application/problem+json"),
        }
    }

    /// The JSON document, for adapters that build their own response type.
    pub fn body_bytes(&self) -> Bytes {
        let timestamp = Timestamp::now();
        let mut out = String::with_capacity(160 + self.message.len());
        match self.format {
            ErrorFormat::Playbook => {
                out.push_str("{\"error\":{\"message\":");
                push_json_string(&mut out, &self.message);
                let _ = write!(
                    out,
                    ",\"status\":{},\"timestamp\":\"{timestamp}\"",
                    self.status.as_u16()
                );
                if let Some(id) = &self.request_id {
                    out.push_str(",\"requestId\":");
                    push_json_string(&mut out, id.as_str());
                }
                out.push_str("}}");
            }
            ErrorFormat::Problem => {
                out.push_str("{\"type\":");
                push_json_string(&mut out, self.problem_type.unwrap_or("about:blank"));
                out.push_str(",\"title\":");
                push_json_string(
                    &mut out,
                    self.status.canonical_reason().unwrap_or("Unknown Status"),
                );
                let _ = write!(out, ",\"status\":{}", self.status.as_u16());
                if !self.status.is_server_error() {
                    out.push_str(",\"detail\":");
                    push_json_string(&mut out, &self.message);
                }
                let _ = write!(out, ",\"timestamp\":\"{timestamp}\"");
                if let Some(id) = &self.request_id {
                    out.push_str(",\"requestId\":");
                    push_json_string(&mut out, id.as_str());
                }
                out.push('}');
            }
        }
        Bytes::from(out)
    }

    /// The complete response, with the body type of the layer's inner service.
    pub fn into_response<B>(self) -> Response<ResponseBody<B>> {
        let body = self.body_bytes();
        let mut res = Response::new(ResponseBody::full(body));
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, self.content_type());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if let Some(rejection) = self.rejection {
            res.extensions_mut().insert(rejection);
        }
        res
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Sets the [`ErrorFormat`] every harden layer inside it answers with, by putting
/// it in the request extensions.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorFormatLayer {
    format: ErrorFormat,
}

impl ErrorFormatLayer {
    /// Layers inside answer errors in `format`.
    pub fn new(format: ErrorFormat) -> Self {
        ErrorFormatLayer { format }
    }
}

impl<S> Layer<S> for ErrorFormatLayer {
    type Service = ErrorFormatService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ErrorFormatService {
            inner,
            format: self.format,
        }
    }
}

/// The service produced by [`ErrorFormatLayer`].
#[derive(Clone, Debug)]
pub struct ErrorFormatService<S> {
    inner: S,
    format: ErrorFormat,
}

impl<S, B> Service<Request<B>> for ErrorFormatService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.format);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(res: &Response<ResponseBody<String>>, body: &Bytes) -> serde_json::Value {
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn playbook_format_has_message_status_timestamp_and_request_id() {
        let e = ErrorResponse::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
            .request_id(RequestId::from_header(&HeaderValue::from_static("abc-123")).unwrap());
        let body = e.body_bytes();
        let res = e.into_response();
        let v = json(&res, &body);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(v["error"]["message"], "Too many requests");
        assert_eq!(v["error"]["status"], 429);
        assert_eq!(v["error"]["requestId"], "abc-123");
        let ts = v["error"]["timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), 24);
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn request_id_is_omitted_when_unknown() {
        let body = ErrorResponse::new(StatusCode::FORBIDDEN, "no").body_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v["error"].get("requestId").is_none());
    }

    #[test]
    fn problem_format_follows_rfc_9457() {
        let e = ErrorResponse::new(StatusCode::FORBIDDEN, "Origin not allowed")
            .format(ErrorFormat::Problem)
            .problem_type("https://harden.rs/problems/cors");
        let body = e.body_bytes();
        let res = e.into_response();
        let v = json(&res, &body);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
        assert_eq!(v["type"], "https://harden.rs/problems/cors");
        assert_eq!(v["title"], "Forbidden");
        assert_eq!(v["status"], 403);
        assert_eq!(v["detail"], "Origin not allowed");
    }

    #[test]
    fn server_errors_never_carry_the_internal_message() {
        for format in [ErrorFormat::Playbook, ErrorFormat::Problem] {
            let e = ErrorResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "db password=hunter2 at 10.0.0.5",
            )
            .format(format);
            assert_eq!(e.message(), "Internal Server Error");
            let body = String::from_utf8(e.body_bytes().to_vec()).unwrap();
            assert!(!body.contains("hunter2"), "{body}");
            assert!(body.contains("Internal Server Error"), "{body}");
        }
    }

    #[test]
    fn messages_are_escaped_into_valid_json() {
        let nasty = "a\"b\\c\nd\re\u{0}f\u{1f}g\u{2028}h</script>";
        let body = ErrorResponse::new(StatusCode::BAD_REQUEST, nasty).body_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["message"], nasty);
        assert!(!body.contains(&b'\n'));
    }

    #[test]
    fn for_request_reads_format_and_request_id_from_extensions() {
        let mut ext = Extensions::new();
        ext.insert(ErrorFormat::Problem);
        ext.insert(RequestId::from_header(&HeaderValue::from_static("r-1")).unwrap());
        let e = ErrorResponse::new(StatusCode::UNAUTHORIZED, "no").for_request(&ext);
        let v: serde_json::Value = serde_json::from_slice(&e.body_bytes()).unwrap();
        assert_eq!(v["requestId"], "r-1");
        assert_eq!(v["status"], 401);
    }

    #[test]
    fn extra_headers_and_rejection_reach_the_response() {
        let res = ErrorResponse::new(StatusCode::SERVICE_UNAVAILABLE, "x")
            .header(http::header::RETRY_AFTER, HeaderValue::from_static("3"))
            .rejection(Rejection::new("breaker", "open"))
            .into_response::<String>();
        assert_eq!(res.headers()[http::header::RETRY_AFTER], "3");
        let r = res.extensions().get::<Rejection>().unwrap();
        assert_eq!((r.layer(), r.reason()), ("breaker", "open"));
    }
}
