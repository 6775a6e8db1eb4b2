//! The tower adapter: `CorsLayer`, `CorsService` and its `ResponseFuture`.

use std::task::{Context, Poll};

use harden_core::ResponseBody;
use harden_core::future::OnResponse;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::builder::Cors;
use super::decision::{CorsAction, CorsDecision};

/// Applies a [`Cors`] policy to every request: answers preflights itself,
/// writes the CORS headers onto every response of the inner service (errors
/// from inner layers included), and, with
/// [`reject_disallowed`](super::CorsBuilder::reject_disallowed), refuses
/// disallowed requests with 403.
///
/// Put it outside authentication, rate limiting and load shedding, so that
/// preflights are answered before them and their 401, 429 and 503 carry CORS
/// headers.
#[derive(Clone, Debug)]
pub struct CorsLayer {
    cors: Cors,
}

impl CorsLayer {
    /// A layer applying `cors`.
    pub fn new(cors: Cors) -> Self {
        CorsLayer { cors }
    }
}

impl From<Cors> for CorsLayer {
    fn from(cors: Cors) -> Self {
        CorsLayer::new(cors)
    }
}

impl Cors {
    /// A [`CorsLayer`] applying this policy.
    pub fn layer(&self) -> CorsLayer {
        CorsLayer::new(self.clone())
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service produced by [`CorsLayer`].
#[derive(Clone, Debug)]
pub struct CorsService<S> {
    inner: S,
    cors: Cors,
}

impl<S> CorsService<S> {
    /// Wraps `inner` with `cors`.
    pub fn new(inner: S, cors: Cors) -> Self {
        CorsService { inner, cors }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CorsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let decision = self.cors.check_request(&req);
        match decision.action() {
            CorsAction::Forward => ResponseFuture::inner(self.inner.call(req), decision),
            CorsAction::Preflight => {
                let mut response = Response::new(ResponseBody::empty());
                *response.status_mut() = StatusCode::NO_CONTENT;
                *response.headers_mut() = decision.preflight_headers();
                ResponseFuture::answer(response)
            }
            CorsAction::Reject(denial) => {
                let mut response = denial
                    .error_response()
                    .for_request(req.extensions())
                    .into_response();
                decision.apply(response.headers_mut());
                ResponseFuture::answer(response)
            }
        }
    }
}

/// The response future of [`CorsService`]: the preflight answer or refusal,
/// or the inner response with the CORS headers applied.
pub type ResponseFuture<F, B> = harden_core::future::ResponseFuture<F, B, CorsDecision>;

impl<B> OnResponse<B> for CorsDecision {
    fn on_response(self, response: &mut Response<B>) {
        self.apply(response.headers_mut());
    }
}
