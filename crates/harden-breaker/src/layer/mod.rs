//! The tower face: [`BreakerLayer`] around a handler, a router, or an HTTP
//! client service.
//!
//! - **Open** (or half-open with every trial taken, or forced open, or the
//!   bulkhead full): the inner service is not called. The answer is `503` in
//!   the shared error format with `Retry-After` (the open time left, rounded
//!   up to whole seconds; 1 s when half-open or the bulkhead is full; none
//!   when forced open) and a [`Rejection`] `breaker: open` (`half-open-full`,
//!   `forced-open`, `bulkhead-full`); or the [`Fallback`]'s response, marked
//!   `Cache-Control: no-store` unless [`fallback_cacheable`](BreakerLayer::fallback_cacheable).
//! - **Closed / half-open**: the inner response passes through untouched; its
//!   status decides the outcome ([`ServerErrorsFail`] by default: 5xx and
//!   inner errors count, 4xx do not).
//! - **Timeout**: the inner future is dropped, the call counts once as a
//!   timeout, and the answer is `504` with a `breaker: timeout` rejection.
//! - **Cancellation**: when the server drops the response future (the client
//!   hung up, an outer timeout fired), the permit is given back and the call
//!   counts as cancelled. A panic in the inner service counts as a failure.
//!
//! ```
//! use harden_breaker::{Breaker, RejectReason};
//! use harden_core::Rejection;
//! use http::{Request, Response, StatusCode};
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let breaker = Breaker::builder("inventory")
//!     .minimum_calls(2)
//!     .timeout(Duration::from_secs(3))
//!     .build()?;
//! let svc = breaker.layer().layer(service_fn(|_req: Request<()>| async {
//!     let mut res = Response::new(String::from("upstream down"));
//!     *res.status_mut() = StatusCode::BAD_GATEWAY;
//!     Ok::<_, Infallible>(res)
//! }));
//!
//! for _ in 0..2 {
//!     let res = svc.clone().oneshot(Request::new(())).await?;
//!     assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
//! }
//! // Two failures out of two: open, and the handler is no longer called.
//! let res = svc.oneshot(Request::new(())).await?;
//! assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
//! assert_eq!(res.headers()["retry-after"], "30");
//! assert_eq!(res.extensions().get::<Rejection>().unwrap().reason(), "open");
//! # Ok(())
//! # }
//! ```
//!
//! # Caveats
//!
//! - The outcome is decided when the response head arrives; an error while
//!   streaming the body is not seen by the breaker.
//! - The tower layer decides in `call`; `poll_ready` is the inner service's.
//!   A request rejected after the inner service reported ready leaves that
//!   readiness to the next request on the same service clone.

mod future;
mod policy;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use harden_core::{ErrorFormat, ErrorResponse, Rejection, RequestId, ResponseBody};
use http::header::{CACHE_CONTROL, RETRY_AFTER};
use http::{HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use self::future::OnTimeout;
pub use self::future::ResponseFuture;
pub use self::policy::{ByKey, ClassifyResponse, Fallback, PickBreaker, ServerErrorsFail};
use crate::breaker::Breaker;
use crate::machine::{RejectReason, Rejected};
use crate::registry::BreakerRegistry;

/// The layer name in every [`Rejection`] this module records.
pub(crate) const LAYER: &str = "breaker";

/// Guards a tower service with a breaker: see the [module docs](self).
pub struct BreakerLayer<P = Breaker, C = ServerErrorsFail> {
    pick: P,
    classify: C,
    fallback: Option<Arc<dyn Fallback>>,
    fallback_cacheable: bool,
}

impl BreakerLayer {
    /// A layer guarding every request with `breaker`.
    pub fn new(breaker: Breaker) -> Self {
        BreakerLayer {
            pick: breaker,
            classify: ServerErrorsFail,
            fallback: None,
            fallback_cacheable: false,
        }
    }
}

impl<K, F> BreakerLayer<ByKey<K, F>> {
    /// A layer guarding each request with the breaker of its key, as `key`
    /// reads it from the request (the upstream host, the route template); a
    /// request for which `key` returns `None` passes unguarded.
    ///
    /// ```
    /// use harden_breaker::{Breaker, BreakerLayer, BreakerRegistry};
    /// use http::Request;
    /// use std::time::Duration;
    ///
    /// let registry: BreakerRegistry<String> =
    ///     BreakerRegistry::new(Breaker::builder("route"), 64, Duration::from_secs(600))?;
    /// let layer = BreakerLayer::keyed(registry, |req: &Request<()>| {
    ///     req.uri().path().split('/').nth(1).map(str::to_owned)
    /// });
    /// # let _ = layer;
    /// # Ok::<(), harden_breaker::ConfigError>(())
    /// ```
    pub fn keyed(registry: BreakerRegistry<K>, key: F) -> Self {
        BreakerLayer {
            pick: ByKey::new(registry, key),
            classify: ServerErrorsFail,
            fallback: None,
            fallback_cacheable: false,
        }
    }
}

impl<P, C> BreakerLayer<P, C> {
    /// Decides what a response counts as with `classify` instead of
    /// [`ServerErrorsFail`].
    pub fn classify<C2: ClassifyResponse>(self, classify: C2) -> BreakerLayer<P, C2> {
        BreakerLayer {
            pick: self.pick,
            classify,
            fallback: self.fallback,
            fallback_cacheable: self.fallback_cacheable,
        }
    }

    /// Answers rejected requests with `fallback`'s response when it gives one.
    /// The response gets `Cache-Control: no-store` (a cache must not keep a
    /// degraded answer past the outage) and the [`Rejection`].
    pub fn fallback(mut self, fallback: impl Fallback) -> Self {
        self.fallback = Some(Arc::new(fallback));
        self
    }

    /// Keeps the fallback's own `Cache-Control` instead of `no-store`.
    pub fn fallback_cacheable(mut self) -> Self {
        self.fallback_cacheable = true;
        self
    }
}

impl<P: Clone, C: Clone> Clone for BreakerLayer<P, C> {
    fn clone(&self) -> Self {
        BreakerLayer {
            pick: self.pick.clone(),
            classify: self.classify.clone(),
            fallback: self.fallback.clone(),
            fallback_cacheable: self.fallback_cacheable,
        }
    }
}

impl<P: fmt::Debug, C: fmt::Debug> fmt::Debug for BreakerLayer<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerLayer")
            .field("pick", &self.pick)
            .field("classify", &self.classify)
            .field("fallback", &self.fallback.is_some())
            .field("fallback_cacheable", &self.fallback_cacheable)
            .finish()
    }
}

impl<S, P: Clone, C: Clone> Layer<S> for BreakerLayer<P, C> {
    type Service = BreakerService<S, P, C>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            layer: self.clone(),
        }
    }
}

impl Breaker {
    /// A [`BreakerLayer`] guarding every request with this breaker.
    pub fn layer(&self) -> BreakerLayer {
        BreakerLayer::new(self.clone())
    }
}

/// The service produced by [`BreakerLayer`].
pub struct BreakerService<S, P = Breaker, C = ServerErrorsFail> {
    inner: S,
    layer: BreakerLayer<P, C>,
}

impl<S: Clone, P: Clone, C: Clone> Clone for BreakerService<S, P, C> {
    fn clone(&self) -> Self {
        BreakerService {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, P: fmt::Debug, C: fmt::Debug> fmt::Debug for BreakerService<S, P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S, P, C> BreakerService<S, P, C> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, P, C, ReqBody, ResBody> Service<Request<ReqBody>> for BreakerService<S, P, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: PickBreaker<ReqBody>,
    C: ClassifyResponse,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(breaker) = self.layer.pick.pick(&req) else {
            return ResponseFuture::unguarded(self.inner.call(req));
        };
        let limit = breaker.timeout();
        match breaker.acquire_owned() {
            Ok(mut permit) => {
                let timeout = limit.map(|limit| OnTimeout {
                    limit,
                    request_id: req.extensions().get::<RequestId>().cloned(),
                    format: req.extensions().get::<ErrorFormat>().copied(),
                });
                permit.polling = true;
                let future = self.inner.call(req);
                permit.polling = false;
                ResponseFuture::guarded(future, permit, self.layer.classify.clone(), timeout)
            }
            Err(rejected) => ResponseFuture::answer(self.reject(req, &rejected)),
        }
    }
}

impl<S, P, C> BreakerService<S, P, C> {
    fn reject<ReqBody, B>(
        &self,
        req: Request<ReqBody>,
        rejected: &Rejected,
    ) -> Response<ResponseBody<B>> {
        let (parts, _body) = req.into_parts();
        let rejection = Rejection::new(LAYER, rejected.reason().as_str());
        if let Some(res) = self
            .layer
            .fallback
            .as_ref()
            .and_then(|f| f.fallback(&parts, rejected))
        {
            let mut res = res.map(ResponseBody::full);
            if !self.layer.fallback_cacheable {
                res.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            res.extensions_mut().insert(rejection);
            return res;
        }
        let mut e = ErrorResponse::new(StatusCode::SERVICE_UNAVAILABLE, "")
            .rejection(rejection)
            .for_request(&parts.extensions);
        if let Some(secs) = retry_after_secs(rejected) {
            e = e.header(RETRY_AFTER, HeaderValue::from(secs));
        }
        e.into_response()
    }
}

/// The `Retry-After` of a rejection, in whole seconds rounded up.
fn retry_after_secs(rejected: &Rejected) -> Option<u64> {
    match rejected.reason() {
        RejectReason::ForcedOpen => None,
        RejectReason::Open => {
            let left = rejected.retry_after().unwrap_or(Duration::ZERO);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            Some(secs.max(1))
        }
        _ => Some(1),
    }
}

#[cfg(test)]
mod tests;
