//! Request ids: accept a plain incoming `x-request-id`, or make one, and carry it
//! on the request, the response and the tracing span.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

/// The default request id header, `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request id: 1 to 128 characters of `[A-Za-z0-9._-]`.
///
/// Anything else a client sends as its id is replaced, because ids end up in
/// logs, audit records and error bodies, where a CR/LF, a quote or a 10 KB value
/// would be log injection or amplification.
///
/// ```
/// use harden_core::RequestId;
/// use http::HeaderValue;
///
/// assert!(RequestId::from_header(&HeaderValue::from_static("req-42.a_b")).is_some());
/// assert!(RequestId::from_header(&HeaderValue::from_static("x y")).is_none());
/// let id = RequestId::generate();
/// assert_eq!(id.as_str().len(), 36);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// Accepts `value` if it is a plain id (`[A-Za-z0-9._-]{1,128}`).
    pub fn from_header(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let plain = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        plain.then(|| RequestId(value.clone()))
    }

    /// A fresh random id: a UUID version 4 in its hyphenated lowercase form.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut out = Vec::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push(b'-');
            }
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
        match HeaderValue::from_maybe_shared(bytes::Bytes::from(out)) {
            Ok(value) => RequestId(value),
            Err(_) => unreachable!("hex digits and hyphens are valid header bytes"),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever accepted or generated.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

fn hex_digit(n: u8) -> u8 {
    if n < 10 { b'0' + n } else { b'a' + n - 10 }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

/// Gives every request a [`RequestId`]: the incoming `x-request-id` when it is
/// plain, a new UUID v4 otherwise.
///
/// The id is written back to the request header (so the handler and any proxied
/// call see the same, safe value), inserted into the request and response
/// extensions, set on the response header, and recorded as the `request_id` field
/// of a `request` tracing span that covers the whole inner call.
///
/// ```
/// use harden_core::{RequestId, RequestIdLayer};
/// use http::{Request, Response};
/// use std::convert::Infallible;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let svc = RequestIdLayer::new().layer(service_fn(|req: Request<()>| async move {
///     let id = req.extensions().get::<RequestId>().unwrap().to_string();
///     Ok::<_, Infallible>(Response::new(id))
/// }));
/// let req = Request::builder().header("x-request-id", "abc forged").body(())?;
/// let res = svc.oneshot(req).await?;
/// assert_ne!(res.body(), "abc forged");
/// assert_eq!(res.headers()["x-request-id"], res.body().as_str());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RequestIdLayer {
    header: HeaderName,
    accept_incoming: bool,
}

impl Default for RequestIdLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestIdLayer {
    /// Use `x-request-id`, accepting plain incoming ids.
    pub fn new() -> Self {
        RequestIdLayer {
            header: X_REQUEST_ID,
            accept_incoming: true,
        }
    }

    /// Use another header (`x-correlation-id`, …).
    #[must_use]
    pub fn header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }

    /// Always generate, ignoring any incoming id: for services reachable without
    /// a proxy that sets the header itself.
    #[must_use]
    pub fn ignore_incoming(mut self) -> Self {
        self.accept_incoming = false;
        self
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service produced by [`RequestIdLayer`].
#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
    layer: RequestIdLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestIdService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let incoming = if self.layer.accept_incoming {
            req.headers()
                .get(&self.layer.header)
                .and_then(RequestId::from_header)
        } else {
            None
        };
        let id = incoming.unwrap_or_else(RequestId::generate);
        req.headers_mut()
            .insert(self.layer.header.clone(), id.0.clone());
        req.extensions_mut().insert(id.clone());
        let span = tracing::info_span!("request", request_id = id.as_str());
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            span,
            id: Some(id),
            header: self.layer.header.clone(),
        }
    }
}

pin_project! {
    /// The response future of [`RequestIdService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        id: Option<RequestId>,
        header: HeaderName,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))
        };
        let mut res = result?;
        if let Some(id) = this.id.take() {
            res.headers_mut().insert(this.header.clone(), id.0.clone());
            res.extensions_mut().insert(id);
        }
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use tower::{ServiceExt, service_fn};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id};
    use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

    use super::*;

    fn echo() -> RequestIdService<
        impl Service<
            Request<()>,
            Response = Response<String>,
            Error = Infallible,
            Future = impl Future<Output = Result<Response<String>, Infallible>>,
        > + Clone,
    > {
        RequestIdLayer::new().layer(service_fn(|req: Request<()>| async move {
            let ext = req.extensions().get::<RequestId>().unwrap().to_string();
            let hdr = req.headers()["x-request-id"].to_str().unwrap().to_owned();
            assert_eq!(ext, hdr, "the handler sees one id");
            Ok::<_, Infallible>(Response::new(ext))
        }))
    }

    async fn id_for(incoming: Option<&[u8]>) -> (String, String) {
        let mut req = Request::new(());
        if let Some(v) = incoming {
            req.headers_mut()
                .insert("x-request-id", HeaderValue::from_bytes(v).unwrap());
        }
        let res = echo().oneshot(req).await.unwrap();
        let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(
            res.extensions().get::<RequestId>().unwrap().as_str(),
            header
        );
        (res.into_body(), header)
    }

    fn is_uuid_v4(s: &str) -> bool {
        let b = s.as_bytes();
        s.len() == 36
            && b[8] == b'-'
            && b[13] == b'-'
            && b[18] == b'-'
            && b[23] == b'-'
            && b[14] == b'4'
            && matches!(b[19], b'8' | b'9' | b'a' | b'b')
            && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    }

    #[tokio::test]
    async fn plain_incoming_id_is_kept() {
        let (seen, header) = id_for(Some(b"Req-42.abc_DEF")).await;
        assert_eq!(seen, "Req-42.abc_DEF");
        assert_eq!(header, "Req-42.abc_DEF");
        let max = "a".repeat(128);
        assert_eq!(id_for(Some(max.as_bytes())).await.0, max);
    }

    #[tokio::test]
    async fn missing_id_is_generated_as_uuid_v4() {
        let (seen, header) = id_for(None).await;
        assert!(is_uuid_v4(&seen), "{seen}");
        assert_eq!(seen, header);
    }

    #[tokio::test]
    async fn hostile_incoming_ids_are_replaced() {
        let long = "a".repeat(129);
        let mut hostile: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b" ".to_vec(),
            b"a b".to_vec(),
            b"a\tb".to_vec(),
            b"\"quoted\"".to_vec(),
            b"id;drop".to_vec(),
            b"<script>".to_vec(),
            b"a/b".to_vec(),
            b"%0d%0a".to_vec(),
            b"\xff\xfe".to_vec(),
            "caf\u{e9}".as_bytes().to_vec(),
            b"{\"json\":1}".to_vec(),
            b"a,b".to_vec(),
            b"${jndi:ldap://x}".to_vec(),
            long.into_bytes(),
        ];
        for b in 0x21u8..0x7f {
            if !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
                hostile.push(vec![b'x', b]);
                hostile.push(vec![b]);
            }
        }
        for n in [200, 1000, 8000] {
            hostile.push(vec![b'-'; n]);
        }
        for value in hostile {
            if HeaderValue::from_bytes(&value).is_err() {
                continue;
            }
            let (seen, _) = id_for(Some(&value)).await;
            assert!(is_uuid_v4(&seen), "{value:?} gave {seen}");
        }
    }

    #[tokio::test]
    async fn ignore_incoming_always_generates() {
        let svc = RequestIdLayer::new().ignore_incoming().layer(service_fn(
            |req: Request<()>| async move {
                Ok::<_, Infallible>(Response::new(
                    req.extensions().get::<RequestId>().unwrap().to_string(),
                ))
            },
        ));
        let req = Request::builder()
            .header("x-request-id", "plain")
            .body(())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        assert!(is_uuid_v4(res.body()));
    }

    #[tokio::test]
    async fn custom_header_name_is_used() {
        let svc = RequestIdLayer::new()
            .header(HeaderName::from_static("x-correlation-id"))
            .layer(service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(()))
            }));
        let req = Request::builder()
            .header("x-correlation-id", "corr-1")
            .body(())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        assert_eq!(res.headers()["x-correlation-id"], "corr-1");
        assert!(res.headers().get("x-request-id").is_none());
    }

    #[test]
    fn generated_ids_are_distinct() {
        let ids: std::collections::HashSet<_> = (0..10_000)
            .map(|_| RequestId::generate().to_string())
            .collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<(String, String)>>>);

    struct FieldVisitor<'a>(&'a mut Vec<(String, String)>);

    impl Visit for FieldVisitor<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_owned(), value.to_owned()));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorded {
        fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: LayerContext<'_, S>) {
            let mut fields = Vec::new();
            attrs.record(&mut FieldVisitor(&mut fields));
            let mut all = self.0.lock().unwrap();
            for (k, v) in fields {
                all.push((format!("{}.{k}", attrs.metadata().name()), v));
            }
        }
    }

    #[tokio::test]
    async fn request_id_is_recorded_in_the_span() {
        let recorded = Recorded::default();
        let subscriber = tracing_subscriber::registry().with(recorded.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let (seen, _) = id_for(Some(b"span-me")).await;
        assert_eq!(seen, "span-me");
        let fields = recorded.0.lock().unwrap().clone();
        assert!(
            fields.contains(&("request.request_id".to_owned(), "span-me".to_owned())),
            "{fields:?}"
        );
    }
}
