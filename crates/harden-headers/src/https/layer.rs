//! The tower adapter: [`HttpsRedirectLayer`], [`HttpsRedirectService`] and
//! their [`ResponseFuture`].

use std::task::{Context, Poll};

use harden_core::ResponseBody;
use harden_core::future::OnResponse;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{Decision, HttpsRedirect};
use crate::hsts::Hsts;

/// Applies an [`HttpsRedirect`] policy: redirects or refuses plain-HTTP
/// requests, and adds HSTS to HTTPS responses.
///
/// Clones share one policy.
#[derive(Clone, Debug)]
pub struct HttpsRedirectLayer {
    redirect: HttpsRedirect,
}

impl HttpsRedirectLayer {
    /// A layer enforcing `redirect`.
    pub fn new(redirect: HttpsRedirect) -> Self {
        HttpsRedirectLayer { redirect }
    }
}

impl<S> Layer<S> for HttpsRedirectLayer {
    type Service = HttpsRedirectService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpsRedirectService {
            inner,
            redirect: self.redirect.clone(),
        }
    }
}

/// The service produced by [`HttpsRedirectLayer`].
#[derive(Clone, Debug)]
pub struct HttpsRedirectService<S> {
    inner: S,
    redirect: HttpsRedirect,
}

impl<S> HttpsRedirectService<S> {
    /// Wraps `inner` with `redirect`.
    pub fn new(inner: S, redirect: HttpsRedirect) -> Self {
        HttpsRedirectService { inner, redirect }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpsRedirectService<S>
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
        let decision =
            self.redirect
                .decide(req.method(), req.uri(), req.headers(), req.extensions());
        match decision {
            Decision::Pass { add_hsts } => ResponseFuture::inner(
                self.inner.call(req),
                self.redirect.hsts().filter(|_| add_hsts).cloned(),
            ),
            Decision::Redirect(location) => ResponseFuture::answer(location.into_response()),
            Decision::Refuse(refusal) => ResponseFuture::answer(
                refusal
                    .error_response()
                    .for_request(req.extensions())
                    .into_response(),
            ),
        }
    }
}

/// The response future of [`HttpsRedirectService`]: the redirect or refusal,
/// or the inner response with HSTS added.
pub type ResponseFuture<F, B> = harden_core::future::ResponseFuture<F, B, Option<Hsts>>;

impl<B> OnResponse<B> for Hsts {
    fn on_response(self, response: &mut Response<B>) {
        self.apply(response.headers_mut());
    }
}
