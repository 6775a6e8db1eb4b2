//! The tower adapter: [`HttpsRedirectLayer`], [`HttpsRedirectService`] and
//! their [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use harden_core::{ErrorResponse, ResponseBody};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{Decision, HttpsRedirect};

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
        let kind = match decision {
            Decision::Pass { add_hsts } => Kind::Inner {
                future: self.inner.call(req),
                hsts: add_hsts.then(|| self.redirect.clone()),
            },
            Decision::Redirect(location) => Kind::Answer {
                response: Some(location.into_response()),
            },
            Decision::Refuse(refusal) => Kind::Answer {
                response: Some(
                    refusal
                        .error_response()
                        .for_request(req.extensions())
                        .into_response(),
                ),
            },
        };
        ResponseFuture { kind }
    }
}

pin_project! {
    /// The response future of [`HttpsRedirectService`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
            // Set when the response gets HSTS.
            hsts: Option<HttpsRedirect>,
        },
        Answer {
            response: Option<Response<ResponseBody<B>>>,
        },
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Answer { .. } => "answer",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, hsts } => {
                let mut res = ready!(future.poll(cx))?;
                if let Some(hsts) = hsts.as_ref().and_then(HttpsRedirect::hsts) {
                    hsts.apply(res.headers_mut());
                }
                Poll::Ready(Ok(res.map(ResponseBody::new)))
            }
            // Polled again after completion: a caller bug, answered without panicking.
            KindProj::Answer { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    ErrorResponse::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
                })))
            }
        }
    }
}
