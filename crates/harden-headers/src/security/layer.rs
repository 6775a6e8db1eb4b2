//! `SecurityHeadersLayer`: [`SecurityHeaders`] on every response of a tower
//! service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use harden_core::ip::Scheme;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::headers::SecurityHeaders;
use super::nonce::CspNonce;

/// Applies [`SecurityHeaders`] to every response of the inner service,
/// including error responses the inner layers produced themselves (401, 429,
/// 503, …).
///
/// Per request it decides whether the request came over HTTPS (for HSTS) with
/// [`Scheme::of`], and, with nonces on, puts a fresh [`CspNonce`] in the
/// request extensions (or reuses one an outer layer put there).
///
/// Behind a TLS-terminating proxy, put
/// [`ClientIpLayer`](harden_core::ip::ClientIpLayer) **outside** this layer:
/// it turns the trusted proxy's `X-Forwarded-Proto: https` into the
/// [`Scheme`] extension read here. Without it HSTS is never sent there.
///
/// Clones share one precomputed [`SecurityHeaders`].
#[derive(Clone, Debug)]
pub struct SecurityHeadersLayer {
    headers: Arc<SecurityHeaders>,
}

impl SecurityHeadersLayer {
    /// Serves `headers`.
    pub fn new(headers: SecurityHeaders) -> Self {
        SecurityHeadersLayer {
            headers: Arc::new(headers),
        }
    }

    /// [`SecurityHeaders::helmet`].
    pub fn helmet() -> Self {
        Self::new(SecurityHeaders::helmet())
    }

    /// [`SecurityHeaders::strict_api`].
    pub fn strict_api() -> Self {
        Self::new(SecurityHeaders::strict_api())
    }

    /// The headers served.
    pub fn headers(&self) -> &SecurityHeaders {
        &self.headers
    }
}

impl From<SecurityHeaders> for SecurityHeadersLayer {
    fn from(headers: SecurityHeaders) -> Self {
        Self::new(headers)
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeadersService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeadersService {
            inner,
            headers: Arc::clone(&self.headers),
        }
    }
}

/// The service produced by [`SecurityHeadersLayer`].
#[derive(Clone, Debug)]
pub struct SecurityHeadersService<S> {
    inner: S,
    headers: Arc<SecurityHeaders>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityHeadersService<S>
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
        let is_https = Scheme::of(req.uri(), req.extensions()) == Scheme::Https;
        let nonce = if self.headers.nonce_enabled() {
            let nonce = match req.extensions().get::<CspNonce>() {
                Some(outer) => *outer,
                None => CspNonce::generate(),
            };
            req.extensions_mut().insert(nonce);
            Some(nonce)
        } else {
            None
        };
        ResponseFuture {
            inner: self.inner.call(req),
            headers: Arc::clone(&self.headers),
            is_https,
            nonce,
        }
    }
}

pin_project! {
    /// The response future of [`SecurityHeadersService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        headers: Arc<SecurityHeaders>,
        is_https: bool,
        nonce: Option<CspNonce>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("is_https", &self.is_https)
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
        let mut res = ready!(this.inner.poll(cx))?;
        this.headers
            .apply(res.headers_mut(), *this.is_https, this.nonce.as_ref());
        Poll::Ready(Ok(res))
    }
}
